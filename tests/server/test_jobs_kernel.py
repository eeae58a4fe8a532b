"""Run and verify jobs through the REST API with a real kernel (papermill)."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import nbformat
import pytest

from jupyter_mlprod.server.handlers import runs_available

pytestmark = pytest.mark.slow


def test_the_server_can_run_and_verify() -> None:
    # papermill is in the test extra: if these are unavailable, the capability check is wrong.
    assert runs_available("execute") and runs_available("verify")


POLL_ROUNDS = 600  # a bound, not a timing assertion: 0.5 s apart, five minutes at most


async def finished_job(call: Any, job_id: str) -> dict[str, Any]:
    """Poll ``GET mlprod/jobs/<id>`` until the job leaves ``running``."""
    for _ in range(POLL_ROUNDS):
        status, body = await call("GET", "jobs", job_id)
        assert status == 200, body
        assert body["job_id"] == job_id
        if body["status"] != "running":
            return body
        await asyncio.sleep(0.5)
    pytest.fail(f"job {job_id} still running after {POLL_ROUNDS} polls")


async def test_run_job_succeeds_with_a_record(
    call: Any, put_notebook: Any, jp_root_dir: Path
) -> None:
    put_notebook("work/tiny.ipynb")
    status, body = await call(
        "POST",
        "run",
        body={"path": "work/tiny.ipynb", "parameters": {"n_rows": 80}, "runs_dir": "my_runs"},
    )
    assert status == 202, body
    job = await finished_job(call, body["job_id"])
    assert job["kind"] == "run"
    assert job["status"] == "succeeded", job["message"]
    assert job["progress"]["total"] > 0
    assert job["progress"]["done"] == job["progress"]["total"]
    record = job["result"]
    assert record["parameters"]["n_rows"] == 80
    run_dirs = [path for path in (jp_root_dir / "my_runs").iterdir() if path.is_dir()]
    assert len(run_dirs) == 1
    assert (run_dirs[0] / "run.json").is_file()


async def test_failing_cell_fails_the_job_and_names_the_cell(
    call: Any, make_notebook: Any, jp_root_dir: Path
) -> None:
    notebook = make_notebook()
    train_index = next(
        index
        for index, cell in enumerate(notebook.cells)
        if "train" in cell.metadata.get("tags", [])
    )
    notebook.cells[train_index].source += "\nraise ValueError('labels are all one class')"
    nbformat.write(notebook, str(jp_root_dir / "broken.ipynb"))
    status, body = await call("POST", "run", body={"path": "broken.ipynb"})
    assert status == 202, body
    job = await finished_job(call, body["job_id"])
    assert job["status"] == "failed"
    assert f"cell {train_index + 1} (train)" in job["message"]
    assert "ValueError" in job["message"]
    assert str(jp_root_dir) not in job["message"]
    assert "see runs/" in job["message"]
    # The record of the failed run still comes back, for the UI to show.
    assert job["result"] is not None
    assert job["result"]["status"] == "failed"


async def test_verify_job_succeeds(call: Any, put_notebook: Any, jp_root_dir: Path) -> None:
    put_notebook("tiny.ipynb")
    status, body = await call("POST", "verify", body={"path": "tiny.ipynb", "rtol": 1e-9})
    assert status == 202, body
    job = await finished_job(call, body["job_id"])
    assert job["kind"] == "verify"
    assert job["status"] == "succeeded", job["message"]
    assert job["result"]["verify"]["ok"] is True
    # The verification's notebook run is kept next to the notebook, with its outcome.
    run_dir = jp_root_dir / job["result"]["run_dir"]
    assert run_dir.parent == jp_root_dir / "runs"
    assert (run_dir / "run.json").is_file() and (run_dir / "verify.json").is_file()
    assert (jp_root_dir / job["result"]["executed_notebook"]).is_file()
