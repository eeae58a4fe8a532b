"""The input schema: recorded from the sample, enforced (and coerced) on new inputs."""

from __future__ import annotations

from pathlib import Path
from types import ModuleType

import numpy as np
import pandas as pd
import pytest


@pytest.fixture
def schema(package_src: Path) -> ModuleType:
    import fakepkg.schema

    return fakepkg.schema


@pytest.fixture
def frame() -> pd.DataFrame:
    return pd.DataFrame(
        {"age": [30, 40], "income": [1.5, 2.5], "plan": ["basic", "pro"], "vip": [True, False]}
    )


def test_dataframe_schema_records_ordered_columns_and_dtypes(
    schema: ModuleType, frame: pd.DataFrame
) -> None:
    recorded = schema.infer_schema(frame)
    assert recorded["kind"] == "dataframe"
    assert [(c["name"], c["dtype"]) for c in recorded["columns"]] == [
        ("age", "int64"),
        ("income", "float64"),
        ("plan", str(frame["plan"].dtype)),
        ("vip", "bool"),
    ]


def test_conform_reorders_drops_extras_and_coerces(schema: ModuleType, frame: pd.DataFrame) -> None:
    recorded = schema.infer_schema(frame)
    incoming = pd.DataFrame(
        {
            "extra": [0, 0],
            "vip": ["true", "0"],
            "plan": ["plus", "basic"],
            "income": [3, 4],
            "age": [50.0, 60.0],
        }
    )
    conformed = schema.conform(incoming, recorded)
    assert list(conformed.columns) == ["age", "income", "plan", "vip"]
    assert conformed["age"].dtype == np.int64 and conformed["income"].dtype == np.float64
    assert conformed["vip"].tolist() == [True, False]


@pytest.mark.parametrize(
    ("column", "values", "problem"),
    [
        ("age", ["x", "y"], "expected int64, got text"),
        ("age", [1.5, 2.0], "non-integer"),
        ("income", ["a lot", "1"], "expected float64, got text"),
        ("plan", [1, 2], "expected text"),
        ("vip", ["maybe", "true"], "true/false"),
    ],
)
def test_mistyped_columns_are_named(
    schema: ModuleType, frame: pd.DataFrame, column: str, values: list[object], problem: str
) -> None:
    import fakepkg.errors

    recorded = schema.infer_schema(frame)
    incoming = frame.copy()
    incoming[column] = pd.Series(values, dtype=object)
    with pytest.raises(fakepkg.errors.SchemaError, match=problem) as caught:
        schema.conform(incoming, recorded)
    assert caught.value.column == column
    assert column in str(caught.value)


@pytest.mark.parametrize(
    ("dtype", "values"),
    [("int8", [300, 1]), ("uint8", [-1, 2]), ("int32", [2**40, 0]), ("float32", [1e300, 0.5])],
)
def test_values_outside_a_narrow_dtype_are_refused_not_wrapped(
    schema: ModuleType, dtype: str, values: list[object]
) -> None:
    import fakepkg.errors

    recorded = schema.infer_schema(pd.DataFrame({"n": pd.Series([1, 2], dtype=dtype)}))
    with pytest.raises(fakepkg.errors.SchemaError, match="outside its range") as caught:
        schema.conform(pd.DataFrame({"n": values}), recorded)
    assert caught.value.column == "n"
    fitting = schema.conform(pd.DataFrame({"n": values[1:] * 2}), recorded)
    assert str(fitting["n"].dtype) == dtype


@pytest.mark.parametrize("dtype", ["int64", "float64"])
def test_integers_past_64_bits_are_refused_in_one_line(schema: ModuleType, dtype: str) -> None:
    """Found by the fuzz suite: a JSON integer like 10**400 made pandas raise OverflowError,
    which the server answered with a 500."""
    import fakepkg.errors

    recorded = schema.infer_schema(pd.DataFrame({"n": pd.Series([1, 2], dtype=dtype)}))
    with pytest.raises(fakepkg.errors.SchemaError, match="outside its range") as caught:
        schema.conform(pd.DataFrame({"n": pd.Series([10**400, 1], dtype=object)}), recorded)
    assert caught.value.column == "n"


def test_object_text_column_still_refuses_numbers(schema: ModuleType) -> None:
    """pandas 2 records text as ``object``; mixed JSON values build an object column too."""
    import fakepkg.errors

    recorded = schema.infer_schema(pd.DataFrame({"city": pd.Series(["a", "b"], dtype=object)}))
    assert recorded["columns"][0]["dtype"] == "object"
    with pytest.raises(fakepkg.errors.SchemaError, match="non-text") as caught:
        schema.conform(pd.DataFrame({"city": pd.Series(["a", 5], dtype=object)}), recorded)
    assert caught.value.column == "city"
    kept = schema.conform(pd.DataFrame({"city": pd.Series(["a", None], dtype=object)}), recorded)
    assert kept["city"].tolist()[0] == "a"


def test_missing_column_is_named(schema: ModuleType, frame: pd.DataFrame) -> None:
    import fakepkg.errors

    with pytest.raises(fakepkg.errors.SchemaError, match="'plan': missing"):
        schema.conform(frame.drop(columns="plan"), schema.infer_schema(frame))


