"""The one exception tree of jupyter-mlprod.

Every error the tool raises on purpose derives from :class:`MlprodError` and renders a
single line that says what is wrong, where, and what to do. The CLI catches the base class
and prints that line; anything else is a bug and keeps its traceback.

::

    MlprodError
     ├── NotebookError        the file is not a usable notebook (missing, not JSON, old nbformat)
     │    └── CellError        a problem located in one cell (index, id, line, column)
     ├── ConversionError       problems stop a clean conversion (carries them as Problems)
     ├── OutputExistsError     the output directory exists and --force was not given
     ├── ParameterError        a parameter override names an unknown parameter or a bad value
     ├── ExecutionError        a notebook run failed in a cell (papermill)
     └── VerificationError     the package's predictions differ from the notebook's
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    # Only for annotations: the analysis imports this module.
    from .analysis.types import Problem


class MlprodError(Exception):
    """Base class: ``str(error)`` is the one line the user sees."""

    exit_code: int = 1


class NotebookError(MlprodError):
    """The notebook file cannot be read as an nbformat-4 notebook."""

    def __init__(self, path: str, problem: str, hint: str = "") -> None:
        self.path = path
        self.problem = problem
        self.hint = hint
        super().__init__(_join(f"{path}: {problem}", hint))


class CellError(NotebookError):
    """A problem located in one cell of a notebook."""

    def __init__(
        self,
        path: str,
        cell_index: int,
        problem: str,
        *,
        line: int | None = None,
        column: int | None = None,
        cell_id: str | None = None,
        hint: str = "",
    ) -> None:
        self.cell_index = cell_index
        self.line = line
        self.column = column
        self.cell_id = cell_id
        super().__init__(f"{path}: {locate(cell_index, cell_id, line)}", problem, hint)
        # NotebookError's message joins path and problem with ": " already.


class ConversionError(MlprodError):
    """The notebook has problems that stop a clean conversion.

    ``problems`` holds them as values (for the server and the UI to show and locate);
    ``messages`` holds one line per problem; the first is the headline.

    Args:
        problems: the error-severity problems.
        path: the notebook the problems are located in, named by each message; None for a
            problem with the conversion itself rather than with the notebook.
    """

    def __init__(self, problems: Sequence[Problem], path: str | None) -> None:
        self.problems = tuple(problems)
        self.messages = tuple(problem.render(path) for problem in self.problems)
        more = len(self.messages) - 1
        head = self.messages[0] if self.messages else "conversion failed"
        suffix = f" (and {more} more problem{'s' if more > 1 else ''}: run `nb2prod check`)"
        super().__init__(head + (suffix if more > 0 else ""))


class OutputExistsError(MlprodError):
    """The output directory exists and overwriting was not asked for."""

    def __init__(self, path: str) -> None:
        self.path = path
        super().__init__(f"{path}: output directory exists; choose another -o or pass --force")


class ParameterError(MlprodError):
    """A parameter override is unknown or cannot be converted to the parameter's type."""

    exit_code = 2  # a usage error, like argparse's


class ExecutionError(MlprodError):
    """A notebook run failed; carries the failing cell like papermill's error does."""

    def __init__(
        self,
        cell_index: int,
        role: str | None,
        ename: str,
        evalue: str,
        executed_path: str,
    ) -> None:
        self.cell_index = cell_index
        self.role = role
        self.ename = ename
        self.evalue = evalue
        self.executed_path = executed_path
        tag = f" ({role})" if role else ""
        super().__init__(f"cell {cell_index}{tag}: {ename}: {evalue} — see {executed_path}")


class VerificationError(MlprodError):
    """The generated package does not reproduce the notebook's predictions."""


def locate(cell_index: int, cell_id: str | None = None, line: int | None = None) -> str:
    """Render a cell location the same way everywhere: ``cell 5 (id ab12), line 3``."""
    where = f"cell {cell_index}"
    if cell_id:
        where += f" (id {cell_id})"
    if line is not None:
        where += f", line {line}"
    return where


def _join(message: str, hint: str) -> str:
    return f"{message}; {hint}" if hint else message
