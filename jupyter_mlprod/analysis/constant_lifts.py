"""Which path constants carried with helpers ``--lift-paths`` can make parameters.

A helper reads a module constant (``DATA_PATH = os.path.join(ROOT, "x.csv")``) in its body,
in a default argument (``def load_data(path=DATA_PATH)``) or through a class attribute
(``class Loader: path = DATA_PATH``). Such a constant becomes a parameter named after it
(``data_path``) when the generated code can give it the run's value before any helper runs:

- its value is known without running the notebook (literals, other constants,
  ``os.path.join``, ``pathlib.Path`` and ``/``, ``+``, f-strings of constants), which gives
  the parameter its default;
- predict does not read it, nor anything computed from it, nor a helper or class the trained
  objects may hold (one read where an artifact is made, a class with a base class): predict
  takes no parameters;
- every read made when a helper is *defined* is a default argument or a class attribute's
  value, which codegen moves to call time (a ``None`` default resolved in the body; the
  attribute set again for each run).

Constants computed from a lifted one follow it (they are computed again from the parameter)
and are not parameters themselves. This module decides; codegen writes the code.
"""

from __future__ import annotations

import keyword
import posixpath
import typing
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import PurePath, PurePosixPath

import libcst as cst
import libcst.matchers as m

from .. import roles
from .paths import path_kind, portable_default, unique
from .statements import CLASS, FUNCTION, ImportBinding, Statement
from .types import LiftedConstant, StagePlan

# A constant's value as far as it is known statically.
_Value = str | PurePosixPath
_PATH_TYPES = frozenset({("pathlib", "Path"), ("pathlib", "PurePath"), ("pathlib", "PosixPath")})
_JOINS = frozenset({("os.path", "join"), ("posixpath", "join")})


@dataclass(frozen=True)
class ConstantLifts:
    """The outcome for the carried constants.

    Attributes:
        lifted: by ``(cell, position)``, the constants that become parameters.
        defaults: by ``(cell, position)``, the lifted parameter's portable default.
        derived: by ``(cell, position)``, the constants computed from a lifted one, with the
            name of the one they follow.
        refused: by ``(cell, position)``, why a path-like constant is not lifted.
    """

    lifted: dict[tuple[int, int], LiftedConstant] = field(default_factory=dict)
    defaults: dict[tuple[int, int], str] = field(default_factory=dict)
    derived: dict[tuple[int, int], str] = field(default_factory=dict)
    refused: dict[tuple[int, int], str] = field(default_factory=dict)


def key_of(statement: Statement) -> tuple[int, int]:
    """A statement's place in the notebook (copies made by stage completion share it)."""
    return statement.cell, statement.position


def lift_constants(
    constants: Iterable[Statement],
    helpers: Iterable[Statement],
    plans: Iterable[StagePlan],
    imports: Mapping[str, ImportBinding],
    taken: set[str],
    notebook_dir: PurePath,
) -> ConstantLifts:
    """Decide which path-like carried constants become parameters (see the module docstring).

    Args:
        constants: the carried constants.
        helpers: the carried functions and classes.
        plans: the stage plans (predict's reads decide what cannot be lifted).
        imports: the binding of each imported name the package uses.
        taken: names a new parameter may not take; the new names are added to it.
        notebook_dir: the notebook's folder, which absolute defaults are made relative to.
    """
    ordered = sorted(constants, key=key_of)
    helpers = tuple(helpers)
    result = ConstantLifts()
    values: dict[str, _Value] = {}
    following: dict[str, str] = {}  # derived constant name → the lifted constant it follows
    predict_reads = _predict_reach(plans, [*ordered, *helpers])
    for statement in ordered:
        target, value_node = _single_target(statement)
        value = _evaluate(value_node, values, imports) if value_node is not None else None
        if target is not None and value is not None:
            values[target] = value
        followed = sorted(following[name] for name in statement.reads if name in following)
        if followed:
            result.derived[key_of(statement)] = followed[0]
            following.update(dict.fromkeys(statement.defines, followed[0]))
            continue
        if not any(path_kind(text) for text, _line, _node in statement.strings):
            continue
        pinned = _dependents(statement, ordered)
        reason = None
        if target is None:
            reason = "it assigns several names; assign the path to one name"
        elif value is None:
            reason = (
                "its value is not computed only from literals, other constants, os.path.join "
                "or pathlib"
            )
        elif pinned & predict_reads:
            reason = (
                "predict reads it (or a helper or class the trained model may hold does), and "
                "predict takes no parameters"
            )
        else:
            reason = _definition_time_problem(pinned, helpers)
        if reason is not None or target is None or value is None:
            result.refused[key_of(statement)] = reason or ""
            continue
        param = unique(_parameter_name(target), taken)
        taken.add(param)
        path_type = _path_type(imports) if isinstance(value, PurePath) else None
        result.lifted[key_of(statement)] = LiftedConstant(
            target, param, statement.cell, statement.position, path_type
        )
        result.defaults[key_of(statement)] = portable_default(str(value), notebook_dir)
        following[target] = target
    return result


