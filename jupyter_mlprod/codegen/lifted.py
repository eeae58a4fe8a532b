"""Constants carried with helpers that ``--lift-paths`` made parameters: the code that gives
them each run's value.

The module constant stays as the notebook wrote it (its value is the parameter's default), and
``features.use_params(params)``, which every stage function calls first, binds it to the
run's parameter, computes again the constants derived from it and sets again the class
attributes read from it. A default argument that reads it (``def load_data(path=DATA_PATH)``)
becomes ``None``, resolved in the body when the helper is called: a default is evaluated once,
when the function is defined, before any parameter exists.
"""

from __future__ import annotations

import textwrap
import typing
from collections.abc import Iterable
from dataclasses import dataclass

import libcst as cst
import libcst.matchers as m

from ..analysis import Analysis, LiftedConstant, Statement
from ..analysis.constant_lifts import key_of, sentinel_params
from ..analysis.statements import CLASS, CODE
from ..errors import cell_number

_FUNCTION_NAMES = ("use_params", "use_run_params")
_ARGUMENT_NAMES = ("params", "run_params", "parameters")


@dataclass(frozen=True)
class LiftedConstants:
    """The lifted constants of one analysis and everything that follows them.

    Attributes:
        constants: the lifted constants, by the notebook place of their assignment.
        pinned: the names bound to the run's values: the lifted constants and the constants
            computed from them.
        statements: the carried constants computed from a lifted one, in notebook order.
    """

    constants: dict[tuple[int, int], LiftedConstant]
    pinned: frozenset[str]
    statements: tuple[Statement, ...]

    @classmethod
    def of(cls, analysis: Analysis) -> LiftedConstants:
        """The lifted constants of ``analysis`` (none without ``--lift-paths``)."""
        constants = {(c.cell, c.position): c for c in analysis.lifted_constants}
        pinned = {c.name for c in analysis.lifted_constants}
        derived: list[Statement] = []
        carried = sorted((st for st in analysis.carried if st.kind == CODE), key=key_of)
        for statement in carried:
            if key_of(statement) in constants:
                continue
            if statement.reads & pinned:
                derived.append(statement)
                pinned |= statement.defines
        return cls(constants, frozenset(pinned), tuple(derived))

    def __bool__(self) -> bool:
        return bool(self.constants)

    def reads_pinned(self, statement: Statement) -> bool:
        """Whether a carried statement is, or reads, a name bound to the run's values."""
        names = statement.defines | statement.reads | statement.deferred_reads
        return bool(names & self.pinned)

    def stage_copy(self, statement: Statement, params_var: str) -> cst.BaseStatement | None:
        """A stage's own copy of a lifted constant's assignment, now from the parameter."""
        constant = self.constants.get(key_of(statement))
        if constant is None:
            return None
        return cst.parse_statement(f"{constant.name} = {self._value(constant, params_var)}\n")

    def constant_note(self, statement: Statement) -> str:
        """The comment line over a lifted constant in its module (empty for other helpers)."""
        constant = self.constants.get(key_of(statement))
        if constant is None:
            return ""
        return _comment(
            f"--lift-paths: the parameter `{constant.param}` (`train --param "
            f"{constant.param}=...`); every stage gives it the run's value before its code runs."
        )

    def helper_node(self, statement: Statement) -> tuple[cst.BaseStatement, str]:
        """A carried function or class with its default arguments that read lifted names
        resolved at call time, and the comment saying so (empty when nothing changed)."""
        if statement.kind == CODE or not self:
            return statement.node, ""
        reads = {id(node) for name, node in statement.read_nodes if name in self.pinned}
        if not reads:
            return statement.node, ""
        changer = _DefaultsAtCallTime(reads)
        node = typing.cast(cst.BaseStatement, statement.node.visit(changer))
        if not changer.changed:
            return node, ""
        names = ", ".join(f"`{name}`" for name in changer.changed)
        return node, _comment(
            f"--lift-paths: a None {names} is the lifted parameter's value at call time (a "
            "default is computed once, when the function is defined)."
        )

    def function_name(self, taken: Iterable[str]) -> str:
        """The name of the function in ``features`` that binds the run's values."""
        used = set(taken)
        return next(name for name in _FUNCTION_NAMES if name not in used)

    def use_params_source(self, helpers: Iterable[Statement]) -> tuple[str, set[str]]:
        """``use_params``: bind the lifted constants, the constants computed from them and the
        class attributes read from them to a run's parameters; and the names it reads."""
        helpers = tuple(helpers)
        used = {n for st in helpers for n in st.defines | st.reads | st.deferred_reads}
        argument = next(name for name in _ARGUMENT_NAMES if name not in used)
        constants = sorted(self.constants.values(), key=lambda c: (c.cell, c.position))
        lines: list[tuple[tuple[int, int], str]] = [
            ((c.cell, c.position), f"{c.name} = {self._value(c, argument)}") for c in constants
        ]
        reads: set[str] = {c.path_type.split(".")[0] for c in constants if c.path_type}
        for statement in self.statements:
            code = cst.Module(body=[typing.cast(cst.SimpleStatementLine, statement.node)]).code
            lines.append((key_of(statement), code.strip()))
            reads |= statement.reads
        for statement in helpers:
            if statement.kind == CLASS:
                for line in self._class_attributes(statement):
                    lines.append((key_of(statement), line))
                    reads |= statement.reads
        globals_line = "global " + ", ".join(
            sorted({c.name for c in constants} | {n for st in self.statements for n in st.defines})
        )
        cells = ", ".join(sorted({str(cell_number(c.cell)) for c in constants}))
        body = [
            '"""Give the constants `--lift-paths` made parameters this run\'s values.',
            "",
            "Every stage function calls it before its own code, so that the helpers read the",
            "values given with `train --param`; the constants and class attributes computed",
            f"from them are computed again (notebook cell {cells}).",
            '"""',
            globals_line,
            *(line for _key, line in sorted(lines, key=lambda item: item[0])),
        ]
        # An entry may span lines (a comment over a derived constant, a long expression).
        text = textwrap.indent("\n".join(body), "    ")
        name = self.function_name(name for st in helpers for name in st.defines)
        return f"def {name}({argument}: Params) -> None:\n{text}\n", reads

    def _class_attributes(self, statement: Statement) -> list[str]:
        node = statement.node
        assert isinstance(node, cst.ClassDef)
        module = cst.Module(body=[])
        lines = []
        for item in node.body.body:
            if not isinstance(item, cst.SimpleStatementLine):
                continue
            for small in item.body:
                if isinstance(small, cst.Assign):
                    targets = [t.target for t in small.targets]
                elif isinstance(small, cst.AnnAssign) and small.value is not None:
                    targets = [small.target]
                else:
                    continue
                value = small.value
                assert value is not None
                if not _reads(value, self.pinned) or not all(
                    isinstance(t, cst.Name) for t in targets
                ):
                    continue
                names = " = ".join(
                    f"{node.name.value}.{typing.cast(cst.Name, t).value}" for t in targets
                )
                lines.append(f"{names} = {module.code_for_node(value)}")
        return lines

    @staticmethod
    def _value(constant: LiftedConstant, params_var: str) -> str:
        value = f"{params_var}.{constant.param}"
        return f"{constant.path_type}({value})" if constant.path_type else value


