"""The problem log: the one mutable object the analysis steps share, collecting problems."""

from __future__ import annotations

from ..notebook import Notebook
from .types import Problem, Severity


class ProblemLog:
    """Problems found so far, each located by cell index and the cell's id."""

    def __init__(self, notebook: Notebook) -> None:
        self.notebook = notebook
        self.problems: list[Problem] = []

    def add(
        self,
        severity: Severity,
        code: str,
        message: str,
        cell: int | None = None,
        line: int | None = None,
        column: int | None = None,
        hint: str = "",
    ) -> None:
        """Record one problem; the cell's id is looked up from its index."""
        cell_id = self.notebook.cells[cell].cell_id if cell is not None and cell >= 0 else None
        self.problems.append(Problem(severity, code, message, cell, cell_id, line, column, hint))

    def extend(self, other: ProblemLog) -> None:
        """Take over the problems a trial run of some steps recorded in another log."""
        self.problems.extend(other.problems)

    def sorted(self) -> tuple[Problem, ...]:
        """The problems in notebook order (problems without a cell first)."""
        return tuple(
            sorted(self.problems, key=lambda p: (p.cell if p.cell is not None else -1, p.line or 0))
        )
