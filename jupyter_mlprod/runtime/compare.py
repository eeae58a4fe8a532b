"""Compare two predictions: the one rule shared by ``verify``, shadow traffic and ``train``.

:func:`compare_predictions` lays both sides out as columns of rows and compares them value by
value. ``nb2prod verify`` reads the rows, mismatches and first differences; shadow traffic
counts the rows on which two model versions disagree; ``train`` asks whether a smoke
prediction (or a prediction made in parts) is the same as the pipeline's.

The rules:

- **Layout.** A DataFrame is its columns; a Series is one column; a 1-d array or list is one
  column named ``prediction``; an n-d array (or a list of equal-length lists) is compared by
  row, its trailing dimensions flattened into columns ``"0"``, ``"1"``, …; a scalar is one
  row. Columns are matched by position. Rows beyond the shorter side count as mismatches;
  when the column counts differ no values are compared and every row is a mismatch.
- **Values.** Floats (also a float against an integer) agree when
  ``|a - b| <= atol + rtol * max(|a|, |b|)`` (symmetric: neither side is the reference), an
  infinity only with itself; integers against integers, booleans, strings and other labels
  must be equal; missing values (``None``, NaN, NaT, ``pandas.NA``) equal each other and nothing
  else; lists, tuples, arrays and dicts inside a cell (JSON predictions) agree element by
  element, dicts with the same keys.
- **Same layout** (:attr:`Comparison.same_layout`) is stricter, for ``train``'s checks where
  both sides come from the same ``predict()``: both DataFrames with the same column labels,
  or neither, and the same shape.
"""

from __future__ import annotations

import cmath
import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd

DEFAULT_RTOL = 1e-9
"""Relative tolerance for floats: forgives summation-order noise, nothing a model changes."""

DEFAULT_ATOL = 1e-12
"""Absolute tolerance for floats, so noise around zero (where relative error explodes) agrees."""

MAX_DIFFERENCES = 5
"""How many differing values :attr:`Comparison.first_differences` keeps."""

_SHORT_REPR = 60


@dataclass(frozen=True)
class Difference:
    """One value on which the two sides differ.

    Attributes:
        row: 0-based row position.
        column: the column's name on the expected side.
        expected: the expected side's value, as a short ``repr``.
        actual: the actual side's value, as a short ``repr``.
    """

    row: int
    column: str
    expected: str
    actual: str


@dataclass(frozen=True)
class Comparison:
    """Two predictions compared value by value.

    Attributes:
        rows: rows whose values were compared (the shorter side's; 0 when the column counts
            differ).
        mismatches: rows where at least one value differs, plus the rows only one side has.
        columns: the expected side's column names.
        first_differences: up to :data:`MAX_DIFFERENCES` differing values, by row then column.
        row_counts: the rows of the expected and the actual side.
        column_counts: the columns of the expected and the actual side.
        same_layout: both are DataFrames with the same column labels, or neither is, and
            their shapes are equal.
    """

    rows: int
    mismatches: int
    columns: tuple[str, ...]
    first_differences: tuple[Difference, ...]
    row_counts: tuple[int, int]
    column_counts: tuple[int, int]
    same_layout: bool

    @property
    def ok(self) -> bool:
        """Every row agrees and both sides have the same rows and columns."""
        expected_rows, actual_rows = self.row_counts
        expected_columns, actual_columns = self.column_counts
        return (
            self.mismatches == 0
            and expected_rows == actual_rows
            and expected_columns == actual_columns
        )

    @property
    def equivalent(self) -> bool:
        """The values agree and the layout is the same: one can stand in for the other."""
        return self.ok and self.same_layout


def compare_predictions(
    expected: Any, actual: Any, *, rtol: float = DEFAULT_RTOL, atol: float = DEFAULT_ATOL
) -> Comparison:
    """Compare two predictions row by row (the rules are in the module docstring).

    Args:
        expected: the reference predictions (the notebook's, the served version's, the
            pipeline's).
        actual: the predictions to check against them.
        rtol: relative tolerance for numbers.
        atol: absolute tolerance for numbers.

    Returns:
        The comparison; :attr:`Comparison.ok` says whether the two agree.
    """
    left, right = as_columns(expected), as_columns(actual)
    names = tuple(name for name, _ in left)
    left_rows, right_rows = _row_count(left), _row_count(right)
    same_layout = _layout(expected) == _layout(actual)
    if len(left) != len(right):
        return Comparison(
            rows=0,
            mismatches=max(left_rows, right_rows),
            columns=names,
            first_differences=(),
            row_counts=(left_rows, right_rows),
            column_counts=(len(left), len(right)),
            same_layout=same_layout,
        )
    rows = min(left_rows, right_rows)
    bad_rows = np.zeros(rows, dtype=bool)
    differences: list[Difference] = []
    for (name, mine), (_, theirs) in zip(left, right, strict=True):
        equal = equal_values(mine[:rows], theirs[:rows], rtol=rtol, atol=atol)
        bad_rows |= ~equal
        for row in np.flatnonzero(~equal)[:MAX_DIFFERENCES]:
            differences.append(Difference(int(row), name, _short(mine[row]), _short(theirs[row])))
    differences.sort(key=lambda item: (item.row, item.column))
    return Comparison(
        rows=rows,
        mismatches=int(bad_rows.sum()) + abs(left_rows - right_rows),
        columns=names,
        first_differences=tuple(differences[:MAX_DIFFERENCES]),
        row_counts=(left_rows, right_rows),
        column_counts=(len(left), len(right)),
        same_layout=same_layout,
    )


