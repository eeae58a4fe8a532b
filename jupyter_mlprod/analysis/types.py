"""The analysis's value types: what the analyser finds and hands to the report and codegen.

All are frozen; the string enums are ``Literal`` types, so a typo in a severity or a source
is a type error, not a silent mismatch.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any, Final, Literal

from ..errors import locate, printable
from ..ipython import MagicNote
from ..params_cell import ParamSpec
from .statements import ImportBinding, Statement, StatementKind

Severity = Literal["error", "warning"]
ERROR: Final = "error"
WARNING: Final = "warning"

# What a hard-coded string names: a file path or a URL.
PathKind = Literal["path", "url"]

# Where the predict input or output name came from: a command-line option, the notebook's
# metadata, or the analyser's inference from the predict cell.
IOSource = Literal["option", "metadata", "inferred"]


@dataclass(frozen=True)
class AnalysisOptions:
    """Choices the user can make on the command line (they win over notebook metadata)."""

    predict_input: str | None = None
    predict_output: str | None = None
    lift_paths: bool = False
    # Report a stage's reads of untagged code as errors instead of completing the stage.
    strict: bool = False


@dataclass(frozen=True)
class Problem:
    """One finding; errors stop conversion, warnings are reported."""

    severity: Severity
    code: str
    message: str
    cell: int | None = None
    cell_id: str | None = None
    line: int | None = None
    column: int | None = None
    hint: str = ""

    def render(self, path: str | None) -> str:
        """One line: ``path: cell 5 (id ab), line 2: message; hint``.

        Args:
            path: the notebook, or None for a problem that is not about one (then the line
                is only ``message; hint``).
        """
        text = self.message
        if path is not None:
            where = (
                f"{path}: {locate(self.cell, self.cell_id, self.line)}"
                if self.cell is not None
                else path
            )
            text = f"{where}: {text}"
        # One line whatever the notebook holds: quoted names and ids are user text.
        return printable(f"{text}; {self.hint}" if self.hint else text)

    def to_json(self) -> dict[str, Any]:
        """The problem as the ``check`` report, the server and the UI exchange it."""
        return {
            "severity": self.severity,
            "code": self.code,
            "message": self.message,
            "cell": self.cell,
            "cell_id": self.cell_id,
            "line": self.line,
            "column": self.column,
            "hint": self.hint,
        }


@dataclass(frozen=True)
class Inference:
    """An untagged statement the stage completion added to a stage, and why."""

    cell: int
    line: int
    stage: str  # the role it joins (load, train, predict)
    because: str  # one line: which value it provides to which statement

    def to_json(self) -> dict[str, Any]:
        """The inference as the ``check`` report and the lab exchange it."""
        return {"cell": self.cell, "line": self.line, "stage": self.stage, "because": self.because}


@dataclass(frozen=True)
class CellInfo:
    """A code cell as the report shows it."""

    index: int
    cell_id: str | None
    role: str | None
    summary: str


@dataclass(frozen=True)
class Flow:
    """A name handed from one stage to a later one."""

    name: str
    from_role: str
    from_cell: int
    to_role: str
    to_cell: int


@dataclass(frozen=True)
class FoundPath:
    """A hard-coded file path or URL in stage code (or a parameter default)."""

    cell: int
    line: int
    value: str
    kind: PathKind
    absolute: bool
    lifted_to: str | None = None  # the parameter it becomes with --lift-paths


@dataclass(frozen=True)
class LiftedConstant:
    """A module constant carried with helpers that ``--lift-paths`` made a parameter.

    The generated code keeps the notebook's assignment and, before any stage's code runs,
    binds the name (and the constants and class attributes computed from it) to the run's
    parameter; default arguments that read it are resolved when the helper is called.
    """

    name: str  # DATA_PATH
    param: str  # data_path
    cell: int
    position: int
    # The pathlib class as the package imports it ("Path") when the constant is a Path.
    path_type: str | None = None


@dataclass(frozen=True)
class Definition:
    """Where a name got its current value during the walk."""

    name: str
    statement: Statement | None  # None for parameters
    role: str | None  # None: untagged cell

    @property
    def cell(self) -> int:
        """The defining statement's cell, or -1 for a parameter."""
        return self.statement.cell if self.statement is not None else -1

    @property
    def kind(self) -> StatementKind | Literal["parameter"]:
        """The defining statement's kind, or ``"parameter"``."""
        return self.statement.kind if self.statement is not None else "parameter"


