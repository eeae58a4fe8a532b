"""The drift report of ``models monitor --report`` opens in Debian chromium offline, with one
plot per column (reference and current bars drawn), and is saved as a screenshot."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from jupyter_mlprod.runtime.drift import detect_drift
from jupyter_mlprod.runtime.monitor_report import render_report, write_report
from jupyter_mlprod.runtime.profile import build_profile, column_values

pytestmark = pytest.mark.browser


def _frames() -> tuple[pd.DataFrame, pd.DataFrame]:
    rng = np.random.default_rng(3)
    reference = pd.DataFrame(
        {
            "age": rng.integers(18, 80, 600),
            "income": rng.normal(50_000, 15_000, 600),
            "plan": rng.choice(["basic", "plus", "pro"], 600),
        }
    )
    current = reference.sample(400, random_state=1).reset_index(drop=True)
    current["income"] += 15_000
    current["plan"] = rng.choice(["basic", "pro", "enterprise"], 400)
    return reference, current


def test_the_report_shows_one_plot_per_column(
    page: Any, tmp_path: Path, artifacts_dir: Path
) -> None:
    reference, current = _frames()
    labels = (reference["income"] > 50_000).astype(int).to_numpy()
    profile = build_profile(reference, labels)
    predictions = (current["income"] > 50_000).astype(int).to_numpy()
    report = detect_drift(profile, current, predictions=predictions)
    page_html = render_report(
        report,
        profile,
        column_values(current),
        column_values(predictions, "prediction"),
        title="Drift report: v1",
        subtitle="current.csv against the training reference of v1",
    )
    target = write_report(tmp_path / "report.html", page_html)

    # Any request other than the file itself would mean a network asset.
    requests: list[str] = []
    page.on("request", lambda request: requests.append(request.url))
    page.goto(target.as_uri())
    assert requests == [target.as_uri()]

    assert "Dataset drift: 2 of 3 columns drifted" in page.locator("#verdict").inner_text()
    plots = page.locator("figure.plot")
    assert plots.count() == 4
    assert [plots.nth(i).get_attribute("data-column") for i in range(4)] == [
        "age",
        "income",
        "plan",
        "prediction",
    ]
    assert [plots.nth(i).get_attribute("data-drifted") for i in range(4)] == [
        "false",
        "true",
        "true",
        "true",
    ]
    for i in range(4):
        svg = plots.nth(i).locator("svg")
        box = svg.bounding_box()
        assert box is not None and box["width"] > 400 and box["height"] > 150
        for series in ("reference", "current"):
            heights = svg.locator(f"rect.{series}").evaluate_all(
                "bars => bars.map(bar => bar.getBBox().height)"
            )
            assert heights and max(heights) > 10, (i, series)
    assert page.locator("table.results[data-group=input] tbody tr").count() == 3
    page.screenshot(path=str(artifacts_dir / "monitor-report.png"), full_page=True)
