"""Predict input/output: which variable of the predict cells holds new data, which holds the
predictions, and which objects are models.

:func:`choose_predict_io` picks the two names (an option, then the notebook's metadata, then
inference) and reports when inference cannot tell; the other functions are pure readings of
the predict cells' statements.
"""

from __future__ import annotations

import typing
from collections.abc import Mapping

import libcst as cst

from .. import roles
from .log import ProblemLog
from .statements import CODE, Statement, root_name
from .types import ERROR, AnalysisOptions, IOSource, PredictIO
from .walk import Walked

PREDICT_METHODS = frozenset(
    {"predict", "predict_proba", "predict_log_proba", "decision_function", "transform", "forward"}
)
# Methods whose receiver is a fitted object (a model, a scaler, an encoder), not data.
MODEL_METHODS = PREDICT_METHODS | {"inverse_transform", "score", "fit", "fit_transform"}


def single_name_targets(statement: Statement) -> list[str]:
    """The one plain name a statement assigns (``x = …``), if that is all it assigns."""
    node = statement.node
    if not isinstance(node, cst.SimpleStatementLine) or len(node.body) != 1:
        return []
    small = node.body[0]
    if isinstance(small, cst.Assign) and len(small.targets) == 1:
        target = small.targets[0].target
        return [target.value] if isinstance(target, cst.Name) else []
    if isinstance(small, cst.AnnAssign) and isinstance(small.target, cst.Name):
        return [small.target.value]
    return []


def loop_targets(statement: Statement) -> set[str]:
    """The names a ``for`` statement binds as loop variables."""
    node = statement.node
    return set(names_in(node.target)) if isinstance(node, cst.For) else set()


def model_call_assignments(statement: Statement) -> list[tuple[str, str, str]]:
    """(assigned name, model name, method) for ``name = model.predict(...)`` statements."""
    node = statement.node
    if not isinstance(node, cst.SimpleStatementLine):
        return []
    found: list[tuple[str, str, str]] = []
    for small in node.body:
        if not isinstance(small, (cst.Assign, cst.AnnAssign)):
            continue
        call = predict_call(small.value)
        if call is None or not isinstance(call.func, cst.Attribute):
            continue
        receiver = root_name(call.func.value) or ""
        targets = small.targets if isinstance(small, cst.Assign) else [small]
        for target in targets:
            if isinstance(target.target, cst.Name):
                found.append((target.target.value, receiver, call.func.attr.value))
    return found


def predict_call(node: cst.BaseExpression | None) -> cst.Call | None:
    """The `model.predict(...)`-style call inside an expression, if any."""
    found: list[cst.Call] = []

    class Finder(cst.CSTVisitor):
        def visit_Call(self, call: cst.Call) -> None:
            if isinstance(call.func, cst.Attribute) and call.func.attr.value in PREDICT_METHODS:
                found.append(call)

    if node is not None:
        node.visit(Finder())
    return found[0] if found else None


def column_prediction(statement: Statement) -> tuple[str, str] | None:
    """(frame, column) for ``frame["column"] = model.predict(frame[...])``: predictions added
    as a column of the frame they are computed from."""
    node = statement.node
    if not isinstance(node, cst.SimpleStatementLine) or len(node.body) != 1:
        return None
    small = node.body[0]
    if not isinstance(small, cst.Assign) or len(small.targets) != 1:
        return None
    call = predict_call(small.value)
    found = subscript_column(small.targets[0].target)
    if call is None or not call.args or found is None:
        return None
    # Only a column of the data predicted on: a frame assembled for a submission is not
    # what predict() is given.
    models = model_like_names([statement])
    return found if data_root(call.args[0].value, models) == found[0] else None


def subscript_column(node: cst.BaseExpression) -> tuple[str, str] | None:
    """(frame, column) for the expression ``frame["column"]``, else None."""
    if not isinstance(node, cst.Subscript) or not isinstance(node.value, cst.Name):
        return None
    if len(node.slice) != 1 or not isinstance(node.slice[0].slice, cst.Index):
        return None
    key = node.slice[0].slice.value
    if not isinstance(key, cst.SimpleString):
        return None
    column = key.evaluated_value
    return (node.value.value, column) if isinstance(column, str) else None


