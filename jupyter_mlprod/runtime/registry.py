"""The model store: immutable versions, aliases with history, safe loading.

Layout of a store (``--model-dir``, else ``$MLPROD_MODEL_DIR``, else ``./models``)::

    models/
      .lock              flock'd while a version number is taken or aliases change
      aliases.json       {"production": {"version": "v2", "stack": [...], "history": [...]}}
      v1/manifest.json   params, seed, metrics, schema, hashes, environment (see save())
      v1/artifacts/      one file per artifact name, in the safest format that fits it

Each ``train`` builds its version in a hidden staging directory, loads it back and checks
the smoke prediction, and only then takes the lock, picks the next number and renames the
directory into place: readers never see half a version, and two concurrent trains get two
numbers.

Loading never runs code from a file whose SHA-256 differs from the manifest. Formats, from
safest: JSON for plain values, ``.npy`` without pickle for arrays, Parquet for pandas
objects, skops (with the trusted types recorded at save time) for scikit-learn-style
estimators, ``torch.load(weights_only=True)`` for tensors and module state. Anything else is
written with joblib and read back only after its hash matches. The manifest itself is the
trust anchor: someone who can rewrite both a file and the manifest can change the model,
which is why the store should live where only the service account can write.
"""

from __future__ import annotations

import contextlib
import hashlib
import importlib
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from .errors import ModelError

MANIFEST = "manifest.json"
ALIASES = "aliases.json"
ENV_MODEL_DIR = "MLPROD_MODEL_DIR"
DEFAULT_MODEL_DIR = "models"
DEFAULT_ALIAS = "production"
FORMAT_VERSION = 1

_VERSION = re.compile(r"^v([1-9][0-9]*)$")
_ALIAS = re.compile(r"^[A-Za-z][A-Za-z0-9_.-]*$")
_ARTIFACT_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


@dataclass(frozen=True)
class LoadedModel:
    """A version loaded from the store, ready for ``predict(artifacts, input)``."""

    version: str
    manifest: dict[str, Any]
    artifacts: dict[str, Any]

    @property
    def schema(self) -> dict[str, Any]:
        """The input schema recorded at training time."""
        return dict(self.manifest.get("schema") or {"kind": "object"})


def model_dir(explicit: str | os.PathLike[str] | None = None) -> Path:
    """Resolve the store directory: the flag, else the environment variable, else ./models."""
    return Path(explicit or os.environ.get(ENV_MODEL_DIR) or DEFAULT_MODEL_DIR)


