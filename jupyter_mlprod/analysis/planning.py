"""Stage planning: split the stage cells into the package's functions (slicing the predict
cells into prepare, predict and evaluate, leaving out what is off the data path) and wire each
function's inputs and outputs."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import libcst as cst

from .. import roles
from .effects import outside_effect
from .log import ProblemLog
from .predict_io import subscript_column
from .statements import Statement
from .types import ERROR, WARNING, Definition, LeftOut, PredictIO, StagePlan
from .walk import DEFINITION_KINDS, Walked


@dataclass(frozen=True)
class Planned:
    """The stage plans and the artifacts predict needs from training."""

    plans: tuple[StagePlan, ...]  # load, train, prepare, predict, evaluate (those present)
    artifacts: tuple[str, ...]
    # Where each artifact comes from: the role of the plan that outputs it ("parameters" too).
    artifact_sources: tuple[tuple[str, str], ...]
    left_out: tuple[LeftOut, ...] = ()  # statements of the predict cells left out


@dataclass(frozen=True)
class PredictSlice:
    """The predict cells' code statements, split by the stage they belong to."""

    prepare: tuple[Statement, ...]
    predict: tuple[Statement, ...]
    evaluate: tuple[Statement, ...]
    left_out: tuple[LeftOut, ...]  # off the data path, with the reason


def plan_stages(walked: Walked, io: PredictIO, log: ProblemLog) -> Planned:
    """Split the stage cells into functions and wire their inputs and outputs."""
    load_code = walked.stage_code(roles.LOAD)
    train_code = walked.stage_code(roles.TRAIN)
    predict_code = walked.stage_code(roles.PREDICT)
    sliced = slice_predict(predict_code, io, log)
    slice_code = sliced.predict
    groups: list[tuple[str, Sequence[Statement]]] = [
        (roles.LOAD, load_code),
        (roles.TRAIN, train_code),
        (roles.PREPARE, sliced.prepare),
        (roles.PREDICT, slice_code),
        (roles.EVALUATE, sliced.evaluate),
    ]
    owner: dict[int, str] = {
        id(statement): role for role, statements in groups for statement in statements
    }
    inputs: dict[str, list[str]] = {role: [] for role, _ in groups}
    params_read: dict[str, list[str]] = {role: [] for role, _ in groups}
    outputs: dict[str, list[str]] = {role: [] for role, _ in groups}
    for role, statements in groups:
        for statement in statements:
            for name, found in walked.reads_of(statement).items():
                if found.kind in DEFINITION_KINDS:
                    continue
                if found.role == roles.PARAMETERS:
                    _append(params_read[role], name)
                    continue
                source = owner.get(id(found.statement)) if found.statement else None
                if source is None or source == role:
                    continue
                if role == roles.EVALUATE and source == roles.PREDICT and name != io.output:
                    continue  # handled by slice_predict (statement dropped)
                _append(inputs[role], name)
                if not (role == roles.EVALUATE and source == roles.PREDICT):
                    _append(outputs[source], name)
    artifacts: list[str] = []
    artifact_sources: list[tuple[str, str]] = []
    predict_inputs = [name for name in inputs[roles.PREDICT] if name != io.input]
    for name in params_read[roles.PREDICT] + predict_inputs:
        if name not in artifacts:
            artifacts.append(name)
            source = roles.PARAMETERS if name in params_read[roles.PREDICT] else ""
            if not source:
                provider = _provider_of(walked, slice_code, name)
                if provider is not None and provider.statement is not None:
                    source = owner.get(id(provider.statement), "")
            artifact_sources.append((name, source))
    # The predict input is produced by prepare, or handed straight from load/train.
    if io.input is not None and slice_code:
        input_provider = _provider_of(walked, slice_code, io.input)
        if input_provider is not None and input_provider.statement is not None:
            input_source = owner.get(id(input_provider.statement))
            if input_source is not None and input_source != roles.PREDICT:
                _append(outputs[input_source], io.input)
        elif io.input not in {name for st in sliced.prepare for name in st.defines}:
            if not any(io.input in st.defines for st, _ in walked.statements):
                log.add(
                    ERROR,
                    "unknown-input",
                    f"the predict input `{io.input}` is not defined by any cell",
                    slice_code[0].cell,
                    hint="pick a variable that a load or train cell defines",
                )
    plans = tuple(
        StagePlan(
            role,
            tuple(statements),
            tuple(inputs[role]) if role != roles.PREDICT else ((io.input,) if io.input else ()),
            tuple(outputs[role]),
            tuple(params_read[role]),
        )
        for role, statements in groups
        if statements or role in (roles.LOAD, roles.TRAIN)
    )
    return Planned(plans, tuple(artifacts), tuple(artifact_sources), sliced.left_out)


