"""Artifact files: one table of formats, each a symmetric encoder/decoder pair.

:data:`FORMATS` lists the formats from safest to least safe; an artifact is written in the
first one that fits it and round-trips, and read back by the format its manifest entry
names::

    torch-tensor  .pt       tensors, read back with torch.load(weights_only=True)
    torch-module  .pt       nn.Module state, rebuilt from its class and constructor arguments
                            (only an nn.Module class of this package or of the library it
                            was saved from, never the standard library's)
    npy-scalar    .npy      numpy scalars (a mean, a threshold), without pickle
    npy           .npy      numeric arrays, without pickle
    parquet       .parquet  pandas frames and series that round-trip exactly
    json          .json     plain values (not tuples: JSON would turn them into lists)
    skops         .skops    scikit-learn-style estimators, trusting exactly the types they hold
    joblib        .joblib   anything else (pickle-based)
    pickle        .pkl      anything else, when joblib is missing

Loading never deserialises a byte of a file whose SHA-256 differs from the manifest: the
check in :func:`load_artifact` comes before any decoder runs, for every format, which is
what makes the pickle-based ones acceptable at all.
"""

from __future__ import annotations

import importlib
import importlib.util
import inspect
import json
import re
import sys
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from .errors import ModelError
from .provenance import sha256_file
from .skops_compat import load_trusting, skops_io, untrusted_types

FormatName = Literal[
    "torch-tensor",
    "torch-module",
    "npy-scalar",
    "npy",
    "parquet",
    "json",
    "skops",
    "joblib",
    "pickle",
]

_ARTIFACT_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
PACKAGE = __package__ or "model"


@dataclass(frozen=True)
class ArtifactFormat:
    """One way of writing an artifact to a file and reading it back.

    Attributes:
        name: The manifest's ``format`` field.
        suffix: The file suffix (the file is ``<artifact name><suffix>``).
        fits: Whether the format is meant for a value (cheap type checks only).
        encode: Writes the value to the path and returns the extra manifest fields the
            decoder needs; returns None, leaving no file, when the value does not round-trip
            through this format, so the next format is tried.
        decode: Reads the file back, given its manifest entry.
    """

    name: FormatName
    suffix: str
    fits: Callable[[Any], bool]
    encode: Callable[[Any, Path], dict[str, Any] | None]
    decode: Callable[[Path, Mapping[str, Any]], Any]


def dump_artifact(name: str, value: Any, directory: Path) -> dict[str, Any]:
    """Write one artifact in the safest format that fits it.

    Returns:
        Its manifest entry: name, type, file, format, the format's own fields, sha256, bytes.

    Raises:
        ModelError: One line naming the artifact when no format can write it.
    """
    if not _ARTIFACT_NAME.match(name):
        raise ModelError(f"artifact name {name!r} is not a Python identifier")
    for artifact_format in FORMATS:
        if not artifact_format.fits(value):
            continue
        path = directory / f"{name}{artifact_format.suffix}"
        try:
            extra = artifact_format.encode(value, path)
        except Exception as error:  # noqa: BLE001 - any serialiser failure is one line
            first_line = (str(error).splitlines() or [""])[0]
            raise ModelError(
                f"cannot save artifact {name!r} ({type(value).__name__}): "
                f"{type(error).__name__}: {first_line}; make it a plain object, or "
                "move it out of what predict reads"
            ) from None
        if extra is None:
            continue
        return {
            "name": name,
            "type": f"{type(value).__module__}.{type(value).__qualname__}",
            "file": path.name,
            "format": artifact_format.name,
            **extra,
            "sha256": sha256_file(path),
            "bytes": path.stat().st_size,
        }
    raise ModelError(f"cannot save artifact {name!r} ({type(value).__name__}): no format fits it")


def load_artifact(directory: Path, entry: Mapping[str, Any]) -> Any:
    """Load one artifact; its hash is checked before any byte is deserialised.

    Raises:
        ModelError: Naming the file that is missing, tampered with or unloadable.
    """
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
    kind = entry.get("format")
    artifact_format = next((f for f in FORMATS if f.name == kind), None)
    if artifact_format is None:
        raise ModelError(f"{path}: unknown artifact format {kind!r}")
    try:
        return artifact_format.decode(path, entry)
    except ModelError:
        raise
    except Exception as error:  # noqa: BLE001 - any loader failure becomes one line
        raise ModelError(
            f"{path}: cannot load {kind} artifact ({type(error).__name__}: {error})"
        ) from None