def parse_output(text: str) -> tuple[str, str | None]:
    """A predict output as given (option or metadata): ``y_pred``, or ``df["pred"]`` for a
    column of a frame."""
    try:
        found = subscript_column(cst.parse_expression(text))
    except cst.ParserSyntaxError:
        found = None
    return found if found is not None else (text, None)


def model_like_names(code: list[Statement]) -> set[str]:
    """Names used as models: receivers of predict/transform-style calls."""
    names: set[str] = set()

    class Finder(cst.CSTVisitor):
        def visit_Call(self, call: cst.Call) -> None:
            func = call.func
            if isinstance(func, cst.Attribute) and func.attr.value in MODEL_METHODS:
                root = root_name(func.value)
                if root is not None:
                    names.add(root)

    for statement in code:
        statement.node.visit(Finder())
    return names


def data_root(
    node: cst.BaseExpression, models: set[str], modules: frozenset[str] = frozenset()
) -> str | None:
    """The variable a data expression is computed from: ``scaler.transform(X[cols])`` → X.

    ``modules`` are the names imports bind: a module is never data (``np.linspace(0, 1)``
    makes its value from its arguments, ``x[:, np.newaxis]`` indexes ``x``).
    """
    while True:
        if isinstance(node, cst.Name):
            return None if node.value in modules else node.value
        if isinstance(node, (cst.Attribute, cst.Subscript)):
            node = node.value
        elif isinstance(node, cst.Call):
            func = node.func
            receiver = root_name(func.value) if isinstance(func, cst.Attribute) else None
            if (
                isinstance(func, cst.Attribute)
                and receiver is not None
                and receiver not in models
                and receiver not in modules
            ):
                node = func.value  # X.fillna(0) → X
            elif node.args:
                node = node.args[0].value  # scaler.transform(X) → X, np.asarray(X) → X
            else:
                return None
        else:
            return None


def infer_input_candidates(
    code: list[Statement], modules: frozenset[str] = frozenset()
) -> tuple[str, ...]:
    """The variable the model call's data comes from, traced back through the predict cell.

    ``modules``: the names imports bind, never the input.
    """
    models = model_like_names(code)
    for index in range(len(code) - 1, -1, -1):
        statement = code[index]
        node = statement.node
        if not isinstance(node, cst.SimpleStatementLine):
            continue
        for small in node.body:
            call = predict_call(getattr(small, "value", None))
            if call is None or not call.args:
                continue
            root = data_root(call.args[0].value, models, modules)
            seen: set[str] = set()
            # Follow `X_scaled = scaler.transform(X_test)` back to X_test.
            while root is not None and root not in seen:
                seen.add(root)
                definition = next(
                    (st for st in reversed(code[:index]) if root in single_name_targets(st)),
                    None,
                )
                if definition is None:
                    return (root,)
                value = typing.cast(
                    cst.Assign, typing.cast(cst.SimpleStatementLine, definition.node).body[0]
                ).value
                next_root = data_root(value, models, modules)
                if next_root is None or next_root == root:
                    return (root,)
                root = next_root
            names = [
                name
                for name in names_in(call.args[0].value)
                if name not in models
                and name not in modules
                and name in statement.reads | defined_before(code, statement)
            ]
            return tuple(dict.fromkeys(names))
    return ()


def names_in(node: cst.CSTNode) -> list[str]:
    """The variable names an expression reads (attribute names excluded)."""
    names: list[str] = []

    class Finder(cst.CSTVisitor):
        def visit_Attribute(self, attribute: cst.Attribute) -> bool:
            attribute.value.visit(self)
            return False

        def visit_Name(self, name: cst.Name) -> None:
            names.append(name.value)

    node.visit(Finder())
    return names


def defined_before(code: list[Statement], statement: Statement) -> set[str]:
    """Names the statements before ``statement`` define."""
    names: set[str] = set()
    for other in code:
        if other is statement:
            break
        names |= other.defines
    return names


