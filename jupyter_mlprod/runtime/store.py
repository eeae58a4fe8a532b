"""The model store: immutable versions, aliases with history, locking.

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

Each artifact is written in the safest format that fits it and read back only after its
SHA-256 matches the manifest (artifacts.py). The manifest itself is the trust anchor:
someone who can rewrite both a file and the manifest can change the model, which is why the
store should live where only the service account can write.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import shutil
import sys
import tempfile
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from .artifacts import dump_artifact, load_artifact
from .errors import ModelError
from .provenance import utc_now

MANIFEST = "manifest.json"
ALIASES = "aliases.json"
ENV_MODEL_DIR = "MLPROD_MODEL_DIR"
DEFAULT_MODEL_DIR = "models"
DEFAULT_ALIAS = "production"
FORMAT_VERSION = 1

_VERSION = re.compile(r"^v([1-9][0-9]*)$")
_ALIAS = re.compile(r"^[A-Za-z][A-Za-z0-9_.-]*$")


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
            entries = [
                dump_artifact(name, value, staging / "artifacts")
                for name, value in artifacts.items()
            ]
            manifest: dict[str, Any] = {"format": FORMAT_VERSION, **metadata, "artifacts": entries}
            if check is not None:
                check(_load_artifacts(staging, manifest))
            with self._lock():
                number = max((int(v[1:]) for v in self.versions()), default=0) + 1
                version = f"v{number}"
                manifest = {
                    "format": FORMAT_VERSION,
                    "version": version,
                    "created": utc_now(),
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
            entry["history"].append(_history("promote", version, previous))
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
            entry["history"].append(_history("rollback", stack[-1], current))
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


# -------------------------------------------------------------------- manifests


def _load_artifacts(directory: Path, manifest: Mapping[str, Any]) -> dict[str, Any]:
    entries = manifest.get("artifacts")
    if not isinstance(entries, list):
        raise ModelError(f"{directory / MANIFEST}: no artifact list")
    return {entry["name"]: load_artifact(directory / "artifacts", entry) for entry in entries}


def _history(
    action: Literal["promote", "rollback"], version: str, previous: str | None
) -> dict[str, Any]:
    """One entry of an alias's history."""
    return {"time": utc_now(), "action": action, "version": version, "previous": previous}


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