def sha256_file(path: Path) -> str:
    """Hash a file in chunks (artifacts and input data can be large)."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


class ModelStore:
    """A directory of immutable model versions and the aliases that point at them."""

    def __init__(self, root: str | os.PathLike[str]) -> None:
        self.root = Path(root)

    # ---------------------------------------------------------------- reading

    def versions(self) -> list[str]:
        """Version ids in creation order (``v1``, ``v2``, …)."""
        if not self.root.is_dir():
            return []
        found = [
            (int(m.group(1)), p.name) for p in self.root.iterdir() if (m := _VERSION.match(p.name))
        ]
        return [name for _, name in sorted(found)]

    def aliases(self) -> dict[str, dict[str, Any]]:
        """The alias table: name → ``{"version", "stack", "history"}``."""
        path = self.root / ALIASES
        if not path.exists():
            return {}
        try:
            table = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError) as error:
            raise ModelError(f"{path}: unreadable alias table ({error})") from None
        if not isinstance(table, dict):
            raise ModelError(f"{path}: alias table is not a JSON object")
        return table

    def resolve(self, ref: str | None = None) -> str:
        """Turn ``vN``, an alias or ``latest`` into a version id.

        Args:
            ref: The reference; ``None`` means the ``production`` alias when it exists,
                else the latest version.

        Returns:
            An existing version id.

        Raises:
            ModelError: If the reference names nothing in the store.
        """
        versions = self.versions()
        if ref is None:
            ref = DEFAULT_ALIAS if DEFAULT_ALIAS in self.aliases() else "latest"
        if not versions:
            raise ModelError(f"{self.root}: no model versions yet; run `train` first")
        if ref == "latest":
            return versions[-1]
        if _VERSION.match(ref):
            if ref not in versions:
                raise ModelError(f"{self.root}: no version {ref}; have {', '.join(versions)}")
            return ref
        table = self.aliases()
        if ref not in table:
            known = ", ".join(sorted(table)) or "none"
            raise ModelError(
                f"{self.root}: unknown model {ref!r}; use vN, latest or an alias ({known})"
            )
        version = table[ref].get("version")
        if version not in versions:
            raise ModelError(f"{self.root}: alias {ref!r} points at missing version {version}")
        return str(version)

    def manifest(self, version: str) -> dict[str, Any]:
        """Read a version's manifest."""
        return _read_manifest(self.root / version / MANIFEST)

    def load(self, ref: str | None = None) -> LoadedModel:
        """Resolve ``ref`` and load its artifacts, verifying every file's hash first.

        Raises:
            ModelError: Naming the file that is missing, tampered with or unloadable.
        """
        version = self.resolve(ref)
        manifest = self.manifest(version)
        artifacts = _load_artifacts(self.root / version, manifest)
        return LoadedModel(version=version, manifest=manifest, artifacts=artifacts)

    # ---------------------------------------------------------------- writing

    def save(
        self,
        artifacts: Mapping[str, Any],
        metadata: Mapping[str, Any],
        check: Callable[[dict[str, Any]], None] | None = None,
    ) -> str:
        """Write a new immutable version atomically.

        Args:
            artifacts: Name → object, as ``predict()`` reads them.
            metadata: Manifest fields (params, seed, metrics, schema, environment…).
            check: Called with the artifacts *as loaded back from disk*, before the version
                becomes visible; it raises to abort (e.g. the smoke prediction differs).

        Returns:
            The new version id.
        """
        self.root.mkdir(parents=True, exist_ok=True)
        staging = Path(tempfile.mkdtemp(prefix=".staging-", dir=self.root))
        try:
            (staging / "artifacts").mkdir()
            entries = []
            for name, value in artifacts.items():
                try:
                    entries.append(_dump_artifact(name, value, staging / "artifacts"))
                except ModelError:
                    raise
                except Exception as error:  # noqa: BLE001 - any serialiser failure is one line
                    first_line = (str(error).splitlines() or [""])[0]
                    raise ModelError(
                        f"cannot save artifact {name!r} ({type(value).__name__}): "
                        f"{type(error).__name__}: {first_line}; make it a plain object, or "
                        "move it out of what predict reads"
                    ) from None
            manifest: dict[str, Any] = {"format": FORMAT_VERSION, **metadata, "artifacts": entries}
            if check is not None:
                check(_load_artifacts(staging, manifest))
            with self._lock():
                number = max((int(v[1:]) for v in self.versions()), default=0) + 1
                version = f"v{number}"
                manifest = {
                    "format": FORMAT_VERSION,
                    "version": version,
                    "created": _now(),
                    **metadata,
                    "artifacts": entries,
                }
                _write_json(staging / MANIFEST, manifest)
                os.rename(staging, self.root / version)
        except BaseException:
            shutil.rmtree(staging, ignore_errors=True)
            raise
        return version

    def promote(self, ref: str, alias: str = DEFAULT_ALIAS) -> tuple[str, str | None]:
        """Point ``alias`` at the version ``ref`` resolves to.

        Returns:
            ``(new version, previous version or None)``.
        """
        if not _ALIAS.match(alias) or _VERSION.match(alias) or alias == "latest":
            raise ModelError(f"{alias!r} cannot be an alias; use a name like production or staging")
        with self._lock():
            version = self.resolve(ref)
            table = self.aliases()
            entry = table.setdefault(alias, {"version": None, "stack": [], "history": []})
            previous = entry.get("version")
            if previous != version:
                entry["stack"].append(version)
            entry["version"] = version
            entry["history"].append(
                {"time": _now(), "action": "promote", "version": version, "previous": previous}
            )
            _write_json(self.root / ALIASES, table)
        return version, previous

    def rollback(self, alias: str = DEFAULT_ALIAS) -> tuple[str, str]:
        """Move ``alias`` back to the version it pointed to before the last promotion.

        Returns:
            ``(restored version, version rolled away from)``.
        """
        with self._lock():
            table = self.aliases()
            entry = table.get(alias)
            if entry is None:
                raise ModelError(f"{self.root}: no alias {alias!r} to roll back")
            stack = entry["stack"]
            if len(stack) < 2:
                raise ModelError(f"alias {alias!r} has no earlier version to roll back to")
            current = stack.pop()
            entry["version"] = stack[-1]
            entry["history"].append(
                {"time": _now(), "action": "rollback", "version": stack[-1], "previous": current}
            )
            _write_json(self.root / ALIASES, table)
        return stack[-1], current

    @contextlib.contextmanager
    def _lock(self) -> Iterator[None]:
        """Hold an exclusive lock on the store (across processes)."""
        self.root.mkdir(parents=True, exist_ok=True)
        with open(self.root / ".lock", "a+b") as handle:
            _acquire(handle.fileno())
            try:
                yield
            finally:
                _release(handle.fileno())


