"""Decoding untrusted JSON with a nesting limit: notebooks from disk or from the browser, and
the server extension's request bodies.

``json.loads`` recurses once per nesting level, so a few kilobytes of ``[[[[…`` raise
``RecursionError`` (or, just under the interpreter's limit, decode into a value that the
next recursive reader chokes on). Every decoded value is therefore measured, without
recursion, and anything nested deeper than :data:`MAX_DEPTH` is refused with one error.
"""

from __future__ import annotations

import json
from typing import Any

#: Deepest nesting accepted (objects and arrays). Real notebooks stay far below it: cell
#: metadata, widget state and JSON outputs nest a few dozen levels at most.
MAX_DEPTH = 200


class JsonTooDeepError(ValueError):
    """The JSON nests objects and arrays deeper than the limit."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        super().__init__(f"JSON nested deeper than {limit} levels")


def loads_bounded(text: str | bytes, max_depth: int = MAX_DEPTH) -> Any:
    """``json.loads(text)``, refusing values nested deeper than ``max_depth``.

    Raises:
        JsonTooDeepError: too deeply nested (a :class:`ValueError`).
        json.JSONDecodeError: not JSON (a :class:`ValueError`).
        UnicodeDecodeError: bytes that are not UTF-8, -16 or -32.
    """
    try:
        value = json.loads(text)
    except RecursionError:
        raise JsonTooDeepError(max_depth) from None
    if nesting_depth(value, stop_after=max_depth) > max_depth:
        raise JsonTooDeepError(max_depth)
    return value


def nesting_depth(value: Any, *, stop_after: int | None = None) -> int:
    """How deeply objects and arrays nest in a decoded JSON value (a scalar is 0).

    Walks with an explicit stack, so measuring never recurses; with ``stop_after`` it
    returns as soon as the depth exceeds that.
    """
    deepest = 0
    pending: list[tuple[Any, int]] = [(value, 0)]
    while pending:
        item, depth = pending.pop()
        if isinstance(item, dict):
            children: Any = item.values()
        elif isinstance(item, list):
            children = item
        else:
            continue
        depth += 1
        deepest = max(deepest, depth)
        if stop_after is not None and deepest > stop_after:
            return deepest
        pending.extend((child, depth) for child in children if isinstance(child, dict | list))
    return deepest
