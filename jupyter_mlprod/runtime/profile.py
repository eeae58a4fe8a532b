"""The reference profile: what the predict input and the predictions looked like at train time.

``train`` profiles the notebook's held-out predict input and the predictions made on it and
stores the profile in the version's manifest (``"profile"``), so drift tests (drift.py) can
compare new data against it without the training data. A profile is a plain JSON value::

    {"format": 1, "rows": 240,
     "columns": [<column>, ...], "columns_skipped": 0,
     "prediction": [<column>, ...]}

Each column is one of

- numeric (``"kind": "numeric"``): dtype, null rate, count, mean, std, ``n_unique`` (capped),
  quantiles (0, 1, 5, 10, 25, 50, 75, 90, 95, 99 and 100 %), an equal-width histogram
  (``edges``/``counts``, for plots), decile bins with their reference counts (for PSI), and
  ``sample``: up to :data:`SAMPLE_SIZE` reference values, the same ones on every run;
- categorical (``"kind": "categorical"``): dtype, null rate, count, ``n_unique`` and the
  :data:`TOP_K` most frequent values with their counts, the rest summed as ``other``.

Numeric columns with at most :data:`CATEGORICAL_MAX_UNIQUE` distinct values are profiled as
categorical (as Evidently treats them); so are booleans, strings and pandas categories;
datetime columns are recorded (``"kind": "datetime"``) and not tested. A 2-d array is
profiled per feature (columns ``"[0]"``, ``"[1]"``…); a Series or a list as one column; other
inputs (images of more dimensions, objects) have no columns. Predictions are profiled the
same way: class labels as categorical (the class frequencies), scores as numeric (the score
quantiles); a 2-d result per output column.

Why a sample is stored: the small-reference tests (KS, chi-squared, z) are two-sample tests
and the large-reference Wasserstein distance needs the values, not only a histogram. The
sample is drawn without replacement by a generator with a fixed seed, so it does not depend
on the training seed and the same reference gives the same profile. For a reference of at
most :data:`SAMPLE_SIZE` rows the sample *is* the reference and the tests are exact.

Size bounds (the manifest is JSON and signed): at most :data:`MAX_COLUMNS` input columns and
:data:`MAX_PREDICTION_COLUMNS` prediction columns are profiled (for wider arrays, features
evenly spaced over the width; ``columns_skipped`` counts the rest); at most
:data:`SAMPLE_BUDGET` sample values over all columns (each column gets the budget divided by
the number of numeric columns, at most :data:`SAMPLE_SIZE` and at least
:data:`MIN_SAMPLE_SIZE`); values rounded to 7 significant digits; category names cut at
:data:`MAX_LABEL` characters. So a profile stays under about 0.6 MB whatever the input, and
is about 20 kB per numeric column for a typical table.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Iterable, Mapping
from typing import Any

import numpy as np

Profile = dict[str, Any]
ColumnProfile = dict[str, Any]

FORMAT = 1
SAMPLE_SIZE = 1000
"""Reference values kept per numeric column: the small-reference tests' limit (drift.py)."""
MIN_SAMPLE_SIZE = 100
SAMPLE_BUDGET = 30_000
"""Sample values kept over all columns, so a wide input cannot make the manifest huge."""
MAX_COLUMNS = 100
MAX_PREDICTION_COLUMNS = 20
TOP_K = 20
"""Categories kept with their own count; the rest are summed as ``other``."""
CATEGORICAL_MAX_UNIQUE = 5
"""A numeric column with at most this many distinct values is treated as categorical."""
HISTOGRAM_BINS = 20
MAX_LABEL = 80
QUANTILES = (0.0, 0.01, 0.05, 0.1, 0.25, 0.5, 0.75, 0.9, 0.95, 0.99, 1.0)
_SAMPLE_SEED = 20240601
_UNIQUE_CAP = 10_000


def build_profile(sample_input: Any, predictions: Any = None) -> Profile:
    """Profile the training-time predict input and the predictions made on it.

    Args:
        sample_input: The notebook's held-out predict input (DataFrame, ndarray, Series, list).
        predictions: What ``predict()`` returned for it, or ``None``.

    Returns:
        A JSON-able profile (see the module docstring).
    """
    columns, skipped, rows = _profile_columns(sample_input, MAX_COLUMNS, "value")
    profile: Profile = {
        "format": FORMAT,
        "rows": rows,
        "columns": columns,
        "columns_skipped": skipped,
        "prediction": [],
    }
    if predictions is not None:
        profile["prediction"], _, _ = _profile_columns(
            predictions, MAX_PREDICTION_COLUMNS, "prediction"
        )
    return profile