@dataclass(frozen=True)
class StagePlan:
    """One function of the generated package."""

    role: str
    statements: tuple[Statement, ...]
    inputs: tuple[str, ...]
    outputs: tuple[str, ...]
    params_read: tuple[str, ...]

    @property
    def cells(self) -> tuple[int, ...]:
        """The cells the stage's statements come from, in order."""
        return tuple(sorted({statement.cell for statement in self.statements}))

    def mutates(self, name: str) -> bool:
        """Whether the stage's code changes ``name`` in place (``df["pred"] = …``)."""
        return any(name in statement.mutates for statement in self.statements)


@dataclass(frozen=True)
class PredictIO:
    """The predict stage's input and output names and how they were chosen."""

    input: str | None
    output: str | None
    input_source: IOSource
    output_source: IOSource
    reason: str
    input_candidates: tuple[str, ...] = ()
    output_candidates: tuple[str, ...] = ()
    # Set when the predictions are a column the predict code adds to a frame
    # (`df["pred"] = model.predict(...)`): the output is `output[output_column]`.
    output_column: str | None = None

    @property
    def output_expression(self) -> str | None:
        """The predict output as code: ``y_pred``, or ``df["pred"]`` for a column output."""
        if self.output is None or self.output_column is None:
            return self.output
        # JSON string syntax is Python string syntax for the column names frames use.
        return f"{self.output}[{json.dumps(self.output_column)}]"


@dataclass(frozen=True)
class LeftOut:
    """A statement of the predict cells that the package leaves out, and why."""

    statement: Statement
    reason: str


@dataclass(frozen=True)
class Suggestion:
    """The role ``nb2prod tag`` proposes for one code cell, and why.

    Attributes:
        cell: the code cell's index.
        cell_id: the cell's nbformat id, if it has one.
        role: the proposed role (``parameters``, ``load``, ``train``, ``predict``), or None to
            leave the cell untagged.
        reason: one line saying what in the cell's code led to the proposal.
        current: the role the cell is tagged with now, or None.
    """

    cell: int
    cell_id: str | None
    role: str | None
    reason: str
    current: str | None = None

    def to_json(self) -> dict[str, Any]:
        """The suggestion as the ``check`` report and the lab exchange it."""
        return {"cell": self.cell, "role": self.role, "reason": self.reason}


@dataclass(frozen=True)
class Analysis:
    """Everything ``check`` reports and ``convert`` generates from."""

    path: str
    cells: tuple[CellInfo, ...]
    parameters: tuple[ParamSpec, ...]
    parameters_cell: int | None
    plans: tuple[StagePlan, ...]  # load, train, prepare, predict, evaluate (those present)
    predict_io: PredictIO
    artifacts: tuple[str, ...]
    # Where each artifact comes from: the role of the plan that outputs it ("parameters" too).
    artifact_sources: tuple[tuple[str, str], ...]
    flows: tuple[Flow, ...]
    # The functions and classes the stages need, in notebook order.
    carried: tuple[Statement, ...]
    imports: tuple[ImportBinding, ...]  # the binding of each imported name the package uses
    display_only: tuple[Statement, ...]
    magics: tuple[tuple[int, MagicNote], ...]
    paths: tuple[FoundPath, ...]
    lifted_params: tuple[ParamSpec, ...]
    input_files: tuple[str, ...]  # python expressions: `params.data_path` or a string literal
    pip_requirements: tuple[str, ...]
    problems: tuple[Problem, ...]
    # The untagged statements stage completion added to stages, in notebook order.
    inferred: tuple[Inference, ...] = ()
    # Statements of the predict cells left out of the package: files written, reports
    # updated, code reading the predict stage's intermediate values.
    left_out: tuple[LeftOut, ...] = ()
    # The role nb2prod tag proposes for each code cell (tags are not changed by the analysis).
    suggestions: tuple[Suggestion, ...] = ()
    # The constants carried with helpers that --lift-paths made parameters, in notebook order.
    lifted_constants: tuple[LiftedConstant, ...] = ()

    @property
    def ok(self) -> bool:
        """Whether conversion can go ahead (no error-level problem)."""
        return not any(problem.severity == ERROR for problem in self.problems)

    @property
    def errors(self) -> tuple[Problem, ...]:
        """The problems that stop conversion."""
        return tuple(problem for problem in self.problems if problem.severity == ERROR)

    @property
    def warnings(self) -> tuple[Problem, ...]:
        """The problems that are only reported."""
        return tuple(problem for problem in self.problems if problem.severity == WARNING)

    def plan(self, role: str) -> StagePlan | None:
        """The plan for a role, if the notebook has one."""
        return next((plan for plan in self.plans if plan.role == role), None)
