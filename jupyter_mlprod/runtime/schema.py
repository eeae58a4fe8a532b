"""The input schema: recorded from the training sample, enforced on every prediction.

``train`` records the schema of the notebook's held-out predict input; batch ``predict`` and
the HTTP server validate and coerce new inputs against it before calling ``predict()``, so a
missing or mistyped column is reported by name instead of surfacing as an error deep inside
a model. Schemas are plain JSON values stored in the version's ``manifest.json``:

- ``{"kind": "dataframe", "columns": [{"name", "dtype", "nullable", ...}]}``
- ``{"kind": "ndarray", "shape": [null, 4], "dtype": "float64", "nullable": false}``
- ``{"kind": "series", "name": "text", "dtype": "str", "nullable": false}``
- ``{"kind": "list", "item_type": "str"}``
- ``{"kind": "object", "type": "module.Class"}`` (recorded, not enforced)

``nullable`` is recorded for information only: the held-out sample may lack missing values
that the model handles fine (an imputer), so missing values in float and text columns are
passed on and the model decides; integer and boolean columns cannot hold them and reject
them. A key absent from some JSON records is reported as a missing column.

Nothing here includes input *values* in a message: errors name the column and the problem,
which lets the server answer 422 without echoing the caller's payload.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable, Mapping
from typing import Any

import numpy as np
import pandas as pd
from pandas.api import types as ptypes

from .errors import InputError, SchemaError

Schema = dict[str, Any]


def infer_schema(sample: Any) -> Schema:
    """Describe the shape and types of a predict input.

    Args:
        sample: The notebook's held-out predict input (DataFrame, ndarray, Series, list).

    Returns:
        A JSON-able schema (see the module docstring).
    """
    if isinstance(sample, pd.DataFrame):
        return {
            "kind": "dataframe",
            "columns": [_column_schema(name, sample[name]) for name in sample.columns],
        }
    if isinstance(sample, pd.Series):
        column = _column_schema(str(sample.name), sample)
        return {"kind": "series", **column}
    if isinstance(sample, np.ndarray):
        return {
            "kind": "ndarray",
            "shape": [None, *sample.shape[1:]],
            "dtype": str(sample.dtype),
            "nullable": bool(sample.dtype.kind == "f" and np.isnan(sample).any()),
        }
    if isinstance(sample, list | tuple):
        item_types = sorted({type(item).__name__ for item in sample})
        return {"kind": "list", "item_type": item_types[0] if len(item_types) == 1 else None}
    kind = type(sample)
    return {"kind": "object", "type": f"{kind.__module__}.{kind.__qualname__}"}


def _column_schema(label: Any, values: pd.Series) -> dict[str, Any]:
    column: dict[str, Any] = {
        "name": str(label),
        "dtype": str(values.dtype),
        "nullable": bool(values.isna().any()),
    }
    if isinstance(label, int | np.integer) and not isinstance(label, bool):
        # Files and JSON only have text headers; give predict() back the integer label.
        column["label"] = int(label)
    if isinstance(values.dtype, pd.CategoricalDtype):
        column["categories"] = [_plain(c) for c in values.dtype.categories]
    return column


def _plain(value: Any) -> Any:
    return value.item() if isinstance(value, np.generic) else value


def describe(schema: Schema) -> str:
    """Render a schema in one line for ``models show`` and error hints."""
    kind = schema.get("kind")
    if kind == "dataframe":
        return "columns " + ", ".join(f"{c['name']}:{c['dtype']}" for c in schema["columns"])
    if kind == "ndarray":
        dims = ", ".join("n" if d is None else str(d) for d in schema["shape"])
        return f"array ({dims}) of {schema['dtype']}"
    if kind == "series":
        return f"series {schema['name']}:{schema['dtype']}"
    if kind == "list":
        return f"list of {schema.get('item_type') or 'values'}"
    return f"object of type {schema.get('type')}"


def from_payload(payload: Any, schema: Schema) -> Any:
    """Turn a decoded JSON body (or JSON input file) into the raw data it describes.

    Accepted shapes: a list of records (objects), ``{"columns": [...], "data": [[...]]}``,
    and ``{"instances": [...]}`` (rows of an array, or records).

    Args:
        payload: The decoded JSON value.
        schema: The recorded schema, which decides between a frame and an array.

    Returns:
        A DataFrame or a list, to be passed to :func:`conform`.

    Raises:
        InputError: If the payload has none of the accepted shapes.
    """
    if isinstance(payload, Mapping):
        if "columns" in payload and "data" in payload:
            columns, data = payload["columns"], payload["data"]
            if not isinstance(columns, list) or not isinstance(data, list):
                raise InputError('"columns" and "data" must both be lists')
            if not all(isinstance(row, list) and len(row) == len(columns) for row in data):
                raise InputError('every row of "data" must be a list as long as "columns"')
            return pd.DataFrame(data, columns=[str(c) for c in columns])
        if "instances" in payload:
            payload = payload["instances"]
        else:
            raise InputError(
                'expected a list of records, {"columns": [...], "data": [[...]]} '
                'or {"instances": [...]}'
            )
    if not isinstance(payload, list):
        raise InputError("expected a JSON list of records or rows")
    if payload and all(isinstance(row, Mapping) for row in payload):
        if schema.get("kind") == "dataframe":
            _check_record_keys(payload, [c["name"] for c in schema["columns"]])
        return pd.DataFrame.from_records(payload)
    if any(isinstance(row, Mapping) for row in payload):
        raise InputError("mixed records and non-records in one request")
    if schema.get("kind") == "dataframe" and payload:
        raise InputError("this model takes records (objects with column names), not bare rows")
    return payload


def _check_record_keys(records: list[Any], names: list[str]) -> None:
    """Name a column that some records lack (DataFrame construction would hide it as NaN)."""
    for name in names:
        for position, record in enumerate(records):
            if name not in record:
                where = "missing" if position == 0 else f"missing from record {position}"
                raise SchemaError(name, where)


def conform(data: Any, schema: Schema) -> Any:
    """Validate ``data`` against ``schema`` and coerce it to the recorded types.

    Extra DataFrame columns are dropped and columns are put in the recorded order, so
    ``predict()`` sees exactly what it saw during training.

    Args:
        data: Raw input: a DataFrame (from a file or JSON records), an ndarray or a list.
        schema: The recorded schema.

    Returns:
        The input in the recorded form.

    Raises:
        SchemaError: Naming the first missing or mistyped column (or ``shape``/``dtype``).
    """
    kind = schema.get("kind")
    if kind == "dataframe":
        return _conform_frame(data, schema)
    if kind == "ndarray":
        return _conform_array(data, schema)
    if kind == "series":
        return _conform_series(data, schema)
    if kind == "list":
        return _conform_list(data, schema)
    return data


def _conform_frame(data: Any, schema: Schema) -> pd.DataFrame:
    if not isinstance(data, pd.DataFrame):
        if isinstance(data, list) and not data:
            data = pd.DataFrame(columns=[c["name"] for c in schema["columns"]])
        else:
            raise SchemaError("*", "this model takes a table with named columns")
    if _already_conformed(data, schema["columns"]):
        return data
    present = {str(name): name for name in data.columns}
    conformed = {}
    unchanged = True
    for column in schema["columns"]:
        name = column["name"]
        if name not in present:
            raise SchemaError(name, "missing")
        original = data[present[name]]
        conformed[column.get("label", name)] = kept = _conform_column(name, original, column)
        unchanged = unchanged and kept is original
    labels = list(conformed)
    if unchanged and list(data.columns) == labels and len(set(labels)) == len(labels):
        # Already in the recorded form (the common case for a served request): building the
        # same frame again would cost more than all the checks above.
        return data
    return pd.DataFrame(conformed, index=data.index)


def _already_conformed(data: pd.DataFrame, columns: list[dict[str, Any]]) -> bool:
    """Whether ``data`` has exactly the recorded columns, in order, each of its recorded dtype
    in the case where :func:`_conform_column` returns it unchanged (not object, not category).

    Read from the frame's column index and dtypes alone, without taking out each column: for
    a served request of a hundred rows that takes longer than predicting them.
    """
    if len(data.columns) != len(columns) or any("label" in column for column in columns):
        return False
    if list(data.columns) != [column["name"] for column in columns]:
        return False
    for actual, column in zip(data.dtypes, columns, strict=True):
        target = _dtype_named(str(column["dtype"]))
        if target is None or actual != target or target == np.dtype(object):
            return False
        if isinstance(target, pd.CategoricalDtype):
            return False
    return True


@functools.lru_cache(maxsize=64)
def _dtype_named(name: str) -> Any:
    """``pandas_dtype(name)``, remembered (a schema names the same few dtypes every request);
    None for a name this pandas cannot read."""
    try:
        return ptypes.pandas_dtype(name)
    except TypeError:
        return None


def _conform_series(data: Any, schema: Schema) -> pd.Series:
    name = schema["name"]
    if isinstance(data, pd.DataFrame):
        if name in data.columns:
            data = data[name]
        elif data.shape[1] == 1:
            data = data.iloc[:, 0]
        else:
            raise SchemaError(name, "missing")
    elif not isinstance(data, pd.Series):
        data = pd.Series(list(data))
    return _conform_column(name, data, schema).rename(None if name == "None" else name)


def _conform_column(name: str, values: pd.Series, column: Mapping[str, Any]) -> pd.Series:
    """Coerce one column to its recorded dtype, or raise naming the column."""
    expected = column["dtype"]
    try:
        target = ptypes.pandas_dtype(expected)
    except TypeError:
        return values  # a dtype this pandas cannot name: pass through, predict() decides
    actual = values.dtype
    if (
        actual == target
        and target != np.dtype(object)
        and not isinstance(target, pd.CategoricalDtype)
    ):
        # The common case: the dtype says it all. An object column can hold anything, so its
        # values are still checked below.
        return values
    if isinstance(target, pd.CategoricalDtype) or expected == "category":
        categories = column.get("categories")
        if categories is not None:
            unknown = ~values.isna() & ~values.isin(categories)
            if unknown.any():
                raise SchemaError(name, f"has {int(unknown.sum())} value(s) outside the categories")
            return values.astype(pd.CategoricalDtype(categories))
        return values.astype("category")
    if ptypes.is_bool_dtype(target):
        return _to_bool(name, values, expected)
    if ptypes.is_numeric_dtype(target):
        return _to_number(name, values, target, expected)
    if ptypes.is_datetime64_any_dtype(target):
        try:
            return pd.to_datetime(values).astype(target)
        except (ValueError, TypeError):
            raise SchemaError(name, f"expected {expected}, got values that are not dates") from None
    if ptypes.is_string_dtype(target) or target == np.dtype(object):
        if ptypes.is_numeric_dtype(actual) or ptypes.is_bool_dtype(actual):
            if values.notna().any():
                raise SchemaError(name, f"expected text ({expected}), got {actual}")
        elif not values.dropna().map(lambda v: isinstance(v, str)).all():
            raise SchemaError(name, f"expected text ({expected}), got non-text values")
        return values.astype(target)
    return values


def _to_bool(name: str, values: pd.Series, expected: str) -> pd.Series:
    if ptypes.is_bool_dtype(values.dtype):
        return values.astype(expected)
    spellings = {"true": True, "false": False, "1": True, "0": False, "1.0": True, "0.0": False}
    mapped = values.map(lambda v: spellings.get(str(v).strip().lower()))
    if mapped.isna().any():
        raise SchemaError(name, f"expected {expected} (true/false), got other values")
    return mapped.astype(expected)


def _to_number(name: str, values: pd.Series, target: Any, expected: str) -> pd.Series:
    actual = values.dtype
    if ptypes.is_bool_dtype(actual):
        raise SchemaError(name, f"expected {expected}, got booleans")
    if not ptypes.is_numeric_dtype(actual):
        try:
            numbers = pd.to_numeric(values, errors="coerce")
        except OverflowError:
            # JSON integers have no size limit; one past 64 bits cannot become a number column.
            raise SchemaError(name, f"expected {expected}, got values outside its range") from None
        if (numbers.isna() & values.notna()).any():
            raise SchemaError(name, f"expected {expected}, got text")
        values = numbers
    if ptypes.is_integer_dtype(target) and not ptypes.is_integer_dtype(values.dtype):
        if values.isna().any():
            raise SchemaError(name, f"expected {expected}, got missing values")
        if not np.all(np.mod(values.to_numpy(dtype=float), 1) == 0):
            raise SchemaError(name, f"expected {expected}, got non-integer numbers")
    # numpy casts wrap around (300 → 44 as int8) and overflow to inf without an error, so a
    # narrower recorded dtype gets an explicit range check.
    if ptypes.is_integer_dtype(target) and values.notna().any():
        info = np.iinfo(target)
        if values.min() < info.min or values.max() > info.max:
            raise SchemaError(name, f"expected {expected}, got values outside its range")
    try:
        with np.errstate(over="ignore"):  # an overflow to inf is reported just below
            converted = values.astype(target)
    except (ValueError, TypeError, OverflowError):
        raise SchemaError(name, f"expected {expected}, got values that do not fit") from None
    if ptypes.is_float_dtype(target):
        finite = np.isfinite(values.to_numpy(dtype=float, na_value=np.nan))
        if (finite & ~np.isfinite(converted.to_numpy(dtype=float, na_value=np.nan))).any():
            raise SchemaError(name, f"expected {expected}, got values outside its range")
    return converted


def _conform_array(data: Any, schema: Schema) -> np.ndarray:
    expected = np.dtype(schema["dtype"])
    if isinstance(data, pd.DataFrame | pd.Series):
        data = data.to_numpy()
    try:
        array = np.asarray(data)
    except ValueError:
        raise SchemaError("shape", "rows have different lengths") from None
    dims = schema["shape"]
    if array.ndim != len(dims) or any(
        want is not None and got != want
        for got, want in zip(array.shape[1:], dims[1:], strict=True)
    ):
        want_text = ", ".join("n" if d is None else str(d) for d in dims)
        got_text = ", ".join(["n", *(str(d) for d in array.shape[1:])])
        if array.size == 0 and array.ndim == 1:
            return np.empty([0, *(d or 0 for d in dims[1:])], dtype=expected)
        raise SchemaError("shape", f"expected an array of shape ({want_text}), got ({got_text})")
    if array.dtype == expected:
        return array
    if expected.kind in "iufcb":
        try:
            coerced = array.astype(expected)
        except (ValueError, TypeError):
            raise SchemaError("dtype", f"expected {expected}, got non-numeric values") from None
        if expected.kind in "iu" and array.dtype.kind == "f":
            if np.isnan(array).any() or not np.all(np.mod(array, 1) == 0):
                raise SchemaError("dtype", f"expected {expected}, got non-integer numbers")
        return coerced
    return array.astype(expected)


_ITEM_TYPES: dict[str, tuple[type, ...]] = {
    "str": (str,),
    "int": (int, np.integer),
    "float": (float, int, np.floating, np.integer),
    "bool": (bool, np.bool_),
}


def _conform_list(data: Any, schema: Schema) -> list[Any]:
    if isinstance(data, pd.DataFrame):
        if data.shape[1] != 1:
            raise SchemaError("*", "this model takes a single column of values")
        data = data.iloc[:, 0].tolist()
    items = list(data)
    item_type = schema.get("item_type")
    accepted = _ITEM_TYPES.get(item_type or "")
    if accepted is not None:
        for position, item in enumerate(items):
            if not isinstance(item, accepted) or (item_type != "bool" and isinstance(item, bool)):
                raise SchemaError(f"item {position}", f"expected {item_type}")
    return items


def n_rows(data: Any) -> int:
    """Count the rows of an input, for logs and metrics."""
    try:
        return len(data)
    except TypeError:
        return 1


def to_jsonable(predictions: Any) -> Any:
    """Convert predictions to plain JSON values (NaN becomes ``null``)."""
    if isinstance(predictions, pd.DataFrame):
        frame = predictions.astype(object).where(predictions.notna(), None)
        return [{str(k): _plain(v) for k, v in row.items()} for row in frame.to_dict("records")]
    if isinstance(predictions, pd.Series):
        predictions = predictions.to_numpy()
    if isinstance(predictions, np.ndarray):
        if predictions.dtype.kind == "f":
            boxed = predictions.astype(object)
            boxed[np.isnan(predictions)] = None
            return boxed.tolist()
        return predictions.tolist()
    if isinstance(predictions, np.generic):
        return predictions.item()
    if isinstance(predictions, list | tuple):
        return [to_jsonable(p) for p in predictions]
    if isinstance(predictions, float) and predictions != predictions:
        return None
    return predictions


def text_columns(schema: Schema) -> frozenset[str]:
    """Columns the schema records as text (strings, or categories of strings)."""
    kind = schema.get("kind")
    if kind == "dataframe":
        columns = list(schema["columns"])
    elif kind == "series":
        columns = [schema]
    else:
        return frozenset()
    return frozenset(str(column["name"]) for column in columns if _is_text(column))


def text_dtypes(schema: Schema, names: Iterable[Any]) -> dict[str, type] | None:
    """``read_csv``'s ``dtype=`` for a CSV file with these header names: the columns the schema
    records as text are read as text (inferred, an all-digit column of zip codes becomes
    integers, losing its leading zeros, and fails the schema); None when there are none."""
    wanted = text_columns(schema)
    return {str(name): str for name in names if str(name) in wanted} or None


def _is_text(column: dict[str, Any]) -> bool:
    name = str(column.get("dtype"))
    categories = column.get("categories") or []
    if name == "category":
        return bool(categories) and all(isinstance(c, str) for c in categories)
    try:
        dtype = ptypes.pandas_dtype(name)
    except TypeError:
        return False
    return bool(ptypes.is_string_dtype(dtype))