# ------------------------------------------------------------------------ torch


def _is_tensor(value: Any) -> bool:
    torch = sys.modules.get("torch")
    return torch is not None and isinstance(value, torch.Tensor)


def _is_module(value: Any) -> bool:
    torch = sys.modules.get("torch")
    return torch is not None and isinstance(value, torch.nn.Module)


def _encode_tensor(value: Any, path: Path) -> dict[str, Any]:
    sys.modules["torch"].save(value, path)
    return {}


def _encode_module(value: Any, path: Path) -> dict[str, Any]:
    kind = type(value)
    extra = {"class": f"{kind.__module__}:{kind.__qualname__}", "init_kwargs": _init_kwargs(value)}
    if not _is_own_module(kind.__module__):
        # The library the class comes from (torch, torchvision…), recorded at training: the
        # only one besides this package that loading will import a class from.
        extra["class_library"] = kind.__module__.partition(".")[0]
    sys.modules["torch"].save(value.state_dict(), path)
    return extra


def _torch_state(path: Path) -> Any:
    try:
        import torch
    except ImportError:
        raise ModelError(f"{path}: needs torch; install it with `pip install torch`") from None
    return torch.load(path, weights_only=True)


def _decode_tensor(path: Path, entry: Mapping[str, Any]) -> Any:
    return _torch_state(path)


def _decode_module(path: Path, entry: Mapping[str, Any]) -> Any:
    state = _torch_state(path)
    target = _module_class(path, entry)
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


def _is_own_module(module_name: str) -> bool:
    return module_name == PACKAGE or module_name.startswith(f"{PACKAGE}.")


def _module_class(path: Path, entry: Mapping[str, Any]) -> Any:
    """The ``torch.nn.Module`` class an entry names, imported only from this package or the
    library recorded at training; anything else is refused before it is imported.

    Raises:
        ModelError: The class is from elsewhere (``os:system``), or is not an nn.Module class.
    """
    spec = str(entry.get("class", ""))
    module_name, _, qualname = spec.partition(":")
    root = module_name.partition(".")[0]
    libraries = {"torch", str(entry.get("class_library", "torch"))} - set(sys.stdlib_module_names)
    parts = qualname.split(".")
    if not (_is_own_module(module_name) or root in libraries) or not all(
        part.isidentifier() and not part.startswith("__") for part in parts
    ):
        raise ModelError(
            f"{path}: will not rebuild {spec!r}: a torch module's class must come from "
            f"{PACKAGE} or the library it was saved from ({', '.join(sorted(libraries))})"
        )
    target: Any = importlib.import_module(module_name)
    for part in parts:
        target = getattr(target, part)
    if not (isinstance(target, type) and issubclass(target, sys.modules["torch"].nn.Module)):
        raise ModelError(f"{path}: will not rebuild {spec!r}: it is not a torch.nn.Module class")
    return target


def _init_kwargs(module: Any) -> dict[str, Any]:
    """The constructor arguments a module kept as same-named attributes (``self.hidden =
    hidden``), so loading can rebuild it with the sizes it was trained with."""
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


# ------------------------------------------------------------------------ numpy


def _is_numeric_scalar(value: Any) -> bool:
    import numpy as np

    return isinstance(value, np.generic) and value.dtype.kind in "biufcmM"


def _is_numeric_array(value: Any) -> bool:
    import numpy as np

    return isinstance(value, np.ndarray) and value.dtype.kind != "O"


def _encode_npy(value: Any, path: Path) -> dict[str, Any]:
    import numpy as np

    with open(path, "wb") as handle:
        np.save(handle, value, allow_pickle=False)
    return {}


def _encode_npy_scalar(value: Any, path: Path) -> dict[str, Any]:
    import numpy as np

    # A numpy scalar (a mean, a threshold) is a 0-d array on disk: no pickle needed.
    return _encode_npy(np.asarray(value), path)


def _decode_npy(path: Path, entry: Mapping[str, Any]) -> Any:
    import numpy as np

    with open(path, "rb") as handle:
        return np.load(handle, allow_pickle=False)


def _decode_npy_scalar(path: Path, entry: Mapping[str, Any]) -> Any:
    import numpy as np

    return np.load(path, allow_pickle=False)[()]


# ----------------------------------------------------------------------- pandas


def _is_pandas(value: Any) -> bool:
    import pandas as pd

    return isinstance(value, pd.DataFrame | pd.Series)


