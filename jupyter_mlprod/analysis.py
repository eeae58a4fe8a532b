"""Notebook analysis: roles, data flow between stages, the predict slice, and every problem
that would stop a clean conversion.

``analyse_notebook`` takes a :class:`~jupyter_mlprod.notebook.Notebook` value and returns an
:class:`Analysis` value; it does no I/O and never executes notebook code. The report
(``check``) and the code generator (``convert``) both read the same ``Analysis``.

How the flow is computed: code cells are walked in notebook order, statement by statement,
keeping for every name the statement that last defined it. A statement in a stage cell that
reads a name is linked to that definition; imports, functions and classes are carried along
wherever they are needed, while a *variable* that only an untagged or skipped cell defines is
an error, because the package would not have it.
"""

from __future__ import annotations

import builtins
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import PurePath

import libcst as cst

from . import roles
from .cells import (
    CLASS,
    CODE,
    FUNCTION,
    IMPORT,
    ImportBinding,
    Statement,
    display_bindings,
    is_display_call,
    parse_cell,
)
from .errors import CellError, locate
from .ipython import MagicNote, to_python
from .notebook import Notebook
from .params_cell import ParamSpec, parse_parameters_cell
from .paths import (
    is_absolute,
    param_name_for,
    path_kind,
    portable_default,
    unique,
)
from .predict_io import (
    infer_input_candidates,
    loop_targets,
    model_call_assignments,
    model_like_names,
    single_name_targets,
)

ERROR = "error"
WARNING = "warning"

_BUILTINS = frozenset(dir(builtins)) | {"__name__", "__file__", "display", "get_ipython"}
_PATHISH_NAME = re.compile(r"(path|file|dir|url|uri)s?$", re.IGNORECASE)


@dataclass(frozen=True)
class AnalysisOptions:
    """Choices the user can make on the command line (they win over notebook metadata)."""

    predict_input: str | None = None
    predict_output: str | None = None
    lift_paths: bool = False


@dataclass(frozen=True)
class Problem:
    """One finding; errors stop conversion, warnings are reported."""

    severity: str
    code: str
    message: str
    cell: int | None = None
    cell_id: str | None = None
    line: int | None = None
    column: int | None = None
    hint: str = ""

    def render(self, path: str) -> str:
        """One line: ``path: cell 5 (id ab), line 2: message; hint``."""
        where = (
            f"{path}: {locate(self.cell, self.cell_id, self.line)}"
            if self.cell is not None
            else path
        )
        text = f"{where}: {self.message}"
        return f"{text}; {self.hint}" if self.hint else text


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
    kind: str  # "path" or "url"
    absolute: bool
    lifted_to: str | None = None  # the parameter it becomes with --lift-paths


@dataclass(frozen=True)
class Definition:
    """Where a name got its current value during the walk."""

    name: str
    statement: Statement | None  # None for parameters
    role: str | None  # None: untagged cell

    @property
    def cell(self) -> int:
        return self.statement.cell if self.statement is not None else -1

    @property
    def kind(self) -> str:
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
        return tuple(sorted({statement.cell for statement in self.statements}))


@dataclass(frozen=True)
class Helper:
    """A function or class carried into the package, and the module it lands in."""

    statement: Statement
    module: str  # "features", "data", "train" or "pipeline"


@dataclass(frozen=True)
class PredictIO:
    """The predict stage's input and output names and how they were chosen."""

    input: str | None
    output: str | None
    input_source: str
    output_source: str
    reason: str
    input_candidates: tuple[str, ...] = ()
    output_candidates: tuple[str, ...] = ()


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
    helpers: tuple[Helper, ...]
    imports: tuple[ImportBinding, ...]  # the binding of each imported name the package uses
    display_only: tuple[Statement, ...]
    magics: tuple[tuple[int, MagicNote], ...]
    paths: tuple[FoundPath, ...]
    lifted_params: tuple[ParamSpec, ...]
    input_files: tuple[str, ...]  # python expressions: `params.data_path` or a string literal
    pip_requirements: tuple[str, ...]
    problems: tuple[Problem, ...]

    @property
    def ok(self) -> bool:
        """Whether conversion can go ahead (no error-level problem)."""
        return not any(problem.severity == ERROR for problem in self.problems)

    @property
    def errors(self) -> tuple[Problem, ...]:
        return tuple(problem for problem in self.problems if problem.severity == ERROR)

    @property
    def warnings(self) -> tuple[Problem, ...]:
        return tuple(problem for problem in self.problems if problem.severity == WARNING)

    def plan(self, role: str) -> StagePlan | None:
        """The plan for a role, if the notebook has one."""
        return next((plan for plan in self.plans if plan.role == role), None)


