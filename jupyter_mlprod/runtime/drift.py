"""Drift tests: new data against a version's reference profile (profile.py), with scipy.

The one entry point is a pure function::

    report = detect_drift(profile, current, DriftOptions(), predictions=None)

``profile`` is ``manifest["profile"]`` (written by ``train``); ``current`` is the new predict
input: a DataFrame, a 2-d array, or a plain mapping of column name to a sequence of values
(what a serving window can hand over without building a frame); ``predictions`` optionally
what ``predict()`` returned for it. The result is a frozen :class:`DriftReport`: one
:class:`ColumnDrift` per profiled column (test, statistic, p-value, score, threshold,
drifted), the share of drifted columns, the dataset verdict, and the same per prediction
column. ``report.to_json()`` is its JSON form. Nothing is random, so the same inputs give the
same report. A window of 1000 rows costs a few milliseconds per column, most of it
scipy's per-call overhead (``python bench/drift.py``: 1000 rows x 12 columns about 50 ms
against a reference of at most 1000 rows, about 17 ms against a larger one), so a background
task can call it every few seconds; it holds no state and no lock.

For a serving window: pass the rows *after* ``schema.conform`` (so dtypes match training),
as a DataFrame or ``{column: [values...]}``; array inputs are columns ``"[0]"``, ``"[1]"``…
(``profile.column_values`` splits any input the same way). Versions trained before profiles
existed have no ``manifest["profile"]``: skip them. ``ColumnDrift.score`` is the one number
per column to export (a p-value, lower is worse, or a distance, higher is worse: compare it
with ``threshold`` as ``drifted`` does); ``DriftReport.drifted`` is the verdict.

Which test (Evidently's default algorithm, reference [1], thresholds from [1] and [2]):

====================  ======================================  ==============================
reference rows        numeric column (> 5 distinct values)    categorical column (or <= 5)
====================  ======================================  ==============================
<= 1000               two-sample Kolmogorov-Smirnov,          chi-squared, or the z-test for
                      drift when p < 0.05                     two proportions when the
                                                              reference has <= 2 values;
                                                              drift when p < 0.05
> 1000                Wasserstein distance divided by the     Jensen-Shannon distance,
                      reference std, drift when >= 0.1        drift when >= 0.1
``stattest="psi"``    PSI over the reference deciles,         PSI over the categories,
                      drift when >= 0.1                       drift when >= 0.1
====================  ======================================  ==============================

The dataset drifts when the share of drifted input columns is at least
``DriftOptions.drift_share`` (0.5, Evidently's default [1]); prediction columns are reported
beside it and not counted in the share. Columns without values in ``current`` (all missing)
and datetime columns are reported with test ``"none"`` and not counted either.

Two choices of ours, documented in the package README: the chi-squared test is the
two-sample test of homogeneity (``scipy.stats.chi2_contingency`` on the reference and current
counts) rather than a goodness-of-fit against the reference proportions, because the
reference is itself a sample; and a category never seen in the reference joins the reference's
``other`` bucket, so a new category counts as a change. Values come from the profile's
stored sample (at most 1000 per column, profile.py), so for references larger than the sample
the Wasserstein distance is computed from that sample.

[1] Evidently, "Data drift algorithm", docs-old.evidentlyai.com/reference/data-drift-algorithm
[2] Evidently release notes v0.1.50 (automatic stattest selection; all tests at a 0.95
    confidence level, all distances at 0.1)
"""

from __future__ import annotations

import dataclasses
import math
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from .errors import SchemaError
from .profile import (
    ColumnProfile,
    Profile,
    category_counts,
    category_key,
    column_values,
    is_null,
    numeric_values,
)

SMALL_REFERENCE = 1000
"""References of at most this many rows get the statistical tests, larger ones distances."""
P_VALUE = 0.05
DISTANCE = 0.1
PSI_THRESHOLD = 0.1
DRIFT_SHARE = 0.5
STATTESTS = ("auto", "psi")
"""``auto``: Evidently's choice per column (the table above); ``psi``: PSI for every column."""
_PSI_FLOOR = 1e-4
"""Empty bins count as this proportion, so PSI's logarithm stays finite."""
_STD_FLOOR = 1e-3
_KS_EXACT_MAX = 250_000


