"""The parameters cell: parse it into typed parameter specs and coerce user values.

A parameters cell holds literal assignments only (papermill's convention), optionally
annotated and commented::

    C: float = 0.5  # inverse regularisation strength
    layers = [64, 32]

The type of a parameter is its annotation when given, else the type of its default. Values
from the command line (``-p lr 1``, ``--param lr=1``) are converted by that type rather than
guessed, so ``1`` becomes ``1.0`` for a float and ``'7'`` stays a string for a str; the
rules are the generated package's own, in :mod:`jupyter_mlprod.runtime.param_types`.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass
from typing import Any

import libcst as cst
from libcst.metadata import PositionProvider

from .bounds import SYNTAX_ERROR, refuse_unbounded
from .errors import ECHO_LIMIT, CellError, ParameterError, printable
from .runtime import param_types
from .runtime.errors import ParameterError as PackageParameterError

# Annotation roots we understand, mapped to the type name used everywhere else.
_ANNOTATION_ROOTS = {
    "int": "int",
    "float": "float",
    "bool": "bool",
    "str": "str",
    "list": "list",
    "List": "list",
    "Sequence": "list",
    "dict": "dict",
    "Dict": "dict",
    "Mapping": "dict",
    "tuple": "tuple",
    "Tuple": "tuple",
    "set": "set",
    "Set": "set",
    "Any": "any",
    "None": "NoneType",
}
_CONTAINERS = {"list": list, "dict": dict, "tuple": tuple, "set": set}


@dataclass(frozen=True)
class ParamSpec:
    """One parameter of a notebook.

    Attributes:
        name: the variable name.
        annotation: the annotation as written, or None.
        type_name: ``int``, ``float``, ``bool``, ``str``, ``list``, ``dict``, ``tuple``, ``set``,
            ``any`` or ``NoneType`` (a default of None with no annotation).
        nullable: whether None is an accepted value (``X | None``, ``Optional[X]``, default None).
        default: the literal default value.
        default_repr: the default as written in the notebook.
        comment: the trailing (or else leading) comment, without ``#``.
        line: 1-based line of the assignment in the cell.
    """

    name: str
    annotation: str | None
    type_name: str
    nullable: bool
    default: Any
    default_repr: str
    comment: str
    line: int

    @property
    def python_type(self) -> str:
        """The annotation to use in generated code (``float``, ``list[int]``, ``str | None``)."""
        if self.annotation:
            return self.annotation
        base = {"NoneType": "Any", "any": "Any"}.get(self.type_name, self.type_name)
        if self.type_name in _CONTAINERS and self.default:
            base = _infer_container_annotation(self.default) or base
        return base


def parse_parameters_cell(source: str, *, path: str, cell_index: int) -> tuple[ParamSpec, ...]:
    """Parse a parameters cell into specs, refusing anything but literal assignments.

    Raises:
        CellError: the cell has a syntax error, a non-literal value, or another statement,
            or is more than libcst can take (see :mod:`jupyter_mlprod.bounds`).
    """
    refusal = refuse_unbounded(source)
    if refusal is not None:
        syntax = refusal.code == SYNTAX_ERROR
        raise CellError(
            path,
            cell_index,
            refusal.message.replace("syntax error", "syntax error in the parameters cell", 1)
            if syntax
            else f"parameters cell: {refusal.message}",
            line=refusal.line,
            column=refusal.column,
            hint="fix the cell so it is valid Python" if syntax else refusal.hint,
        )
    try:
        module = cst.parse_module(source)
    except cst.ParserSyntaxError as exc:
        raise CellError(
            path,
            cell_index,
            f"syntax error in the parameters cell: {exc.message}",
            line=exc.raw_line,
            column=exc.raw_column,
            hint="fix the cell so it is valid Python",
        ) from None
    wrapper = cst.MetadataWrapper(module, unsafe_skip_copy=True)
    positions = wrapper.resolve(PositionProvider)
    specs: list[ParamSpec] = []
    for statement in wrapper.module.body:
        line = positions[statement].start.line
        if not isinstance(statement, cst.SimpleStatementLine):
            raise _not_literal(path, cell_index, line, "only assignments of literal values")
        comment = _comment_of(statement)
        for small in statement.body:
            specs.append(_parse_assignment(small, module, comment, path, cell_index, line))
    return tuple(specs)


def coerce_value(spec: ParamSpec, text: str) -> Any:
    """Convert a command-line string to the parameter's type.

    The rules are the generated package's (:mod:`jupyter_mlprod.runtime.param_types`), so
    ``nb2prod run -p`` and ``train --param`` accept the same text and give the same values.

    Raises:
        ParameterError: the text cannot be read as the parameter's type.
    """
    try:
        return param_types.coerce_text(spec.name, text, spec_annotation(spec))
    except PackageParameterError:
        raise ParameterError(_bad_value(spec, text)) from None


def check_value(spec: ParamSpec, value: Any) -> Any:
    """Check an already-typed value (from YAML/JSON) against the parameter's type.

    Integers are widened to float for float parameters; strings are read like CLI text
    (the package's rules, :mod:`jupyter_mlprod.runtime.param_types`).

    Raises:
        ParameterError: the value does not fit the parameter's type.
    """
    try:
        return param_types.check_value(spec.name, value, spec_annotation(spec))
    except PackageParameterError:
        shown = value if isinstance(value, str) else repr(value)
        raise ParameterError(_bad_value(spec, shown)) from None


def spec_annotation(spec: ParamSpec) -> Any:
    """The annotation the generated ``Params`` gives this parameter, as a typing object
    (optional when the default is None, as the package's ``train`` reads it)."""
    return param_types.with_default(
        param_types.annotation_from_text(spec.python_type), spec.default
    )


def find_spec(specs: tuple[ParamSpec, ...], name: str) -> ParamSpec:
    """Return the spec called ``name``.

    Raises:
        ParameterError: no such parameter (the message lists the known ones).
    """
    for spec in specs:
        if spec.name == name:
            return spec
    known = ", ".join(spec.name for spec in specs) or "none"
    raise ParameterError(f"unknown parameter {name!r}; the notebook's parameters are: {known}")


def _parse_assignment(
    small: cst.BaseSmallStatement,
    module: cst.Module,
    comment: str,
    path: str,
    cell_index: int,
    line: int,
) -> ParamSpec:
    annotation: str | None = None
    if isinstance(small, cst.AnnAssign) and small.value is not None:
        target, value = small.target, small.value
        annotation = module.code_for_node(small.annotation.annotation)
    elif isinstance(small, cst.Assign) and len(small.targets) == 1:
        target, value = small.targets[0].target, small.value
    else:
        raise _not_literal(path, cell_index, line, "only single assignments like `x: int = 1`")
    if not isinstance(target, cst.Name):
        raise _not_literal(path, cell_index, line, "assign one plain name per line")
    value_code = module.code_for_node(value)
    try:
        default = ast.literal_eval(value_code)
    except (ValueError, SyntaxError):
        raise _not_literal(
            path,
            cell_index,
            line,
            f"{target.value} = {printable(value_code, limit=ECHO_LIMIT)} is not a literal value",
        ) from None
    type_name, nullable = _type_of(annotation, default)
    return ParamSpec(
        name=target.value,
        annotation=annotation,
        type_name=type_name,
        nullable=nullable,
        default=default,
        default_repr=value_code,
        comment=comment,
        line=line,
    )


def _type_of(annotation: str | None, default: Any) -> tuple[str, bool]:
    if annotation is None:
        if default is None:
            return "NoneType", True
        return type(default).__name__, False
    try:
        expr = ast.parse(annotation, mode="eval").body
    except SyntaxError:
        return "any", default is None
    nullable = default is None
    # `X | None` and `Optional[X]` name the type X and accept None.
    if isinstance(expr, ast.BinOp) and isinstance(expr.op, ast.BitOr):
        parts = [expr.left, expr.right]
        non_none = [p for p in parts if not (isinstance(p, ast.Constant) and p.value is None)]
        nullable = nullable or len(non_none) < len(parts)
        expr = non_none[0] if len(non_none) == 1 else expr
    if isinstance(expr, ast.Subscript) and _root_name(expr.value) == "Optional":
        nullable = True
        expr = expr.slice
    root = _root_name(expr.value if isinstance(expr, ast.Subscript) else expr)
    return _ANNOTATION_ROOTS.get(root or "", "any"), nullable


def _root_name(node: ast.expr) -> str | None:
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute):  # typing.List
        return node.attr
    if isinstance(node, ast.Constant) and node.value is None:
        return "None"
    return None


def _infer_container_annotation(default: Any) -> str | None:
    items = list(default.values()) if isinstance(default, dict) else list(default)
    item_types = {type(item).__name__ for item in items}
    if len(item_types) != 1 or item_types & {"list", "dict", "tuple", "set", "NoneType"}:
        return None
    (item,) = item_types
    if isinstance(default, dict):
        key_types = {type(key).__name__ for key in default}
        return f"dict[{key_types.pop()}, {item}]" if len(key_types) == 1 else None
    if isinstance(default, tuple):
        return f"tuple[{item}, ...]"
    return f"{type(default).__name__}[{item}]"


def _comment_of(statement: cst.SimpleStatementLine) -> str:
    trailing = statement.trailing_whitespace.comment
    if trailing is not None:
        return trailing.value.lstrip("#").strip()
    leading = [line.comment.value for line in statement.leading_lines if line.comment]
    return " ".join(text.lstrip("#").strip() for text in leading)


def _not_literal(path: str, cell_index: int, line: int, problem: str) -> CellError:
    return CellError(
        path,
        cell_index,
        f"parameters cell: {problem}",
        line=line,
        hint="keep only literal assignments in the parameters cell and move computed values "
        "to a load cell",
    )


def _bad_value(spec: ParamSpec, text: str) -> str:
    expected = spec.annotation or spec.type_name
    shown = repr(text[:ECHO_LIMIT]) + ("…" if len(text) > ECHO_LIMIT else "")
    return f"parameter {spec.name!r} expects {expected}; cannot use {shown}"
