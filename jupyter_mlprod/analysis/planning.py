"""Stage planning: split the stage cells into the package's functions (slicing the predict
cells into prepare, predict and evaluate) and wire each function's inputs and outputs."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from .. import roles
from .log import ProblemLog
from .statements import Statement
from .types import ERROR, WARNING, Definition, PredictIO, StagePlan
from .walk import DEFINITION_KINDS, Walked


@dataclass(frozen=True)
class Planned:
    """The stage plans and the artifacts predict needs from training."""

    plans: tuple[StagePlan, ...]  # load, train, prepare, predict, evaluate (those present)
    artifacts: tuple[str, ...]
    # Where each artifact comes from: the role of the plan that outputs it ("parameters" too).
    artifact_sources: tuple[tuple[str, str], ...]


@dataclass(frozen=True)
class PredictSlice:
    """The predict cells' code statements, split by the stage they belong to."""

    prepare: tuple[Statement, ...]
    predict: tuple[Statement, ...]
    evaluate: tuple[Statement, ...]


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
    return Planned(plans, tuple(artifacts), tuple(artifact_sources))


def slice_predict(code: list[Statement], io: PredictIO, log: ProblemLog) -> PredictSlice:
    """Split the predict cells into (prepare input, predict, evaluate) statements.

    Walking back from the statement that assigns the output, a statement belongs to predict
    when it defines something predict still needs. A statement that assigns the input without
    reading it builds the input from load-time data: it is preparation, and the input is given
    from there on.
    """
    nothing = PredictSlice((), (), ())
    if not code or io.output is None:
        return nothing
    last = next((st for st in reversed(code) if io.output in st.defines), None)
    if last is None:
        log.add(
            ERROR,
            "unknown-output",
            f"the predict output `{io.output}` is not assigned in a predict cell",
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
            f"the predict output `{io.output}` does not depend on the input `{io.input}`",
            last.cell,
            last.line,
            hint="check --predict-input / --predict-output (or the Pipeline panel's pickers)",
        )
    slice_code = [st for st in code if id(st) in chosen]
    prepare = [st for st in code[:end] if id(st) not in chosen]
    slice_names = {name for st in slice_code for name in st.defines} - {io.output}
    evaluate: list[Statement] = []
    for statement in code[end + 1 :]:
        if statement.reads & slice_names:
            log.add(
                WARNING,
                "evaluation-dropped",
                "this statement uses intermediate values of the predict stage and is left out "
                "of the package's evaluation",
                statement.cell,
                statement.line,
                hint=f"compute it from `{io.output}` only",
            )
            continue
        evaluate.append(statement)
    return PredictSlice(tuple(prepare), tuple(slice_code), tuple(evaluate))


def _provider_of(walked: Walked, statements: Iterable[Statement], name: str) -> Definition | None:
    for statement in statements:
        found = walked.reads_of(statement).get(name)
        if found is not None:
            return found
    return None


def _append(items: list[str], name: str) -> None:
    if name not in items:
        items.append(name)