@dataclass
class _Walk:
    """Mutable state of one analysis; turned into an :class:`Analysis` at the end."""

    notebook: Notebook
    options: AnalysisOptions
    problems: list[Problem] = field(default_factory=list)
    cells: list[CellInfo] = field(default_factory=list)
    roles_by_cell: dict[int, str | None] = field(default_factory=dict)
    statements: list[tuple[Statement, str | None]] = field(default_factory=list)
    magics: list[tuple[int, MagicNote]] = field(default_factory=list)
    parameters: tuple[ParamSpec, ...] = ()
    parameters_cell: int | None = None
    display: list[Statement] = field(default_factory=list)
    display_ids: set[int] = field(default_factory=set)
    # For each stage code statement: the definition each read name resolved to.
    resolved: dict[int, dict[str, Definition]] = field(default_factory=dict)
    history: dict[str, list[Definition]] = field(default_factory=dict)
    final_env: dict[str, Definition] = field(default_factory=dict)
    needed_definitions: dict[int, Statement] = field(default_factory=dict)
    flows: list[Flow] = field(default_factory=list)

    def add(
        self,
        severity: str,
        code: str,
        message: str,
        cell: int | None = None,
        line: int | None = None,
        column: int | None = None,
        hint: str = "",
    ) -> None:
        cell_id = self.notebook.cells[cell].cell_id if cell is not None and cell >= 0 else None
        self.problems.append(Problem(severity, code, message, cell, cell_id, line, column, hint))


def analyse_notebook(notebook: Notebook, options: AnalysisOptions | None = None) -> Analysis:
    """Analyse a notebook statically. Never raises for notebook content: problems are values."""
    walk = _Walk(notebook, options or AnalysisOptions())
    io_metadata = _read_metadata(walk)
    _read_cells(walk)
    _walk_flow(walk)
    predict_io = _choose_predict_io(walk, io_metadata)
    plans, artifacts, artifact_sources = _plan_stages(walk, predict_io)
    _report_redefined_helpers(walk)
    helpers = _place_helpers(walk, plans)
    found_paths, lifted, input_files = _find_paths(walk, plans)
    imports = _used_imports(walk)
    pip_requirements = tuple(
        requirement for _, note in walk.magics for requirement in note.requirements
    )
    if not any(role == roles.PREDICT for role in walk.roles_by_cell.values()):
        walk.add(
            ERROR,
            "no-predict-cell",
            "no cell is tagged `predict`",
            hint="tag the cell that computes predictions from new data as `predict`",
        )
    problems = sorted(
        walk.problems, key=lambda p: (p.cell if p.cell is not None else -1, p.line or 0)
    )
    return Analysis(
        path=notebook.path,
        cells=tuple(walk.cells),
        parameters=walk.parameters + lifted,
        parameters_cell=walk.parameters_cell,
        plans=plans,
        predict_io=predict_io,
        artifacts=artifacts,
        artifact_sources=artifact_sources,
        flows=tuple(walk.flows),
        helpers=helpers,
        imports=imports,
        display_only=tuple(walk.display),
        magics=tuple(walk.magics),
        paths=found_paths,
        lifted_params=lifted,
        input_files=input_files,
        pip_requirements=pip_requirements,
        problems=tuple(problems),
    )


