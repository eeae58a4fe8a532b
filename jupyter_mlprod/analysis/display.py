"""Display-only code: which statements only show something (a plot, a print, a bare
expression), and which helpers only plot or save figures, so that calls to them are left out
of stage code like ``plt.show()``.

One scan in notebook order serves both the stage completion (a display statement provides
nothing a stage needs) and the walk (display statements of stage cells are reported).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

import libcst as cst

from .statements import CODE, FUNCTION, IMPORT, Statement, display_bindings, is_display_call


@dataclass(frozen=True)
class DisplayScan:
    """The display-only statements of a notebook and its display-only helpers."""

    statement_ids: frozenset[int]  # ``id`` of every display-only statement, in any cell
    helpers: frozenset[str]  # functions whose body only plots, prints or saves figures

    def shows_only(self, statement: Statement) -> bool:
        """Whether the statement only shows something."""
        return id(statement) in self.statement_ids


def scan_display(statements: Iterable[Statement]) -> DisplayScan:
    """Find the display-only statements and helpers, in notebook order.

    Names bound to objects made by display statements (``fig, ax``) and the names of
    display-only helpers make the statements that use them display-only in turn.
    """
    display_names: set[str] = set()
    helper_names: set[str] = set()
    found: set[int] = set()
    for statement in statements:
        if statement.kind == IMPORT:
            # `import matplotlib.pyplot as plt` binds a display module; other imports rebind.
            display_names -= statement.defines
            display_names |= display_bindings(statement.imports)
            continue
        if statement.kind == FUNCTION and _only_displays(statement.node, display_names):
            helper_names |= statement.defines
            display_names |= statement.defines
            continue
        elif statement.kind == CODE and is_display_call(statement.node, display_names):
            display_names |= statement.defines - statement.mutates
            found.add(id(statement))
            continue
        # A name rebound by real code is no longer a plot object or a display helper.
        rebound = statement.defines - statement.mutates
        display_names -= rebound
        helper_names -= rebound
    return DisplayScan(frozenset(found), frozenset(helper_names))


def _only_displays(node: cst.BaseStatement, display_names: set[str]) -> bool:
    """Whether a function's body (past its docstring) is nothing but display statements."""
    if not isinstance(node, cst.FunctionDef) or not isinstance(node.body, cst.IndentedBlock):
        return False
    body = list(node.body.body)
    if node.get_docstring(clean=False) is not None:
        body = body[1:]
    if not body:
        return False
    # The parameters are plotted, not changed: `ax.plot(history)` shows, it computes nothing.
    local_display = set(display_names)
    for statement in body:
        if not is_display_call(statement, local_display):
            return False
        if isinstance(statement, cst.SimpleStatementLine):
            for small in statement.body:
                if isinstance(small, cst.Assign):
                    local_display |= {
                        name.value
                        for target in small.targets
                        for name in _target_names(target.target)
                    }
    return True


def _target_names(target: cst.BaseExpression) -> list[cst.Name]:
    if isinstance(target, cst.Name):
        return [target]
    if isinstance(target, (cst.Tuple, cst.List)):
        return [name for element in target.elements for name in _target_names(element.value)]
    return []
