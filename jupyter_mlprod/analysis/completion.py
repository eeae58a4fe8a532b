"""Stage completion by slicing: the untagged statements a stage needs join it.

Tags say what the author means; slicing completes them. When a stage statement reads a value
(or changes one in place) whose reaching definition is an untagged statement, that statement
joins the earliest stage (in run order) that needs it, and so on transitively, in notebook
order and at statement level: the same cell's plots, prints and scores provide nothing a stage
needs and stay out. A statement that fits something never joins predict (prediction code
trains nothing): a refit predict needs joins train, which runs before predict. Untagged
changes of a staged value between its definition and its use are reaching definitions too, so
they are kept in order. Skipped cells are never pulled in; the walk
reports a stage that needs one. Every statement added is reported as an :class:`Inference`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import libcst as cst

from .. import roles
from .display import DisplayScan
from .statements import CODE, Statement
from .types import Inference

# A statement with its cell's role (None: untagged), as the intake and the walk pass them.
RoledStatement = tuple[Statement, str | None]

# Methods that train what they are called on.
FITTING_METHODS = frozenset(
    {"fit", "partial_fit", "fit_transform", "fit_predict", "fit_resample", "train", "compile"}
)


@dataclass(frozen=True)
class Completion:
    """The statements with the role each runs in after completion, and what was inferred."""

    statements: tuple[RoledStatement, ...]
    inferred: tuple[Inference, ...]
    inferred_ids: frozenset[int]  # ``id`` of every statement that joined a stage


def complete_stages(
    statements: Sequence[RoledStatement], display: DisplayScan, *, strict: bool = False
) -> Completion:
    """Give each untagged statement a stage needs the role of the earliest stage needing it.

    Args:
        statements: every statement of the code cells, in notebook order, with its cell's role.
        display: the display-only statements (they need nothing and provide nothing).
        strict: complete nothing (``--strict``): the walk then reports every read of untagged
            code as an error.
    """
    if strict:
        return Completion(tuple(statements), (), frozenset())
    reaching = _reaching_definitions(statements)
    joined: dict[int, str] = {}  # statement index → the role it joins
    reasons: dict[int, str] = {}
    # Backwards: every statement that needs statement j comes after it, so its role is final
    # by the time j is reached.
    for index in reversed(range(len(statements))):
        statement, role = statements[index]
        if statement.kind != CODE or display.shows_only(statement):
            continue
        stage = role if role in roles.TAGGED_STAGES else joined.get(index)
        if stage is None:
            continue
        for name, source in sorted(reaching[index].items()):
            provider, provider_role = statements[source]
            if provider_role is not None or provider.kind != CODE:
                continue
            if display.shows_only(provider):
                continue
            needed_by = stage
            if needed_by == roles.PREDICT and fits(provider.node):
                needed_by = roles.TRAIN
            current = joined.get(source)
            if current is not None and roles.run_order(current) <= roles.run_order(needed_by):
                continue
            joined[source] = needed_by
            how = f"the {stage} stage" if index not in joined else f"inferred {stage} code"
            reasons[source] = (
                f"provides `{name}`, which {how} reads in cell {statement.cell}, "
                f"line {statement.line}"
            )
    completed = tuple(
        (statement, joined.get(index, role)) for index, (statement, role) in enumerate(statements)
    )
    inferred = tuple(
        Inference(statements[index][0].cell, statements[index][0].line, stage, reasons[index])
        for index, stage in sorted(joined.items())
    )
    ids = frozenset(id(statements[index][0]) for index in joined)
    return Completion(completed, inferred, ids)


def fits(node: cst.CSTNode) -> bool:
    """Whether code calls a fitting method (``model.fit(X, y)``, ``LinearRegression().fit``)."""
    found = False

    class Finder(cst.CSTVisitor):
        def visit_Attribute(self, attribute: cst.Attribute) -> None:
            nonlocal found
            if attribute.attr.value in FITTING_METHODS:
                found = True

    node.visit(Finder())
    return found


def _reaching_definitions(statements: Sequence[RoledStatement]) -> list[dict[str, int]]:
    """For each statement, the index of the statement whose value each name it uses has.

    A statement uses the names it reads and the names it changes in place (``df["a"] = …``
    needs ``df`` as it was).
    """
    latest: dict[str, int] = {}
    reaching: list[dict[str, int]] = []
    for index, (statement, _role) in enumerate(statements):
        used = statement.reads | statement.mutates
        reaching.append({name: latest[name] for name in used if name in latest})
        for name in statement.defines:
            previous = latest.get(name)
            if (
                name in statement.mutates
                and previous is not None
                and statements[previous][0].kind != CODE
            ):
                continue  # `pd.set_option(...)` configures a module; it does not redefine it
            latest[name] = index
    return reaching
