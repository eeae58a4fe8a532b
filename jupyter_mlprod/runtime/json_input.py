"""Decoding untrusted JSON: one decoder, with a nesting limit, for every body the package reads.

``json.loads`` accepts any nesting its C recursion allows (about a thousand levels) and raises
``RecursionError`` past that, and whatever walks a deeply nested value next (validation, numpy,
the response encoder) recurses too. So the depth is bounded here, before anything else sees the
value, and every failure is one :class:`InputError` that names the problem by kind only (a
decoder's own message would quote the body).

The standard library only and nothing relative but ``errors``: the Jupyter server extension
imports this module in-process (``jupyter_mlprod.runtime.json_input``) for its own request
bodies, and it must not load numpy to do so.
"""

from __future__ import annotations

import json
from typing import Any

from .errors import InputError

MAX_DEPTH = 64
"""Containers inside containers a body may nest: records are 2 deep, a batch of RGB images 5."""

_CONTAINERS = (list, dict)


def decode_json(data: bytes | str, max_depth: int = MAX_DEPTH) -> Any:
    """Decode a JSON document whose arrays and objects nest at most ``max_depth`` deep.

    Args:
        data: The document (UTF-8 bytes, or text).
        max_depth: The deepest nesting accepted; ``[[1]]`` is 2 deep.

    Returns:
        The decoded value.

    Raises:
        InputError: ``malformed JSON: <error kind>``, or the nesting limit it goes past.
    """
    try:
        value = json.loads(data)
    except RecursionError:
        raise _too_deep(max_depth) from None
    except (ValueError, UnicodeDecodeError) as error:
        raise InputError(f"malformed JSON: {type(error).__name__}") from None
    # Every level of nesting opens a bracket, and brackets in strings only add to the count, so
    # a document with few of them cannot be too deep: most bodies skip the walk.
    if isinstance(data, bytes):
        opened = data.count(b"[") + data.count(b"{")
    else:
        opened = data.count("[") + data.count("{")
    if opened > max_depth and nesting_exceeds(value, max_depth):
        raise _too_deep(max_depth)
    return value


def nesting_exceeds(value: Any, max_depth: int) -> bool:
    """Whether a decoded JSON value nests lists and dicts more than ``max_depth`` deep.

    Walked one level at a time, without recursion, stopping at the first level past the limit.
    """
    level = [value] if isinstance(value, _CONTAINERS) else []
    depth = 0
    while level:
        depth += 1
        if depth > max_depth:
            return True
        below: list[Any] = []
        for container in level:
            items = container.values() if isinstance(container, dict) else container
            # A comprehension with a tuple isinstance: the walk visits every value of a
            # 100-record body, and this is several times faster than a generator over a union.
            below += [item for item in items if isinstance(item, _CONTAINERS)]
        level = below
    return False


def _too_deep(max_depth: int) -> InputError:
    return InputError(f"JSON nested deeper than {max_depth} levels; flatten the document")