if sys.platform == "win32":  # pragma: no cover - exercised on Windows only
    import msvcrt

    def _acquire(descriptor: int) -> None:
        os.lseek(descriptor, 0, os.SEEK_SET)
        while True:
            try:
                msvcrt.locking(descriptor, msvcrt.LK_NBLCK, 1)
                return
            except OSError:
                time.sleep(0.05)

    def _release(descriptor: int) -> None:
        os.lseek(descriptor, 0, os.SEEK_SET)
        msvcrt.locking(descriptor, msvcrt.LK_UNLCK, 1)

else:
    import fcntl

    def _acquire(descriptor: int) -> None:
        fcntl.flock(descriptor, fcntl.LOCK_EX)

    def _release(descriptor: int) -> None:
        fcntl.flock(descriptor, fcntl.LOCK_UN)


# -------------------------------------------------------------------- artifacts


def _is_estimator(value: Any) -> bool:
    """Scikit-learn objects, and anything shaped like an estimator or pipeline."""
    root = type(value).__module__.partition(".")[0]
    if root == "sklearn":
        return True
    return hasattr(value, "get_params") and (
        hasattr(value, "fit") or hasattr(value, "predict") or hasattr(value, "transform")
    )


def _is_json_value(value: Any) -> bool:
    try:
        return json.loads(json.dumps(value, allow_nan=False)) == value and _same_types(value)
    except (TypeError, ValueError):
        return False


def _same_types(value: Any) -> bool:
    """JSON turns tuples into lists; such values must not silently change type."""
    if isinstance(value, tuple):
        return False
    if isinstance(value, list):
        return all(_same_types(v) for v in value)
    if isinstance(value, dict):
        return all(isinstance(k, str) and _same_types(v) for k, v in value.items())
    return value is None or type(value) in (bool, int, float, str)


def _dump_artifact(name: str, value: Any, directory: Path) -> dict[str, Any]:
    """Write one artifact in the safest format that fits it; return its manifest entry."""
    if not _ARTIFACT_NAME.match(name):
        raise ModelError(f"artifact name {name!r} is not a Python identifier")
    entry: dict[str, Any] = {
        "name": name,
        "type": f"{type(value).__module__}.{type(value).__qualname__}",
    }
    torch = sys.modules.get("torch")
    import numpy as np
    import pandas as pd

    if torch is not None and isinstance(value, torch.Tensor):
        entry.update(file=f"{name}.pt", format="torch-tensor")
        torch.save(value, directory / entry["file"])
    elif torch is not None and isinstance(value, torch.nn.Module):
        entry.update(file=f"{name}.pt", format="torch-module", **{"class": _qualified(type(value))})
        entry["init_kwargs"] = _init_kwargs(value)
        torch.save(value.state_dict(), directory / entry["file"])
    elif isinstance(value, np.generic) and value.dtype.kind in "biufcmM":
        # A numpy scalar (a mean, a threshold) is a 0-d array on disk: no pickle needed.
        entry.update(file=f"{name}.npy", format="npy-scalar")
        with open(directory / entry["file"], "wb") as handle:
            np.save(handle, np.asarray(value), allow_pickle=False)
    elif isinstance(value, np.ndarray) and value.dtype.kind != "O":
        entry.update(file=f"{name}.npy", format="npy")
        with open(directory / entry["file"], "wb") as handle:
            np.save(handle, value, allow_pickle=False)
    elif isinstance(value, pd.DataFrame | pd.Series) and _parquet_ok(
        value, directory / f"{name}.parquet"
    ):
        entry.update(file=f"{name}.parquet", format="parquet")
        if isinstance(value, pd.Series):
            entry["series_name"] = _jsonable_name(value.name)
    elif _is_json_value(value):
        entry.update(file=f"{name}.json", format="json")
        _write_json(directory / entry["file"], value)
    elif _is_estimator(value) and _skops_ok(value, directory / f"{name}.skops"):
        entry.update(file=f"{name}.skops", format="skops")
        entry["trusted_types"] = _skops_types(directory / entry["file"])
        entry["trusted_types_complete"] = True
    else:
        entry.update(file=f"{name}.joblib", format="joblib")
        try:
            import joblib
        except ImportError:  # pragma: no cover - joblib comes with scikit-learn
            import pickle

            entry["format"] = "pickle"
            with open(directory / entry["file"], "wb") as handle:
                pickle.dump(value, handle, protocol=pickle.HIGHEST_PROTOCOL)
        else:
            joblib.dump(value, directory / entry["file"])
    path = directory / entry["file"]
    entry["sha256"] = sha256_file(path)
    entry["bytes"] = path.stat().st_size
    return entry


