"""Where runs and verifications leave their folders, and the phases verify reports.

Real kernel, real converter, the package's own CLI; the folders are read back from disk.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from jupyter_mlprod.runs.verify import PHASES, VerifyFailure, verify_notebook

pytestmark = pytest.mark.slow


def only_child(directory: Path) -> Path:
    (child,) = [path for path in directory.iterdir() if path.is_dir()]
    return child


def test_verify_keeps_its_run_next_to_the_notebook_with_its_outcome(toy_notebook: Path) -> None:
    phases: list[str] = []
    result = verify_notebook(toy_notebook, on_phase=phases.append)
    assert result.ok
    assert phases == list(PHASES)
    run_dir = only_child(toy_notebook.parent / "runs")
    assert Path(result.run_dir) == run_dir
    record = json.loads((run_dir / "run.json").read_text())
    assert record["kind"] == "verify" and record["status"] == "succeeded"
    outcome = json.loads((run_dir / "verify.json").read_text())
    assert outcome["ok"] is True and outcome["rows"] == 3
    assert (run_dir / str(result.executed_notebook)).is_file()
    # The package and its store were scratch: nothing else was left beside the notebook.
    assert sorted(p.name for p in toy_notebook.parent.iterdir()) == [
        "data.csv",
        "runs",
        "toy.ipynb",
    ]


def test_a_package_failure_points_at_a_run_folder_that_exists(
    toy_notebook: Path, tmp_path: Path
) -> None:
    runs = tmp_path / "elsewhere"
    with pytest.raises(VerifyFailure) as raised:
        verify_notebook(toy_notebook, runs_dir=runs, python=sys.executable + "-missing")
    run_dir = raised.value.run_dir
    assert run_dir.parent == runs and run_dir.is_dir()
    assert str(run_dir) in str(raised.value)
    outcome = json.loads((run_dir / "verify.json").read_text())
    assert outcome["ok"] is False and "could not run" in outcome["message"]


def test_cli_run_and_verify_default_to_runs_next_to_the_notebook(
    toy_notebook: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    cli,  # noqa: ANN001
) -> None:
    elsewhere = tmp_path / "cwd"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    assert cli("run", toy_notebook).code == 0
    done = subprocess.run(
        [str(Path(sys.executable).with_name("nb2prod")), "verify", str(toy_notebook)],
        capture_output=True,
        text=True,
        check=False,
        cwd=elsewhere,
    )
    assert done.returncode == 0, done.stderr
    runs = toy_notebook.parent / "runs"
    kinds = sorted(
        json.loads((run / "run.json").read_text()).get("kind", "run") for run in runs.iterdir()
    )
    assert kinds == ["run", "verify"]
    assert str(runs) in done.stdout
    assert list(elsewhere.iterdir()) == []