@dataclass(frozen=True)
class DriftOptions:
    """How drift is decided.

    Attributes:
        stattest: ``"auto"`` (Evidently's defaults) or ``"psi"``.
        threshold: Overrides every column's threshold: a p-value for KS, chi-squared and z,
            a distance for Wasserstein, Jensen-Shannon and PSI. ``None`` keeps the defaults.
        drift_share: The dataset drifts when at least this share of columns drift.
    """

    stattest: str = "auto"
    threshold: float | None = None
    drift_share: float = DRIFT_SHARE

    def __post_init__(self) -> None:
        if self.stattest not in STATTESTS:
            raise ValueError(f"stattest must be one of {', '.join(STATTESTS)}")
        if not 0.0 <= self.drift_share <= 1.0:
            raise ValueError("drift_share must be from 0 to 1")


@dataclass(frozen=True)
class ColumnDrift:
    """The drift test of one column.

    Attributes:
        column: The column's name (``"[i]"`` for an array feature).
        kind: ``"numeric"``, ``"categorical"`` or ``"datetime"`` (never tested), as profiled.
        test: ``"ks"``, ``"chisquare"``, ``"z"``, ``"wasserstein"``, ``"jensenshannon"``,
            ``"psi"``, or ``"none"`` when the current data has no values to test.
        statistic: The test's statistic (KS D, chi-squared, z) or the distance.
        p_value: For the statistical tests; ``None`` for distances.
        score: What is compared with the threshold: the p-value, else the distance.
        threshold: Drift when ``score < threshold`` (p-values) or ``score >= threshold``.
        drifted: The column's verdict.
        reference_rows: Rows of the reference (decides the test).
        current_rows: Non-missing current values tested.
        reference_null_rate: Share of missing values in the reference.
        current_null_rate: Share of missing values in the current data.
    """

    column: str
    kind: str
    test: str
    statistic: float | None
    p_value: float | None
    score: float | None
    threshold: float
    drifted: bool
    reference_rows: int
    current_rows: int
    reference_null_rate: float
    current_null_rate: float

    def to_json(self) -> dict[str, Any]:
        """The column's result as a JSON-able dict."""
        return dataclasses.asdict(self)


@dataclass(frozen=True)
class DriftReport:
    """Drift of a batch or window of data against a reference profile.

    Attributes:
        columns: One result per profiled input column present in the current data.
        prediction: One result per profiled prediction column (empty without predictions).
        rows: Rows of the current data.
        share: Share of the tested input columns that drifted.
        drift_share: The share at which the dataset drifts.
        drifted: The dataset verdict: ``share >= drift_share`` (and something was tested).
        stattest: The option the tests were chosen with.
        missing_columns: Profiled columns the current data lacks (not tested).
    """

    columns: tuple[ColumnDrift, ...]
    prediction: tuple[ColumnDrift, ...]
    rows: int
    share: float
    drift_share: float
    drifted: bool
    stattest: str
    missing_columns: tuple[str, ...] = ()

    @property
    def n_drifted(self) -> int:
        """How many input columns drifted."""
        return sum(1 for column in self.columns if column.drifted)

    @property
    def prediction_drifted(self) -> bool:
        """Whether any prediction column drifted."""
        return any(column.drifted for column in self.prediction)

    def to_json(self) -> dict[str, Any]:
        """The report as a JSON-able dict."""
        return {
            "drifted": self.drifted,
            "share": self.share,
            "drift_share": self.drift_share,
            "n_columns": len(self.columns),
            "n_drifted": self.n_drifted,
            "rows": self.rows,
            "stattest": self.stattest,
            "prediction_drifted": self.prediction_drifted,
            "missing_columns": list(self.missing_columns),
            "columns": [column.to_json() for column in self.columns],
            "prediction": [column.to_json() for column in self.prediction],
        }


