"""Role suggestions: propose a role for each code cell of an untagged or partly tagged
notebook from what its code does, and plan the tags ``nb2prod tag --write`` writes.

The rules read the statements :mod:`.statements` gathers (never executing anything) and
follow how data scientists tag by hand — the cell that reads the data, the cell that fits,
the cell that predicts — leaving the rest untagged for slicing to complete:

- ``parameters``: the first cell of literal assignments only (what a parameters cell
  accepts), before the data is read;
- ``predict``: the first cell after a fit that predicts on data the fitting did not read
  (``model.predict(X_test)``, ``model(X_test)``);
- ``train``: fits (``.fit(``, a library's ``train(...)``, a training loop with
  ``backward()`` and ``step()``; not a scaler or encoder) what the predict cell uses; a cell
  that only cross-validates, a fit of another model and any fit after the predict cell are
  exploration;
- ``load``: reads data files or bundled datasets (``pd.read_csv``, ``load_iris()``,
  ``fetch_*``, a notebook helper that does) or splits them (``train_test_split``, new
  ``X_train``/``X_test`` names), cleaning them in the same cell, for what the predict cell
  uses; a cell that also reads the fitted model, or comes after the predict cell, is not.

What "the predict cell uses" means is a walk back from its reads through the cells that bind
them, so a tutorial's earlier demos (another data set, another model) stay untagged.

A cell that fits and then predicts on held-out data (``clf.fit(X_train, y_train)`` then
``y_pred = clf.predict(X_test)``) cannot carry both roles: when no other cell would be the
predict cell, :func:`suggest_splits` proposes splitting it before the predict statement, as a
user would in JupyterLab, and the roles are then suggested for the notebook as split. Data is
held out when a split bound it (``train_test_split``) or its name says so (``X_test``,
``valid_df``) and the fitting statements before it in the cell did not read it. Only the
split that gives the notebook its predict cell is proposed.

Cells that only clean or engineer features between the read and the split stay untagged on
purpose: slicing pulls the statements a stage needs into it, and a tag would also carry the
cell's plots and checks along. Suggestions never propose ``skip`` and never remove one.
"""

from __future__ import annotations

import ast
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import libcst as cst

from .. import roles
from ..errors import CellError, cell_number
from ..ipython import to_python
from ..notebook import Cell, Notebook, split_notebook
from ..params_cell import parse_parameters_cell
from .intake import Intake, read_cells
from .log import ProblemLog
from .statements import CODE, Statement, display_bindings, is_display_call
from .types import Suggestion

# Calls that read a data set, by the called name's last part.
_READ_PREFIXES = ("read_", "load_", "fetch_")
_READ_NAMES = frozenset({"loadtxt", "genfromtxt", "load_dataset", "load_data", "fromfile"})
# Modules whose plain `load(...)` reads data rather than a pickled model.
_ARRAY_MODULES = frozenset({"np", "numpy"})
# `load_*` names that restore a model or its weights, or load settings, not data.
_NOT_DATA_LOADERS = frozenset(
    {"load_model", "load_state_dict", "load_weights", "load_learner", "load_checkpoint",
     "load_dotenv", "load_ext", "load_extension", "load_config"}
)  # fmt: skip
# `make_*` generators of scikit-learn's datasets module make a data set too.
_GENERATED_DATA = frozenset(
    {"make_classification", "make_regression", "make_blobs", "make_moons", "make_circles",
     "make_friedman1", "make_multilabel_classification", "make_swiss_roll"}
)  # fmt: skip
_SPLITS = frozenset({"train_test_split", "random_split"})
_FITS = frozenset({"fit", "partial_fit", "fit_generator", "fit_predict"})
# Fitting these (by class or variable name) prepares data rather than training the model.
_PREPROCESSORS = (
    "scaler", "encoder", "imputer", "vectorizer", "tokenizer", "pca", "binarizer",
    "normalizer", "discretizer", "transformer", "selector",
)  # fmt: skip
_CROSS_VALIDATION = frozenset(
    {"cross_val_score", "cross_validate", "cross_val_predict", "learning_curve",
     "validation_curve", "permutation_test_score"}
)  # fmt: skip
# Parts of the names a hand-made split gives its held-out data (`X_test`, `valid_df`).
_HELD_OUT_PARTS = ("test", "valid", "val_", "_val", "holdout")
_PREDICTS = frozenset({"predict", "predict_proba", "predict_log_proba", "decision_function"})


