"""The job registry: work runs in a thread, progress and outcome are read as snapshots."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from jupyter_mlprod.errors import ParameterError
from jupyter_mlprod.server import jobs
from jupyter_mlprod.server.jobs import JobOutcome, JobRegistry, ProgressCallback


@pytest.fixture
def registry() -> Iterator[JobRegistry]:
    registry = JobRegistry(max_workers=1)
    yield registry
    registry.shutdown()


def wait_until_finished(registry: JobRegistry, job_id: str) -> dict[str, Any]:
    snapshot = registry.wait(job_id, timeout=60)
    assert snapshot is not None
    assert snapshot["status"] != "running"
    return snapshot


def test_progress_is_visible_while_the_job_runs(registry: JobRegistry) -> None:
    halfway = threading.Event()
    release = threading.Event()

    def work(on_cell: ProgressCallback) -> JobOutcome:
        on_cell(2, 5)
        halfway.set()
        release.wait(timeout=60)
        return JobOutcome(True, {"run_id": "r1"}, "done")

    job_id = registry.submit("run", work)
    assert halfway.wait(timeout=60)
    running = registry.snapshot(job_id)
    assert running == {
        "job_id": job_id,
        "kind": "run",
        "status": "running",
        "progress": {"done": 2, "total": 5},
        "phase": "",
        "result": None,
        "message": "",
    }
    release.set()
    finished = wait_until_finished(registry, job_id)
    assert finished["status"] == "succeeded"
    assert finished["result"] == {"run_id": "r1"}
    # A succeeded job is complete even if the last cell's progress was never reported.
    assert finished["progress"] == {"done": 5, "total": 5}


def test_failed_outcome_keeps_its_result(registry: JobRegistry) -> None:
    job_id = registry.submit("verify", lambda on_cell: JobOutcome(False, {"ok": False}, "differ"))
    finished = wait_until_finished(registry, job_id)
    assert (finished["status"], finished["result"], finished["message"]) == (
        "failed",
        {"ok": False},
        "differ",
    )


def test_tool_error_fails_the_job_with_its_one_line(registry: JobRegistry) -> None:
    def work(on_cell: ProgressCallback) -> JobOutcome:
        raise ParameterError("unknown parameter 'C'; the notebook defines: alpha")

    finished = wait_until_finished(registry, registry.submit("run", work))
    assert finished["status"] == "failed"
    assert finished["message"] == "unknown parameter 'C'; the notebook defines: alpha"


def test_unexpected_exception_fails_the_job_without_killing_the_pool(
    registry: JobRegistry,
) -> None:
    def work(on_cell: ProgressCallback) -> JobOutcome:
        raise KeyError("boom")

    crashed = wait_until_finished(registry, registry.submit("run", work))
    assert crashed["status"] == "failed"
    assert crashed["message"].startswith("KeyError")
    after = wait_until_finished(registry, registry.submit("run", lambda cb: JobOutcome(True, {})))
    assert after["status"] == "succeeded"


def test_unknown_job_id_has_no_snapshot(registry: JobRegistry) -> None:
    assert registry.snapshot("0" * 32) is None


def test_old_finished_jobs_are_forgotten(
    registry: JobRegistry, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(jobs, "KEEP_FINISHED", 2)
    ids = [
        wait_until_finished(registry, registry.submit("run", lambda cb: JobOutcome(True, {})))[
            "job_id"
        ]
        for _ in range(3)
    ]
    registry.submit("run", lambda cb: JobOutcome(True, {}))
    assert registry.snapshot(ids[0]) is None
    assert registry.snapshot(ids[2]) is not None


def test_a_running_job_does_not_hold_up_server_exit() -> None:
    """Stopping the server must not wait for a long run to finish."""
    code = (
        "import threading\n"
        "from jupyter_mlprod.server.jobs import JobRegistry\n"
        "started = threading.Event()\n"
        "def work(on_cell):\n"
        "    started.set()\n"
        "    threading.Event().wait()\n"
        "JobRegistry().submit('run', work)\n"
        "started.wait(60)\n"
        "print('exiting')\n"
    )
    finished = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[2])},
    )
    assert finished.returncode == 0, finished.stderr
    assert finished.stdout.strip() == "exiting"
