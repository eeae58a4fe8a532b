"""Intake: read a notebook's cells (roles, IPython syntax, statements, the parameters cell)
and its ``metadata.mlprod``, reporting what cannot be read."""

from __future__ import annotations

import ast
from collections.abc import Mapping
from dataclasses import dataclass

from .. import roles
from ..bounds import Refusal, too_deep
from ..errors import CellError, ConversionError, cell_number
from ..ipython import MagicNote
from ..notebook import Notebook
from ..params_cell import ParamSpec, parse_parameters_cell
from ..quality import floors_from
from .cache import CELL_CACHE, CellCache
from .log import ProblemLog
from .statements import Statement
from .types import ERROR, WARNING, CellInfo


@dataclass(frozen=True)
class Intake:
    """The notebook's code cells as the later steps read them."""

    cells: tuple[CellInfo, ...]
    roles_by_cell: Mapping[int, str | None]  # code cell index → its role (None: untagged)
    # Every top-level statement of the code cells but the parameters cell, in notebook
    # order, with its cell's role.
    statements: tuple[tuple[Statement, str | None], ...]
    magics: tuple[tuple[int, MagicNote], ...]
    parameters: tuple[ParamSpec, ...]
    parameters_cell: int | None


def read_metadata(notebook: Notebook, log: ProblemLog) -> dict[str, str]:
    """The predict input/output names ``metadata.mlprod`` names (only the valid ones)."""
    raw = notebook.metadata.get(roles.MLPROD_KEY, {})
    if not isinstance(raw, dict):
        log.add(
            ERROR,
            "bad-metadata",
            f"notebook metadata `{roles.MLPROD_KEY}` must be an object",
            hint='set it to {"predict_input": "...", "predict_output": "..."} or remove it',
        )
        return {}
    result: dict[str, str] = {}
    for key, value in raw.items():
        if key == roles.MLPROD_QUALITY:
            # Floors for the generated model tests: checked here so `check` reports them too.
            try:
                floors_from((), value)
            except ConversionError as error:
                log.add(
                    ERROR, "bad-quality", error.problems[0].message, hint=error.problems[0].hint
                )
        elif key not in roles.MLPROD_FIELDS:
            known = ", ".join(sorted(roles.MLPROD_FIELDS | {roles.MLPROD_QUALITY}))
            log.add(
                ERROR,
                "unknown-metadata",
                f"unknown key `{key}` in notebook metadata `{roles.MLPROD_KEY}`",
                hint=f"the known keys are {known}; remove or rename it",
            )
        elif not isinstance(value, str) or not value.isidentifier():
            log.add(
                ERROR,
                "bad-metadata",
                f"`{roles.MLPROD_KEY}.{key}` must be a variable name, not {value!r}",
                hint="pick the variable in the Pipeline panel or pass --" + key.replace("_", "-"),
            )
        else:
            result[key] = value
    return result