@dataclass(frozen=True)
class _Call:
    """One call in a cell's code: what is called and the names its arguments read."""

    shown: str  # `pd.read_csv`, `model.fit`, `train_test_split`
    last: str  # the called name's last part: `read_csv`
    receiver: str | None  # the root of `a.b.fit` (`a`), None for a plain name
    # For a method call, the name of what it is called on: `scaler` in `scaler.fit(...)`,
    # `StandardScaler` in `StandardScaler().fit(...)`.
    called_on: str | None
    plain_name: str | None  # the name for a call of a plain name (`model(x)`)
    argument_names: frozenset[str]


@dataclass
class _CellFacts:
    """What a cell's code statements do, as the rules need it."""

    cell: Cell
    statements: list[Statement] = field(default_factory=list)
    calls: list[_Call] = field(default_factory=list)
    reads: set[str] = field(default_factory=set)
    defines: set[str] = field(default_factory=set)
    # Whether every code statement only shows something (a plot, a print, a bare expression).
    shows_only: bool = True

    @property
    def code_statements(self) -> list[Statement]:
        return [statement for statement in self.statements if statement.kind == CODE]


@dataclass(frozen=True)
class TagChange:
    """The tags one cell gets from ``nb2prod tag --write``.

    Attributes:
        cell: the code cell's index.
        old_role: its role before, or None.
        new_role: its role after, or None.
        tags: every tag of the cell after the change (unrelated tags kept in place).
    """

    cell: int
    old_role: str | None
    new_role: str | None
    tags: tuple[str, ...]


@dataclass(frozen=True)
class CellSplit:
    """A code cell ``nb2prod tag`` proposes to split in two, before a statement.

    Attributes:
        cell: the cell's index in the notebook as it is.
        cell_id: its nbformat id, if it has one.
        line: the 1-based line of the cell that starts the second part.
        statement: that line's code, for the report.
        reason: why, in one line.
    """

    cell: int
    cell_id: str | None
    line: int
    statement: str
    reason: str

    def to_json(self) -> dict[str, Any]:
        """The split as ``nb2prod tag --json`` reports it."""
        return {
            "cell": self.cell,
            "cell_id": self.cell_id,
            "line": self.line,
            "statement": self.statement,
            "reason": self.reason,
        }


@dataclass(frozen=True)
class TagPlan:
    """What ``--write`` changes and which differing roles it keeps (no ``--force``)."""

    changes: tuple[TagChange, ...]
    kept: tuple[Suggestion, ...]


def suggest_roles(notebook: Notebook, intake: Intake | None = None) -> tuple[Suggestion, ...]:
    """Propose a role for every code cell, whatever its tags say now.

    Args:
        notebook: the notebook, already read.
        intake: the cells as :func:`~jupyter_mlprod.analysis.analyse_notebook` read them, to
            reuse their statements; read here when not given.

    Returns:
        One suggestion per code cell, in notebook order.
    """
    if intake is None:
        intake = read_cells(notebook, ProblemLog(notebook))
    facts = _gather(notebook, intake)
    return _decide(facts, _current_roles(notebook))


def suggest_splits(notebook: Notebook, intake: Intake | None = None) -> tuple[CellSplit, ...]:
    """The cell to split so that fitting and predicting get a role each (see the module).

    Nothing is proposed when the notebook already has a predict cell (tagged or suggested),
    or when no split would give it one.

    Args:
        notebook: the notebook, already read.
        intake: its cells as read for the analysis, to reuse their statements.

    Returns:
        At most one split.
    """
    if intake is None:
        intake = read_cells(notebook, ProblemLog(notebook))
    if roles.PREDICT in _current_roles(notebook).values():
        return ()
    facts = _gather(notebook, intake)
    if any(s.role == roles.PREDICT for s in _decide(facts, _current_roles(notebook))):
        return ()
    # Held-out data first (a tutorial's demo fit on a plotting grid comes before the real
    # split); data the fitting did not read only when no such cell gives a predict cell.
    for held_out_only in (True, False):
        candidates = _split_candidates(facts, held_out_only=held_out_only)
        if not candidates:
            continue
        split = split_notebook(notebook, {c.cell: c.line for c in candidates})
        # Where each candidate's second part lands in the split notebook.
        second_parts = {}
        for candidate in candidates:
            before = sum(1 for other in candidates if other.cell < candidate.cell)
            second_parts[candidate.cell + before + 1] = candidate
        chosen = [
            second_parts[suggestion.cell]
            for suggestion in suggest_roles(split)
            if suggestion.role == roles.PREDICT and suggestion.cell in second_parts
        ]
        if chosen:
            return (chosen[0],)
    return ()