def _comment(text: str) -> str:
    return "\n".join(textwrap.wrap(text, width=97, initial_indent="# ", subsequent_indent="# "))


def _reads(node: cst.CSTNode, names: frozenset[str]) -> bool:
    return bool(m.findall(node, m.Name(value=m.MatchIfTrue(lambda value: value in names))))


class _DefaultsAtCallTime(cst.CSTTransformer):
    """``def f(path=DATA_PATH)`` → ``def f(path=None)`` and ``if path is None: path =
    DATA_PATH`` first in the body, for the defaults holding one of the given name nodes."""

    def __init__(self, reads: set[int]) -> None:
        self.reads = reads
        self.changed: list[str] = []

    def leave_FunctionDef(
        self, original_node: cst.FunctionDef, updated_node: cst.FunctionDef
    ) -> cst.FunctionDef:
        moved = [
            param
            for param in sentinel_params(original_node)
            if param.default is not None and _holds(param.default, self.reads)
        ]
        if not moved:
            return updated_node
        module = cst.Module(body=[])
        names = {param.name.value for param in moved}
        resolve = [
            cst.parse_statement(
                f"if {param.name.value} is None:\n"
                f"    {param.name.value} = {module.code_for_node(default)}\n"
            )
            for param in moved
            if (default := param.default) is not None
        ]
        self.changed += [param.name.value for param in moved]

        def sentinel(param: cst.Param) -> cst.Param:
            if param.name.value in names:
                return param.with_changes(default=cst.Name("None"))
            return param

        params = updated_node.params
        params = params.with_changes(
            posonly_params=[sentinel(p) for p in params.posonly_params],
            params=[sentinel(p) for p in params.params],
            kwonly_params=[sentinel(p) for p in params.kwonly_params],
        )
        body = updated_node.body
        if isinstance(body, cst.SimpleStatementSuite):
            statements: list[cst.BaseStatement] = [cst.SimpleStatementLine(body=body.body)]
        else:
            statements = list(typing.cast(cst.IndentedBlock, body).body)
        at = 1 if updated_node.get_docstring(clean=False) is not None else 0
        statements[at:at] = resolve
        return updated_node.with_changes(params=params, body=cst.IndentedBlock(body=statements))


def _holds(node: cst.CSTNode, ids: set[int]) -> bool:
    return any(id(name) in ids for name in m.findall(node, m.Name()))