def read_cells(notebook: Notebook, log: ProblemLog, cache: CellCache = CELL_CACHE) -> Intake:
    """Read every code cell: its role, its IPython syntax and its statements.

    Args:
        notebook: the notebook, already read.
        log: where the problems go.
        cache: the per-cell parses by source hash (the process's own by default), so that
            only the cells edited since the last call are parsed again.
    """
    cells: list[CellInfo] = []
    roles_by_cell: dict[int, str | None] = {}
    statements: list[tuple[Statement, str | None]] = []
    magics: list[tuple[int, MagicNote]] = []
    parameters: tuple[ParamSpec, ...] = ()
    parameters_cell: int | None = None
    seen_sources: dict[str, int] = {}  # source → cells seen with it
    for cell in notebook.cells:
        # A tag repeated (["train", "train"]) is still one role.
        cell_roles = list(dict.fromkeys(tag for tag in cell.tags if tag in roles.ROLE_TAGS))
        if cell.cell_type != "code":
            if cell_roles:
                log.add(
                    WARNING,
                    "role-on-markdown",
                    f"a {cell.cell_type} cell is tagged `{cell_roles[0]}`; the tag is ignored",
                    cell.index,
                    hint="tag the code cell instead",
                )
            continue
        role: str | None = cell_roles[0] if len(cell_roles) == 1 else None
        if len(cell_roles) > 1:
            log.add(
                ERROR,
                "two-roles",
                f"the cell has {len(cell_roles)} roles ({', '.join(cell_roles)})",
                cell.index,
                hint="keep one role tag per cell; split the cell if it does two jobs",
            )
        roles_by_cell[cell.index] = role
        # A source met twice in one notebook is cached twice: each cell keeps its own nodes.
        occurrence = seen_sources.get(cell.source, 0)
        seen_sources[cell.source] = occurrence + 1
        cached = cache.parse(cell.index, cell.source, occurrence)
        plain = cached.plain
        if plain is None:
            _report_refusal(cached.refusal or too_deep(1), cell.index, role, log)
            continue
        magics.extend((cell.index, note) for note in plain.notes)
        cells.append(CellInfo(cell.index, cell.cell_id, role, _summary(cell.source)[:80]))
        for note in plain.notes:
            if note.action == "dropped" and role in roles.TAGGED_STAGES:
                log.add(
                    WARNING,
                    "magic-dropped",
                    f"IPython syntax `{note.code}` is left out of the package",
                    cell.index,
                    note.line,
                    hint="replace it with plain Python if production needs it",
                )
        if role == roles.PARAMETERS:
            if parameters_cell is not None:
                log.add(
                    ERROR,
                    "two-parameters-cells",
                    "a second `parameters` cell (the first is cell "
                    f"{cell_number(parameters_cell)})",
                    cell.index,
                    hint="merge the parameters into one cell, as papermill expects",
                )
                continue
            parameters_cell = cell.index
            # parse_parameters_cell applies the same guard and says so as a CellError.
            parameters = _read_parameters(notebook.path, cell.index, plain.python, log)
            continue
        if cached.refusal is not None:
            _report_refusal(cached.refusal, cell.index, role, log)
            continue
        if cached.syntax is not None:
            exported = role in roles.TAGGED_STAGES
            log.add(
                ERROR if exported else WARNING,
                "syntax-error",
                f"syntax error: {cached.syntax.message}",
                cell.index,
                cached.syntax.line,
                cached.syntax.column,
                hint="fix the cell so it runs" if exported else "the cell is ignored",
            )
            continue
        statements.extend((statement, role) for statement in cached.statements)
    return Intake(
        tuple(cells),
        roles_by_cell,
        tuple(statements),
        tuple(magics),
        parameters,
        parameters_cell,
    )


def _summary(source: str) -> str:
    """The cell's first line of Python: a magic (``%%time``) or a shell escape says nothing of
    what the cell does; a cell of IPython syntax only is shown by its first line."""
    lines = [line.strip() for line in source.splitlines() if line.strip()]
    python = (line for line in lines if not line.startswith(("%", "!")))
    return next(python, lines[0] if lines else "")


def _report_refusal(refusal: Refusal, index: int, role: str | None, log: ProblemLog) -> None:
    """A cell the guard keeps from libcst: an error in a stage, else a warning that the cell
    is ignored (as for any syntax error in an untagged cell)."""
    exported = role in roles.TAGGED_STAGES
    tail = "fix the cell so it runs" if exported else "the cell is ignored"
    log.add(
        ERROR if exported else WARNING,
        refusal.code,
        refusal.message,
        index,
        refusal.line,
        refusal.column,
        hint="; ".join(part for part in (refusal.hint, tail) if part),
    )


def _read_parameters(path: str, index: int, python: str, log: ProblemLog) -> tuple[ParamSpec, ...]:
    try:
        specs = parse_parameters_cell(python, path=path, cell_index=index)
    except CellError as exc:
        log.add(ERROR, "bad-parameters", exc.problem, index, exc.line, exc.column, exc.hint)
        return ()
    _report_shadowing_parameters(specs, index, log)
    return specs


def _report_shadowing_parameters(specs: tuple[ParamSpec, ...], index: int, log: ProblemLog) -> None:
    """Parameters named like a name the generated ``params.py`` needs: its own names, or a
    name another parameter's annotation reads (``list`` beside ``sizes: list[int]``)."""
    annotation_names = {name for spec in specs for name in _names_in(spec.python_type)}
    for spec in specs:
        if spec.name in roles.PARAMS_MODULE_NAMES:
            needed = "the generated params.py uses that name"
        elif spec.name in annotation_names:
            needed = "a parameter's type annotation uses that name"
        else:
            continue
        log.add(
            ERROR,
            "shadowing-parameter",
            f"the parameter `{spec.name}` shadows `{spec.name}`, and {needed}",
            index,
            spec.line,
            hint=f"rename the parameter (e.g. `{spec.name}_value`) in the parameters cell",
        )


def _names_in(annotation: str) -> set[str]:
    try:
        tree = ast.parse(annotation, mode="eval")
    except (SyntaxError, RecursionError, MemoryError):
        return set()
    return {node.id for node in ast.walk(tree) if isinstance(node, ast.Name)}