def detect_drift(
    profile: Profile,
    current: Any,
    options: DriftOptions | None = None,
    predictions: Any = None,
) -> DriftReport:
    """Test every profiled column of ``current`` (and of ``predictions``) for drift.

    Args:
        profile: A reference profile (``manifest["profile"]``, see profile.py).
        current: The new predict input: a DataFrame, a 2-d array, or a mapping of column
            name to values.
        options: Test choice and thresholds; the defaults are Evidently's.
        predictions: What ``predict()`` returned for ``current``, or ``None``.

    Returns:
        The frozen report.

    Raises:
        SchemaError: A column profiled as numeric holds values that are not numbers.
    """
    chosen = options or DriftOptions()
    values = column_values(current, "value")
    results: list[ColumnDrift] = []
    missing: list[str] = []
    for reference in profile.get("columns", []):
        name = str(reference["name"])
        if name not in values:
            missing.append(name)
            continue
        results.append(column_drift(reference, values[name], chosen))
    prediction_results: list[ColumnDrift] = []
    if predictions is not None and profile.get("prediction"):
        predicted = column_values(predictions, "prediction")
        for reference in profile["prediction"]:
            name = str(reference["name"])
            if name in predicted:
                prediction_results.append(column_drift(reference, predicted[name], chosen))
    tested = [result for result in results if result.test != "none"]
    share = sum(1 for result in tested if result.drifted) / len(tested) if tested else 0.0
    rows = len(next(iter(values.values()))) if values else 0
    return DriftReport(
        columns=tuple(results),
        prediction=tuple(prediction_results),
        rows=rows,
        share=share,
        drift_share=chosen.drift_share,
        drifted=bool(tested) and share >= chosen.drift_share,
        stattest=chosen.stattest,
        missing_columns=tuple(missing),
    )


def column_drift(reference: ColumnProfile, current: Any, options: DriftOptions) -> ColumnDrift:
    """Test one column's current values against its reference profile.

    Args:
        reference: One column of a profile.
        current: The column's current values (any 1-d sequence).
        options: Test choice and thresholds.

    Returns:
        The column's result.
    """
    array = np.asarray(current)
    if array.ndim != 1:
        array = array.reshape(-1)
    n_total = len(array)
    nulls = int(is_null(array).sum()) if n_total else 0
    reference_rows = int(reference.get("count", 0))
    common: dict[str, Any] = {
        "column": str(reference["name"]),
        "kind": str(reference["kind"]),
        "reference_rows": reference_rows,
        "reference_null_rate": float(reference.get("null_rate", 0.0)),
        "current_null_rate": nulls / n_total if n_total else 0.0,
    }
    small = reference_rows <= SMALL_REFERENCE
    if reference["kind"] not in ("numeric", "categorical"):
        return _untested(common, n_total - nulls, options)
    if reference["kind"] == "numeric":
        numbers = numeric_values(array)
        if numbers is None:
            raise SchemaError(str(reference["name"]), "holds values that are not numbers")
        numbers = numbers[np.isfinite(numbers)]
        if not len(numbers) or not reference.get("sample"):
            return _untested(common, len(numbers), options)
        if options.stattest == "psi":
            test, statistic, p_value = "psi", _psi_numeric(reference, numbers), None
        elif small:
            test, statistic, p_value = ("ks", *_ks(reference, numbers))
        else:
            test, statistic, p_value = "wasserstein", _wasserstein(reference, numbers), None
        tested = len(numbers)
    else:
        counts = category_counts(array)
        tested = sum(counts.values())
        reference_counts, current_counts = aligned_counts(reference, counts)
        if not tested or not reference_counts.sum():
            return _untested(common, tested, options)
        if options.stattest == "psi":
            test, statistic = "psi", _psi(reference_counts, current_counts)
            p_value = None
        elif small and int(reference.get("n_unique", 0)) <= 2:
            test, statistic, p_value = ("z", *_z_test(reference, counts))
        elif small:
            test, statistic, p_value = (
                "chisquare",
                *_chi_squared(reference_counts, current_counts),
            )
        else:
            test, statistic = "jensenshannon", _jensen_shannon(reference_counts, current_counts)
            p_value = None
    threshold = _threshold(test, options)
    score = p_value if p_value is not None else statistic
    drifted = score < threshold if p_value is not None else score >= threshold
    return ColumnDrift(
        **common,
        test=test,
        statistic=_finite(statistic),
        p_value=_finite(p_value) if p_value is not None else None,
        score=_finite(score),
        threshold=threshold,
        drifted=bool(drifted),
        current_rows=tested,
    )


def default_threshold(test: str) -> float:
    """The default threshold of a test: 0.05 for p-values, 0.1 for distances and PSI."""
    if test in ("ks", "chisquare", "z"):
        return P_VALUE
    if test == "psi":
        return PSI_THRESHOLD
    return DISTANCE


def _threshold(test: str, options: DriftOptions) -> float:
    return options.threshold if options.threshold is not None else default_threshold(test)