def _read_metadata(walk: _Walk) -> dict[str, str]:
    raw = walk.notebook.metadata.get(roles.MLPROD_KEY, {})
    if not isinstance(raw, dict):
        walk.add(
            ERROR,
            "bad-metadata",
            f"notebook metadata `{roles.MLPROD_KEY}` must be an object",
            hint='set it to {"predict_input": "...", "predict_output": "..."} or remove it',
        )
        return {}
    result: dict[str, str] = {}
    for key, value in raw.items():
        if key not in roles.MLPROD_FIELDS:
            known = ", ".join(sorted(roles.MLPROD_FIELDS))
            walk.add(
                ERROR,
                "unknown-metadata",
                f"unknown key `{key}` in notebook metadata `{roles.MLPROD_KEY}`",
                hint=f"the known keys are {known}; remove or rename it",
            )
        elif not isinstance(value, str) or not value.isidentifier():
            walk.add(
                ERROR,
                "bad-metadata",
                f"`{roles.MLPROD_KEY}.{key}` must be a variable name, not {value!r}",
                hint="pick the variable in the Pipeline panel or pass --" + key.replace("_", "-"),
            )
        else:
            result[key] = value
    return result


def _read_cells(walk: _Walk) -> None:
    path = walk.notebook.path
    for cell in walk.notebook.cells:
        cell_roles = [tag for tag in cell.tags if tag in roles.ROLE_TAGS]
        if cell.cell_type != "code":
            if cell_roles:
                walk.add(
                    WARNING,
                    "role-on-markdown",
                    f"a {cell.cell_type} cell is tagged `{cell_roles[0]}`; the tag is ignored",
                    cell.index,
                    hint="tag the code cell instead",
                )
            continue
        role: str | None = cell_roles[0] if len(cell_roles) == 1 else None
        if len(cell_roles) > 1:
            walk.add(
                ERROR,
                "two-roles",
                f"the cell has {len(cell_roles)} roles ({', '.join(cell_roles)})",
                cell.index,
                hint="keep one role tag per cell; split the cell if it does two jobs",
            )
        walk.roles_by_cell[cell.index] = role
        plain = to_python(cell.source)
        walk.magics.extend((cell.index, note) for note in plain.notes)
        summary = next((ln.strip() for ln in cell.source.splitlines() if ln.strip()), "")
        walk.cells.append(CellInfo(cell.index, cell.cell_id, role, summary[:80]))
        for note in plain.notes:
            if note.action == "dropped" and role in roles.TAGGED_STAGES:
                walk.add(
                    WARNING,
                    "magic-dropped",
                    f"IPython syntax `{note.code}` is left out of the package",
                    cell.index,
                    note.line,
                    hint="replace it with plain Python if production needs it",
                )
        if role == roles.PARAMETERS:
            _read_parameters(walk, cell.index, plain.python, path)
            continue
        try:
            parsed = parse_cell(cell.index, plain.python)
        except cst.ParserSyntaxError as exc:
            exported = role in roles.TAGGED_STAGES
            message, line, column = _syntax_error_details(plain.python, exc)
            walk.add(
                ERROR if exported else WARNING,
                "syntax-error",
                f"syntax error: {message}",
                cell.index,
                line,
                column,
                hint="fix the cell so it runs" if exported else "the cell is ignored",
            )
            continue
        walk.statements.extend((statement, role) for statement in parsed.statements)


def _syntax_error_details(python: str, exc: cst.ParserSyntaxError) -> tuple[str, int, int]:
    """Python's own wording ("'(' was never closed") reads better than the parser's."""
    try:
        compile(python, "<cell>", "exec", dont_inherit=True)
    except SyntaxError as error:
        return error.msg, error.lineno or exc.raw_line, (error.offset or 1) - 1
    return exc.message, exc.raw_line, exc.raw_column


def _read_parameters(walk: _Walk, index: int, python: str, path: str) -> None:
    if walk.parameters_cell is not None:
        walk.add(
            ERROR,
            "two-parameters-cells",
            f"a second `parameters` cell (the first is cell {walk.parameters_cell})",
            index,
            hint="merge the parameters into one cell, as papermill expects",
        )
        return
    walk.parameters_cell = index
    try:
        walk.parameters = parse_parameters_cell(python, path=path, cell_index=index)
    except CellError as exc:
        walk.add(ERROR, "bad-parameters", exc.problem, index, exc.line, exc.column, exc.hint)