def _split_candidates(all_facts: list[_CellFacts], *, held_out_only: bool) -> list[CellSplit]:
    """Cells whose code fits and then, in a later statement, predicts on held-out data (or,
    without ``held_out_only``, on any data the fitting statements did not read)."""
    split_outputs: set[str] = set()
    found: list[CellSplit] = []
    for facts in all_facts:
        fitted_reads: set[str] = set()
        fitted_names: set[str] = set()
        fits = ""
        for position, statement in enumerate(facts.code_statements):
            finder = _CallFinder()
            statement.node.visit(finder)
            one = _CellFacts(facts.cell, [statement], finder.calls)
            predicted = [
                call
                for call in finder.calls
                if call.last in _PREDICTS and (call.receiver or "") in fitted_names
            ]
            if fits and position > 0 and predicted:
                data = predicted[0].argument_names - fitted_reads
                held_out = sorted(
                    name
                    for name in data
                    if name in split_outputs
                    or any(part in name.lower() for part in _HELD_OUT_PARTS)
                )
                what = "held-out data" if held_out else "new data"
                shown = held_out or (sorted(data) if not held_out_only else [])
                if shown:
                    found.append(
                        CellSplit(
                            facts.cell.index,
                            facts.cell.cell_id,
                            statement.line - len(getattr(statement.node, "leading_lines", ())),
                            statement.summary,
                            f"fits ({fits}), then predicts on {what} "
                            f"({predicted[0].shown}({', '.join(shown)})): split before the "
                            "prediction so each part gets its role",
                        )
                    )
                    break
            fitting = _fits(one)
            if fitting:
                fits = fits or fitting
                fitted_reads |= statement.reads
                fitted_names |= statement.defines
            if any(call.last in _SPLITS for call in finder.calls):
                split_outputs |= statement.defines
    return found


def plan_tags(
    notebook: Notebook, suggestions: Sequence[Suggestion], *, force: bool = False
) -> TagPlan:
    """The tags to write for these suggestions.

    A cell without a role gets the suggested one; a cell whose role differs from the
    suggestion keeps it unless ``force`` (then a role is replaced, or removed when the
    suggestion is to leave the cell untagged). ``skip`` is never removed, and without
    ``force`` no second ``parameters`` or ``predict`` cell is added beside a tagged one.
    Tags that are not roles stay as they are.
    """
    cells = {cell.index: cell for cell in notebook.cells}
    current = _current_roles(notebook)
    changes: list[TagChange] = []
    kept: list[Suggestion] = []
    single_roles = {roles.PARAMETERS, roles.PREDICT}
    for suggestion in suggestions:
        old = current.get(suggestion.cell)
        new = suggestion.role
        if old == new or (old == roles.SKIP and new is None):
            continue
        held_elsewhere = any(
            role == new and index != suggestion.cell for index, role in current.items()
        )
        if not force and (old is not None or (new in single_roles and held_elsewhere)):
            kept.append(suggestion)
            continue
        tags = _retagged(cells[suggestion.cell].tags, new)
        changes.append(TagChange(suggestion.cell, old, new, tags))
    if force:
        # A single role moved to another cell leaves its old cell (the suggestion there may
        # already say so; if not, the old cell is untagged).
        moved = {change.new_role for change in changes} & single_roles
        changed = {change.cell for change in changes}
        for index, role in current.items():
            if role in moved and index not in changed:
                changes.append(TagChange(index, role, None, _retagged(cells[index].tags, None)))
    return TagPlan(tuple(sorted(changes, key=lambda change: change.cell)), tuple(kept))


