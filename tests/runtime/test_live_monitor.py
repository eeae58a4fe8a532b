"""Live monitoring in ``serve``: the bounded window, drift in ``GET /monitor`` and ``/metrics``."""

from __future__ import annotations

import time
import warnings
from pathlib import Path
from types import ModuleType
from typing import Any

import numpy as np
import pytest

from .conftest import Workspace, train

with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    from starlette.testclient import TestClient


@pytest.fixture
def store(
    fakearr_cli: ModuleType, workspace: Workspace, capsys: pytest.CaptureFixture[str]
) -> Path:
    assert train(fakearr_cli, capsys) == "v1"
    return workspace.models


def client(store: Path, **options: Any) -> TestClient:
    import fakearr.serve

    return TestClient(fakearr.serve.create_app(store, **options))


def send(test_client: TestClient, rows: np.ndarray, per_request: int = 5) -> None:
    for start in range(0, len(rows), per_request):
        chunk = rows[start : start + per_request].tolist()
        assert test_client.post("/predict", json={"instances": chunk}).status_code == 200


def test_a_drifted_window_shows_in_monitor_and_metrics(store: Path) -> None:
    served = client(store, monitor_window=200)
    rng = np.random.default_rng(3)
    # The training input is standard normal; shifted by 3 std in every feature here.
    send(served, rng.normal(3.0, 1.0, size=(100, 4)))
    served.app.state.server.monitor.update()
    report = served.get("/monitor").json()
    assert report["window"] == 200 and report["stattest"] == "auto"
    state = report["versions"]["v1"]
    assert state["rows"] == 100 and state["drift"]["drifted"] is True
    assert {c["column"] for c in state["drift"]["columns"]} == {"[0]", "[1]", "[2]", "[3]"}
    assert all(c["drifted"] and c["test"] == "ks" for c in state["drift"]["columns"])
    assert state["prediction_distribution"]["prediction"]["kind"] == "numeric"
    metrics = served.get("/metrics").text
    assert 'mlprod_drift_detected{version="v1"} 1' in metrics
    assert 'mlprod_drift_score{version="v1",column="[0]",test="ks",kind="input"}' in metrics
    assert 'mlprod_drift_score{version="v1",column="prediction",test="ks",kind="prediction"}' in (
        metrics
    )
    assert 'mlprod_monitor_window_rows{version="v1"} 100' in metrics
    assert 'mlprod_window_prediction_quantile{version="v1",column="prediction",quantile="0.5"}' in (
        metrics
    )


def test_the_same_distribution_does_not_drift_and_the_window_is_bounded(store: Path) -> None:
    served = client(store, monitor_window=60)
    rng = np.random.default_rng(11)
    send(served, rng.normal(0.0, 1.0, size=(200, 4)))
    monitor = served.app.state.server.monitor
    assert monitor.rows("v1") == 60
    state = monitor.update()["v1"]
    assert state.rows == 60 and state.report is not None and state.report.drifted is False
    assert 'mlprod_drift_detected{version="v1"} 0' in served.get("/metrics").text
    # Nothing new: the next update keeps the report it has.
    assert monitor.update()["v1"] is state


def test_too_few_rows_and_monitoring_off(store: Path) -> None:
    served = client(store)
    send(served, np.zeros((10, 4)))
    state = served.app.state.server.monitor.update()["v1"]
    assert state.report is None and "10 rows in the window" in (state.problem or "")
    assert served.get("/monitor").json()["versions"]["v1"]["drift"] is None
    off = client(store, monitor_window=0)
    answer = off.get("/monitor")
    assert answer.status_code == 404 and "--monitor-window 0" in answer.json()["error"]
    assert "mlprod_drift" not in off.get("/metrics").text


def test_the_window_follows_every_payload_shape(churn_store: Path, workspace: Workspace) -> None:
    import fakepkg.serve
    import pandas as pd

    served = TestClient(fakepkg.serve.create_app(churn_store, monitor_window=100))
    frame = pd.read_csv(workspace.root / "data" / "churn.csv").drop(columns="churn").head(60)
    records = frame.head(30).to_dict(orient="records")
    split = frame.tail(30)
    assert served.post("/predict", json=records).status_code == 200
    body = {"columns": list(split.columns), "data": split.to_numpy().tolist()}
    assert served.post("/predict", json=body).status_code == 200
    state = served.app.state.server.monitor.update()["v1"]
    assert state.rows == 60 and state.report is not None, state.problem
    assert {c.column for c in state.report.columns} == {"age", "income", "plan"}
    assert state.predictions["prediction"]["kind"] == "categorical"
    # Rows the model was trained on do not drift.
    assert state.report.drifted is False


def test_background_thread_runs_with_the_app(store: Path) -> None:
    import fakearr.serve

    app = fakearr.serve.create_app(store, monitor_interval=0.05)
    with TestClient(app) as served:
        send(served, np.random.default_rng(5).normal(4.0, 1.0, size=(40, 4)))
        monitor = app.state.server.monitor
        # The thread may test the window while it still fills: wait for the full one.
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            state = monitor.states().get("v1")
            if state is not None and state.rows == 40:
                break
            time.sleep(0.05)
        assert state is not None and state.rows == 40 and state.report is not None
        assert state.report.drifted is True


def test_prediction_classes_are_named_after_counting_and_records_still_count() -> None:
    from jupyter_mlprod.runtime.live_monitor import prediction_distribution

    # 1, 1.0 and True name one class ("1"), as profile.category_key does for the reference.
    shares = prediction_distribution([1, 1.0, True, 0, 0, 2.5, 1])["prediction"]["shares"]
    assert shares == {"1": 4 / 7, "0": 2 / 7, "2.5": 1 / 7}
    # A predict() returning a table gives a record per row: unhashable, still counted.
    records = [{"a": 1, "b": 0.5}, {"a": 2, "b": 0.1}, {"a": 1, "b": 0.5}]
    summary = prediction_distribution(records)["prediction"]
    assert summary["kind"] == "categorical"
    assert sorted(summary["shares"].values()) == [1 / 3, 2 / 3]


def test_a_window_whose_test_fails_unexpectedly_is_reported_and_monitoring_goes_on(
    store: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import fakearr.live_monitor

    served = client(store)
    send(served, np.zeros((40, 4)))
    monitor = served.app.state.server.monitor

    def broken(predictions: Any) -> Any:
        raise TypeError("unhashable type: 'dict'")

    monkeypatch.setattr(fakearr.live_monitor, "prediction_distribution", broken)
    state = monitor.update()["v1"]
    assert state.report is None
    assert state.problem == "window not tested: TypeError: unhashable type: 'dict'"
    assert served.get("/monitor").json()["versions"]["v1"]["problem"] == state.problem
    monkeypatch.undo()
    send(served, np.zeros((40, 4)))  # the window changed: tested again, this time whole
    assert monitor.update()["v1"].report is not None
