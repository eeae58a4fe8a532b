"""Scale-out: ``serve --workers N`` and every server process following the model store."""

from __future__ import annotations

import subprocess
import sys
import threading
import time
import warnings
from collections import Counter
from pathlib import Path
from types import ModuleType

import httpx
import pytest

from .conftest import Workspace, free_port, stop, train, wait_until_serving

with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    from starlette.testclient import TestClient

ROW = {"instances": [[0.0, 1.0, 2.0, 3.0]]}


@pytest.fixture
def two_versions(
    fakearr_cli: ModuleType, workspace: Workspace, capsys: pytest.CaptureFixture[str]
) -> Path:
    assert train(fakearr_cli, capsys) == "v1"
    assert train(fakearr_cli, capsys, "--param", "shift=[1.0, 0.0]") == "v2"
    assert fakearr_cli.main(["models", "promote", "v1"]) == 0
    return workspace.models


def test_a_moved_alias_is_followed_without_reload(
    two_versions: Path, fakearr_cli: ModuleType
) -> None:
    import fakearr.serve

    app = fakearr.serve.create_app(two_versions, follow_interval=60)
    client = TestClient(app)
    follower = app.state.server.follower
    assert client.post("/predict", json=ROW).headers["x-model-version"] == "v1"
    assert follower.tick() is False
    assert fakearr_cli.main(["models", "promote", "v2"]) == 0
    assert follower.tick() is True
    assert client.post("/predict", json=ROW).headers["x-model-version"] == "v2"
    assert follower.tick() is False
    # An explicit version does not follow the alias.
    pinned = fakearr.serve.create_app(two_versions, model_ref="v1", follow_interval=60)
    assert fakearr_cli.main(["models", "rollback"]) == 0
    assert pinned.state.server.follower.tick() is False
    # A broken alias table keeps the old models and says so once.
    (two_versions / "aliases.json").write_text("{")
    assert follower.tick() is False and follower.tick() is False
    assert client.get("/health").json()["version"] == "v2"
    unfollowed = fakearr.serve.create_app(two_versions, model_ref="v1", follow_interval=0)
    assert unfollowed.state.server.follower is None


def test_workers_refuse_retrain(two_versions: Path, workspace: Workspace) -> None:
    result = workspace.run("serve", "--workers", "2", "--allow-retrain", package="fakearr")
    assert result.returncode == 1 and "use --workers 1" in result.stderr
    assert "Traceback" not in result.stderr


def _start(workspace: Workspace, *args: str) -> tuple[subprocess.Popen[str], str]:
    port = free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "fakearr", "serve", "--port", str(port), "--follow-interval",
         "0.5", *args],
        cwd=workspace.root, env=workspace.env(),
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    base = f"http://127.0.0.1:{port}"
    wait_until_serving(process, f"{base}/health")
    return process, base


@pytest.mark.slow
def test_two_workers_and_a_replica_switch_together_under_load(
    two_versions: Path, workspace: Workspace, fakearr_cli: ModuleType
) -> None:
    workers, workers_url = _start(workspace, "--workers", "2")
    replica, replica_url = _start(workspace)
    outcomes: Counter[tuple[str, int, str]] = Counter()
    stop_load = threading.Event()

    def load(base: str) -> None:
        # Bounded: one request at a time per thread, on loopback.
        with httpx.Client(base_url=base, timeout=10) as client:
            while not stop_load.is_set():
                answer = client.post("/predict", json=ROW)
                outcomes[(base, answer.status_code, answer.headers["x-model-version"])] += 1

    try:
        # New connections each time: the kernel spreads them over both workers.
        pids = {httpx.get(f"{workers_url}/health").headers["x-server-pid"] for _ in range(60)}
        # Both answer (the second may still be loading its models when the first is up).
        deadline = time.monotonic() + 60
        while len(pids) < 2 and time.monotonic() < deadline:
            pids.add(httpx.get(f"{workers_url}/health").headers["x-server-pid"])
        assert len(pids) == 2
        threads = [
            threading.Thread(target=load, args=(base,))
            for base in (workers_url, workers_url, replica_url)
        ]
        for thread in threads:
            thread.start()
        time.sleep(0.5)
        assert fakearr_cli.main(["models", "promote", "v2"]) == 0
        promoted = time.monotonic()
        # Within the follow interval (0.5 s) plus a load, every process serves v2.
        time.sleep(2.0)
        late = Counter()
        for _ in range(40):
            for base in (workers_url, replica_url):
                late[httpx.post(f"{base}/predict", json=ROW).headers["x-model-version"]] += 1
        stop_load.set()
        for thread in threads:
            thread.join(30)
        assert late == Counter({"v2": 80}), late
        assert time.monotonic() - promoted < 30
        statuses = {status for (_, status, _) in outcomes}
        assert statuses == {200}, outcomes
        versions = {version for (_, _, version) in outcomes}
        assert versions == {"v1", "v2"}, outcomes
        for base in (workers_url, replica_url):
            assert httpx.get(f"{base}/health").json()["version"] == "v2"
    finally:
        stop_load.set()
        stop(workers)
        stop(replica)
    assert workers.returncode == 0