def _retagged(tags: Iterable[str], role: str | None) -> tuple[str, ...]:
    """The tags with the role tags replaced by ``role``, at the first role's place."""
    result: list[str] = []
    placed = False
    for tag in tags:
        if tag in roles.ROLE_TAGS:
            if not placed and role is not None:
                result.append(role)
            placed = True
        else:
            result.append(tag)
    if not placed and role is not None:
        result.append(role)
    return tuple(result)


def _current_roles(notebook: Notebook) -> dict[int, str | None]:
    result: dict[int, str | None] = {}
    for cell in notebook.code_cells:
        cell_roles = [tag for tag in cell.tags if tag in roles.ROLE_TAGS]
        result[cell.index] = cell_roles[0] if cell_roles else None
    return result


def _gather(notebook: Notebook, intake: Intake) -> list[_CellFacts]:
    by_cell: dict[int, _CellFacts] = {cell.index: _CellFacts(cell) for cell in notebook.code_cells}
    for statement, _role in intake.statements:
        by_cell[statement.cell].statements.append(statement)
    display_names: set[str] = set()
    for facts in by_cell.values():
        for statement in facts.statements:
            display_names |= display_bindings(statement.imports)
            if statement.kind == CODE and is_display_call(statement.node, display_names):
                # What a plot call returns (`fig, ax = plt.subplots()`) is for showing too.
                display_names |= statement.defines
            elif statement.kind == CODE:
                # Depends on the node alone: found once per parsed cell, kept with it.
                facts.calls.extend(statement.fact(_calls_of))
                facts.shows_only = False
            facts.reads |= statement.reads - facts.defines
            facts.defines |= statement.defines
    return list(by_cell.values())


def _calls_of(node: cst.BaseStatement) -> tuple[_Call, ...]:
    finder = _CallFinder()
    node.visit(finder)
    return tuple(finder.calls)


# A decision for some cells: cell index → (role or None, reason).
_Decided = dict[int, tuple[str | None, str]]


def _decide(
    all_facts: list[_CellFacts], current: Mapping[int, str | None]
) -> tuple[Suggestion, ...]:
    """The rules in order: predict and train first (they say which names are the fitted
    model), then load (which must not read it), then the parameters before all of them."""
    fits_of = {facts.cell.index: _fits(facts) for facts in all_facts}
    decided: _Decided = {}
    predict_cell = _choose_predict(all_facts, fits_of, decided)
    needed = _cells_predict_needs(all_facts, predict_cell)
    _choose_train(all_facts, fits_of, predict_cell, needed, decided)
    _choose_load(all_facts, predict_cell, needed, decided)
    _choose_parameters(all_facts, decided)
    stage_outputs = {
        name
        for facts in all_facts
        if decided.get(facts.cell.index, (None, ""))[0] in {roles.TRAIN, roles.PREDICT}
        for name in facts.defines
    }
    suggestions = []
    for facts in all_facts:
        index = facts.cell.index
        role, reason = decided.get(index) or (
            None,
            _why_untagged(facts, predict_cell, stage_outputs),
        )
        suggestions.append(Suggestion(index, facts.cell.cell_id, role, reason, current[index]))
    return tuple(suggestions)


def _choose_predict(
    all_facts: list[_CellFacts], fits_of: Mapping[int, str], decided: _Decided
) -> int | None:
    """The first cell after a fit that predicts on data the fitting cells did not read."""
    train_candidates = [facts for facts in all_facts if fits_of[facts.cell.index]]
    if not train_candidates:
        return None
    first_train = train_candidates[0].cell.index
    for facts in all_facts:
        index = facts.cell.index
        # A cell that fits and predicts is a train cell (its predictions score training).
        if index <= first_train or fits_of[index]:
            continue
        earlier_fits = [fit for fit in train_candidates if fit.cell.index < index]
        # What the fitting cells bound, less what this cell binds itself (`def model(x)`).
        model_names = {name for fit in earlier_fits for name in fit.defines} - facts.defines
        training_reads = {name for fit in earlier_fits for name in fit.reads}
        shown = _held_out_prediction(facts, model_names, training_reads)
        if shown is not None:
            decided[index] = (roles.PREDICT, f"predicts on held-out data ({shown})")
            return index
    return None