def _walk_flow(walk: _Walk) -> None:
    env: dict[str, Definition] = {
        spec.name: Definition(spec.name, None, roles.PARAMETERS) for spec in walk.parameters
    }
    display_names: set[str] = set()
    for statement, role in walk.statements:
        if statement.kind == IMPORT:
            display_names |= display_bindings(statement.imports)
        elif statement.kind == CODE and is_display_call(statement.node, display_names):
            display_names |= statement.defines - statement.mutates
            walk.display_ids.add(id(statement))
            if role in roles.TAGGED_STAGES:
                walk.display.append(statement)
            continue
        if role in roles.TAGGED_STAGES and statement.kind == CODE:
            walk.resolved[id(statement)] = _resolve_reads(walk, statement, role, env)
        # A name rebound by real code is no longer a plot object.
        display_names -= statement.defines - statement.mutates
        for name in statement.defines:
            previous = env.get(name)
            if name in statement.mutates and previous is not None and previous.kind != CODE:
                continue  # `pd.set_option(...)` configures a module; it does not redefine it
            entry = Definition(name, statement, role)
            env[name] = entry
            walk.history.setdefault(name, []).append(entry)
    walk.final_env = env


def _resolve_reads(
    walk: _Walk, statement: Statement, role: str | None, env: dict[str, Definition]
) -> dict[str, Definition]:
    assert role is not None
    resolved: dict[str, Definition] = {}
    for name in sorted(statement.reads):
        found = env.get(name)
        if found is None:
            if name not in _BUILTINS:
                _report_undefined(walk, statement, role, name)
            continue
        if found.kind in {IMPORT, FUNCTION, CLASS}:
            if found.role == roles.SKIP and found.kind != IMPORT:
                _report_untagged(walk, statement, role, found)
                continue
            _need_definition(walk, found.statement)
            resolved[name] = found
            continue
        if found.role in (None, roles.SKIP):
            earlier = _staged_definition_before(walk, name, role)
            if earlier is None:
                _report_untagged(walk, statement, role, found)
                continue
            # An untagged cell is exploration the package leaves out: if it changes what a stage
            # reads, the package would compute something else than the notebook. A skipped
            # cell was left out on purpose, so it only warns.
            skipped = found.role == roles.SKIP
            walk.add(
                WARNING if skipped else ERROR,
                "redefined-by-exploration",
                f"`{name}` is changed by {'skipped' if skipped else 'untagged'} cell "
                f"{found.cell} after cell {earlier.cell} ({earlier.role}); the package would "
                f"use cell {earlier.cell}'s value",
                statement.cell,
                statement.line,
                hint=f"tag cell {found.cell} as `{earlier.role}` if the pipeline needs that "
                "change, or tag it `skip` if it must stay out",
            )
            found = earlier
        if roles.run_order(found.role or "") > roles.run_order(role):
            walk.add(
                ERROR,
                "stage-order",
                f"this {role} cell reads `{name}` from cell {found.cell} ({found.role}), "
                f"but the package runs {role} before {found.role}",
                statement.cell,
                statement.line,
                hint=f"move that code into a {found.role} cell or re-tag the cells",
            )
            continue
        resolved[name] = found
        if found.role not in (role, roles.PARAMETERS):
            walk.flows.append(Flow(name, found.role or "", found.cell, role, statement.cell))
    return resolved


def _staged_definition_before(walk: _Walk, name: str, role: str) -> Definition | None:
    for entry in reversed(walk.history.get(name, [])):
        if entry.role in roles.TAGGED_STAGES and roles.run_order(
            entry.role or ""
        ) <= roles.run_order(role):
            return entry
    return None