def _init_kwargs(module: Any) -> dict[str, Any]:
    """The constructor arguments a module kept as same-named attributes (``self.hidden =
    hidden``), so loading can rebuild it with the sizes it was trained with."""
    import inspect

    try:
        signature = inspect.signature(type(module).__init__)
    except (TypeError, ValueError):
        return {}
    kwargs: dict[str, Any] = {}
    for parameter in list(signature.parameters.values())[1:]:
        if parameter.kind not in (parameter.POSITIONAL_OR_KEYWORD, parameter.KEYWORD_ONLY):
            continue
        value = getattr(module, parameter.name, None)
        if value is not None and _is_json_value(value):
            kwargs[parameter.name] = value
    return kwargs


def _call_text(kwargs: Mapping[str, Any]) -> str:
    return ", ".join(f"{key}={value!r}" for key, value in kwargs.items())


def _first_shape_mismatch(expected: Mapping[str, Any], saved: Mapping[str, Any]) -> str:
    for key, tensor in saved.items():
        if key not in expected:
            return f"unexpected {key}"
        if tuple(expected[key].shape) != tuple(tensor.shape):
            return f"{key}: saved {tuple(tensor.shape)}, built {tuple(expected[key].shape)}"
    missing = next((key for key in expected if key not in saved), None)
    return f"missing {missing}" if missing else "state does not match"


def _qualified(kind: type) -> str:
    return f"{kind.__module__}:{kind.__qualname__}"


def _jsonable_name(name: Any) -> Any:
    return name if name is None or isinstance(name, str | int | float) else str(name)


def _parquet_ok(value: Any, path: Path) -> bool:
    """Write a pandas object as Parquet; False (and no file) when it cannot round-trip."""
    import pandas as pd

    frame = value.to_frame(name="__series__") if isinstance(value, pd.Series) else value
    if not all(isinstance(c, str) for c in frame.columns):
        return False
    try:
        frame.to_parquet(path)
        back = pd.read_parquet(path)
        pd.testing.assert_frame_equal(back, frame)
    except Exception:  # noqa: BLE001 - any failure means "not this format"
        path.unlink(missing_ok=True)
        return False
    return True


def _skops_ok(value: Any, path: Path) -> bool:
    """Write with skops; False (and no file) when skops cannot represent the object."""
    try:
        skops_io = _skops()
    except ImportError:
        return False
    try:
        skops_io.dump(value, path)
    except Exception:  # noqa: BLE001 - skops raises many kinds for unsupported objects
        path.unlink(missing_ok=True)
        return False
    return True


def _load_artifacts(directory: Path, manifest: Mapping[str, Any]) -> dict[str, Any]:
    entries = manifest.get("artifacts")
    if not isinstance(entries, list):
        raise ModelError(f"{directory / MANIFEST}: no artifact list")
    return {entry["name"]: _load_artifact(directory / "artifacts", entry) for entry in entries}


def _load_artifact(directory: Path, entry: Mapping[str, Any]) -> Any:
    """Load one artifact; its hash is checked before any byte is deserialised."""
    file_name = str(entry.get("file", ""))
    if not file_name or Path(file_name).name != file_name:
        raise ModelError(f"{directory}: manifest names an invalid artifact file {file_name!r}")
    path = directory / file_name
    if not path.is_file():
        raise ModelError(f"{path}: artifact file is missing; the version is incomplete")
    if sha256_file(path) != entry.get("sha256"):
        raise ModelError(
            f"{path}: SHA-256 does not match the manifest; the file was changed or truncated "
            "after training — restore it or train a new version"
        )
    try:
        return _read_artifact(path, entry)
    except ModelError:
        raise
    except Exception as error:  # noqa: BLE001 - any loader failure becomes one line
        raise ModelError(
            f"{path}: cannot load {entry.get('format')} artifact ({type(error).__name__}: {error})"
        ) from None