def column_values(data: Any, default_name: str = "value") -> dict[str, np.ndarray]:
    """Split predict input (or predictions) into named 1-d arrays, one per profiled column.

    DataFrames by column name; 2-d arrays per feature (``"[i]"``); a Series or list as one
    column (its name, else ``default_name``); a mapping of name to values as it is. Other
    inputs have no columns.
    """
    if isinstance(data, Mapping):
        return {str(name): _array(values) for name, values in data.items()}
    frame_columns = getattr(data, "columns", None)
    if frame_columns is not None and hasattr(data, "iloc"):
        return {str(name): _array(data.iloc[:, i]) for i, name in enumerate(frame_columns)}
    if hasattr(data, "iloc"):
        name = getattr(data, "name", None)
        return {str(name) if name is not None else default_name: _array(data)}
    if isinstance(data, np.ndarray):
        if data.ndim == 1:
            return {default_name: data}
        if data.ndim == 2:
            return {f"[{i}]": data[:, i] for i in range(data.shape[1])}
        return {}
    if isinstance(data, list | tuple):
        array = _array(data)
        if array.ndim == 1:
            return {default_name: array}
        if array.ndim == 2:
            return {f"[{i}]": array[:, i] for i in range(array.shape[1])}
    return {}


def category_key(value: Any) -> str:
    """The name a category is stored and compared under: numbers that are whole as integers
    (so ``1``, ``1.0`` and ``True`` from a CSV and from training agree), others as text."""
    if isinstance(value, bool | np.bool_):
        return str(int(value))
    if isinstance(value, int | np.integer):
        return str(int(value))
    if isinstance(value, float | np.floating):
        number = float(value)
        return str(int(number)) if number.is_integer() else repr(number)
    text = str(value)
    return text if len(text) <= MAX_LABEL else text[: MAX_LABEL - 1] + "…"


def is_null(values: np.ndarray) -> np.ndarray:
    """A boolean mask of the missing values (NaN, None, NaT, pandas' NA) of a 1-d array."""
    if values.dtype.kind in "fc":
        mask: np.ndarray = np.isnan(values)
        return mask
    if values.dtype.kind in "mM":
        mask = np.isnat(values)
        return mask
    if values.dtype.kind == "O":
        import pandas as pd

        # pandas' C loop: a Python one costs more than the drift tests on a 1000-row window.
        nulls: np.ndarray = pd.isna(values)
        return nulls
    return np.zeros(len(values), dtype=bool)


def numeric_values(values: np.ndarray) -> np.ndarray | None:
    """The non-missing values as float64, or ``None`` when the column is not numeric."""
    if values.dtype.kind == "b":
        return None
    if values.dtype.kind in "iuf":
        floats = values.astype(np.float64, copy=False)
        return floats[~np.isnan(floats)]
    if values.dtype.kind == "O":
        kept = values[~is_null(values)]
        if all(isinstance(v, int | float | np.integer | np.floating) for v in kept) and not any(
            isinstance(v, bool | np.bool_) for v in kept
        ):
            converted: np.ndarray = kept.astype(np.float64)
            return converted
    return None


def category_counts(values: np.ndarray) -> Counter[str]:
    """Counts of the non-missing values of a 1-d array, by :func:`category_key`."""
    kept = values[~is_null(values)]
    if kept.dtype.kind in "iub":
        distinct, counts = np.unique(kept, return_counts=True)
        return Counter({category_key(v): int(c) for v, c in zip(distinct, counts, strict=True)})
    try:
        # Counted as they are (hashing in C), then named: one category_key per distinct value.
        raw = Counter(kept.tolist())
    except TypeError:
        return Counter(category_key(v) for v in kept)
    named: Counter[str] = Counter()
    for value, count in raw.items():
        named[category_key(value)] += count
    return named


