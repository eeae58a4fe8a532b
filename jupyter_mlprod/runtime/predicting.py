"""The predict call: the package's ``predict()``, its failures turned into one line.

Shared by batch ``predict``, serving and shadow traffic, so every path reports a failing
model the same way; a leaf (it imports only the errors).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from .errors import PredictionError


def call_predict(function: Callable[[Any, Any], Any], artifacts: dict[str, Any], data: Any) -> Any:
    """Call ``predict()``, turning its exceptions into one-line :class:`PredictionError`.

    Args:
        function: The generated ``predict(artifacts, input)``.
        artifacts: A loaded version's artifacts.
        data: The input, already conformed to the recorded schema.

    Returns:
        Whatever ``predict()`` returned.

    Raises:
        PredictionError: Naming the exception type and its first line; ``cause`` is the
            exception's type name (the server answers 422 for ValueError/TypeError).
    """
    try:
        return function(artifacts, data)
    except Exception as error:  # noqa: BLE001 - user code may raise anything
        detail = str(error).strip().splitlines()
        raise PredictionError(
            f"predict() failed: {type(error).__name__}" + (f": {detail[0]}" if detail else ""),
            cause=type(error).__name__,
        ) from None