def _read_artifact(path: Path, entry: Mapping[str, Any]) -> Any:
    kind = entry.get("format")
    if kind == "json":
        return json.loads(path.read_text(encoding="utf-8"))
    if kind == "npy":
        import numpy as np

        with open(path, "rb") as handle:
            return np.load(handle, allow_pickle=False)
    if kind == "parquet":
        import pandas as pd

        frame = pd.read_parquet(path)
        if "series_name" in entry:
            return frame["__series__"].rename(entry["series_name"])
        return frame
    if kind == "npy-scalar":
        import numpy as np

        return np.load(path, allow_pickle=False)[()]
    if kind == "skops":
        trusted = list(entry.get("trusted_types", []))
        return _skops_load(path, trusted, complete=entry.get("trusted_types_complete") is True)
    if kind in ("torch-tensor", "torch-module"):
        try:
            import torch
        except ImportError:
            raise ModelError(f"{path}: needs torch; install it with `pip install torch`") from None
        state = torch.load(path, weights_only=True)
        if kind == "torch-tensor":
            return state
        module_name, _, qualname = str(entry["class"]).partition(":")
        target: Any = importlib.import_module(module_name)
        for part in qualname.split("."):
            target = getattr(target, part)
        init_kwargs = dict(entry.get("init_kwargs") or {})
        try:
            module = target(**init_kwargs)
        except TypeError:
            raise ModelError(
                f"{path}: cannot rebuild {entry['class']}({_call_text(init_kwargs)}); keep each "
                "constructor argument as an attribute of the same name (self.hidden = hidden)"
            ) from None
        try:
            module.load_state_dict(state)
        except RuntimeError:
            mismatched = _first_shape_mismatch(module.state_dict(), state)
            raise ModelError(
                f"{path}: the saved state of {entry['class']} does not fit "
                f"{type(module).__name__}({_call_text(init_kwargs)}) ({mismatched}); keep each "
                "constructor argument as an attribute of the same name (self.hidden = hidden)"
            ) from None
        module.eval()
        return module
    if kind == "joblib":
        import joblib

        return joblib.load(path)
    if kind == "pickle":
        import pickle

        with open(path, "rb") as handle:
            return pickle.load(handle)
    raise ModelError(f"{path}: unknown artifact format {kind!r}")


# ----------------------------------------------------------------------- skops
#
# On import, skops builds its *default* trust list by importing every estimator module
# scikit-learn has (``sklearn.utils.all_estimators``): 1-2 s per process, plus all of torch
# when it is installed, through scikit-learn's array-API shims. That was most of a batch
# ``predict`` (bench/serve.py). The store does not need that default: every skops file is
# saved with the complete list of the types it holds and loaded with exactly that list, so
# the scan is skipped. Trust gets narrower, not wider: a swapped file that needs an
# estimator type the saved model did not have is refused even if skops trusts it by default.


def _skops() -> Any:
    """``skops.io``, imported without its scan of every scikit-learn estimator."""
    module = sys.modules.get("skops.io")
    if module is not None:
        return module
    import sklearn.utils

    scan = sklearn.utils.all_estimators
    sklearn.utils.all_estimators = _no_estimators
    try:
        module = importlib.import_module("skops.io")
    finally:
        sklearn.utils.all_estimators = scan
    return module


def _no_estimators(*args: Any, **kwargs: Any) -> list[tuple[str, type]]:
    return []


def _default_estimator_trust() -> list[str] | None:
    """skops' default list of trusted estimator names, shared by its loaders (private API:
    ``None`` if a skops release moves it, and then the defaults are simply left alone)."""
    _skops()
    trusted_types = sys.modules.get("skops.io._trusted_types")
    names = getattr(trusted_types, "SKLEARN_ESTIMATOR_TYPE_NAMES", None)
    return names if isinstance(names, list) else None