def test_array_schema_checks_shape_and_dtype(schema: ModuleType) -> None:
    import fakepkg.errors

    recorded = schema.infer_schema(np.zeros((5, 3)))
    assert recorded == {
        "kind": "ndarray",
        "shape": [None, 3],
        "dtype": "float64",
        "nullable": False,
    }
    coerced = schema.conform([[1, 2, 3]], recorded)
    assert coerced.dtype == np.float64 and coerced.shape == (1, 3)
    with pytest.raises(fakepkg.errors.SchemaError, match=r"shape \(n, 3\), got \(n, 2\)"):
        schema.conform([[1, 2]], recorded)
    with pytest.raises(fakepkg.errors.SchemaError, match="non-numeric"):
        schema.conform([["a", "b", "c"]], recorded)


def test_series_and_list_schemas(schema: ModuleType) -> None:
    import fakepkg.errors

    series = schema.infer_schema(pd.Series(["a", "b"], name="text"))
    assert series["kind"] == "series" and series["name"] == "text"
    assert schema.conform(pd.DataFrame({"text": ["z"]}), series).tolist() == ["z"]
    listing = schema.infer_schema(["a", "b"])
    assert listing == {"kind": "list", "item_type": "str"}
    with pytest.raises(fakepkg.errors.SchemaError, match="item 1"):
        schema.conform(["ok", 3], listing)


def test_payload_shapes(schema: ModuleType, frame: pd.DataFrame) -> None:
    import fakepkg.errors

    recorded = schema.infer_schema(frame[["age", "income"]])
    records = schema.from_payload([{"age": 1, "income": 2.0}], recorded)
    split = schema.from_payload({"columns": ["age", "income"], "data": [[1, 2.0]]}, recorded)
    pd.testing.assert_frame_equal(records, split)
    rows = schema.from_payload({"instances": [[1, 2], [3, 4]]}, {"kind": "ndarray"})
    assert rows == [[1, 2], [3, 4]]
    with pytest.raises(fakepkg.errors.InputError):
        schema.from_payload({"rows": []}, recorded)
    with pytest.raises(fakepkg.errors.InputError):
        schema.from_payload([[1, 2]], recorded)


def test_to_jsonable(schema: ModuleType) -> None:
    assert schema.to_jsonable(np.array([1.0, np.nan])) == [1.0, None]
    assert schema.to_jsonable(np.int64(3)) == 3
    assert schema.to_jsonable(pd.DataFrame({"a": [1]})) == [{"a": 1}]


def test_integer_column_labels_survive_text_headers(schema: ModuleType) -> None:
    recorded = schema.infer_schema(pd.DataFrame({0: [1.0], 1: [2.0]}))
    from_csv = pd.DataFrame({"0": [3.0], "1": [4.0]})
    conformed = schema.conform(from_csv, recorded)
    assert list(conformed.columns) == [0, 1]
    assert schema.infer_schema(conformed) == recorded


def test_missing_values_in_float_and_text_columns_are_left_to_the_model(
    schema: ModuleType, frame: pd.DataFrame
) -> None:
    import fakepkg.errors

    recorded = schema.infer_schema(frame)
    assert not any(c["nullable"] for c in recorded["columns"])
    holes = frame.astype({"income": float}).copy()
    holes.loc[0, "income"] = np.nan
    holes.loc[1, "plan"] = None
    conformed = schema.conform(holes, recorded)
    assert conformed["income"].isna().sum() == 1 and conformed["plan"].isna().sum() == 1
    holes["age"] = [1.0, np.nan]
    with pytest.raises(fakepkg.errors.SchemaError, match="'age': expected int64, got missing"):
        schema.conform(holes, recorded)


def test_records_missing_a_key_name_the_column(schema: ModuleType, frame: pd.DataFrame) -> None:
    import fakepkg.errors

    recorded = schema.infer_schema(frame)
    full = {"age": 1, "income": 2.0, "plan": "basic", "vip": True}
    partial = {k: v for k, v in full.items() if k != "income"}
    with pytest.raises(fakepkg.errors.SchemaError, match="'income': missing from record 1"):
        schema.from_payload([full, partial], recorded)
    with pytest.raises(fakepkg.errors.SchemaError, match="'income': missing$"):
        schema.from_payload([partial], recorded)


def test_a_frame_already_in_the_recorded_form_is_passed_through(
    schema: ModuleType, frame: pd.DataFrame
) -> None:
    recorded = schema.infer_schema(frame)
    assert schema.conform(frame, recorded) is frame  # nothing to coerce: not rebuilt
    reordered = frame[["income", "age", "plan", "vip"]]
    conformed = schema.conform(reordered, recorded)
    assert conformed is not reordered and list(conformed.columns) == list(frame.columns)
    narrower = frame.assign(age=frame["age"].astype("int32"))
    assert schema.conform(narrower, recorded)["age"].dtype == np.int64
    text = frame.assign(plan=frame["plan"].astype(object))
    recorded_object = schema.infer_schema(text)
    # An object column is still checked value by value, even with the recorded dtype.
    import fakepkg.errors

    with pytest.raises(fakepkg.errors.SchemaError, match="expected text"):
        schema.conform(text.assign(plan=[1, "x"]), recorded_object)