def choose_predict_io(
    walked: Walked,
    roles_by_cell: Mapping[int, str | None],
    options: AnalysisOptions,
    metadata: Mapping[str, str],
    log: ProblemLog,
) -> PredictIO:
    """The predict input and output: from the options, the metadata, or inferred."""
    code = walked.stage_code(roles.PREDICT)
    output_source: IOSource = "option" if options.predict_output else "metadata"
    output = options.predict_output or metadata.get("predict_output")
    output_column: str | None = None
    if output is not None:
        output, output_column = parse_output(output)
    reason_parts: list[str] = []
    output_candidates: tuple[str, ...] = ()
    column = _column_output(code) if output is None else None
    if column is not None:
        output_source = "inferred"
        output, output_column = column
        reason_parts.append(
            f"the predictions are added as column {output_column!r} of `{output}` in the "
            "predict cell"
        )
    elif output is None:
        output_source = "inferred"
        output_candidates = _output_candidates(walked, code)
        if len(output_candidates) == 1:
            output = output_candidates[0]
            reason_parts.append(f"`{output}` is assigned from a model call in the predict cell")
        elif code:
            log.add(
                ERROR,
                "ambiguous-output",
                "cannot tell which variable holds the predictions (candidates: "
                f"{', '.join(output_candidates) or 'none'})",
                code[0].cell,
                hint="pass --predict-output NAME or pick it in the Pipeline panel",
            )
    predict_cells = [index for index, role in roles_by_cell.items() if role == roles.PREDICT]
    if predict_cells and not code:
        log.add(
            ERROR,
            "predict-computes-nothing",
            "the predict cell only displays its result, so there is nothing to export",
            predict_cells[0],
            hint="assign the predictions to a variable, e.g. `y_pred = model.predict(X_test)`",
        )
    input_source: IOSource = "option" if options.predict_input else "metadata"
    name = options.predict_input or metadata.get("predict_input")
    input_candidates: tuple[str, ...] = ()
    if name is None:
        input_source = "inferred"
        modules = frozenset(
            binding.name for statement, _ in walked.statements for binding in statement.imports
        )
        input_candidates = infer_input_candidates(code, modules)
        if len(input_candidates) == 1:
            name = input_candidates[0]
            reason_parts.append(f"`{name}` is the data passed to the model call")
        elif code and output is not None:
            log.add(
                ERROR,
                "ambiguous-input",
                "cannot tell which variable holds the new data to predict on (candidates: "
                f"{', '.join(input_candidates) or 'none'})",
                code[0].cell,
                hint="pass --predict-input NAME or pick it in the Pipeline panel",
            )
    reason = "; ".join(reason_parts) or f"from {output_source}"
    return PredictIO(
        name,
        output,
        input_source,
        output_source,
        reason,
        input_candidates,
        output_candidates,
        output_column,
    )


def _column_output(code: list[Statement]) -> tuple[str, str] | None:
    """The column the predictions are added as, when no model call assigns a plain name.

    ``X_test["pred"] = model.predict(X_test[cols])`` names no variable for the predictions:
    the new column is the output. A model call assigned to a name wins (that name is the
    output), and so does a choice among several columns (then the user is asked).
    """
    if any(
        method != "transform"
        for statement in code
        for _, _, method in model_call_assignments(statement)
    ):
        return None
    columns = list(dict.fromkeys(filter(None, map(column_prediction, code))))
    return columns[0] if len(columns) == 1 else None


def _output_candidates(walked: Walked, code: list[Statement]) -> tuple[str, ...]:
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
        return (_follow_post_processing(walked, code, preferred[-1]),)
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


def _follow_post_processing(walked: Walked, code: list[Statement], name: str) -> str:
    models = model_like_names(code)
    start = next(i for i, st in enumerate(code) if name in st.defines)
    current = name
    for statement in code[start + 1 :]:
        if current not in statement.reads:
            continue
        targets = single_name_targets(statement)
        resolved = walked.reads_of(statement)
        # Other data (y_test…) read alongside makes it evaluation, not post-processing.
        # A constant (`threshold = 0.5`, often inferred from an untagged cell) is not data.
        other_data = [
            other
            for other in statement.reads - {current} - models
            if other in resolved
            and resolved[other].kind == CODE
            and resolved[other].role != roles.PARAMETERS
            and id(resolved[other].statement) not in walked.constants
        ]
        if len(targets) != 1 or other_data:
            break
        current = targets[0]
    return current