def _skops_types(path: Path) -> list[str]:
    """Every type in the file that skops does not trust unconditionally: the estimators too,
    even when skops was imported elsewhere in this process with its default list."""
    skops_io = _skops()
    defaults = _default_estimator_trust()
    saved = list(defaults or [])
    if defaults is not None:
        defaults.clear()
    try:
        return sorted(skops_io.get_untrusted_types(file=path))
    finally:
        if defaults is not None:
            defaults[:] = saved


def _skops_load(path: Path, trusted: list[str], complete: bool) -> Any:
    """Load with exactly the recorded types trusted; a swapped file needing any other type is
    refused by skops before anything in it is instantiated."""
    skops_io = _skops()
    try:
        return skops_io.load(path, trusted=trusted)
    except skops_io.exceptions.UntrustedTypesFoundException:
        # Versions saved before the lists were complete relied on skops' default estimator
        # list as well: compute it (the slow scan, only for them) and try once more.
        defaults = _default_estimator_trust()
        type_name = getattr(sys.modules.get("skops.io._trusted_types"), "get_type_name", None)
        if complete or defaults is None or defaults or type_name is None:
            raise
        import sklearn.utils

        names = (type_name(estimator) for _, estimator in sklearn.utils.all_estimators())
        defaults.extend(name for name in names if name.startswith("sklearn."))
        return skops_io.load(path, trusted=trusted)


# -------------------------------------------------------------------- metadata


def _read_manifest(path: Path) -> dict[str, Any]:
    try:
        manifest = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ModelError(f"{path}: manifest is missing") from None
    except (OSError, ValueError) as error:
        raise ModelError(f"{path}: unreadable manifest ({error})") from None
    if not isinstance(manifest, dict):
        raise ModelError(f"{path}: manifest is not a JSON object")
    return manifest


def _write_json(path: Path, value: Any) -> None:
    """Write JSON atomically: a reader sees the old file or the new one, never half."""
    handle, temp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with os.fdopen(handle, "w", encoding="utf-8") as stream:
            json.dump(value, stream, indent=2, sort_keys=False, default=str)
            stream.write("\n")
        os.replace(temp, path)
    except BaseException:
        Path(temp).unlink(missing_ok=True)
        raise


def _now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


def describe_input_files(paths: list[str], cwd: Path | None = None) -> list[dict[str, Any]]:
    """Hash the training data files (paths as the notebook gave them, resolved against cwd).

    A missing file is recorded with ``sha256: null`` rather than failing the training run:
    the pipeline already read it, so it may have been a glob or a directory.
    """
    base = cwd or Path.cwd()
    described = []
    for given in paths:
        path = (base / given) if not Path(given).is_absolute() else Path(given)
        record: dict[str, Any] = {"path": given, "sha256": None, "bytes": None}
        if path.is_file():
            record.update(sha256=sha256_file(path), bytes=path.stat().st_size)
        described.append(record)
    return described


def git_state(cwd: Path | None = None) -> dict[str, Any] | None:
    """The commit and dirtiness of the git work tree at ``cwd``, or None outside a repo."""
    try:
        commit = subprocess.run(
            ["git", "rev-parse", "HEAD"],
            cwd=cwd,
            capture_output=True,
            text=True,
            timeout=10,
            check=True,
        ).stdout.strip()
        status = subprocess.run(
            ["git", "status", "--porcelain"],
            cwd=cwd,
            capture_output=True,
            text=True,
            timeout=30,
            check=True,
        ).stdout
    except (OSError, subprocess.SubprocessError):
        return None
    return {"commit": commit, "dirty": bool(status.strip())}


def distribution_versions(package: str) -> dict[str, str]:
    """Versions of the installed distributions the package depends on.

    When the package is installed its declared requirements are used; when it runs from a
    source tree the distributions of the third-party modules it has imported stand in.
    """
    from importlib import metadata

    names: set[str] = set()
    try:
        requires = metadata.distribution(package.replace("_", "-")).requires or []
    except metadata.PackageNotFoundError:
        providers = metadata.packages_distributions()
        for module in list(sys.modules):
            root = module.partition(".")[0]
            if root and root != package and root not in sys.stdlib_module_names:
                names.update(providers.get(root, []))
    else:
        for requirement in requires:
            if "extra ==" not in requirement:
                names.add(re.split(r"[\s;<>=!~\[(]", requirement, maxsplit=1)[0])
    versions = {}
    for name in sorted(names):
        with contextlib.suppress(metadata.PackageNotFoundError):
            versions[name] = metadata.version(name)
    return versions