def _cells_predict_needs(all_facts: list[_CellFacts], predict_cell: int | None) -> set[int] | None:
    """The cells before the predict cell whose values it needs, transitively (None without
    a predict cell): a tutorial fits and reads many things only one pipeline uses."""
    if predict_cell is None:
        return None
    by_index = {facts.cell.index: facts for facts in all_facts}
    needed_names = set(by_index[predict_cell].reads)
    cells: set[int] = set()
    for facts in reversed([f for f in all_facts if f.cell.index < predict_cell]):
        if not facts.defines & needed_names:
            continue
        cells.add(facts.cell.index)
        reads = facts.reads | {name for st in facts.statements for name in st.deferred_reads}
        # A name the cell binds anew is provided; one it only changes is still needed from
        # earlier (`model.fit(...)` needs `model = ...`).
        bound = {name for st in facts.statements for name in st.defines - st.mutates}
        needed_names = (needed_names - bound) | reads
    return cells


def _choose_train(
    all_facts: list[_CellFacts],
    fits_of: Mapping[int, str],
    predict_cell: int | None,
    needed: set[int] | None,
    decided: _Decided,
) -> None:
    """Cells that fit what the predict cell uses; other fits explore other models."""
    for facts in all_facts:
        index = facts.cell.index
        if not fits_of[index] or index in decided:
            continue
        if predict_cell is not None and index > predict_cell:
            decided[index] = (
                None,
                f"fits after {_the_predict_cell(predict_cell)}: exploration",
            )
        elif needed is not None and index not in needed:
            decided[index] = (
                None,
                f"fits a model {_the_predict_cell(predict_cell)} does not use: exploration",
            )
        else:
            decided[index] = (roles.TRAIN, f"fits ({fits_of[index]})")


def _choose_load(
    all_facts: list[_CellFacts],
    predict_cell: int | None,
    needed: set[int] | None,
    decided: _Decided,
) -> None:
    """Cells that read or split data, unless they also read what a train cell fitted or
    come after the predict cell."""
    helpers_reading_data = _helpers_reading_data(all_facts)
    defined_before: set[str] = set()
    trained_names: set[str] = set()
    for facts in all_facts:
        index = facts.cell.index
        reads = _data_reads(facts, helpers_reading_data)
        splits = _splits(facts, defined_before)
        defined_before |= facts.defines
        if decided.get(index, (None, ""))[0] == roles.TRAIN:
            trained_names |= facts.defines
        if index in decided or not (reads or splits):
            continue
        if predict_cell is not None and index > predict_cell:
            decided[index] = (
                None,
                f"reads or splits data after {_the_predict_cell(predict_cell)}: "
                "checks or exploration",
            )
            continue
        if needed is not None and index not in needed:
            decided[index] = (
                None,
                f"reads or splits data {_the_predict_cell(predict_cell)} does not use: exploration",
            )
            continue
        from_training = sorted(facts.reads & trained_names)
        if from_training:
            # The dead end of tagging such a cell `load`: "load reads from train".
            decided[index] = (
                None,
                f"reads data but also the fitted `{from_training[0]}`: not a load cell",
            )
            continue
        parts = []
        if reads:
            parts.append(f"reads data ({', '.join(reads)})")
        if splits:
            what = "it" if parts else "the data"
            parts.append(f"splits {what} ({', '.join(splits)})")
        decided[index] = (roles.LOAD, " and ".join(parts))


def _choose_parameters(all_facts: list[_CellFacts], decided: _Decided) -> None:
    """The first literal-only cell before every stage cell."""
    first_stage = min(
        (index for index, (role, _) in decided.items() if role is not None), default=None
    )
    for facts in all_facts:
        index = facts.cell.index
        if first_stage is not None and index > first_stage:
            return
        names = _literal_names(facts.cell) if index not in decided else []
        if names:
            shown = ", ".join(names[:3]) + (", …" if len(names) > 3 else "")
            decided[index] = (
                roles.PARAMETERS,
                f"literal assignments only ({shown}) before the data is read",
            )
            return


