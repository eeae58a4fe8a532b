"""POST /retrain: off by default, parameters checked up front, a child `train`, promotion."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import time
import warnings
from pathlib import Path
from types import ModuleType
from typing import Any

import httpx
import pytest

from .conftest import Workspace, free_port, stop, wait_until_serving

with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    from starlette.testclient import TestClient


def retrain_client(store: Path, **options: Any) -> TestClient:
    import fakepkg.serve

    return TestClient(fakepkg.serve.create_app(store, allow_retrain=True, **options))


def wait_for(client: TestClient, job: str, **headers: str) -> dict[str, Any]:
    deadline = time.monotonic() + 180
    while time.monotonic() < deadline:
        state = client.get(f"/retrain/{job}", headers=headers).json()
        if state["status"] != "running":
            return dict(state)
        time.sleep(0.2)
    raise AssertionError(f"retrain {job} did not finish")


def test_retrain_is_off_unless_asked_for(churn_store: Path) -> None:
    import fakepkg.serve

    client = TestClient(fakepkg.serve.create_app(churn_store))
    refused = client.post("/retrain", json={})
    assert refused.status_code == 403
    assert "--allow-retrain" in refused.json()["error"]
    assert client.get("/retrain/abc").status_code == 403


def test_retrain_trains_a_new_version_and_promotes_only_when_asked(
    churn_store: Path, workspace: Workspace
) -> None:
    with retrain_client(churn_store) as client:
        started = client.post("/retrain", json={"params": {"C": 0.5}, "seed": 3})
        assert started.status_code == 202, started.text
        job = started.json()
        assert job["status"] == "running" and started.headers["location"] == f"/retrain/{job['id']}"
        # One at a time: training is the heaviest thing the host does.
        busy = client.post("/retrain", json={})
        assert busy.status_code == 409
        done = wait_for(client, job["id"])
        assert done["status"] == "succeeded", done
        assert done["version"] == "v2" and done["promoted"] is False
        manifest = json.loads((churn_store / "v2" / "manifest.json").read_text())
        assert manifest["params"]["C"] == 0.5 and manifest["seed"] == 3
        # Not promoted: still serving v1.
        assert client.get("/health").json()["version"] == "v1"

        promoted = client.post("/retrain", json={"promote": True})
        assert promoted.status_code == 202
        done = wait_for(client, promoted.json()["id"])
        assert done["status"] == "succeeded" and done["version"] == "v3" and done["promoted"]
        assert client.get("/health").json()["version"] == "v3"
        answer = client.post("/predict", json=[{"age": 30, "income": 50000.0, "plan": "basic"}])
        assert answer.headers["x-model-version"] == "v3"
        aliases = json.loads((churn_store / "aliases.json").read_text())
        assert aliases["production"]["version"] == "v3"
        metrics = client.get("/metrics").text
        assert 'mlprod_requests_total{path="/retrain",status="202"} 2' in metrics


@pytest.mark.parametrize(
    ("body", "problem"),
    [
        ({"params": {"nope": 1}}, "unknown parameter 'nope'"),
        ({"params": {"C": "high"}}, "parameter C: expected float"),
        ({"seed": "x"}, '"seed" must be an integer'),
        ({"promote": "yes"}, '"promote" must be true or false'),
        ({"params": [1]}, '"params" must be an object'),
        ({"force": True}, "unknown field 'force'"),
        ([1, 2], "expected a JSON object"),
    ],
)
def test_bad_retrain_requests_start_nothing(churn_store: Path, body: Any, problem: str) -> None:
    with retrain_client(churn_store) as client:
        answer = client.post("/retrain", json=body)
        assert answer.status_code == 400
        assert problem in answer.json()["error"]
        assert client.app.state.retrainer.jobs == {}  # type: ignore[attr-defined]
    assert sorted(p.name for p in churn_store.glob("v*")) == ["v1"]


def test_malformed_retrain_body(churn_store: Path) -> None:
    with retrain_client(churn_store) as client:
        answer = client.post("/retrain", content=b"{", headers={"content-type": "application/json"})
        assert answer.status_code == 400 and "malformed JSON" in answer.json()["error"]


def test_a_failing_retrain_reports_one_line_and_adds_no_version(churn_store: Path) -> None:
    with retrain_client(churn_store) as client:
        started = client.post("/retrain", json={"params": {"data_path": "missing.csv"}})
        assert started.status_code == 202
        done = wait_for(client, started.json()["id"])
    assert done["status"] == "failed" and done["version"] is None
    assert done["error"] and "\n" not in done["error"] and "missing.csv" in done["error"]
    assert sorted(p.name for p in churn_store.glob("v*")) == ["v1"]


def test_token_is_required_when_set(churn_store: Path) -> None:
    with retrain_client(churn_store, retrain_token="s3cret") as client:
        assert client.post("/retrain", json={}).status_code == 401
        wrong = {"Authorization": "Bearer nope"}
        assert client.post("/retrain", json={}, headers=wrong).status_code == 401
        right = {"Authorization": "Bearer s3cret"}
        started = client.post("/retrain", json={}, headers=right)
        assert started.status_code == 202
        assert client.get(f"/retrain/{started.json()['id']}").status_code == 401
        assert wait_for(client, started.json()["id"], **right)["status"] == "succeeded"


def test_stopping_the_server_stops_a_running_retrain(churn_store: Path) -> None:
    with retrain_client(churn_store) as client:
        job_id = client.post("/retrain", json={}).json()["id"]
        retrainer = client.app.state.retrainer  # type: ignore[attr-defined]
    # Leaving the client ran the app's shutdown: the child was terminated.
    deadline = time.monotonic() + 30
    while retrainer.jobs[job_id].status == "running" and time.monotonic() < deadline:
        time.sleep(0.1)
    assert retrainer.jobs[job_id].status == "failed"
    assert sorted(p.name for p in churn_store.glob("v*")) == ["v1"]


def test_retrain_on_a_public_address_needs_a_token(
    fakepkg_cli: ModuleType, churn_store: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code = fakepkg_cli.main(["serve", "--host", "0.0.0.0", "--allow-retrain"])
    assert code == 1
    error = capsys.readouterr().err.strip()
    assert error.endswith("--allow-retrain on 0.0.0.0 needs a token: set MLPROD_RETRAIN_TOKEN")


@pytest.mark.slow
def test_real_server_retrains_with_a_token_and_serves_the_promoted_version(
    churn_store: Path, workspace: Workspace
) -> None:
    port = free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "fakepkg", "serve", "--port", str(port), "--allow-retrain"],
        cwd=workspace.root,
        env={**workspace.env(), "MLPROD_RETRAIN_TOKEN": "t0ken"},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    auth = {"Authorization": "Bearer t0ken"}
    try:
        wait_until_serving(process, f"http://127.0.0.1:{port}/health")
        with httpx.Client(base_url=f"http://127.0.0.1:{port}") as client:
            assert client.post("/retrain", json={}).status_code == 401
            started = client.post("/retrain", json={"promote": True}, headers=auth)
            assert started.status_code == 202, started.text
            job = started.json()["id"]
            deadline = time.monotonic() + 180
            while (state := client.get(f"/retrain/{job}", headers=auth).json())["status"] == (
                "running"
            ):
                assert time.monotonic() < deadline, "retrain did not finish"
                time.sleep(0.2)
            assert state["status"] == "succeeded" and state["version"] == "v2", state
            assert client.get("/health").json() == {"status": "ok", "version": "v2"}
    finally:
        stop(process)


def _resolving(table: dict[str, list[str]]) -> Any:
    """A ``getaddrinfo`` that answers from ``table`` (a name missing from it does not resolve)."""

    def getaddrinfo(host: str, port: Any, *args: Any, **kwargs: Any) -> list[Any]:
        if host not in table:
            raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")
        return [
            (socket.AF_INET6 if ":" in a else socket.AF_INET, socket.SOCK_STREAM, 6, "", (a, 0))
            for a in table[host]
        ]

    return getaddrinfo


@pytest.mark.parametrize(
    ("host", "resolves_to", "loopback"),
    [
        ("127.0.0.1", None, True),
        ("127.0.0.2", None, True),
        ("::1", None, True),
        ("localhost", ["127.0.0.1", "::1"], True),
        ("0.0.0.0", None, False),
        ("::", None, False),
        ("10.1.2.3", None, False),
        # Looks like loopback, is a name: only what it resolves to counts.
        ("127.attacker.example", ["203.0.113.7"], False),
        ("127.attacker.example", [], False),
        ("127.attacker.example", ["127.0.0.1"], True),
        ("mixed.example", ["127.0.0.1", "203.0.113.7"], False),
        ("unresolvable.example", None, False),
    ],
)
def test_loopback_is_what_the_host_resolves_to(
    package_src: Path,
    monkeypatch: pytest.MonkeyPatch,
    host: str,
    resolves_to: list[str] | None,
    loopback: bool,
) -> None:
    import fakepkg.retrain

    if resolves_to is not None:
        monkeypatch.setattr(socket, "getaddrinfo", _resolving({host: resolves_to}))
    elif host == "unresolvable.example":
        monkeypatch.setattr(socket, "getaddrinfo", _resolving({}))
    assert fakepkg.retrain.is_loopback(host) is loopback
    problem = fakepkg.retrain.token_problem(host, None)
    assert (problem is None) is loopback
    assert fakepkg.retrain.token_problem(host, "t0ken") is None


def test_retrain_on_a_name_that_only_looks_like_loopback_needs_a_token(
    fakepkg_cli: ModuleType,
    churn_store: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(
        socket, "getaddrinfo", _resolving({"127.attacker.example": ["203.0.113.7"]})
    )
    code = fakepkg_cli.main(["serve", "--host", "127.attacker.example", "--allow-retrain"])
    assert code == 1
    [line] = capsys.readouterr().err.strip().splitlines()
    expected = "--allow-retrain on 127.attacker.example needs a token: set MLPROD_RETRAIN_TOKEN"
    assert line.endswith(expected)
