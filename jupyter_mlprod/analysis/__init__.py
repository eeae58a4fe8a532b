"""Notebook analysis: roles, data flow between stages, the predict slice, and every problem
that would stop a clean conversion.

:func:`analyse_notebook` takes a :class:`~jupyter_mlprod.notebook.Notebook` value and returns
an :class:`Analysis` value; it does no I/O and never executes notebook code. The report
(``check``) and the code generator (``convert``) both read the same ``Analysis``.

The analysis is a chain of named steps, each in its own module: :mod:`.intake` reads the
cells and metadata, :mod:`.statements` gathers each statement's names, :mod:`.display` finds
the display-only code and :mod:`.constants` the module-level constants, :mod:`.completion`
adds to each stage the untagged statements it needs, :mod:`.walk` links reads to definitions,
:mod:`.predict_io` picks the predict input and output, :mod:`.bridging` moves the model inputs
built in earlier stages from held-out data into predict, :mod:`.planning` splits the stages
into functions and :mod:`.hardcoded_paths` finds hard-coded paths (recognised by
:mod:`.paths`); :mod:`.suggest` proposes a role for each code cell (``nb2prod tag``).
:mod:`.types` holds the values they pass. Where the carried helpers land is codegen's decision
(:mod:`jupyter_mlprod.codegen.placement`).
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

from .. import roles
from ..errors import cell_number
from ..notebook import Notebook
from .bridging import bridge_into_predict, find_bridges
from .completion import complete_stages
from .constants import find_constants
from .display import scan_display
from .hardcoded_paths import find_paths
from .intake import read_cells, read_metadata
from .log import ProblemLog
from .planning import plan_stages
from .predict_io import choose_predict_io
from .statements import CODE, ImportBinding, Statement, StatementKind
from .suggest import suggest_roles
from .types import (
    ERROR,
    WARNING,
    Analysis,
    AnalysisOptions,
    CellInfo,
    Definition,
    Flow,
    FoundPath,
    Inference,
    IOSource,
    LeftOut,
    LiftedConstant,
    PathKind,
    PredictIO,
    Problem,
    Severity,
    StagePlan,
    Suggestion,
)
from .walk import report_redefined_helpers, used_imports, walk_flow

__all__ = [
    "ERROR",
    "WARNING",
    "Analysis",
    "AnalysisOptions",
    "CellInfo",
    "Definition",
    "Flow",
    "FoundPath",
    "Inference",
    "IOSource",
    "ImportBinding",
    "LeftOut",
    "LiftedConstant",
    "PathKind",
    "PredictIO",
    "Problem",
    "Severity",
    "StagePlan",
    "Statement",
    "StatementKind",
    "Suggestion",
    "analyse_notebook",
]


def analyse_notebook(notebook: Notebook, options: AnalysisOptions | None = None) -> Analysis:
    """Analyse a notebook statically. Never raises for notebook content: problems are values.

    Args:
        notebook: the notebook, already read.
        options: the command line's choices; by default, none.

    Returns:
        The analysis; ``analysis.ok`` says whether it can be converted.
    """
    options = options or AnalysisOptions()
    log = ProblemLog(notebook)
    metadata = read_metadata(notebook, log)
    intake = read_cells(notebook, log)
    plain = [statement for statement, _ in intake.statements]
    display = scan_display(plain)
    constants = find_constants(plain)
    completion = complete_stages(
        intake.statements,
        display,
        strict=options.strict,
        notebook_dir=Path(notebook.path).parent,
    )
    for warning in completion.generator_warnings:
        log.add(
            WARNING,
            "global-generator",
            f"untagged cell {cell_number(warning.cell)}, line {warning.line} {warning.because}; "
            "the package will not make this draw (--strict), so its results can differ",
            warning.cell,
            warning.line,
            hint="pass random_state= to the estimator, or drop --strict to keep the draws",
        )
    # Which statements bridge into predict depends on the predict input, which the walk's
    # result decides: a trial walk finds them, and the walk is redone once they have moved.
    trial = ProblemLog(notebook)
    walked = walk_flow(intake, completion, display, constants, trial)
    predict_io = choose_predict_io(walked, intake.roles_by_cell, options, metadata, trial)
    bridges = () if options.strict else find_bridges(walked, predict_io)
    if bridges:
        bridging = bridge_into_predict(completion, bridges, predict_io, log)
        completion = bridging.completion
        trial = ProblemLog(notebook)
        walked = walk_flow(intake, completion, display, constants, trial)
        io_options = options
        if bridging.input_name is not None:
            io_options = dataclasses.replace(options, predict_input=bridging.input_name)
        predict_io = choose_predict_io(walked, intake.roles_by_cell, io_options, metadata, trial)
        if bridging.input_name is not None:
            predict_io = dataclasses.replace(
                predict_io,
                input_source="inferred",
                reason=f"{predict_io.reason}; `{bridging.input_name}` is the data the model "
                "input is built from",
            )
    log.extend(trial)
    planned = plan_stages(walked, predict_io, log)
    carried = walked.carried
    report_redefined_helpers(carried, log)
    found_paths, lifted, input_files, lifted_constants = find_paths(
        intake.parameters,
        intake.parameters_cell,
        planned.plans,
        notebook.path,
        options.lift_paths,
        log,
        constants=[statement for statement in carried if statement.kind == CODE],
        helpers=[statement for statement in carried if statement.kind != CODE],
        imports={binding.name: binding for binding in used_imports(walked.needed)},
    )
    pip_requirements = tuple(
        requirement for _, note in intake.magics for requirement in note.requirements
    )
    if not any(role == roles.PREDICT for role in intake.roles_by_cell.values()):
        log.add(
            ERROR,
            "no-predict-cell",
            "no cell is tagged `predict`",
            hint="tag the cell that computes predictions from new data as `predict`",
        )
    return Analysis(
        path=notebook.path,
        cells=intake.cells,
        parameters=intake.parameters + lifted,
        parameters_cell=intake.parameters_cell,
        plans=planned.plans,
        predict_io=predict_io,
        artifacts=planned.artifacts,
        artifact_sources=planned.artifact_sources,
        flows=walked.flows,
        carried=carried,
        imports=used_imports(walked.needed),
        display_only=walked.display_only,
        magics=intake.magics,
        paths=found_paths,
        lifted_params=lifted,
        input_files=input_files,
        pip_requirements=pip_requirements,
        problems=log.sorted(),
        left_out=planned.left_out,
        suggestions=suggest_roles(notebook, intake),
        inferred=_planned_inferences(completion.inferred, planned.plans),
        lifted_constants=lifted_constants,
    )


def _planned_inferences(
    inferred: tuple[Inference, ...], plans: tuple[StagePlan, ...]
) -> tuple[Inference, ...]:
    """The inferences whose statement a stage function runs: a statement that only fed code
    the predict slice leaves out is reported as left out, not as inferred."""
    planned = {(statement.cell, statement.line) for plan in plans for statement in plan.statements}
    return tuple(item for item in inferred if (item.cell, item.line) in planned)