def _report_undefined(walk: _Walk, statement: Statement, role: str, name: str) -> None:
    later = next(
        (st for st, _ in walk.statements if name in st.defines and st.cell > statement.cell), None
    )
    star = next(
        (st for st, _ in walk.statements if st.kind == IMPORT and "import *" in st.code), None
    )
    if later is not None:
        hint = f"cell {later.cell} defines it later; move that definition above this cell"
    elif star is not None:
        hint = (
            f"`{star.summary}` (cell {star.cell}) may provide it, but `import *` cannot be "
            f"followed statically: import `{name}` by name"
        )
    else:
        hint = "define it in a tagged cell, or add the missing import"
    walk.add(
        ERROR,
        "undefined-name",
        f"the {role} stage reads `{name}`, which no earlier cell defines",
        statement.cell,
        statement.line,
        hint=hint,
    )


def _report_untagged(walk: _Walk, statement: Statement, role: str, found: Definition) -> None:
    how = "skipped" if found.role == roles.SKIP else "untagged"
    walk.add(
        ERROR,
        "untagged-variable",
        f"the {role} stage reads `{found.name}`, which only {how} cell {found.cell} defines",
        statement.cell,
        statement.line,
        hint=f"tag cell {found.cell} as `load` (or the stage it belongs to), or move that code "
        "into a tagged cell",
    )


def _need_definition(walk: _Walk, statement: Statement | None) -> None:
    """Carry a function/class/import along, with the definitions it needs in turn."""
    pending = [statement]
    while pending:
        current = pending.pop()
        if current is None or id(current) in walk.needed_definitions:
            continue
        walk.needed_definitions[id(current)] = current
        if current.kind == IMPORT:
            continue
        for name in sorted(current.reads | current.deferred_reads):
            found = walk.final_env.get(name) or _definition_in_history(walk, name)
            if found is None or name in _BUILTINS:
                continue
            if found.kind in {IMPORT, FUNCTION, CLASS} and found.role != roles.SKIP:
                pending.append(found.statement)
            elif found.statement is not current:
                what = "function" if current.kind == FUNCTION else "class"
                walk.add(
                    ERROR,
                    "helper-reads-global",
                    f"{what} `{_defined_name(current)}` reads the global variable `{name}` "
                    f"(cell {found.cell if found.cell >= 0 else walk.parameters_cell})",
                    current.cell,
                    current.line,
                    hint=f"pass `{name}` to it as an argument so the package can call it",
                )


def _definition_in_history(walk: _Walk, name: str) -> Definition | None:
    entries = walk.history.get(name)
    if entries:
        return entries[-1]
    if any(spec.name == name for spec in walk.parameters):
        return Definition(name, None, roles.PARAMETERS)
    return None


def _defined_name(statement: Statement) -> str:
    node = statement.node
    if isinstance(node, (cst.FunctionDef, cst.ClassDef)):
        return node.name.value
    return ", ".join(sorted(statement.defines))


def _stage_code(walk: _Walk, role: str) -> list[Statement]:
    return [
        statement
        for statement, statement_role in walk.statements
        if statement_role == role
        and statement.kind == CODE
        and id(statement) not in walk.display_ids
    ]


def _choose_predict_io(walk: _Walk, metadata: dict[str, str]) -> PredictIO:
    code = _stage_code(walk, roles.PREDICT)
    options = walk.options
    output_source = "option" if options.predict_output else "metadata"
    output = options.predict_output or metadata.get("predict_output")
    reason_parts: list[str] = []
    output_candidates: tuple[str, ...] = ()
    if output is None:
        output_source = "inferred"
        output_candidates = _output_candidates(walk, code)
        if len(output_candidates) == 1:
            output = output_candidates[0]
            reason_parts.append(f"`{output}` is assigned from a model call in the predict cell")
        elif code:
            walk.add(
                ERROR,
                "ambiguous-output",
                "cannot tell which variable holds the predictions (candidates: "
                f"{', '.join(output_candidates) or 'none'})",
                code[0].cell,
                hint="pass --predict-output NAME or pick it in the Pipeline panel",
            )
    predict_cells = [index for index, role in walk.roles_by_cell.items() if role == roles.PREDICT]
    if predict_cells and not code:
        walk.add(
            ERROR,
            "predict-computes-nothing",
            "the predict cell only displays its result, so there is nothing to export",
            predict_cells[0],
            hint="assign the predictions to a variable, e.g. `y_pred = model.predict(X_test)`",
        )
    input_source = "option" if options.predict_input else "metadata"
    name = options.predict_input or metadata.get("predict_input")
    input_candidates: tuple[str, ...] = ()
    if name is None:
        input_source = "inferred"
        input_candidates = infer_input_candidates(code)
        if len(input_candidates) == 1:
            name = input_candidates[0]
            reason_parts.append(f"`{name}` is the data passed to the model call")
        elif code and output is not None:
            walk.add(
                ERROR,
                "ambiguous-input",
                "cannot tell which variable holds the new data to predict on (candidates: "
                f"{', '.join(input_candidates) or 'none'})",
                code[0].cell,
                hint="pass --predict-input NAME or pick it in the Pipeline panel",
            )
    reason = "; ".join(reason_parts) or f"from {output_source}"
    return PredictIO(
        name, output, input_source, output_source, reason, input_candidates, output_candidates
    )


