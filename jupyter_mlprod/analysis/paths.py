"""Hard-coded file paths and URLs in stage code: finding and reporting them, naming the
parameters they become with ``--lift-paths``, and the data files the load stage reads."""

from __future__ import annotations

import re
from collections.abc import Iterable
from pathlib import Path, PurePath

from .. import roles
from ..params_cell import ParamSpec
from .log import ProblemLog
from .types import ERROR, WARNING, FoundPath, PathKind, StagePlan

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
# A string parameter with such a name read by the load stage is an input file.
PATHISH_NAME = re.compile(r"(path|file|dir|url|uri)s?$", re.IGNORECASE)


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


def find_paths(
    parameters: tuple[ParamSpec, ...],
    parameters_cell: int | None,
    plans: Iterable[StagePlan],
    notebook_path: str,
    lift_paths: bool,
    log: ProblemLog,
) -> tuple[tuple[FoundPath, ...], tuple[ParamSpec, ...], tuple[str, ...]]:
    """Find the hard-coded paths of parameter defaults and stage code.

    Returns:
        The paths found, the parameters lifted from them (with ``lift_paths``), and the input
        files of the load stage as Python expressions (``params.data_path`` or a literal).
    """
    plans = tuple(plans)
    found: list[FoundPath] = []
    lifted: dict[str, ParamSpec] = {}
    taken = {spec.name for spec in parameters}
    input_files: list[str] = []
    notebook_dir = PurePath(notebook_path).parent
    for spec in parameters:
        default_kind = path_kind(spec.default) if isinstance(spec.default, str) else None
        if isinstance(spec.default, str) and default_kind:
            absolute = is_absolute(spec.default)
            found.append(
                FoundPath(
                    parameters_cell or 0, spec.line, spec.default, default_kind, absolute, spec.name
                )
            )
            if absolute:
                log.add(
                    ERROR,
                    "absolute-path",
                    f"parameter `{spec.name}` defaults to the absolute path {spec.default!r}, "
                    "which will not exist on other machines",
                    parameters_cell,
                    spec.line,
                    hint="use a path relative to the notebook",
                )
    load_params = {name for plan in plans if plan.role == roles.LOAD for name in plan.params_read}
    for spec in parameters:
        if spec.name in load_params and isinstance(spec.default, str):
            if path_kind(spec.default) == "path" or PATHISH_NAME.search(spec.name):
                input_files.append(f"params.{spec.name}")
    for plan in plans:
        for statement in plan.statements:
            for value, line, _node in statement.strings:
                kind = path_kind(value)
                if kind is None:
                    continue
                absolute = is_absolute(value)
                name = None
                if lift_paths and plan.role != roles.PREDICT:
                    if value not in lifted:
                        name = unique(param_name_for(value, kind), taken)
                        taken.add(name)
                        default = portable_default(value, notebook_dir)
                        lifted[value] = ParamSpec(
                            name, "str", "str", False, default, repr(default),
                            f"lifted from cell {statement.cell}, line {line}", 0,
                        )  # fmt: skip
                        if default != value and absolute:
                            log.add(
                                WARNING,
                                "absolute-path-lifted",
                                f"absolute path {value!r} became parameter `{name}` with "
                                f"default {default!r}",
                                statement.cell,
                                line,
                                hint=f"pass --param {name}=... to train",
                            )
                    name = lifted[value].name
                elif absolute:
                    log.add(
                        ERROR,
                        "absolute-path",
                        f"hard-coded absolute path {value!r} will not exist on other machines",
                        statement.cell,
                        line,
                        hint="pass --lift-paths to turn it into a parameter, or add a "
                        "parameter for it",
                    )
                else:
                    log.add(
                        WARNING,
                        "hard-coded-path",
                        f"hard-coded {kind} {value!r}",
                        statement.cell,
                        line,
                        hint="pass --lift-paths to turn it into a parameter",
                    )
                found.append(FoundPath(statement.cell, line, value, kind, absolute, name))
                if plan.role == roles.LOAD and kind == "path":
                    expression = f"params.{name}" if name else repr(value)
                    if expression not in input_files:
                        input_files.append(expression)
    return tuple(found), tuple(lifted.values()), tuple(input_files)