def as_columns(value: Any) -> list[tuple[str, npt.NDArray[Any]]]:
    """Predictions as ``[(column name, 1-d array)]``, whatever their container.

    Args:
        value: a DataFrame, Series, array, list (JSON predictions included) or scalar.

    Returns:
        One ``(name, values)`` pair per column, all of the same length.
    """
    if isinstance(value, pd.DataFrame):
        return [(str(name), value[name].to_numpy()) for name in value.columns]
    if isinstance(value, pd.Series):
        return [(str(value.name) if value.name is not None else "prediction", value.to_numpy())]
    array = _as_array(value)
    if array.ndim == 0:
        array = array.reshape(1)
    if array.ndim == 1:
        return [("prediction", array)]
    flat = array.reshape(len(array), -1)
    return [(str(i), flat[:, i]) for i in range(flat.shape[1])]


def equal_values(
    left: npt.NDArray[Any], right: npt.NDArray[Any], *, rtol: float, atol: float
) -> npt.NDArray[np.bool_]:
    """Which positions of two equal-length 1-d arrays agree (the value rules above).

    Args:
        left: one column's values.
        right: the other column's values.
        rtol: relative tolerance for numbers.
        atol: absolute tolerance for numbers.

    Returns:
        A boolean array, True where the values agree.
    """
    kinds = left.dtype.kind + right.dtype.kind
    if set(kinds) <= set("biufc") and set(kinds) & set("fc"):
        as_type = complex if "c" in kinds else float
        return _close(left.astype(as_type), right.astype(as_type), rtol=rtol, atol=atol)
    try:
        equal = np.asarray(left == right)
    except (TypeError, ValueError):
        equal = np.zeros(len(left), dtype=bool)
    if equal.dtype != np.bool_ or equal.shape != left.shape:
        equal = np.zeros(len(left), dtype=bool)
    # Plain equality misses NaN = NaN, tolerance and nested values: ask again value by value.
    for position in np.flatnonzero(~equal):
        equal[position] = same_value(left[position], right[position], rtol=rtol, atol=atol)
    return equal


def same_value(left: Any, right: Any, *, rtol: float, atol: float) -> bool:
    """Whether two single values agree (the value rules above).

    Args:
        left: one value (a number, label, missing value, list, tuple, array or dict).
        right: the other value.
        rtol: relative tolerance for numbers.
        atol: absolute tolerance for numbers.

    Returns:
        True when they agree.
    """
    left_missing, right_missing = _is_missing(left), _is_missing(right)
    if left_missing or right_missing:
        return left_missing and right_missing
    if _is_inexact_pair(left, right):
        return _close_scalars(complex(left), complex(right), rtol=rtol, atol=atol)
    if isinstance(left, Mapping) and isinstance(right, Mapping):
        return left.keys() == right.keys() and all(
            same_value(left[key], right[key], rtol=rtol, atol=atol) for key in left
        )
    if _is_sequence(left) and _is_sequence(right):
        return len(left) == len(right) and all(
            same_value(a, b, rtol=rtol, atol=atol) for a, b in zip(left, right, strict=True)
        )
    try:
        return bool(left == right)
    except (TypeError, ValueError):
        return False


def _as_array(value: Any) -> npt.NDArray[Any]:
    try:
        return np.asarray(value)
    except ValueError:
        # Ragged lists (JSON predictions of varying length): one object per row.
        items = list(value)
        array = np.empty(len(items), dtype=object)
        for position, item in enumerate(items):
            array[position] = item
        return array


def _layout(value: Any) -> tuple[Any, ...]:
    if isinstance(value, pd.DataFrame):
        return ("frame", tuple(value.columns), value.shape)
    if isinstance(value, pd.Series):
        return ("array", value.shape)
    return ("array", _as_array(value).shape)


def _row_count(columns: list[tuple[str, npt.NDArray[Any]]]) -> int:
    return min((len(values) for _, values in columns), default=0)


def _close(
    left: npt.NDArray[Any], right: npt.NDArray[Any], *, rtol: float, atol: float
) -> npt.NDArray[np.bool_]:
    with np.errstate(invalid="ignore", over="ignore"):
        bound = atol + rtol * np.maximum(np.abs(left), np.abs(right))
        close = np.abs(left - right) <= bound
    # An infinity is only as close as it is equal; a finite bound would accept any.
    finite = np.isfinite(left) & np.isfinite(right)
    both_nan = np.isnan(left) & np.isnan(right)
    return np.asarray((close & finite) | both_nan | (left == right), dtype=bool)


def _close_scalars(left: complex, right: complex, *, rtol: float, atol: float) -> bool:
    if left == right:
        return True
    if cmath.isinf(left) or cmath.isinf(right):
        return False
    return abs(left - right) <= atol + rtol * max(abs(left), abs(right))


def _is_inexact_pair(left: Any, right: Any) -> bool:
    numbers = (int, float, complex, np.integer, np.floating, np.complexfloating)
    inexact = (float, complex, np.floating, np.complexfloating)
    if isinstance(left, bool | np.bool_) or isinstance(right, bool | np.bool_):
        return False
    return (
        isinstance(left, numbers)
        and isinstance(right, numbers)
        and (isinstance(left, inexact) or isinstance(right, inexact))
    )


def _is_sequence(value: Any) -> bool:
    return isinstance(value, list | tuple | np.ndarray)


def _is_missing(value: Any) -> bool:
    if value is None:
        return True
    if isinstance(value, float | np.floating):
        return math.isnan(value)
    if _is_sequence(value) or isinstance(value, Mapping):
        return False
    try:
        missing = pd.isna(value)
    except (TypeError, ValueError):
        return False
    return isinstance(missing, bool | np.bool_) and bool(missing)


def _short(value: Any) -> str:
    text = repr(value.item() if isinstance(value, np.generic) else value)
    return text if len(text) <= _SHORT_REPR else text[: _SHORT_REPR - 3] + "..."
