"""Hard-coded file paths and URLs in notebook code: recognising them and naming the
parameters they become with ``--lift-paths``."""

from __future__ import annotations

import re
from pathlib import Path, PurePath

from .types import PathKind

DATA_SUFFIXES = frozenset(
    {
        ".csv", ".tsv", ".txt", ".json", ".jsonl", ".parquet", ".pq", ".feather", ".xlsx", ".xls",
        ".pkl", ".pickle", ".joblib", ".h5", ".hdf5", ".npy", ".npz", ".zip", ".gz", ".bz2",
        ".xz", ".db", ".sqlite", ".arrow", ".orc", ".avro", ".png", ".jpg", ".jpeg", ".pt",
        ".pth", ".onnx", ".yaml", ".yml",
    }
)  # fmt: skip
URL = re.compile(r"^[a-zA-Z][a-zA-Z0-9+.-]*://\S+$")
WINDOWS_ABSOLUTE = re.compile(r"^[a-zA-Z]:[\\/]")


def path_kind(value: str) -> PathKind | None:
    """ "path" or "url" when a string literal looks like a file path or URL, else None."""
    if "\n" in value or len(value) > 400:
        return None
    if URL.match(value):
        return "url"
    if "%" in value or "{" in value:
        return None
    suffix = PurePath(value).suffix.lower()
    if suffix in DATA_SUFFIXES and " " not in PurePath(value).name[:1]:
        return "path"
    if is_absolute(value) and len(value) > 1 and " " not in value:
        return "path"
    return None


def is_absolute(value: str) -> bool:
    """Whether a path is absolute on some machine (POSIX, home-relative or Windows)."""
    return value.startswith(("/", "~")) or bool(WINDOWS_ABSOLUTE.match(value))


def portable_default(value: str, notebook_dir: PurePath) -> str:
    """A lifted path's default that works elsewhere: relative to the notebook, or its name."""
    if not is_absolute(value):
        return value
    try:
        return str(PurePath(value).relative_to(Path(notebook_dir).absolute()))
    except ValueError:
        return PurePath(value.replace("\\", "/")).name


def param_name_for(value: str, kind: PathKind) -> str:
    """The parameter a lifted path becomes: ``data/sales.csv`` → ``sales_path``."""
    stem = PurePath(value.split("?")[0].rstrip("/")).stem or kind
    base = re.sub(r"\W+", "_", stem).strip("_").lower() or kind
    if base[0].isdigit():
        base = f"f_{base}"
    return f"{base}_{'url' if kind == 'url' else 'path'}"


def unique(name: str, taken: set[str]) -> str:
    """``name``, or ``name_2``, ``name_3``… if it is taken."""
    candidate, number = name, 2
    while candidate in taken:
        candidate, number = f"{name}_{number}", number + 1
    return candidate
