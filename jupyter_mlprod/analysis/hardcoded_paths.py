"""The paths step: find the hard-coded paths in parameter defaults, stage code and the
constants carried helpers read, report them, lift them into parameters with ``--lift-paths``
(the constants as :mod:`.constant_lifts` decides), and name the load stage's input files."""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from pathlib import PurePath

from .. import roles
from ..errors import cell_number
from ..params_cell import ParamSpec
from .constant_lifts import ConstantLifts, key_of, lift_constants
from .log import ProblemLog
from .paths import is_absolute, param_name_for, path_kind, portable_default, unique
from .statements import ImportBinding, Statement
from .types import ERROR, WARNING, FoundPath, LiftedConstant, StagePlan

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
    helpers: Iterable[Statement] = (),
    imports: Mapping[str, ImportBinding] | None = None,
) -> tuple[
    tuple[FoundPath, ...], tuple[ParamSpec, ...], tuple[str, ...], tuple[LiftedConstant, ...]
]:
    """Find the hard-coded paths of parameter defaults, stage code and carried constants.

    With ``lift_paths``, a path-like constant that carried helpers read becomes a parameter
    named after it when :func:`.constant_lifts.lift_constants` allows; otherwise it is
    reported with the reason.

    Returns:
        The paths found, the parameters lifted from them (with ``lift_paths``), the input
        files of the load stage as Python expressions (``params.data_path`` or a literal),
        and the constants lifted.
    """
    plans = tuple(plans)
    constants = tuple(constants)
    helpers = tuple(helpers)
    found: list[FoundPath] = []
    lifted: dict[str, ParamSpec] = {}
    # A new parameter's name must not be a name the notebook's code uses: its reads in stage
    # code would be taken for the parameter.
    taken = {spec.name for spec in parameters} | {
        name
        for statement in (*constants, *helpers, *(st for plan in plans for st in plan.statements))
        for name in statement.defines | statement.reads | statement.deferred_reads
    }
    input_files: list[str] = []
    notebook_dir = PurePath(notebook_path).parent
    lifts = (
        lift_constants(constants, helpers, plans, imports or {}, taken, notebook_dir)
        if lift_paths
        else ConstantLifts()
    )
    # Stage copies of lifted constants and of those computed from them are rendered from
    # the parameter; their literals are not lifted again.
    from_constants = lifts.lifted.keys() | lifts.derived.keys()
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
            if key_of(statement) in from_constants:
                continue
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
    lifted_constants: list[LiftedConstant] = []
    constant_params: list[ParamSpec] = []
    for statement in sorted(constants, key=key_of):
        constant = lifts.lifted.get(key_of(statement))
        if constant is not None:
            default = lifts.defaults[key_of(statement)]
            spec = ParamSpec(
                constant.param, "str", "str", False, default, repr(default),
                f"the constant {constant.name} of cell {cell_number(statement.cell)}", 0,
            )  # fmt: skip
            constant_params.append(spec)
            lifted_constants.append(constant)
            if path_kind(default) == "path" and PurePath(default).suffix:
                input_files.append(f"params.{constant.param}")
        for value, line, _node in statement.strings:
            kind = path_kind(value)
            if kind is None:
                continue
            absolute = is_absolute(value)
            name = ", ".join(sorted(statement.defines))
            if constant is not None:
                found.append(FoundPath(statement.cell, line, value, kind, absolute, constant.param))
                if absolute:
                    log.add(
                        WARNING,
                        "absolute-path-lifted",
                        f"absolute path {value!r} in the constant `{name}` became parameter "
                        f"`{constant.param}` with default {default!r}",
                        statement.cell,
                        line,
                        hint=f"pass --param {constant.param}=... to train",
                    )
                continue
            found.append(FoundPath(statement.cell, line, value, kind, absolute, None))
            follows = lifts.derived.get(key_of(statement))
            if follows is not None:
                continue  # computed again from the lifted constant's parameter on each run
            refused = lifts.refused.get(key_of(statement))
            message = f"hard-coded {kind} {value!r} in the constant `{name}`, which a helper reads"
            if refused is not None:
                message += f", is not lifted: {refused}"
                hint = f"pass `{name}` to the helper as an argument, or make it a parameter"
            else:
                hint = "pass --lift-paths to turn it into a parameter"
            log.add(
                ERROR if absolute else WARNING,
                "absolute-path" if absolute else "hard-coded-path",
                message,
                statement.cell,
                line,
                hint=hint,
            )
    params = (*lifted.values(), *constant_params)
    return tuple(found), params, tuple(input_files), tuple(lifted_constants)
