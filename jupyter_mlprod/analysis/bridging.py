"""Bridging constructions: a model input built in an earlier stage from the held-out features
(``dtest = xgb.DMatrix(X_test)`` in a train cell, read by ``model.predict(dtest)``) moves into
predict, which must build it from new data itself.

A construction that reads only the predict input, imports and artifacts moves (or, when its
own stage still uses it, is copied) into predict; one that needs the labels cannot be made
from new data, and is one error naming the statement and the fix.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Sequence, Set
from dataclasses import dataclass

import libcst as cst

from .. import roles
from .completion import Completion, RoledStatement, fits
from .log import ProblemLog
from .statements import CODE, IMPORT, Statement
from .types import ERROR, Definition, Inference, PredictIO
from .walk import Walked

# Names that hold labels, and keyword arguments that pass them (`DMatrix(X, label=y)`).
_LABEL_NAME = re.compile(r"^(y|labels?|targets?)(_|$)|_(y|labels?|targets?)$", re.IGNORECASE)
_LABEL_KEYWORDS = frozenset({"label", "labels", "y", "target"})
_EARLIER_STAGES = frozenset({roles.LOAD, roles.TRAIN})
# Where bridging constructions are looked for: load cells prepare data on purpose.
_BRIDGING_STAGES = frozenset({roles.TRAIN})


@dataclass(frozen=True)
class Bridge:
    """One construction predict reads from an earlier stage."""

    statement: Statement
    role: str  # the stage it was in
    name: str  # what predict reads from it
    input_name: str  # the held-out features it is built from
    labels: tuple[str, ...]  # the labels it needs, if any


@dataclass(frozen=True)
class Bridging:
    """What bridging changes: the statements' roles, and the input when it was inferred."""

    completion: Completion
    input_name: str | None  # the predict input to use instead of an inferred construction


def find_bridges(walked: Walked, io: PredictIO) -> tuple[Bridge, ...]:
    """The constructions in load or train cells that predict reads and that are built from the
    predict input (or, when the input was inferred and is itself a library's constructor
    called on one held-out variable, from that variable)."""
    found: dict[int, Bridge] = {}
    for statement in walked.stage_code(roles.PREDICT):
        for name, definition in sorted(walked.reads_of(statement).items()):
            source = _construction(definition)
            if (
                source is None
                or not _passed_as_data(statement, name)
                or not _calls_an_import(walked, source)
            ):
                continue
            made_earlier = _reads_made_in(walked, source, _EARLIER_STAGES)
            held_out = _reads_made_in(walked, source, {roles.LOAD})
            if io.input is not None and io.input in made_earlier and name != io.input:
                input_name = io.input
            elif (
                io.input_source == "inferred"
                and name == io.input
                and len(held_out - _labels(source)) == 1
            ):
                (input_name,) = held_out - _labels(source)
            else:
                continue
            labels = tuple(sorted((_labels(source) & held_out) - {input_name}))
            found.setdefault(
                id(source), Bridge(source, definition.role or "", name, input_name, labels)
            )
    return tuple(found.values())


def bridge_into_predict(
    completion: Completion, bridges: Sequence[Bridge], io: PredictIO, log: ProblemLog
) -> Bridging:
    """Move (or copy) each label-free construction into predict; report the others."""
    statements: list[RoledStatement] = list(completion.statements)
    inferred = list(completion.inferred)
    input_name: str | None = None
    for bridge in bridges:
        statement = bridge.statement
        if bridge.labels:
            labels = ", ".join(f"`{label}`" for label in bridge.labels)
            log.add(
                ERROR,
                "bridging-needs-labels",
                f"the predict stage reads `{bridge.name}`, which this {bridge.role} statement "
                f"builds from `{bridge.input_name}` and the labels {labels}; new data has no "
                "labels",
                statement.cell,
                statement.line,
                hint=f"build `{bridge.name}` in the predict cell from `{bridge.input_name}` "
                f"alone (without {labels})",
            )
            continue
        if bridge.name == io.input:
            input_name = bridge.input_name
        index = next(i for i, (st, _) in enumerate(statements) if st is statement)
        if _still_used(statements, index, bridge.role):
            # Its own stage uses it too (an eval set): predict builds its own copy, just
            # before the first predict statement that reads it.
            copy = dataclasses.replace(statement)
            first = next(
                i
                for i, (st, role) in enumerate(statements)
                if role == roles.PREDICT and statement.defines & st.reads
            )
            statements.insert(first, (copy, roles.PREDICT))
        else:
            statements[index] = (statement, roles.PREDICT)
        inferred.append(
            Inference(
                statement.cell,
                statement.line,
                roles.PREDICT,
                f"builds `{bridge.name}` from the predict input `{bridge.input_name}`: predict "
                "makes it from new data",
            )
        )
    inferred.sort(key=lambda inference: (inference.cell, inference.line))
    moved = Completion(tuple(statements), tuple(inferred), completion.inferred_ids)
    return Bridging(moved, input_name)