def _encode_parquet(value: Any, path: Path) -> dict[str, Any] | None:
    """Write a pandas object as Parquet; None (and no file) when it cannot round-trip."""
    import pandas as pd

    frame = value.to_frame(name="__series__") if isinstance(value, pd.Series) else value
    if not all(isinstance(c, str) for c in frame.columns):
        return None
    try:
        frame.to_parquet(path)
        back = pd.read_parquet(path)
        pd.testing.assert_frame_equal(back, frame)
    except Exception:  # noqa: BLE001 - any failure means "not this format"
        path.unlink(missing_ok=True)
        return None
    if isinstance(value, pd.Series):
        return {"series_name": _jsonable_name(value.name)}
    return {}


def _decode_parquet(path: Path, entry: Mapping[str, Any]) -> Any:
    import pandas as pd

    frame = pd.read_parquet(path)
    if "series_name" in entry:
        return frame["__series__"].rename(entry["series_name"])
    return frame


def _jsonable_name(name: Any) -> Any:
    return name if name is None or isinstance(name, str | int | float) else str(name)


# ------------------------------------------------------------------------- json


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


def _encode_json(value: Any, path: Path) -> dict[str, Any]:
    path.write_text(json.dumps(value, indent=2) + "\n", encoding="utf-8")
    return {}


def _decode_json(path: Path, entry: Mapping[str, Any]) -> Any:
    return json.loads(path.read_text(encoding="utf-8"))


# ------------------------------------------------------------------------ skops


def _is_estimator(value: Any) -> bool:
    """Scikit-learn objects, and anything shaped like an estimator or pipeline."""
    root = type(value).__module__.partition(".")[0]
    if root == "sklearn":
        return True
    return hasattr(value, "get_params") and (
        hasattr(value, "fit") or hasattr(value, "predict") or hasattr(value, "transform")
    )


def _encode_skops(value: Any, path: Path) -> dict[str, Any] | None:
    """Write with skops; None (and no file) when skops cannot represent the object."""
    try:
        module = skops_io()
    except ImportError:
        return None
    try:
        module.dump(value, path)
    except Exception:  # noqa: BLE001 - skops raises many kinds for unsupported objects
        path.unlink(missing_ok=True)
        return None
    return {"trusted_types": untrusted_types(path), "trusted_types_complete": True}


def _decode_skops(path: Path, entry: Mapping[str, Any]) -> Any:
    trusted = list(entry.get("trusted_types", []))
    return load_trusting(path, trusted, complete=entry.get("trusted_types_complete") is True)


# ----------------------------------------------------------------- pickle-based


def _has_joblib(value: Any) -> bool:
    return importlib.util.find_spec("joblib") is not None


def _encode_joblib(value: Any, path: Path) -> dict[str, Any]:
    import joblib

    joblib.dump(value, path)
    return {}


def _decode_joblib(path: Path, entry: Mapping[str, Any]) -> Any:
    import joblib

    return joblib.load(path)


def _encode_pickle(value: Any, path: Path) -> dict[str, Any]:  # pragma: no cover - no joblib
    import pickle

    with open(path, "wb") as handle:
        pickle.dump(value, handle, protocol=pickle.HIGHEST_PROTOCOL)
    return {}


def _decode_pickle(path: Path, entry: Mapping[str, Any]) -> Any:
    import pickle

    with open(path, "rb") as handle:
        return pickle.load(handle)


def _anything(value: Any) -> bool:
    return True


FORMATS: tuple[ArtifactFormat, ...] = (
    ArtifactFormat("torch-tensor", ".pt", _is_tensor, _encode_tensor, _decode_tensor),
    ArtifactFormat("torch-module", ".pt", _is_module, _encode_module, _decode_module),
    ArtifactFormat(
        "npy-scalar", ".npy", _is_numeric_scalar, _encode_npy_scalar, _decode_npy_scalar
    ),
    ArtifactFormat("npy", ".npy", _is_numeric_array, _encode_npy, _decode_npy),
    ArtifactFormat("parquet", ".parquet", _is_pandas, _encode_parquet, _decode_parquet),
    ArtifactFormat("json", ".json", _is_json_value, _encode_json, _decode_json),
    ArtifactFormat("skops", ".skops", _is_estimator, _encode_skops, _decode_skops),
    ArtifactFormat("joblib", ".joblib", _has_joblib, _encode_joblib, _decode_joblib),
    ArtifactFormat("pickle", ".pkl", _anything, _encode_pickle, _decode_pickle),
)
"""Every artifact format, safest first: writing takes the first that fits and round-trips."""
