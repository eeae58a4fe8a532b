"""The per-cell parse cache: what intake learns from one code cell's source, kept by the hash
of that source so that re-analysing a notebook after a one-cell edit parses only that cell.

A cell's IPython rewriting, its guard refusal, its syntax error and its statements depend on
its source alone (the cell's index is only stamped on the statements, and restamped when the
cell has moved). The cache is a bounded LRU shared by the process: the server extension
analyses the same notebook again on every pause in typing, from several threads.
"""

from __future__ import annotations

import dataclasses
import hashlib
import threading
from collections import OrderedDict
from dataclasses import dataclass

import libcst as cst

from ..bounds import Refusal, refuse_unbounded, too_deep
from ..ipython import PlainCell, to_python
from .statements import Statement, parse_cell

#: How many distinct cell sources the process keeps: a few long notebooks' worth.
DEFAULT_CAPACITY = 4096


@dataclass(frozen=True)
class SyntaxProblem:
    """A cell that is not valid Python: Python's own wording and where."""

    message: str
    line: int
    column: int


@dataclass(frozen=True)
class CellParse:
    """What one code cell's source gives intake.

    Attributes:
        plain: the source as plain Python with its IPython notes; None when IPython's own
            rewriting could not read it (too deeply nested).
        refusal: why the cell is not parsed (the guard, or too deep for libcst), or None.
        syntax: the syntax error, or None.
        cell: the cell index the statements carry.
        statements: the top-level statements (empty when refused or not Python).
    """

    plain: PlainCell | None
    refusal: Refusal | None
    syntax: SyntaxProblem | None
    cell: int
    statements: tuple[Statement, ...]

    def at(self, cell: int) -> CellParse:
        """The same parse with its statements stamped with another cell index."""
        if cell == self.cell:
            return self
        moved = tuple(dataclasses.replace(statement, cell=cell) for statement in self.statements)
        return dataclasses.replace(self, cell=cell, statements=moved)


def source_key(source: str, occurrence: int = 0) -> bytes:
    """The cache key of a cell's source, and of which of a notebook's cells with that very
    source it is (0 for the first): each of them keeps its own nodes."""
    digest = hashlib.blake2b(source.encode("utf-8", "surrogatepass"), digest_size=16)
    digest.update(occurrence.to_bytes(4, "little"))
    return digest.digest()


def parse_source(cell: int, source: str) -> CellParse:
    """Parse one code cell's source, uncached. Never raises for any text."""
    try:
        plain = to_python(source)
    except (RecursionError, MemoryError):
        # IPython's rewriting parses magic lines itself; a hostile one can be too deep.
        return CellParse(None, too_deep(1), None, cell, ())
    # The guard, before libcst parses anything of the cell.
    refusal = refuse_unbounded(plain.python)
    if refusal is not None:
        return CellParse(plain, refusal, None, cell, ())
    try:
        parsed = parse_cell(cell, plain.python)
    except RecursionError:
        # The guard keeps trees shallow enough; this is its safety net, not a path.
        return CellParse(plain, too_deep(1), None, cell, ())
    except cst.ParserSyntaxError as exc:
        return CellParse(plain, None, _syntax_problem(plain.python, exc), cell, ())
    return CellParse(plain, None, None, cell, parsed.statements)


class CellCache:
    """A thread-safe LRU of :class:`CellParse` values by source hash."""

    def __init__(self, capacity: int = DEFAULT_CAPACITY) -> None:
        """Args:
        capacity: the most sources kept; the least recently used goes first.
        """
        if capacity < 1:
            raise ValueError("capacity must be at least 1")
        self.capacity = capacity
        self._entries: OrderedDict[bytes, CellParse] = OrderedDict()
        self._lock = threading.Lock()
        self.hits = 0
        self.misses = 0

    def __len__(self) -> int:
        return len(self._entries)

    def parse(self, cell: int, source: str, occurrence: int = 0) -> CellParse:
        """The parse of ``source`` as cell ``cell``: from the cache, else parsed and kept.

        Args:
            cell: the cell's index, stamped on its statements.
            source: the cell's source.
            occurrence: how many earlier cells of the notebook have the same source: cells
                with equal sources (``df.head()`` twice) get parses of their own, since the
                later steps tell statements apart by their nodes.
        """
        key = source_key(source, occurrence)
        with self._lock:
            found = self._entries.get(key)
            if found is not None:
                self._entries.move_to_end(key)
                self.hits += 1
        if found is not None:
            return found.at(cell)
        # Parsed outside the lock: two threads may parse the same source; both results agree.
        result = parse_source(cell, source)
        with self._lock:
            self.misses += 1
            self._entries[key] = result
            self._entries.move_to_end(key)
            while len(self._entries) > self.capacity:
                self._entries.popitem(last=False)
        return result

    def clear(self) -> None:
        """Forget every entry (and the hit counts)."""
        with self._lock:
            self._entries.clear()
            self.hits = self.misses = 0


#: The process's cache, which :func:`~jupyter_mlprod.analysis.intake.read_cells` uses.
CELL_CACHE = CellCache()


def _syntax_problem(python: str, exc: cst.ParserSyntaxError) -> SyntaxProblem:
    """Python's own wording ("'(' was never closed") reads better than the parser's."""
    try:
        compile(python, "<cell>", "exec", dont_inherit=True)
    except SyntaxError as error:
        return SyntaxProblem(error.msg, error.lineno or exc.raw_line, (error.offset or 1) - 1)
    except (RecursionError, MemoryError, ValueError):
        pass
    return SyntaxProblem(exc.message, exc.raw_line, exc.raw_column)
