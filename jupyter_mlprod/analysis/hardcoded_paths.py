"""The paths step: find the hard-coded paths in parameter defaults, stage code and the
constants carried helpers read, report them, lift the stage code's into parameters with
``--lift-paths``, and name the load stage's input files."""

from __future__ import annotations

import re
from collections.abc import Iterable
from pathlib import PurePath

from .. import roles
from ..errors import cell_number
from ..params_cell import ParamSpec
from .log import ProblemLog
from .paths import is_absolute, param_name_for, path_kind, portable_default, unique
from .statements import Statement
from .types import ERROR, WARNING, FoundPath, StagePlan

# A string parameter with such a name read by the load stage is an input file.
PATHISH_NAME = re.compile(r"(path|file|dir|url|uri)s?$", re.IGNORECASE)


def find_paths(
    parameters: tuple[ParamSpec, ...],
    parameters_cell: int | None,
    plans: Iterable[StagePlan],
    notebook_path: str,
    lift_paths: bool,
    log: ProblemLog,
    constants: Iterable[Statement] = (),
) -> tuple[tuple[FoundPath, ...], tuple[ParamSpec, ...], tuple[str, ...]]:
    """Find the hard-coded paths of parameter defaults, stage code and carried constants.

    A constant is evaluated when its module is imported, before any parameter exists, so
    ``--lift-paths`` cannot make it a parameter: it is reported, with the way to lift it.

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
                            f"lifted from cell {cell_number(statement.cell)}, line {line}", 0,
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
    for statement in constants:
        for value, line, _node in statement.strings:
            kind = path_kind(value)
            if kind is None:
                continue
            absolute = is_absolute(value)
            name = ", ".join(sorted(statement.defines))
            log.add(
                ERROR if absolute else WARNING,
                "absolute-path" if absolute else "hard-coded-path",
                f"hard-coded {kind} {value!r} in the constant `{name}`, which a helper reads "
                "(a module constant is read before parameters exist, so it is not lifted)",
                statement.cell,
                line,
                hint=f"to make it a parameter, pass `{name}` to the helper as an argument",
            )
            found.append(FoundPath(statement.cell, line, value, kind, absolute, None))
    return tuple(found), tuple(lifted.values()), tuple(input_files)
