"""Reference profiles (runtime/profile.py) and drift tests against them (runtime/drift.py):
Evidently's defaults, each threshold, the switch at 1000 reference rows, and the false-positive
rate on data resampled from the reference."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from jupyter_mlprod.runtime.drift import DriftOptions, DriftReport, column_drift, detect_drift
from jupyter_mlprod.runtime.errors import SchemaError
from jupyter_mlprod.runtime.profile import (
    MAX_COLUMNS,
    SAMPLE_SIZE,
    TOP_K,
    build_profile,
)

RESAMPLES = 40


def _reference(rows: int, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    return pd.DataFrame(
        {
            "income": rng.normal(50_000, 15_000, rows),
            "plan": rng.choice(["basic", "plus", "pro"], rows, p=[0.5, 0.3, 0.2]),
            "member": rng.choice(["yes", "no"], rows, p=[0.6, 0.4]),
        }
    )


def _resamples(frame: pd.DataFrame, rows: int) -> list[pd.DataFrame]:
    """``RESAMPLES`` draws (with replacement) of the reference itself, seeded."""
    rng = np.random.default_rng(1234)
    return [
        frame.iloc[rng.integers(0, len(frame), rows)].reset_index(drop=True)
        for _ in range(RESAMPLES)
    ]


def _by_column(report: DriftReport) -> dict[str, object]:
    return {column.column: column for column in report.columns}


@pytest.mark.parametrize(("rows", "test"), [(800, "ks"), (5000, "wasserstein")])
def test_a_numeric_shift_of_one_std_is_flagged_and_resampling_is_not(rows: int, test: str) -> None:
    reference = _reference(rows)
    profile = build_profile(reference)
    shifted = _reference(1000, seed=5)
    shifted["income"] += reference["income"].std()
    result = column_drift(profile["columns"][0], shifted["income"], DriftOptions())
    assert (result.test, result.drifted) == (test, True)

    false_positives = sum(
        column_drift(profile["columns"][0], sample["income"], DriftOptions()).drifted
        for sample in _resamples(reference, 1000)
    )
    assert false_positives <= 0.05 * RESAMPLES


@pytest.mark.parametrize(("rows", "test"), [(800, "chisquare"), (5000, "jensenshannon")])
def test_a_change_of_category_frequencies_is_flagged_and_resampling_is_not(
    rows: int, test: str
) -> None:
    reference = _reference(rows)
    profile = build_profile(reference)
    plan = profile["columns"][1]
    rng = np.random.default_rng(9)
    changed = rng.choice(["basic", "plus", "pro"], 1000, p=[0.2, 0.3, 0.5])
    result = column_drift(plan, changed, DriftOptions())
    assert (result.test, result.drifted) == (test, True)
    assert result.threshold == (0.05 if test == "chisquare" else 0.1)

    false_positives = sum(
        column_drift(plan, sample["plan"], DriftOptions()).drifted
        for sample in _resamples(reference, 1000)
    )
    assert false_positives <= 0.05 * RESAMPLES


def test_the_tests_switch_from_statistical_tests_to_distances_above_1000_rows() -> None:
    small = detect_drift(build_profile(_reference(1000)), _reference(300, seed=3))
    large = detect_drift(build_profile(_reference(1001)), _reference(300, seed=3))
    assert [c.test for c in small.columns] == ["ks", "chisquare", "z"]
    assert [c.test for c in large.columns] == ["wasserstein", "jensenshannon", "jensenshannon"]
    assert [c.threshold for c in small.columns] == [0.05, 0.05, 0.05]
    assert [c.threshold for c in large.columns] == [0.1, 0.1, 0.1]
    # p-values decide the small tests, distances the large ones.
    assert all(c.p_value is not None and c.score == c.p_value for c in small.columns)
    assert all(c.p_value is None and c.score == c.statistic for c in large.columns)


def test_a_binary_column_gets_the_z_test_for_proportions() -> None:
    reference = _reference(600)
    member = build_profile(reference)["columns"][2]
    assert member["n_unique"] == 2
    same = column_drift(member, reference["member"], DriftOptions())
    assert (same.test, same.drifted, same.p_value) == ("z", False, pytest.approx(1.0))
    flipped = np.where(reference["member"] == "yes", "no", "yes")
    moved = column_drift(member, flipped, DriftOptions())
    assert (moved.test, moved.drifted) == ("z", True)
    assert moved.p_value is not None and moved.p_value < 0.05


def test_a_numeric_column_with_few_values_is_tested_as_categorical() -> None:
    frame = pd.DataFrame({"stars": np.tile([1, 2, 3, 4, 5], 100)})
    column = build_profile(frame)["columns"][0]
    assert column["kind"] == "categorical" and column["categories"]["3"] == 100
    # Floats read from a file name the same categories as the integers of training.
    result = column_drift(column, np.tile([1.0, 2.0, 3.0, 4.0, 5.0], 20), DriftOptions())
    assert (result.test, result.drifted) == ("chisquare", False)


def test_a_category_never_seen_in_the_reference_counts_as_drift() -> None:
    plan = build_profile(_reference(500))["columns"][1]
    current = np.array(["basic"] * 50 + ["enterprise"] * 50, dtype=object)
    result = column_drift(plan, current, DriftOptions())
    assert result.drifted and result.test == "chisquare"


def test_psi_is_available_by_option_with_its_threshold() -> None:
    reference = _reference(800)
    profile = build_profile(reference)
    psi = DriftOptions(stattest="psi")
    shifted = reference.copy()
    shifted["income"] += reference["income"].std()
    shifted["plan"] = np.random.default_rng(2).choice(
        ["basic", "plus", "pro"], 800, p=[0.1, 0.2, 0.7]
    )
    report = detect_drift(profile, shifted, psi)
    income, plan, member = report.columns
    assert [c.test for c in report.columns] == ["psi", "psi", "psi"]
    assert income.threshold == 0.1 and income.drifted and income.statistic > 0.1
    assert plan.drifted and not member.drifted
    false_positives = sum(
        detect_drift(profile, sample, psi).columns[0].drifted
        for sample in _resamples(reference, 1000)
    )
    assert false_positives <= 0.05 * RESAMPLES


def test_the_dataset_drifts_when_the_share_of_drifted_columns_reaches_the_threshold() -> None:
    reference = _reference(800)
    profile = build_profile(reference)
    current = reference.copy()
    current["income"] += 2 * reference["income"].std()
    current["plan"] = "pro"
    report = detect_drift(profile, current)
    assert [c.drifted for c in report.columns] == [True, True, False]
    assert report.share == pytest.approx(2 / 3) and report.drifted
    assert report.drift_share == 0.5
    stricter = detect_drift(profile, current, DriftOptions(drift_share=0.7))
    assert not stricter.drifted and stricter.share == report.share
    current["plan"] = reference["plan"]
    one = detect_drift(profile, current)
    assert one.n_drifted == 1 and one.share == pytest.approx(1 / 3) and not one.drifted
    assert detect_drift(profile, current, DriftOptions(drift_share=1 / 3)).drifted


def test_a_threshold_option_replaces_every_default() -> None:
    reference = _reference(800)
    profile = build_profile(reference)
    report = detect_drift(profile, reference, DriftOptions(threshold=1.01))
    # Every p-value is below 1.01: everything "drifts" at such a threshold.
    assert all(c.threshold == 1.01 and c.drifted for c in report.columns)


def test_options_are_checked() -> None:
    with pytest.raises(ValueError, match="stattest"):
        DriftOptions(stattest="kl")
    with pytest.raises(ValueError, match="drift_share"):
        DriftOptions(drift_share=1.5)


def test_the_prediction_distribution_is_profiled_and_tested() -> None:
    reference = _reference(800)
    labels = (reference["income"] > 50_000).astype(int).to_numpy()
    scores = reference["income"].to_numpy() / 100_000
    by_class = build_profile(reference, labels)["prediction"][0]
    assert by_class["kind"] == "categorical" and set(by_class["categories"]) == {"0", "1"}
    by_score = build_profile(reference, scores)["prediction"][0]
    assert by_score["kind"] == "numeric" and len(by_score["quantiles"]) == 11

    profile = build_profile(reference, labels)
    report = detect_drift(profile, reference, predictions=np.ones(800, dtype=int))
    assert report.prediction_drifted and report.prediction[0].column == "prediction"
    # Predictions are reported beside the inputs, not counted in the dataset share.
    assert report.share == 0.0 and not report.drifted
    steady = detect_drift(profile, reference, predictions=labels)
    assert not steady.prediction_drifted


def test_arrays_are_profiled_per_feature_within_the_bounds() -> None:
    rng = np.random.default_rng(0)
    wide = rng.normal(size=(3000, 400))
    profile = build_profile(wide, rng.normal(size=(3000, 30)))
    assert len(profile["columns"]) == MAX_COLUMNS
    assert profile["columns_skipped"] == 400 - MAX_COLUMNS
    names = [c["name"] for c in profile["columns"]]
    assert names[0] == "[0]" and names[-1] == "[399]"
    assert all(len(c["sample"]) <= SAMPLE_SIZE for c in profile["columns"])
    assert len(profile["prediction"]) == 20
    assert len(json.dumps(profile)) < 700_000
    shifted = wide + 1.0
    report = detect_drift(profile, shifted)
    assert report.drifted and report.n_drifted == MAX_COLUMNS


def test_categories_beyond_the_top_k_are_summed_as_other() -> None:
    values = np.array([f"c{i:02d}" for i in range(30)] * 10 + ["c00"] * 50, dtype=object)
    column = build_profile(pd.DataFrame({"code": values}))["columns"][0]
    assert len(column["categories"]) == TOP_K and column["categories"]["c00"] == 60
    assert column["other"] == 10 * (30 - TOP_K) and column["n_unique"] == 30


def test_profiles_and_reports_are_deterministic() -> None:
    reference = _reference(3000)
    assert json.dumps(build_profile(reference)) == json.dumps(build_profile(reference))
    profile = build_profile(reference)
    current = _reference(500, seed=8)
    first = detect_drift(profile, current).to_json()
    assert detect_drift(profile, current).to_json() == first
    json.dumps(first, allow_nan=False)


def test_a_plain_mapping_gives_the_same_report_as_a_frame() -> None:
    reference = _reference(800)
    profile = build_profile(reference)
    current = _reference(300, seed=4)
    window = {name: current[name].tolist() for name in current.columns}
    assert detect_drift(profile, window) == detect_drift(profile, current)


def test_missing_values_and_missing_columns_are_reported_not_tested() -> None:
    reference = _reference(500)
    reference.loc[::10, "income"] = np.nan
    profile = build_profile(reference)
    assert profile["columns"][0]["null_rate"] == pytest.approx(0.1)
    current = pd.DataFrame({"income": [np.nan] * 20, "plan": ["basic"] * 20})
    report = detect_drift(profile, current)
    income, plan = report.columns
    assert (income.test, income.drifted, income.current_null_rate) == ("none", False, 1.0)
    assert report.missing_columns == ("member",)
    # Only the tested column counts: the share is 1 of 1.
    assert plan.drifted and report.share == 1.0


def test_text_in_a_numeric_column_is_a_schema_error() -> None:
    profile = build_profile(_reference(100))
    with pytest.raises(SchemaError, match="'income'.*not numbers"):
        detect_drift(profile, {"income": ["a", "b"], "plan": ["basic", "pro"]})


def test_datetime_columns_are_recorded_not_tested() -> None:
    frame = pd.DataFrame({"when": pd.date_range("2024-01-01", periods=50), "x": range(50)})
    profile = build_profile(frame)
    assert profile["columns"][0]["kind"] == "datetime"
    later = frame.assign(when=pd.date_range("2030-01-01", periods=50))
    report = detect_drift(profile, later)
    assert report.columns[0].test == "none" and not report.drifted


@pytest.mark.parametrize(
    "sample",
    [
        [{"a": 1}, {"a": 2}],
        [[1, 2], [3]],
        np.zeros((5, 2, 2)),
        np.zeros((0, 3)),
        pd.DataFrame({"mixed": [1, "a", 2.5, None] * 5}),
        pd.DataFrame({"blank": [np.nan] * 20, "inf": [np.inf, 1.0, 2.0, 3.0] * 5}),
        pd.DataFrame(
            {
                "i": pd.array([1, 2, None, 4, 5, 6, 7], dtype="Int64"),
                "s": pd.array(["a", None, "b", "c", "d", "e", "f"], dtype="string"),
            }
        ),
    ],
    ids=["dicts", "ragged", "3-d", "no-rows", "mixed", "nan-inf", "nullable"],
)
def test_any_predict_input_gets_a_json_profile_that_tests_against_itself(sample: object) -> None:
    profile = build_profile(sample, sample)
    json.dumps(profile, allow_nan=False)
    report = detect_drift(profile, sample, predictions=sample)
    json.dumps(report.to_json(), allow_nan=False)
    assert not report.drifted