def _parameter_name(constant: str) -> str:
    name = constant.lower().strip("_") or "path"
    if keyword.iskeyword(name) or name in roles.PARAMS_MODULE_NAMES or not name.isidentifier():
        name = f"{name}_path"
    return name


def _single_target(statement: Statement) -> tuple[str | None, cst.BaseExpression | None]:
    """The one name and value of ``NAME = value`` (or ``NAME: T = value``), else Nones."""
    node = statement.node
    if not isinstance(node, cst.SimpleStatementLine) or len(node.body) != 1:
        return None, None
    small = node.body[0]
    if isinstance(small, cst.AnnAssign) and isinstance(small.target, cst.Name):
        return small.target.value, small.value
    if (
        isinstance(small, cst.Assign)
        and len(small.targets) == 1
        and isinstance(small.targets[0].target, cst.Name)
    ):
        return small.targets[0].target.value, small.value
    return None, small.value if isinstance(small, cst.Assign) else None


def _dependents(statement: Statement, ordered: list[Statement]) -> set[str]:
    """The statement's names and those of the constants after it computed from them."""
    names = set(statement.defines)
    for later in ordered:
        if key_of(later) > key_of(statement) and later.reads & names:
            names |= later.defines
    return names


def _predict_reach(plans: Iterable[StagePlan], carried: Iterable[Statement]) -> set[str]:
    """Every name predict's code may read, directly or through carried helpers and constants.

    Besides predict's own statements, the helpers and classes the trained objects may hold
    count: those read where an artifact is made (``FunctionTransformer(clean)``,
    ``Pipeline([("src", Source())])``) and every class with a base class (a custom
    transformer or module); predict runs their code without parameters.
    """
    plans = tuple(plans)
    carried = tuple(carried)
    by_name = {name: statement for statement in carried for name in statement.defines}
    predict = [plan for plan in plans if plan.role == roles.PREDICT]
    # What predict receives from training: the names its code reads but the new input.
    artifacts = {name for plan in predict for st in plan.statements for name in st.reads} - {
        name for plan in predict for name in plan.inputs
    }
    pending = [
        name
        for plan in predict
        for statement in plan.statements
        for name in statement.reads | statement.defines
    ]
    pending += [
        name
        for plan in plans
        if plan.role != roles.PREDICT
        for statement in plan.statements
        if statement.defines & artifacts
        for name in statement.reads
    ]
    pending += [
        name
        for statement in carried
        if isinstance(statement.node, cst.ClassDef) and _has_bases(statement.node)
        for name in statement.defines
    ]
    seen: set[str] = set()
    while pending:
        name = pending.pop()
        if name in seen:
            continue
        seen.add(name)
        statement = by_name.get(name)
        if statement is not None:
            pending += statement.reads | statement.deferred_reads
    return seen


def _has_bases(node: cst.ClassDef) -> bool:
    return any(
        not (isinstance(base.value, cst.Name) and base.value.value == "object")
        for base in node.bases
    )


def _definition_time_problem(pinned: set[str], helpers: Iterable[Statement]) -> str | None:
    """Why a helper's read of the names when it is defined cannot move to call time."""
    for helper in helpers:
        reads = [node for name, node in helper.read_nodes if name in pinned]
        if not reads:
            continue
        movable = movable_reads(helper)
        for node in reads:
            if id(node) not in movable:
                where = "a lambda's default" if helper.kind == FUNCTION else "its definition"
                return (
                    f"`{', '.join(sorted(helper.defines))}` reads `{node.value}` in {where} "
                    "(a decorator, an annotation or a base class), before parameters exist"
                )
    return None


def movable_reads(helper: Statement) -> set[int]:
    """The ``id`` of every name node that a helper reads when it is defined and that codegen
    can read at call time instead: in a default argument of the function (or of a method of
    the class), or in the value of a class-body assignment that reads no other class
    attribute."""
    found: set[int] = set()
    node = helper.node
    functions: list[cst.FunctionDef] = []
    if isinstance(node, cst.FunctionDef):
        functions.append(node)
    elif isinstance(node, cst.ClassDef) and helper.kind == CLASS:
        assigned: set[str] = set()
        for item in node.body.body:
            if isinstance(item, cst.FunctionDef):
                functions.append(item)
                assigned.add(item.name.value)
                continue
            if not isinstance(item, cst.SimpleStatementLine):
                continue
            for small in item.body:
                value, targets = _class_assignment(small)
                if value is None:
                    continue
                names = _names_in(value)
                if not {name.value for name in names} & assigned:
                    found.update(id(name) for name in names)
                assigned |= targets
    for function in functions:
        for param in sentinel_params(function):
            found.update(id(name) for name in _names_in(param.default))
    return found