def _the_predict_cell(predict_cell: int | None) -> str:
    """``the predict cell (cell 6)``, numbered as people read it (1-based)."""
    if predict_cell is None:
        return "the predict cell"
    return f"the predict cell (cell {cell_number(predict_cell)})"


def _why_untagged(facts: _CellFacts, predict_cell: int | None, stage_outputs: set[str]) -> str:
    if not facts.statements:
        return "no Python statements (empty, IPython syntax only, or not valid Python)"
    if not facts.code_statements:
        return "definitions only (imports, functions, classes): carried where a stage uses them"
    cross_validation = [call.shown for call in facts.calls if call.last in _CROSS_VALIDATION]
    if cross_validation:
        return f"cross-validation only ({cross_validation[0]}): exploration"
    if (
        predict_cell is not None
        and facts.cell.index > predict_cell
        and any(call.last in _PREDICTS for call in facts.calls)
    ):
        return f"predicts again after {_the_predict_cell(predict_cell)}: evaluation"
    if facts.shows_only:
        return "shows, prints or plots only: exploration"
    after_predict = predict_cell is not None and facts.cell.index > predict_cell
    used = sorted(facts.reads & stage_outputs)
    if after_predict and used:
        return f"uses `{used[0]}` after the predict cell: evaluation or exploration"
    if _literal_names(facts.cell) or (
        facts.defines and all(name.isupper() for name in facts.defines)
    ):
        return "settings or constants: carried along where a stage needs them"
    return "no data read, split, fit or prediction: left to slicing"


def _helpers_reading_data(all_facts: list[_CellFacts]) -> dict[str, str]:
    """Notebook functions whose body reads data: their name → what they call to read it."""
    found: dict[str, str] = {}
    for facts in all_facts:
        for statement in facts.statements:
            if isinstance(statement.node, cst.FunctionDef):
                finder = _CallFinder(into_functions=True)
                statement.node.body.visit(finder)
                reading = [call.shown for call in finder.calls if _is_data_read(call)]
                if reading:
                    found[statement.node.name.value] = reading[0]
    return found


def _data_reads(facts: _CellFacts, helpers_reading_data: Mapping[str, str]) -> list[str]:
    shown = []
    for call in facts.calls:
        helper_read = helpers_reading_data.get(call.plain_name or "")
        if helper_read is not None:
            shown.append(f"{call.shown}, which calls {helper_read}")
        elif _is_data_read(call):
            shown.append(call.shown)
    return list(dict.fromkeys(shown))


def _is_data_read(call: _Call) -> bool:
    if call.last in _NOT_DATA_LOADERS:
        return False
    if call.last == "load":
        return call.receiver in _ARRAY_MODULES
    return (
        call.last.startswith(_READ_PREFIXES)
        or call.last in _READ_NAMES
        or call.last in _GENERATED_DATA
        # A tutorial's own generator (`from figures import make_dataset`).
        or call.last.startswith("make_data")
    )


def _splits(facts: _CellFacts, defined_before: set[str]) -> list[str]:
    """How the cell splits the data: a split function, or new training and held-out names
    (`X_train, X_test = X[:150], X[150:]`; not frames read earlier and changed here)."""
    calls = [call.shown for call in facts.calls if call.last in _SPLITS]
    if calls:
        return list(dict.fromkeys(calls))
    bound = {
        name
        for statement in facts.code_statements
        for name in statement.defines - statement.mutates
        if name not in defined_before
    }
    training = sorted(name for name in bound if _is_training_name(name))
    held_out = sorted(
        name
        for name in bound
        if not _is_training_name(name) and any(part in name.lower() for part in _HELD_OUT_PARTS)
    )
    if training and held_out:
        return [f"{training[0]}, {held_out[0]}"]
    return []


def _is_training_name(name: str) -> bool:
    lowered = name.lower()
    return "train" in lowered and not any(part in lowered for part in _HELD_OUT_PARTS)


