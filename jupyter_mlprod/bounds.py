"""The bounded-input guard: notebook source that libcst's parser or the recursive walks after
it cannot take is refused before libcst sees it (the analysis's cells, the parameters cell).

libcst's native parser overflows its stack (SIGSEGV, killing the process and with it a
Jupyter server) on deeply nested brackets or lambdas, and its visitors, like ours, recurse
once per syntax-tree level, so a long ``1 + 1 + …`` chain raises ``RecursionError``. CPython's
own parser has limits and fails cleanly instead: it refuses more than 200 nested brackets as a
syntax error, and deep chains with ``RecursionError`` or ``MemoryError``. So the cell is
parsed with :mod:`ast` first, its tree's depth is measured without recursion, and only a cell
within :data:`MAX_NESTING` levels goes on to libcst.
"""

from __future__ import annotations

import ast
import io
import tokenize
from dataclasses import dataclass

#: Deepest syntax tree (in ``ast`` levels) a cell may have. Real code stays far below it (a
#: long pandas method chain is some 40 levels); libcst and the walks need headroom
#: above it in the interpreter's recursion limit (150 nested calls already exhaust it).
MAX_NESTING = 100

TOO_DEEP = "too-deep"
SYNTAX_ERROR = "syntax-error"
NUL_CHARACTER = "nul-character"


@dataclass(frozen=True)
class Refusal:
    """Why a cell's source is not parsed further, located in the cell.

    Attributes:
        code: the problem code (:data:`TOO_DEEP`, :data:`SYNTAX_ERROR`, :data:`NUL_CHARACTER`).
        message: what is wrong, one line.
        line: 1-based line in the cell.
        column: 0-based column, when known.
        hint: what to do (empty when the caller's own hint fits better).
    """

    code: str
    message: str
    line: int
    column: int | None = None
    hint: str = ""


def refuse_unbounded(python: str) -> Refusal | None:
    """The reason ``python`` (a cell as plain Python) must not reach libcst, or None.

    Never raises for any text.
    """
    nul = python.find("\0")
    if nul >= 0:
        line = python.count("\n", 0, nul) + 1
        column = nul - (python.rfind("\n", 0, nul) + 1)
        return Refusal(
            NUL_CHARACTER, "the cell contains a NUL character (\\x00)", line, column, "remove it"
        )
    try:
        tree = ast.parse(python)
    except SyntaxError as error:
        return Refusal(
            SYNTAX_ERROR, f"syntax error: {error.msg}", error.lineno or 1, (error.offset or 1) - 1
        )
    except (RecursionError, MemoryError):
        # CPython gave up building the tree: it is deeper than its own limits.
        return too_deep(_busiest_line(python))
    depth, line = _deepest(tree)
    return too_deep(line) if depth > MAX_NESTING else None


def too_deep(line: int) -> Refusal:
    """The refusal of a statement nested too deeply to analyse, at ``line``."""
    return Refusal(
        TOO_DEEP,
        f"expression too deeply nested to analyse (more than {MAX_NESTING} levels)",
        line,
        hint="split it into steps that assign intermediate variables",
    )


def _deepest(tree: ast.Module) -> tuple[int, int]:
    """The depth of the deepest node and the line of the top-level statement holding it."""
    deepest, deepest_line = 0, 1
    pending: list[tuple[ast.AST, int, int]] = [(stmt, 1, stmt.lineno) for stmt in tree.body]
    while pending:
        node, depth, line = pending.pop()
        if depth > deepest:
            deepest, deepest_line = depth, line
            if deepest > MAX_NESTING:
                break
        pending.extend((child, depth + 1, line) for child in ast.iter_child_nodes(node))
    return deepest, deepest_line


def _busiest_line(python: str) -> int:
    """The first line of the logical line with the most tokens: where a chain too deep for
    CPython's parser is (the parser does not say)."""
    counts: dict[int, int] = {}
    start: int | None = None
    try:
        for token in tokenize.generate_tokens(io.StringIO(python).readline):
            if token.type in (tokenize.NL, tokenize.COMMENT, tokenize.INDENT, tokenize.DEDENT):
                continue
            if token.type == tokenize.NEWLINE:
                start = None
                continue
            if start is None:
                start = token.start[0]
            counts[start] = counts.get(start, 0) + 1
    except (tokenize.TokenError, SyntaxError):
        pass  # the counts so far still point at the culprit
    return max(counts, key=lambda line: counts[line]) if counts else 1