def _output_candidates(walk: _Walk, code: list[Statement]) -> tuple[str, ...]:
    """Names that may hold the predictions, best first; more than one means "ask the user".

    The name assigned from a model call (``y_pred = model.predict(X)``) wins, followed through
    post-processing that reads nothing but it, models and imports (``y_pred =
    le.inverse_transform(y_pred)``, ``y_pred = np.round(raw)``) — but not through evaluation,
    which reads other data (``acc = accuracy_score(y_test, y_pred)``).
    """
    calls = [
        (name, receiver, method)
        for statement in code
        for name, receiver, method in model_call_assignments(statement)
    ]
    if any(method != "transform" for _, _, method in calls):
        # `X = scaler.transform(X)` prepares the input for the model call; it is not the output.
        calls = [call for call in calls if call[2] != "transform"]
    if calls:
        receivers = list(dict.fromkeys(receiver for _, receiver, _ in calls))
        if len(receivers) > 1:
            return tuple(dict.fromkeys(name for name, _, _ in calls))
        preferred = [name for name, _, method in calls if method == "predict"] or [calls[-1][0]]
        return (_follow_post_processing(walk, code, preferred[-1]),)
    # Otherwise: names assigned in the predict cell that nothing later in it reads.
    read_later: set[str] = set()
    sinks: list[str] = []
    assigned_here = {name for st in code for name in st.defines - st.mutates}
    for statement in reversed(code):
        # A name only changed in place (`df["pred"] = ...`) on data from an earlier stage is
        # not the predictions; one made here and filled in (`preds.append(...)`) may be. Loop
        # variables never are.
        names = (statement.defines - statement.mutates) | (statement.mutates & assigned_here)
        sinks.extend(sorted(names - loop_targets(statement) - read_later))
        read_later |= statement.reads
    return tuple(dict.fromkeys(reversed(sinks)))


def _follow_post_processing(walk: _Walk, code: list[Statement], name: str) -> str:
    models = model_like_names(code)
    start = next(i for i, st in enumerate(code) if name in st.defines)
    current = name
    for statement in code[start + 1 :]:
        if current not in statement.reads:
            continue
        targets = single_name_targets(statement)
        resolved = walk.resolved.get(id(statement), {})
        # Other data (y_test…) read alongside makes it evaluation, not post-processing.
        other_data = [
            other
            for other in statement.reads - {current} - models
            if other in resolved
            and resolved[other].kind == CODE
            and resolved[other].role != roles.PARAMETERS
        ]
        if len(targets) != 1 or other_data:
            break
        current = targets[0]
    return current