def slice_predict(code: list[Statement], io: PredictIO, log: ProblemLog) -> PredictSlice:
    """Split the predict cells into (prepare input, predict, evaluate) statements, and the
    statements the package leaves out.

    Walking back from the statement that assigns the output, a statement belongs to predict
    when it defines something predict still needs. A statement that assigns the input without
    reading it builds the input from load-time data: it is preparation, and the input is given
    from there on. Of the other statements, those with an effect outside the program (a file
    written, a run logged), those that change an object the predict output does not depend on
    (a report, a model card), those reading the predict stage's intermediate values and those
    that only feed such statements are left out; the rest prepare the input (before the
    output) or evaluate the predictions (after it).
    """
    nothing = PredictSlice((), (), (), ())
    if not code or io.output is None:
        return nothing
    last = next((st for st in reversed(code) if _assigns_output(st, io)), None)
    if last is None:
        log.add(
            ERROR,
            "unknown-output",
            f"the predict output `{io.output_expression}` is not assigned in a predict cell",
            code[0].cell,
            hint="pass --predict-output with a variable the predict cell assigns",
        )
        return nothing
    end = code.index(last)
    needed = set(last.reads)
    chosen = {id(last)}
    input_is_given = False
    for statement in reversed(code[:end]):
        if not statement.defines & needed:
            continue
        if io.input in statement.defines and io.input not in statement.reads:
            input_is_given = True
            needed.discard(io.input)
            continue
        if input_is_given and io.input in statement.reads:
            continue
        chosen.add(id(statement))
        needed = (needed - statement.defines) | statement.reads
    if io.input is not None and io.input not in needed and not input_is_given:
        log.add(
            ERROR,
            "output-ignores-input",
            f"the predict output `{io.output_expression}` does not depend on the input "
            f"`{io.input}`",
            last.cell,
            last.line,
            hint="check --predict-input / --predict-output (or the Pipeline panel's pickers)",
        )
    left_out = _left_out(code, chosen, io, log)
    slice_code = [st for st in code if id(st) in chosen]
    prepare = [st for st in code[:end] if id(st) not in chosen and id(st) not in left_out]
    evaluate = [st for st in code[end + 1 :] if id(st) not in left_out]
    return PredictSlice(
        tuple(prepare),
        tuple(slice_code),
        tuple(evaluate),
        tuple(LeftOut(st, left_out[id(st)]) for st in code if id(st) in left_out),
    )


def _left_out(
    code: list[Statement], chosen: set[int], io: PredictIO, log: ProblemLog
) -> dict[int, str]:
    """The statements off the data path that the package leaves out (by ``id``), and why."""
    intermediates = {name for st in code if id(st) in chosen for name in st.defines} - {io.output}
    left: dict[int, str] = {}
    for statement in code:
        if id(statement) in chosen:
            continue
        effect = outside_effect(statement)
        if effect is not None:
            left[id(statement)] = effect
            continue
        used = sorted(statement.reads & intermediates)
        if used:
            left[id(statement)] = f"uses `{used[0]}`, an intermediate value of the predict stage"
            log.add(
                WARNING,
                "evaluation-dropped",
                "this statement uses intermediate values of the predict stage and is left out "
                "of the package's evaluation",
                statement.cell,
                statement.line,
                hint=f"compute it from `{io.output_expression}` only",
            )
    # What is left out takes along what only feeds it and what needs its values, until
    # nothing changes (a few passes over a few statements).
    changed = True
    while changed:
        changed = False
        for index, statement in enumerate(code):
            if id(statement) in chosen or id(statement) in left:
                continue
            reason = _follows_left_out(code, index, left)
            if reason is not None:
                left[id(statement)] = reason
                changed = True
    return left


def _follows_left_out(code: list[Statement], index: int, left: dict[int, str]) -> str | None:
    """Why ``code[index]`` goes the way of the statements already left out, if it does."""
    statement = code[index]
    earlier_left = {name for st in code[:index] if id(st) in left for name in st.defines}
    needs = sorted(statement.reads & earlier_left)
    if needs:
        return f"uses `{needs[0]}`, which is left out"
    later = code[index + 1 :]
    assigned_before = {name for st in code[:index] for name in st.defines - st.mutates}
    outside = sorted(statement.mutates - assigned_before)
    if outside and not any(st.reads & set(outside) for st in later if id(st) not in left):
        return f"changes `{outside[0]}`, which the predict output does not depend on"
    readers = [st for st in later if st.reads & statement.defines]
    if readers and all(id(st) in left for st in readers):
        return "only feeds code that is left out"
    return None


def _assigns_output(statement: Statement, io: PredictIO) -> bool:
    """Whether the statement assigns the output (for a column output: that column)."""
    if io.output is None or io.output not in statement.defines:
        return False
    if io.output_column is None:
        return True
    node = statement.node
    return isinstance(node, cst.SimpleStatementLine) and any(
        isinstance(small, cst.Assign)
        and any(
            subscript_column(target.target) == (io.output, io.output_column)
            for target in small.targets
        )
        for small in node.body
    )


def _provider_of(walked: Walked, statements: Iterable[Statement], name: str) -> Definition | None:
    for statement in statements:
        found = walked.reads_of(statement).get(name)
        if found is not None:
            return found
    return None


def _append(items: list[str], name: str) -> None:
    if name not in items:
        items.append(name)
