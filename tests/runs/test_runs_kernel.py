"""``nb2prod run``, ``rerun`` and ``runs list`` against a real python3 kernel."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import nbformat
import pytest
from runs_helpers import tagged, write_notebook
from subprocesses import git as run_git

from jupyter_mlprod.errors import ExecutionError
from jupyter_mlprod.runs.execute import run_notebook
from jupyter_mlprod.runtime.provenance import sha256_file

pytestmark = pytest.mark.slow


def _only_run_dir(runs_dir: Path) -> Path:
    (run_dir,) = [child for child in runs_dir.iterdir() if child.is_dir()]
    return run_dir


def _record(run_dir: Path) -> dict:
    return json.loads((run_dir / "run.json").read_text())


def test_run_writes_the_executed_notebook_and_a_full_record(toy_notebook: Path, cli) -> None:  # noqa: ANN001
    runs_dir = toy_notebook.parent / "runs"
    result = cli("run", toy_notebook, "-p", "scale", "3", "-o", runs_dir)
    assert result.code == 0, result.err
    run_dir = _only_run_dir(runs_dir)
    assert "succeeded in" in result.out and str(run_dir) in result.out
    record = _record(run_dir)
    assert record["run_id"] == run_dir.name
    assert record["status"] == "succeeded" and record["error"] is None
    assert record["parameters"] == {"scale": 3.0}
    assert record["notebook"]["sha256"] == sha256_file(toy_notebook)
    assert record["input_files"] == [
        {"path": "data.csv", "sha256": sha256_file(toy_notebook.parent / "data.csv")}
    ]
    # One timing per code cell, with the original notebook's indices (cell 0 is markdown).
    timed = [(cell["index"], cell["role"]) for cell in record["cells"] if not cell["injected"]]
    assert timed == [(1, "parameters"), (2, "load"), (3, "train"), (4, "predict")]
    assert all(isinstance(cell["duration"], float) for cell in record["cells"])
    assert record["start"] < record["end"]
    assert record["kernel"]["name"] == "python3"
    assert record["kernel"]["python"].count(".") == 2
    assert "ipykernel" in {name.lower() for name in record["packages"]}
    assert record["predict"]["output"]["name"] == "y_pred"
    assert len(record["predict"]["output"]["sha256"]) == 64
    # The executed notebook has papermill's injected cell and none of ours.
    executed = nbformat.read(run_dir / record["executed_notebook"], as_version=4)
    tags = [cell.metadata.get("tags", []) for cell in executed.cells]
    assert ["injected-parameters"] in tags
    assert not any("mlprod-hidden" in cell_tags for cell_tags in tags)
    assert "scale = 3.0" in executed.cells[2].source.splitlines()
    assert (run_dir / "stdout.txt").exists() and (run_dir / "stderr.txt").exists()


@pytest.mark.parametrize(
    ("declaration", "given", "shown"),
    [
        ("lr: float = 0.1", "1", "1.0 float"),
        ("layers = [64]", "[3,4]", "[3, 4] list"),
        ("name = 'x'", "7", "'7' str"),
        ("flag: bool = False", "yes", "True bool"),
        # The package's `train --param` rules (runtime/param_types.py): y/n, comma lists.
        ("flag: bool = False", "y", "True bool"),
        ("words: list[str] = ['x']", "age,income", "['age', 'income'] list"),
        ("limit: int | None = 3", "none", "None NoneType"),
    ],
)
def test_values_reach_the_kernel_typed(
    tmp_path: Path, declaration: str, given: str, shown: str
) -> None:
    name = declaration.split(":")[0].split("=")[0].strip()
    notebook = write_notebook(
        tmp_path / "typed.ipynb",
        [tagged(declaration, "parameters"), tagged(f"print(repr({name}), type({name}).__name__)")],
    )
    record = run_notebook(notebook, {name: given}, tmp_path / "runs")
    stdout = (Path(record["run_dir"]) / "stdout.txt").read_text()
    assert stdout.strip() == shown


def test_yaml_values_are_checked_and_typed(tmp_path: Path, cli) -> None:  # noqa: ANN001
    notebook = write_notebook(
        tmp_path / "y.ipynb",
        [tagged("lr: float = 0.1\nname = 'a'", "parameters"), tagged("print(repr(lr), name)")],
    )
    good = tmp_path / "good.yaml"
    good.write_text("lr: 2\nname: b\n")
    result = cli("run", notebook, "-f", good, "-p", "name", "c", "-o", tmp_path / "runs")
    assert result.code == 0, result.err
    run_dir = _only_run_dir(tmp_path / "runs")
    assert (run_dir / "stdout.txt").read_text().strip() == "2.0 c"
    bad = tmp_path / "bad.yaml"
    bad.write_text("name: 7\n")
    refused = cli("run", notebook, "-f", bad, "-o", tmp_path / "other")
    assert refused.code == 2
    assert "'name' expects str" in refused.err
    assert not (tmp_path / "other").exists()


def test_a_seeded_run_records_what_the_kernel_seeded(tmp_path: Path) -> None:
    import os
    import random

    from jupyter_mlprod.runs.execute import execute_run

    notebook = write_notebook(
        tmp_path / "seeded.ipynb",
        [tagged("import os, random\nprint(random.random(), os.environ['PYTHONHASHSEED'])")],
    )
    record = execute_run(notebook, {}, tmp_path / "runs", seed=5)
    assert record["seed"] == 5
    assert record["kernel"]["seeded"][:2] == ["random", "numpy"]
    random.seed(5)
    # setdefault, as seed_everything does: a hash seed the kernel inherited stays.
    expected = f"{random.random()} {os.environ.get('PYTHONHASHSEED', '5')}"
    assert (Path(record["run_dir"]) / "stdout.txt").read_text().strip() == expected


def test_failing_train_cell_exits_1_with_one_line_and_keeps_the_record(
    tmp_path: Path,
    cli,  # noqa: ANN001
) -> None:
    (tmp_path / "data.csv").write_text("a\n1\n")
    notebook = write_notebook(
        tmp_path / "fail.ipynb",
        [
            tagged("steps = 3", "parameters"),
            tagged("import pandas as pd\nframe = pd.read_csv('data.csv')", "load"),
            tagged(
                "loss = float('nan')\nraise ValueError(f'loss diverged after {steps}\\nsteps')",
                "train",
            ),
            tagged("prediction = 1", "predict"),
        ],
    )
    runs_dir = tmp_path / "runs"
    result = cli("run", notebook, "-p", "steps", "5", "-o", runs_dir)
    assert result.code == 1
    run_dir = _only_run_dir(runs_dir)
    executed = run_dir / "fail.ipynb"
    assert result.err.strip() == (
        f"nb2prod: error: cell 4 (train): ValueError: loss diverged after 5 steps — see {executed}"
    )
    record = _record(run_dir)
    assert record["status"] == "failed"
    assert record["error"]["cell_index"] == 3 and record["error"]["role"] == "train"
    assert record["error"]["ename"] == "ValueError"
    statuses = {cell["index"]: cell["status"] for cell in record["cells"]}
    assert statuses[3] == "failed" and statuses[4] == "pending"
    assert executed.exists()


def test_run_notebook_api_reports_progress_and_raises_after_recording(tmp_path: Path) -> None:
    notebook = write_notebook(
        tmp_path / "p.ipynb",
        [tagged("n = 1", "parameters"), tagged("x = n + 1"), tagged("1 / (n - 1)", "predict")],
    )
    seen: list[tuple[int, int]] = []
    with pytest.raises(ExecutionError) as caught:
        run_notebook(notebook, {"n": "1"}, tmp_path / "runs", on_cell=lambda *a: seen.append(a))
    error = caught.value
    assert (error.cell_index, error.role, error.ename) == (3, "predict", "ZeroDivisionError")
    assert seen[0] == (0, 4) and seen[-1] == (4, 4)
    assert [done for done, _ in seen] == sorted(done for done, _ in seen)
    assert _record(Path(error.executed_path).parent)["status"] == "failed"


def test_cell_timeout_fails_the_run(tmp_path: Path) -> None:
    notebook = write_notebook(tmp_path / "slow.ipynb", [tagged("import time\ntime.sleep(30)")])
    with pytest.raises(ExecutionError) as caught:
        run_notebook(notebook, {}, tmp_path / "runs", timeout=2)
    assert caught.value.cell_index == 1
    assert "Timeout" in caught.value.ename or "timed out" in caught.value.evalue.lower()


@pytest.mark.skipif(shutil.which("git") is None, reason="git is not installed")
def test_record_holds_git_commit_and_dirty_flag(toy_notebook: Path) -> None:
    repo = toy_notebook.parent

    def git(*args: str) -> str:
        return run_git(repo, *args)

    git("init", "-q")
    git("add", "toy.ipynb", "data.csv")
    git("commit", "-q", "-m", "init")
    clean = run_notebook(toy_notebook, {}, repo / "runs")
    assert clean["git"] == {"commit": git("rev-parse", "HEAD"), "dirty": False}
    (repo / "data.csv").write_text("a,b\n1,1\n")
    assert run_notebook(toy_notebook, {}, repo / "runs")["git"]["dirty"] is True


@pytest.mark.skipif(shutil.which("git") is None, reason="git is not installed")
def test_record_counts_untracked_files_as_dirty_but_not_its_own_runs(toy_notebook: Path) -> None:
    repo = toy_notebook.parent
    for args in (["init", "-q"], ["add", "toy.ipynb", "data.csv"], ["commit", "-qm", "init"]):
        subprocess.run(
            ["git", "-c", "user.name=t", "-c", "user.email=t@t", *args], cwd=repo, check=True
        )
    # An earlier run's directory is untracked too, but it is this tool's own output.
    (repo / "runs" / "earlier").mkdir(parents=True)
    (repo / "runs" / "earlier" / "run.json").write_text("{}")
    assert run_notebook(toy_notebook, {}, repo / "runs")["git"]["dirty"] is False
    (repo / "helper.py").write_text("SCALE = 2\n")
    assert run_notebook(toy_notebook, {}, repo / "runs")["git"]["dirty"] is True


def test_rerun_is_identical_then_warns_and_differs_after_the_csv_changed(
    toy_notebook: Path,
    cli,  # noqa: ANN001
) -> None:
    runs_dir = toy_notebook.parent / "runs"
    first = run_notebook(toy_notebook, {"scale": "0.5"}, runs_dir)
    same = cli("rerun", first["run_dir"])
    assert same.code == 0, same.err
    assert f"predict output: identical to run {first['run_id']}" in same.out
    assert "warning" not in same.err

    (toy_notebook.parent / "data.csv").write_text("a,b\n1,10\n2,20\n4,30\n")
    changed = cli("rerun", first["run_dir"])
    assert changed.code == 0, changed.err
    assert f"input file data.csv changed since run {first['run_id']}" in changed.err
    assert f"predict output: DIFFERS from run {first['run_id']}" in changed.out

    records = sorted(runs_dir.iterdir())
    assert len(records) == 3
    newest = _record(records[-1])
    assert newest["parameters"] == {"scale": 0.5}
    assert newest["rerun"] == {
        "of": first["run_id"],
        "notebook_changed": False,
        "changed_inputs": ["data.csv"],
        "predict_output_identical": False,
    }
    listing = cli("runs", "list", runs_dir)
    ids = [line.split()[0] for line in listing.out.splitlines()[1:]]
    assert ids == sorted(ids, reverse=True) and ids[-1] == first["run_id"]


def test_rerun_warns_when_the_notebook_changed(toy_notebook: Path, cli) -> None:  # noqa: ANN001
    first = run_notebook(toy_notebook, {}, toy_notebook.parent / "runs")
    nb = nbformat.read(toy_notebook, as_version=4)
    nb.cells.append(nbformat.v4.new_markdown_cell("a note"))
    nbformat.write(nb, toy_notebook)
    result = cli("rerun", first["run_dir"])
    assert result.code == 0
    assert "toy.ipynb changed since run" in result.err
    assert "identical" in result.out


def test_rerun_of_a_directory_without_record(tmp_path: Path, cli) -> None:  # noqa: ANN001
    result = cli("rerun", tmp_path)
    assert result.code == 1
    assert "not a run directory" in result.err


def test_unknown_kernel_is_one_line_and_still_recorded(toy_notebook: Path, cli) -> None:  # noqa: ANN001
    runs_dir = toy_notebook.parent / "runs"
    result = cli("run", toy_notebook, "--kernel", "no-such-kernel", "-o", runs_dir)
    assert result.code == 1
    assert result.err.startswith("nb2prod: error: ") and len(result.err.strip().splitlines()) == 1
    assert "could not run kernel 'no-such-kernel'" in result.err
    record = _record(_only_run_dir(runs_dir))
    assert record["status"] == "failed" and record["error"]["cell_index"] is None


def test_log_output_streams_cell_output(tmp_path: Path, cli) -> None:  # noqa: ANN001
    notebook = write_notebook(tmp_path / "log.ipynb", [tagged("print('hello from the kernel')")])
    quiet = cli("run", notebook, "-o", tmp_path / "runs")
    assert quiet.code == 0 and "hello from the kernel" not in quiet.out
    loud = cli("run", notebook, "--log-output", "-o", tmp_path / "runs")
    assert loud.code == 0 and "hello from the kernel" in loud.out


def test_notebooks_of_other_languages_run_without_our_python_cells(tmp_path: Path) -> None:
    notebook = write_notebook(
        tmp_path / "other.ipynb",
        [tagged("x = 1", "parameters"), tagged("y = x + 1", "predict")],
        mlprod={"predict_input": "x", "predict_output": "y"},
    )
    nb = nbformat.read(notebook, as_version=4)
    # A kernelspec that claims another language (an R notebook would say "R").
    nb.metadata["kernelspec"]["language"] = "R"
    nbformat.write(nb, notebook)
    record = run_notebook(notebook, {"x": "2"}, tmp_path / "runs")
    assert record["status"] == "succeeded"
    assert record["predict"] is None and "executable" not in record["kernel"]
    assert [cell["index"] for cell in record["cells"]] == [1, 1, 2]
