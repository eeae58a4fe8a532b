"""The one prediction comparator: the rules verify, shadow traffic and train all rely on."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import pytest

from jupyter_mlprod.runtime.compare import (
    Difference,
    as_columns,
    compare_predictions,
    same_value,
)


def test_train_checks_values_and_layout() -> None:
    assert compare_predictions(np.array([1.0, 2.0]), [1.0, 2.0 + 1e-12]).equivalent
    assert not compare_predictions(np.array([1, 2]), np.array([1, 3])).equivalent
    assert not compare_predictions(np.array([1, 2]), np.array([1, 2, 3])).equivalent


def test_as_columns_shapes() -> None:
    assert [name for name, _ in as_columns(np.zeros((3, 2)))] == ["0", "1"]
    assert [name for name, _ in as_columns(pd.Series([1], name="p"))] == ["p"]
    assert len(as_columns(np.float64(1.5))[0][1]) == 1
    frame = pd.DataFrame({"label": ["a"], "score": [0.5]})
    assert [name for name, _ in as_columns(frame)] == ["label", "score"]
    ragged = as_columns([[1.0], [1.0, 2.0]])
    assert len(ragged) == 1 and len(ragged[0][1]) == 2


@pytest.mark.parametrize(
    ("left", "right", "agree"),
    [
        (1.0, 1.0 + 1e-10, True),
        (1.0, 1.0 + 1e-8, False),
        (1, 1.0, True),
        (np.int64(3), 3, True),
        (3, 4, False),
        (True, True, True),
        (True, 1.0, True),
        ("a", "a", True),
        ("1", 1, False),
        (None, None, True),
        (float("nan"), None, True),
        (np.nan, np.nan, True),
        (pd.NA, np.nan, True),
        (pd.NaT, None, True),
        (np.nan, 0.0, False),
        (None, "a", False),
        (float("inf"), float("inf"), True),
        (float("inf"), float("-inf"), False),
        (1 + 1j, 1 + 1j, True),
        ([1.0, [2.0, None]], [1.0, [2.0, None]], True),
        ([1.0, 2.0], [1.0], False),
        ({"a": 1.0, "b": "x"}, {"a": 1.0 + 1e-12, "b": "x"}, True),
        ({"a": 1.0}, {"b": 1.0}, False),
        ((1, 2), [1, 2], True),
    ],
)
def test_value_rules(left: Any, right: Any, agree: bool) -> None:
    assert same_value(left, right, rtol=1e-9, atol=1e-12) is agree
    assert same_value(right, left, rtol=1e-9, atol=1e-12) is agree


def test_columns_agree_like_single_values() -> None:
    # The vectorised paths (floats, labels, objects) give what same_value gives one by one.
    cases = [
        (np.array([1.0, np.nan, 3.0]), np.array([1.0, np.nan, 3.5])),
        (np.array(["a", None, np.nan], dtype=object), np.array(["a", np.nan, "c"], dtype=object)),
        (np.array([1, 2, 3]), np.array([1.0, 2.0 + 1e-15, 4.0])),
        (np.array(["x", "y"]), np.array(["x", "z"])),
        (np.array([1, 2]), np.array(["1", "2"])),
        (np.array([np.inf, -np.inf, np.inf]), np.array([np.inf, np.inf, 1.0])),
    ]
    for left, right in cases:
        result = compare_predictions(left, right)
        expected = sum(
            not same_value(a, b, rtol=1e-9, atol=1e-12) for a, b in zip(left, right, strict=True)
        )
        assert result.mismatches == expected, (left, right)


def test_tolerances_are_arguments_and_symmetric() -> None:
    assert not compare_predictions([0.0], [1e-13], atol=0.0).ok
    assert compare_predictions([0.0], [1e-13]).ok
    assert compare_predictions([100.0], [100.1], rtol=1e-3).ok
    assert compare_predictions([100.1], [100.0], rtol=1e-3).ok
    assert not compare_predictions([100.0], [100.2], rtol=1e-3).ok


def test_rows_differ_when_any_column_does() -> None:
    expected = pd.DataFrame({"label": ["a", "b", "c"], "score": [0.1, 0.2, 0.3]})
    actual = pd.DataFrame({"label": ["a", "x", "c"], "score": [0.1, 0.25, 0.35]})
    result = compare_predictions(expected, actual)
    assert result.rows == 3 and result.mismatches == 2
    assert result.columns == ("label", "score")
    assert result.first_differences == (
        Difference(1, "label", "'b'", "'x'"),
        Difference(1, "score", "0.2", "0.25"),
        Difference(2, "score", "0.3", "0.35"),
    )


def test_row_and_column_counts() -> None:
    rows = compare_predictions([1, 2, 9], [1, 2])
    assert rows.row_counts == (3, 2) and rows.rows == 2 and rows.mismatches == 1
    assert not rows.ok
    # Columns that cannot be lined up: nothing is compared, every row differs.
    columns = compare_predictions(np.zeros((3, 2)), np.zeros(3))
    assert columns.column_counts == (2, 1) and columns.rows == 0 and columns.mismatches == 3
    assert not columns.ok


def test_shadow_counts_rows_of_json_predictions() -> None:
    served: list[Any] = [[1.0, 2.0], [3.0, None], [5.0, 6.0]]
    shadow: list[Any] = [[1.0, 2.0 + 1e-12], [3.0, None], [5.0, 7.0]]
    assert compare_predictions(served, shadow).mismatches == 1
    records = [{"label": "a", "p": 0.5}, {"label": "b", "p": 0.25}]
    assert (
        compare_predictions(
            records, [{"label": "a", "p": 0.5}, {"label": "c", "p": 0.25}]
        ).mismatches
        == 1
    )
    assert compare_predictions([[1.0], [1.0, 2.0]], [[1.0], [1.0, 2.0]]).ok


def test_same_layout_is_what_train_adds() -> None:
    frame = pd.DataFrame({"y": [1, 2]})
    assert compare_predictions(np.array([1, 2]), frame).ok
    assert not compare_predictions(np.array([1, 2]), frame).equivalent
    assert not compare_predictions(frame, pd.DataFrame({"z": [1, 2]})).equivalent
    assert not compare_predictions(np.array([1, 2]), np.array([[1], [2]])).same_layout
    assert compare_predictions(pd.Series([1, 2], name="p"), np.array([1, 2])).equivalent
    assert compare_predictions(frame, frame.copy()).equivalent