def _profile_columns(
    data: Any, limit: int, default_name: str
) -> tuple[list[ColumnProfile], int, int]:
    columns = column_values(data, default_name)
    names = list(columns)
    rows = len(next(iter(columns.values()))) if columns else _length(data)
    skipped = 0
    if len(names) > limit:
        # Evenly spaced over the width: for an image the centre matters as much as a corner.
        keep = np.linspace(0, len(names) - 1, limit).round().astype(int)
        skipped = len(names) - limit
        names = [names[i] for i in sorted(set(keep.tolist()))]
    numeric = {name: numeric_values(columns[name]) for name in names}
    n_numeric = sum(
        1
        for values in numeric.values()
        if values is not None and _n_unique(values) > CATEGORICAL_MAX_UNIQUE
    )
    per_column = max(MIN_SAMPLE_SIZE, min(SAMPLE_SIZE, SAMPLE_BUDGET // max(n_numeric, 1)))
    profiles = [_profile_column(name, columns[name], numeric[name], per_column) for name in names]
    return profiles, skipped, rows


def _profile_column(
    name: str, values: np.ndarray, numbers: np.ndarray | None, sample_size: int
) -> ColumnProfile:
    count = len(values)
    nulls = int(is_null(values).sum())
    base: ColumnProfile = {
        "name": name,
        "dtype": str(values.dtype),
        "count": count,
        "null_rate": _round(nulls / count) if count else 0.0,
    }
    if values.dtype.kind in "mM":
        # Timestamps move on by nature; like Evidently, they are described, not tested.
        return {**base, "kind": "datetime"}
    if numbers is not None and _n_unique(numbers) > CATEGORICAL_MAX_UNIQUE:
        return {**base, "kind": "numeric", **_numeric_summary(numbers, sample_size)}
    counts = category_counts(values)
    top = counts.most_common()
    # Ties broken by name, so the same data gives the same profile.
    top.sort(key=lambda item: (-item[1], item[0]))
    kept = top[:TOP_K]
    return {
        **base,
        "kind": "categorical",
        "n_unique": len(counts),
        "categories": {key: n for key, n in kept},
        "other": sum(n for _, n in top[TOP_K:]),
    }


def _numeric_summary(numbers: np.ndarray, sample_size: int) -> dict[str, Any]:
    finite = numbers[np.isfinite(numbers)]
    if not len(finite):
        return {"n_unique": 0, "mean": None, "std": None, "quantiles": [], "sample": []}
    low, high = float(finite.min()), float(finite.max())
    counts, edges = np.histogram(finite, bins=HISTOGRAM_BINS, range=(low, high))
    deciles = np.unique(np.quantile(finite, np.linspace(0.1, 0.9, 9)))
    decile_counts = np.bincount(np.searchsorted(deciles, finite, side="right"), minlength=10)
    return {
        "n_unique": _n_unique(finite),
        "mean": _round(float(finite.mean())),
        "std": _round(float(finite.std())),
        "quantiles": [_round(float(q)) for q in np.quantile(finite, QUANTILES)],
        "histogram": {
            "edges": [_round(float(e)) for e in edges],
            "counts": [int(c) for c in counts],
        },
        "psi_bins": {
            "edges": [_round(float(e)) for e in deciles],
            "counts": [int(c) for c in decile_counts[: len(deciles) + 1]],
        },
        "sample": [_round(float(v)) for v in _sample(finite, sample_size)],
    }


def _sample(values: np.ndarray, size: int) -> np.ndarray:
    if len(values) <= size:
        return values
    rng = np.random.default_rng(_SAMPLE_SEED)
    return values[np.sort(rng.choice(len(values), size=size, replace=False))]


def _n_unique(values: np.ndarray) -> int:
    return int(len(np.unique(values[:_UNIQUE_CAP]))) if len(values) else 0


def _round(value: float) -> float:
    if not math.isfinite(value):
        return value
    return float(f"{value:.7g}")


def _array(values: Any) -> np.ndarray:
    to_numpy = getattr(values, "to_numpy", None)
    if to_numpy is not None:
        array = to_numpy()
        # pandas' nullable and Arrow dtypes come back as objects; keep numbers numeric.
        if array.dtype.kind == "O" and getattr(values.dtype, "kind", "O") in "iuf":
            array = values.to_numpy(dtype=np.float64, na_value=np.nan)
        return np.asarray(array)
    if isinstance(values, np.ndarray):
        return values
    try:
        return np.asarray(list(values) if isinstance(values, Iterable) else values)
    except ValueError:
        return np.asarray(list(values), dtype=object)


def _length(data: Any) -> int:
    try:
        return len(data)
    except TypeError:
        return 0
