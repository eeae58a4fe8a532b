"""The exception tree of a generated package's runtime.

A generated package must not depend on jupyter-mlprod, so it cannot import
``jupyter_mlprod.errors``; this module mirrors the relevant branch of that tree with the
same names and the same rule: ``str(error)`` is the one line the user sees, and the CLI
catches :class:`MlprodError` and prints it without a traceback.

::

    MlprodError
     ├── ParameterError   a --param override names an unknown parameter or has a bad value
     ├── InputError       an input file or request body cannot be read
     ├── SchemaError      input data does not match the recorded input schema (names the column)
     ├── PredictionError  predict() raised or returned something the runtime cannot use
     ├── PipelineError    the notebook's own code raised while train ran the pipeline
     ├── ModelError       a model store problem: missing version, tampered or truncated file
 └── ScheduleError    a retraining schedule is malformed or cannot be written for its target
"""

from __future__ import annotations

import re


class MlprodError(Exception):
    """Base class: ``str(error)`` is the one line the user sees.

    The line goes through :func:`printable`, so user text it quotes (a column name, a path,
    a parameter value) can neither break the line nor send terminal escapes.
    """

    exit_code: int = 1

    def __str__(self) -> str:
        return printable(super().__str__())


class ParameterError(MlprodError):
    """A parameter override is unknown or cannot be converted to the parameter's type."""

    exit_code = 2


class InputError(MlprodError):
    """An input file or request body cannot be read (missing, unreadable, malformed)."""


class SchemaError(MlprodError):
    """Input data does not match the schema recorded when the model was trained.

    Attributes:
        column: The offending column (or ``"shape"``/``"dtype"`` for arrays), so the
            server can name it in a 422 body without echoing the payload.
        problem: What is wrong with it, without the data itself.
    """

    def __init__(self, column: str, problem: str) -> None:
        self.column = column
        self.problem = problem
        where = {"*": "input", "shape": "input shape", "dtype": "input dtype"}.get(column)
        super().__init__(f"{where or f'input column {column!r}'}: {problem}")


class PredictionError(MlprodError):
    """``predict()`` failed or its output does not match what training recorded.

    Attributes:
        cause: The name of the exception ``predict()`` raised, if it raised one; the server
            answers 422 for ``ValueError``/``TypeError`` (the model rejected the input).
    """

    def __init__(self, message: str, cause: str | None = None) -> None:
        self.cause = cause
        super().__init__(message)


class PipelineError(MlprodError):
    """The notebook's code raised inside ``pipeline.run()`` (or while being imported).

    Attributes:
        cause: The name of the exception the pipeline raised.
    """

    def __init__(self, message: str, cause: str) -> None:
        self.cause = cause
        super().__init__(message)


class ModelError(MlprodError):
    """A model store problem: missing version or alias, tampered or truncated file."""


class ScheduleError(MlprodError):
    """A schedule cannot be written: a bad cron expression, or one the target cannot express."""

    exit_code = 2


# C0 and C1 controls, DEL, the Unicode line and paragraph separators, bidi overrides, and
# lone surrogates (which cannot even be encoded to print).
_UNPRINTABLE = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069\ud800-\udfff]")


def printable(text: str, *, limit: int | None = None) -> str:
    """``text`` made safe to echo on one line: control characters (newlines, terminal escapes),
    line separators and lone surrogates are written as Python escapes (``\\n``, ``\\x1b``);
    with ``limit``, text longer than that is cut and ends in ``…``.

    Every message that quotes user text goes through this one function (an error's ``str``,
    a problem's rendered line, a cell location).
    """
    if limit is not None and len(text) > limit:
        text = text[: max(limit - 1, 0)] + "…"
    return _UNPRINTABLE.sub(_escape, text)


_NAMED_ESCAPES = {"\n": "\\n", "\r": "\\r", "\t": "\\t"}


def _escape(match: re.Match[str]) -> str:
    character = match.group()
    if character in _NAMED_ESCAPES:
        return _NAMED_ESCAPES[character]
    code = ord(character)
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def first_line(error: BaseException) -> str:
    """The first line of an underlying library's error (its type's name when it has none): what
    a one-line :class:`MlprodError` quotes of it."""
    lines = str(error).strip().splitlines()
    return lines[0] if lines else type(error).__name__