def _fits(facts: _CellFacts) -> str:
    """What in the cell fits a model (empty when nothing does)."""
    fits = [
        call.shown
        for call in facts.calls
        if call.last in _FITS
        and not any(part in (call.called_on or "").lower() for part in _PREPROCESSORS)
    ]
    if fits:
        return ", ".join(dict.fromkeys(fits))
    # A library's own training function (`xgb.train(params, dtrain)`), not `model.train()`.
    trains = [call.shown for call in facts.calls if call.last == "train" and call.argument_names]
    if trains:
        return trains[0]
    backward = [call.shown for call in facts.calls if call.last == "backward"]
    steps = [call.shown for call in facts.calls if call.last == "step"]
    if backward and steps:
        return f"a training loop: {backward[0]}, {steps[0]}"
    return ""


def _held_out_prediction(
    facts: _CellFacts, model_names: set[str], training_reads: set[str]
) -> str | None:
    """The prediction call on data the training did not read, shown; None if there is none."""
    for call in facts.calls:
        predicts = call.last in _PREDICTS or (
            call.plain_name is not None and call.plain_name in model_names
        )
        if not predicts:
            continue
        data = call.argument_names - training_reads
        if data:
            return f"{call.shown}({', '.join(sorted(data))})"
    return None


def _literal_names(cell: Cell) -> list[str]:
    """The names a cell assigns when it holds literal assignments only, else []."""
    python = to_python(cell.source).python
    if not _assigns_literals(python):
        return []
    try:
        specs = parse_parameters_cell(python, path="", cell_index=cell.index)
    except CellError:
        return []
    return [spec.name for spec in specs]


def _assigns_literals(python: str) -> bool:
    """A quick look before the parameters cell's own (slower, libcst) reading: only
    assignments, each of a literal value."""
    try:
        body = ast.parse(python).body
    except (SyntaxError, ValueError):
        return False
    for node in body:
        if not isinstance(node, (ast.Assign, ast.AnnAssign)) or node.value is None:
            return False
        try:
            ast.literal_eval(node.value)
        except (ValueError, TypeError, SyntaxError, MemoryError, RecursionError):
            return False
    return bool(body)


class _CallFinder(cst.CSTVisitor):
    """Gathers the calls of a statement (not those inside nested functions or classes)."""

    def __init__(self, *, into_functions: bool = False) -> None:
        self.calls: list[_Call] = []
        self.into_functions = into_functions

    def visit_FunctionDef(self, node: cst.FunctionDef) -> bool:
        return self.into_functions

    def visit_ClassDef(self, node: cst.ClassDef) -> bool:
        return self.into_functions

    def visit_Lambda(self, node: cst.Lambda) -> bool:
        return self.into_functions

    def visit_Call(self, node: cst.Call) -> None:
        func = node.func
        names = _NameCollector()
        for argument in node.args:
            argument.value.visit(names)
        if isinstance(func, cst.Name):
            self.calls.append(
                _Call(func.value, func.value, None, None, func.value, frozenset(names.names))
            )
        elif isinstance(func, cst.Attribute):
            receiver = _root_of(func.value)
            shown = f"{receiver}.{func.attr.value}" if receiver else func.attr.value
            called_on = _name_of(
                func.value.func if isinstance(func.value, cst.Call) else func.value
            )
            self.calls.append(
                _Call(shown, func.attr.value, receiver, called_on, None, frozenset(names.names))
            )


class _NameCollector(cst.CSTVisitor):
    """The plain names an expression reads (``a.b`` reads ``a``, not ``b``)."""

    def __init__(self) -> None:
        self.names: set[str] = set()

    def visit_Attribute(self, node: cst.Attribute) -> bool:
        node.value.visit(self)
        return False

    def visit_Name(self, node: cst.Name) -> None:
        self.names.add(node.value)


def _name_of(node: cst.BaseExpression) -> str | None:
    """The last name of ``a.b``, ``a[0]`` or ``a``: ``b``, ``a``, ``a``."""
    if isinstance(node, cst.Attribute):
        return node.attr.value
    if isinstance(node, cst.Subscript):
        return _name_of(node.value)
    return node.value if isinstance(node, cst.Name) else None


def _root_of(node: cst.BaseExpression) -> str | None:
    """The name at the root of ``a.b(c)[d].e``: ``a``."""
    while True:
        if isinstance(node, (cst.Attribute, cst.Subscript)):
            node = node.value
        elif isinstance(node, cst.Call):
            node = node.func
        else:
            return node.value if isinstance(node, cst.Name) else None
