"""Reading the predict cell: which variable holds new data, which holds predictions, and
which objects are models. Pure functions over a cell's statements (see :mod:`.cells`); the
analysis decides what to do with their answers.
"""

from __future__ import annotations

import typing

import libcst as cst

from .cells import Statement, root_name

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


def data_root(node: cst.BaseExpression, models: set[str]) -> str | None:
    """The variable a data expression is computed from: ``scaler.transform(X[cols])`` → X."""
    while True:
        if isinstance(node, cst.Name):
            return node.value
        if isinstance(node, (cst.Attribute, cst.Subscript)):
            node = node.value
        elif isinstance(node, cst.Call):
            func = node.func
            receiver = root_name(func.value) if isinstance(func, cst.Attribute) else None
            if isinstance(func, cst.Attribute) and receiver is not None and receiver not in models:
                node = func.value  # X.fillna(0) → X
            elif node.args:
                node = node.args[0].value  # scaler.transform(X) → X, np.asarray(X) → X
            else:
                return None
        else:
            return None


def infer_input_candidates(code: list[Statement]) -> tuple[str, ...]:
    """The variable the model call's data comes from, traced back through the predict cell."""
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
            root = data_root(call.args[0].value, models)
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
                next_root = data_root(value, models)
                if next_root is None or next_root == root:
                    return (root,)
                root = next_root
            names = [
                name
                for name in names_in(call.args[0].value)
                if name not in models and name in statement.reads | defined_before(code, statement)
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