def _plan_stages(
    walk: _Walk, io: PredictIO
) -> tuple[tuple[StagePlan, ...], tuple[str, ...], tuple[tuple[str, str], ...]]:
    """Split the stage cells into functions and wire their inputs and outputs."""
    load_code = _stage_code(walk, roles.LOAD)
    train_code = _stage_code(walk, roles.TRAIN)
    predict_code = _stage_code(walk, roles.PREDICT)
    prepare_code, slice_code, evaluate_code = _slice_predict(walk, predict_code, io)
    groups: list[tuple[str, list[Statement]]] = [
        (roles.LOAD, load_code),
        (roles.TRAIN, train_code),
        (roles.PREPARE, prepare_code),
        (roles.PREDICT, slice_code),
        (roles.EVALUATE, evaluate_code),
    ]
    owner: dict[int, str] = {
        id(statement): role for role, statements in groups for statement in statements
    }
    inputs: dict[str, list[str]] = {role: [] for role, _ in groups}
    params_read: dict[str, list[str]] = {role: [] for role, _ in groups}
    outputs: dict[str, list[str]] = {role: [] for role, _ in groups}
    for role, statements in groups:
        for statement in statements:
            for name, found in walk.resolved.get(id(statement), {}).items():
                if found.kind in {IMPORT, FUNCTION, CLASS}:
                    continue
                if found.role == roles.PARAMETERS:
                    _append(params_read[role], name)
                    continue
                source = owner.get(id(found.statement)) if found.statement else None
                if source is None or source == role:
                    continue
                if role == roles.EVALUATE and source == roles.PREDICT and name != io.output:
                    continue  # handled by _slice_predict (statement dropped)
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
                provider = _provider_of(walk, slice_code, name)
                if provider is not None and provider.statement is not None:
                    source = owner.get(id(provider.statement), "")
            artifact_sources.append((name, source))
    # The predict input is produced by prepare, or handed straight from load/train.
    if io.input is not None and slice_code:
        input_provider = _provider_of(walk, slice_code, io.input)
        if input_provider is not None and input_provider.statement is not None:
            input_source = owner.get(id(input_provider.statement))
            if input_source is not None and input_source != roles.PREDICT:
                _append(outputs[input_source], io.input)
        elif io.input not in {name for st in prepare_code for name in st.defines}:
            if not any(io.input in st.defines for st, _ in walk.statements):
                walk.add(
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
    return plans, tuple(artifacts), tuple(artifact_sources)


def _provider_of(walk: _Walk, statements: Iterable[Statement], name: str) -> Definition | None:
    for statement in statements:
        found = walk.resolved.get(id(statement), {}).get(name)
        if found is not None:
            return found
    return None


def _slice_predict(
    walk: _Walk, code: list[Statement], io: PredictIO
) -> tuple[list[Statement], list[Statement], list[Statement]]:
    """Split the predict cells into (prepare input, predict, evaluate) statements.

    Walking back from the statement that assigns the output, a statement belongs to predict
    when it defines something predict still needs. A statement that assigns the input without
    reading it builds the input from load-time data: it is preparation, and the input is given
    from there on.
    """
    if not code or io.output is None:
        return [], [], []
    last = next((st for st in reversed(code) if io.output in st.defines), None)
    if last is None:
        walk.add(
            ERROR,
            "unknown-output",
            f"the predict output `{io.output}` is not assigned in a predict cell",
            code[0].cell,
            hint="pass --predict-output with a variable the predict cell assigns",
        )
        return [], [], []
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
        walk.add(
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
            walk.add(
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
    return prepare, slice_code, evaluate


def _report_redefined_helpers(walk: _Walk) -> None:
    """Two versions of one helper used by the stages cannot both live in the package."""
    first: dict[str, Statement] = {}
    for statement in sorted(
        walk.needed_definitions.values(), key=lambda st: (st.cell, st.position)
    ):
        if statement.kind not in {FUNCTION, CLASS}:
            continue
        for name in statement.defines:
            earlier = first.setdefault(name, statement)
            if earlier is not statement:
                walk.add(
                    ERROR,
                    "helper-redefined",
                    f"`{name}` is defined again here after cell {earlier.cell}, and the stages "
                    "use both versions; the package can hold only one",
                    statement.cell,
                    statement.line,
                    hint="give the versions different names, or keep one definition",
                )


def _place_helpers(walk: _Walk, plans: tuple[StagePlan, ...]) -> tuple[Helper, ...]:
    """Decide the module of each carried function and class.

    Classes and everything predict needs go to ``features`` (a pickled model must find its
    classes without importing training code); a function used by one stage stays with it.
    """
    users: dict[int, set[str]] = {}
    definitions = [st for st in walk.needed_definitions.values() if st.kind in {FUNCTION, CLASS}]
    by_name = {name: st for st in definitions for name in st.defines}
    for plan in plans:
        for statement in plan.statements:
            for name in statement.reads:
                helper = by_name.get(name)
                if helper is not None:
                    users.setdefault(id(helper), set()).add(roles.stage_spec(plan.role).module)
    # A helper used by another helper inherits its users (to a fixed point).
    changed = True
    while changed:
        changed = False
        for helper in definitions:
            for name in helper.reads | helper.deferred_reads:
                callee = by_name.get(name)
                if callee is None or callee is helper:
                    continue
                before = len(users.setdefault(id(callee), set()))
                users[id(callee)] |= users.get(id(helper), set())
                changed = changed or len(users[id(callee)]) != before
    helpers = []
    for statement in sorted(definitions, key=lambda st: (st.cell, st.position)):
        used_by = users.get(id(statement), set())
        if statement.kind == CLASS or "predict" in used_by or len(used_by) != 1:
            module = "features"
        else:
            (module,) = used_by
            if statement.defines & roles.RESERVED_NAMES[module]:
                module = "features"  # `def train(...)` cannot live beside the stage's train()
        helpers.append(Helper(statement, module))
    return tuple(helpers)


def _find_paths(
    walk: _Walk, plans: tuple[StagePlan, ...]
) -> tuple[tuple[FoundPath, ...], tuple[ParamSpec, ...], tuple[str, ...]]:
    found: list[FoundPath] = []
    lifted: dict[str, ParamSpec] = {}
    taken = {spec.name for spec in walk.parameters}
    input_files: list[str] = []
    notebook_dir = PurePath(walk.notebook.path).parent
    for spec in walk.parameters:
        if isinstance(spec.default, str) and path_kind(spec.default):
            absolute = is_absolute(spec.default)
            found.append(
                FoundPath(
                    walk.parameters_cell or 0,
                    spec.line,
                    spec.default,
                    path_kind(spec.default) or "path",
                    absolute,
                    spec.name,
                )
            )
            if absolute:
                walk.add(
                    ERROR,
                    "absolute-path",
                    f"parameter `{spec.name}` defaults to the absolute path {spec.default!r}, "
                    "which will not exist on other machines",
                    walk.parameters_cell,
                    spec.line,
                    hint="use a path relative to the notebook",
                )
    load_params = {name for plan in plans if plan.role == roles.LOAD for name in plan.params_read}
    for spec in walk.parameters:
        if spec.name in load_params and isinstance(spec.default, str):
            if path_kind(spec.default) == "path" or _PATHISH_NAME.search(spec.name):
                input_files.append(f"params.{spec.name}")
    for plan in plans:
        for statement in plan.statements:
            for value, line, _node in statement.strings:
                kind = path_kind(value)
                if kind is None:
                    continue
                absolute = is_absolute(value)
                name = None
                if walk.options.lift_paths and plan.role != roles.PREDICT:
                    if value not in lifted:
                        name = unique(param_name_for(value, kind), taken)
                        taken.add(name)
                        default = portable_default(value, notebook_dir)
                        lifted[value] = ParamSpec(
                            name, "str", "str", False, default, repr(default),
                            f"lifted from cell {statement.cell}, line {line}", 0,
                        )  # fmt: skip
                        if default != value and absolute:
                            walk.add(
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
                    walk.add(
                        ERROR,
                        "absolute-path",
                        f"hard-coded absolute path {value!r} will not exist on other machines",
                        statement.cell,
                        line,
                        hint="pass --lift-paths to turn it into a parameter, or add a "
                        "parameter for it",
                    )
                else:
                    walk.add(
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
    return tuple(found), tuple(lifted.values()), tuple(input_files)


def _used_imports(walk: _Walk) -> tuple[ImportBinding, ...]:
    """The import binding of every imported name the stages and helpers need."""
    bindings: dict[str, ImportBinding] = {}
    for statement in walk.needed_definitions.values():
        for binding in statement.imports:
            bindings[binding.name] = binding
    return tuple(sorted(bindings.values(), key=lambda b: b.name))


def _append(items: list[str], name: str) -> None:
    if name not in items:
        items.append(name)
