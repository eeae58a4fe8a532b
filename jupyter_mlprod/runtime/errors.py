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
     └── ModelError       a model store problem: missing version, tampered or truncated file
"""

from __future__ import annotations


class MlprodError(Exception):
    """Base class: ``str(error)`` is the one line the user sees."""

    exit_code: int = 1


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