def _construction(definition: Definition) -> Statement | None:
    """The defining statement when it assigns one name in a train cell (``dtest = ...``)."""
    statement = definition.statement
    if statement is None or definition.role not in _BRIDGING_STAGES or statement.kind != CODE:
        return None
    if statement.mutates or not isinstance(statement.node, cst.SimpleStatementLine):
        return None
    if len(statement.node.body) != 1 or not isinstance(statement.node.body[0], cst.Assign):
        return None
    targets = statement.node.body[0].targets
    if len(targets) != 1 or not isinstance(targets[0].target, cst.Name):
        return None
    return statement


def _passed_as_data(statement: Statement, name: str) -> bool:
    """Whether the statement passes ``name`` to a call (``model.predict(dtest)``), as data
    rather than as the model whose method it calls."""
    found = False

    class Finder(cst.CSTVisitor):
        def visit_Arg(self, arg: cst.Arg) -> None:
            nonlocal found
            if isinstance(arg.value, cst.Name) and arg.value.value == name:
                found = True

    statement.node.visit(Finder())
    return found


def _reads_made_in(walked: Walked, statement: Statement, stages: Set[str]) -> set[str]:
    """The names a statement reads that code of these stages made (not imports, parameters)."""
    return {
        name
        for name, definition in walked.reads_of(statement).items()
        if definition.kind == CODE and definition.role in stages
    }


def _calls_an_import(walked: Walked, statement: Statement) -> bool:
    """Whether the statement's value is a call of something imported (``xgb.DMatrix(...)``,
    ``Pool(...)``), and nothing in it fits (``LinearRegression().fit(X, y)`` trains)."""
    if fits(statement.node):
        return False
    node = statement.node
    assert isinstance(node, cst.SimpleStatementLine) and isinstance(node.body[0], cst.Assign)
    value = node.body[0].value
    if not isinstance(value, cst.Call):
        return False
    callee = value.func
    while isinstance(callee, cst.Attribute):
        callee = callee.value
    if not isinstance(callee, cst.Name):
        return False
    definition = walked.reads_of(statement).get(callee.value)
    return definition is not None and definition.kind == IMPORT


def _labels(statement: Statement) -> set[str]:
    labels = {name for name in statement.reads if _LABEL_NAME.search(name)}

    class Keywords(cst.CSTVisitor):
        def visit_Arg(self, arg: cst.Arg) -> None:
            if arg.keyword is not None and arg.keyword.value in _LABEL_KEYWORDS:
                labels.update(
                    node.value for node in _names(arg.value) if node.value in statement.reads
                )

    statement.node.visit(Keywords())
    return labels


def _names(node: cst.CSTNode) -> list[cst.Name]:
    found: list[cst.Name] = []

    class Finder(cst.CSTVisitor):
        def visit_Name(self, name: cst.Name) -> None:
            found.append(name)

    node.visit(Finder())
    return found


def _still_used(statements: Sequence[RoledStatement], index: int, role: str) -> bool:
    """Whether a statement of an earlier stage than predict reads what statement ``index``
    defines, before anything redefines it."""
    defines = statements[index][0].defines
    for statement, statement_role in statements[index + 1 :]:
        if statement_role != roles.PREDICT and statement_role in _EARLIER_STAGES:
            if defines & (statement.reads | statement.mutates):
                return True
        if defines <= statement.defines - statement.mutates:
            return False
    return False