def _untested(common: dict[str, Any], tested: int, options: DriftOptions) -> ColumnDrift:
    return ColumnDrift(
        **common,
        test="none",
        statistic=None,
        p_value=None,
        score=None,
        threshold=_threshold("none", options),
        drifted=False,
        current_rows=tested,
    )


def _ks(reference: ColumnProfile, numbers: np.ndarray) -> tuple[float, float]:
    from scipy import stats

    sample = np.asarray(reference["sample"], dtype=np.float64)
    # scipy's "auto" tries the exact distribution up to 10000 values a side and warns when it
    # fails to converge (large samples with ties); the asymptotic one is as good from here.
    method = "exact" if len(sample) * len(numbers) <= _KS_EXACT_MAX else "asymp"
    result = stats.ks_2samp(sample, numbers, method=method)
    return float(result.statistic), float(result.pvalue)


def _wasserstein(reference: ColumnProfile, numbers: np.ndarray) -> float:
    from scipy import stats

    sample = np.asarray(reference["sample"], dtype=np.float64)
    norm = max(float(reference.get("std") or 0.0), _STD_FLOOR)
    return float(stats.wasserstein_distance(sample, numbers)) / norm


def _psi_numeric(reference: ColumnProfile, numbers: np.ndarray) -> float:
    bins = reference.get("psi_bins") or {"edges": [], "counts": [1]}
    edges = np.asarray(bins["edges"], dtype=np.float64)
    expected = np.asarray(bins["counts"], dtype=np.float64)
    actual = np.bincount(np.searchsorted(edges, numbers, side="right"), minlength=len(expected))
    return _psi(expected, actual.astype(np.float64))


def _psi(expected: np.ndarray, actual: np.ndarray) -> float:
    reference = np.maximum(expected / expected.sum(), _PSI_FLOOR)
    current = np.maximum(actual / actual.sum(), _PSI_FLOOR)
    return float(np.sum((current - reference) * np.log(current / reference)))


def aligned_counts(reference: ColumnProfile, counts: Counter[str]) -> tuple[np.ndarray, np.ndarray]:
    """Reference and current counts over the same buckets: the reference's categories, then
    ``other`` (the reference's rest and every current value not among its categories)."""
    categories: Mapping[str, int] = reference.get("categories", {})
    keys = list(categories)
    known = set(keys)
    reference_counts = [int(categories[key]) for key in keys]
    current_counts = [int(counts.get(key, 0)) for key in keys]
    reference_counts.append(int(reference.get("other", 0)))
    current_counts.append(sum(n for key, n in counts.items() if key not in known))
    return np.asarray(reference_counts, dtype=np.float64), np.asarray(
        current_counts, dtype=np.float64
    )


def _chi_squared(reference: np.ndarray, current: np.ndarray) -> tuple[float, float]:
    from scipy import stats

    table = np.vstack([reference, current])
    table = table[:, table.sum(axis=0) > 0]
    if table.shape[1] < 2:
        # One category on both sides: the distributions are the same.
        return 0.0, 1.0
    result = stats.chi2_contingency(table, correction=False)
    return float(result.statistic), float(result.pvalue)


def _z_test(reference: ColumnProfile, counts: Counter[str]) -> tuple[float, float]:
    """Two-proportion z-test on the share of the reference's most frequent value."""
    from scipy import stats

    categories: Mapping[str, int] = reference.get("categories", {})
    n_reference = sum(int(n) for n in categories.values()) + int(reference.get("other", 0))
    n_current = sum(counts.values())
    key = next(iter(categories), category_key(""))
    hits_reference = int(categories.get(key, 0))
    hits_current = int(counts.get(key, 0))
    pooled = (hits_reference + hits_current) / (n_reference + n_current)
    variance = pooled * (1 - pooled) * (1 / n_reference + 1 / n_current)
    if variance <= 0:
        # Every value on both sides is the same one: no change.
        return 0.0, 1.0
    z = (hits_reference / n_reference - hits_current / n_current) / math.sqrt(variance)
    return float(z), float(2 * stats.norm.sf(abs(z)))


def _jensen_shannon(reference: np.ndarray, current: np.ndarray) -> float:
    from scipy.spatial import distance

    return float(distance.jensenshannon(reference / reference.sum(), current / current.sum()))


def _finite(value: float | None) -> float | None:
    """The value, or ``None`` for NaN and infinities (which JSON cannot carry)."""
    return value if value is not None and math.isfinite(value) else None