def sentinel_params(function: cst.FunctionDef) -> list[cst.Param]:
    """The parameters of a function that have a default (positional and keyword-only)."""
    params = function.params
    every = [*params.posonly_params, *params.params, *params.kwonly_params]
    return [param for param in every if param.default is not None]


def _class_assignment(small: cst.BaseSmallStatement) -> tuple[cst.BaseExpression | None, set[str]]:
    """The value and target names of ``attr = value`` in a class body (else None)."""
    if isinstance(small, cst.Assign) and all(
        isinstance(target.target, cst.Name) for target in small.targets
    ):
        return small.value, {
            target.target.value for target in small.targets if isinstance(target.target, cst.Name)
        }
    if isinstance(small, cst.AnnAssign) and isinstance(small.target, cst.Name) and small.value:
        return small.value, {small.target.value}
    return None, set()


def _names_in(node: cst.CSTNode | None) -> list[cst.Name]:
    if node is None:
        return []
    return [typing.cast(cst.Name, name) for name in m.findall(node, m.Name())]


def _qualified(node: cst.BaseExpression, imports: Mapping[str, ImportBinding]) -> tuple[str, str]:
    """``(module, name)`` a callee refers to through the imports (``("os.path", "join")``),
    or ``("", "")``."""
    parts: list[str] = []
    while isinstance(node, cst.Attribute):
        parts.insert(0, node.attr.value)
        node = node.value
    if not isinstance(node, cst.Name):
        return "", ""
    binding = imports.get(node.value)
    if binding is None:
        return ("", node.value) if not parts and node.value == "str" else ("", "")
    base = binding.module if binding.imported is None else f"{binding.module}.{binding.imported}"
    dotted = ".".join([base, *parts])
    module, _, name = dotted.rpartition(".")
    return module, name


def _evaluate(
    node: cst.BaseExpression, values: Mapping[str, _Value], imports: Mapping[str, ImportBinding]
) -> _Value | None:
    """The value of a constant's expression when it is a path or a string known statically."""
    if isinstance(node, (cst.SimpleString, cst.ConcatenatedString)):
        value = node.evaluated_value
        return value if isinstance(value, str) else None
    if isinstance(node, cst.Name):
        return values.get(node.value)
    if isinstance(node, cst.FormattedString):
        return _evaluate_fstring(node, values)
    if isinstance(node, cst.BinaryOperation):
        left = _evaluate(node.left, values, imports)
        right = _evaluate(node.right, values, imports)
        if left is None or right is None:
            return None
        if isinstance(node.operator, cst.Add) and isinstance(left, str) and isinstance(right, str):
            return left + right
        if isinstance(node.operator, cst.Divide) and (
            isinstance(left, PurePosixPath) or isinstance(right, PurePosixPath)
        ):
            return PurePosixPath(left) / right
        return None
    if isinstance(node, cst.Call) and all(
        arg.keyword is None and not arg.star for arg in node.args
    ):
        args = [_evaluate(arg.value, values, imports) for arg in node.args]
        if any(arg is None for arg in args):
            return None
        known = [arg for arg in args if arg is not None]
        callee = _qualified(node.func, imports)
        if callee in _JOINS and known:
            return posixpath.join(*(str(arg) for arg in known))
        if callee in _PATH_TYPES:
            return PurePosixPath(*known)
        if callee == ("", "str") and len(known) == 1:
            return str(known[0])
    return None


def _evaluate_fstring(node: cst.FormattedString, values: Mapping[str, _Value]) -> str | None:
    pieces: list[str] = []
    for part in node.parts:
        if isinstance(part, cst.FormattedStringText):
            pieces.append(part.value)
        elif (
            isinstance(part, cst.FormattedStringExpression)
            and isinstance(part.expression, cst.Name)
            and part.conversion is None
            and part.format_spec is None
            and part.expression.value in values
        ):
            pieces.append(str(values[part.expression.value]))
        else:
            return None
    return "".join(pieces)


def _path_type(imports: Mapping[str, ImportBinding]) -> str | None:
    """How the generated code makes a Path of the parameter: the import name of pathlib's
    class the package already binds (``Path`` or ``pathlib.Path``)."""
    for name, binding in sorted(imports.items()):
        if binding.module == "pathlib" and binding.imported in {"Path", "PurePath", "PosixPath"}:
            return name
        if binding.module == "pathlib" and binding.imported is None:
            return f"{name}.Path"
    return None
