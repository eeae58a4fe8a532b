"""``predict --engine dask``: the same predictions as the single-process ``predict``, on a real
LocalCluster of two worker processes, and the same one-line errors.

The fast tests cover what fails before a cluster starts (flags, paths, a missing extra); the
slow ones run the fake packages' CLI in-process against a shared two-process cluster, and a
converted example package installed in a fresh venv through its console script (which
starts its own LocalCluster, as a user's run does).
"""

from __future__ import annotations

import io
import os
import subprocess
import sys
import venv
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import numpy as np
import pandas as pd
import pytest
from subprocesses import run_ok

from .conftest import Workspace, train

EXAMPLES = Path(__file__).resolve().parents[2] / "example_notebooks"


def _split(frame: pd.DataFrame, directory: Path, pieces: int, suffix: str) -> list[Path]:
    """Write ``frame`` as ``pieces`` files named so that sorting keeps the row order."""
    directory.mkdir(parents=True, exist_ok=True)
    paths = []
    for number, part in enumerate(np.array_split(np.arange(len(frame)), pieces)):
        path = directory / f"in-{number:02d}{suffix}"
        chunk = frame.iloc[part]
        if suffix == ".csv":
            chunk.to_csv(path, index=False)
        else:
            chunk.to_parquet(path, index=False)
        paths.append(path)
    return paths


def _parts(directory: Path) -> list[Path]:
    return sorted(directory.iterdir())


def _read(path: Path) -> pd.DataFrame:
    return pd.read_csv(path) if path.suffix == ".csv" else pd.read_parquet(path)


def _concat(paths: list[Path]) -> pd.DataFrame:
    return pd.concat([_read(p) for p in paths], ignore_index=True)


def _error_lines(text: str) -> list[str]:
    return [line for line in text.splitlines() if line.strip()]


# --- before any cluster starts -------------------------------------------------------------


def test_missing_dask_names_the_install_command(
    fakepkg_cli: ModuleType,
    churn_store: Path,
    workspace: Workspace,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # None in sys.modules makes `import distributed` raise ImportError, as when not installed.
    monkeypatch.setitem(sys.modules, "distributed", None)
    code = fakepkg_cli.main(
        ["predict", "--engine", "dask", "--input", "data/churn.csv", "--output", "out"]
    )
    err = capsys.readouterr().err
    assert code == 1
    assert _error_lines(err) == [
        "fakepkg: error: predict --engine dask needs distributed, which is not installed; "
        "run: pip install 'fakepkg[dask]'"
    ]
    assert not (workspace.root / "out").exists()


@pytest.mark.parametrize("flag", [["--partitions", "2"], ["--scheduler", "tcp://127.0.0.1:1"]])
def test_dask_flags_need_the_dask_engine(
    fakepkg_cli: ModuleType, churn_store: Path, capsys: pytest.CaptureFixture[str], flag: list[str]
) -> None:
    with pytest.raises(SystemExit) as exited:
        fakepkg_cli.main(["predict", "--input", "data/churn.csv", "--output", "p.csv", *flag])
    assert exited.value.code == 2
    assert f"{flag[0]} needs --engine dask" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("setup", "input_arg", "expected"),
    [
        (None, "data/none-*.parquet", "fakepkg: error: data/none-*.parquet: no such file"),
        (None, "data/churn.json", "fakepkg: error: data/churn.json: no such file"),
        ("json", "data/*.json", "--engine dask reads .csv, .parquet, .pq files only"),
        ("full", "data/churn.csv", "output directory is not empty; remove it or name a new"),
        ("file", "data/churn.csv", "exists and is not a directory"),
    ],
)
def test_bad_paths_fail_with_one_line_before_a_cluster_starts(
    fakepkg_cli: ModuleType,
    churn_store: Path,
    workspace: Workspace,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    setup: str | None,
    input_arg: str,
    expected: str,
) -> None:
    import fakepkg.dask_engine

    def no_cluster(*args: Any) -> Any:
        raise AssertionError("a cluster was started")

    monkeypatch.setattr(fakepkg.dask_engine, "_client", no_cluster)
    out = workspace.root / "out"
    if setup == "json":
        (workspace.root / "data" / "x.json").write_text("[]", encoding="utf-8")
    elif setup == "full":
        out.mkdir()
        (out / "keep.txt").write_text("mine", encoding="utf-8")
    elif setup == "file":
        out.write_text("mine", encoding="utf-8")
    code = fakepkg_cli.main(
        ["predict", "--engine", "dask", "--input", input_arg, "--output", str(out)]
    )
    lines = _error_lines(capsys.readouterr().err)
    assert code == 1
    assert len(lines) == 1 and expected in lines[0], lines
    if setup == "full":
        assert [p.name for p in out.iterdir()] == ["keep.txt"]


# --- on a real LocalCluster with two worker processes --------------------------------------


@pytest.fixture(scope="module")
def scheduler(package_src: Path) -> Iterator[str]:
    """A LocalCluster of two worker processes; they see the fake packages (spawned with this
    process's sys.path) and accept unsigned stores, as the tests' workspace does."""
    from distributed import LocalCluster

    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("MLPROD_UNSIGNED_OK", "1")
        patch.setenv("PYTHONPATH", os.pathsep.join([str(package_src), *sys.path]))
        with LocalCluster(
            n_workers=2, threads_per_worker=1, processes=True, dashboard_address=":0"
        ) as cluster:
            assert len(cluster.workers) == 2
            yield str(cluster.scheduler_address)


class _Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def _features(workspace: Workspace) -> pd.DataFrame:
    return pd.read_csv(workspace.root / "data" / "churn.csv").drop(columns=["churn"])


@pytest.mark.slow
def test_parquet_glob_gives_the_single_process_bytes(
    fakepkg_cli: ModuleType,
    churn_store: Path,
    workspace: Workspace,
    scheduler: str,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    features = _features(workspace)
    features.to_csv("all.csv", index=False)
    _split(features, workspace.root / "parts", 3, ".parquet")
    assert fakepkg_cli.main(["predict", "--input", "all.csv", "--output", "single.csv"]) == 0
    capsys.readouterr()

    terminal = _Terminal()
    monkeypatch.setattr(sys, "stderr", terminal)
    args = ["--input", "parts/*.parquet", "--output", "out", "--output-format", "csv"]
    code = fakepkg_cli.main(["predict", "--engine", "dask", "--scheduler", scheduler, *args])
    assert code == 0, terminal.getvalue()
    shown = terminal.getvalue()
    assert "predict 3/3 partitions (100%)" in shown
    assert f"{len(features)} predictions from v1 written to out (3 part files)" in shown

    parts = _parts(workspace.root / "out")
    assert [p.name for p in parts] == ["part-00000.csv", "part-00001.csv", "part-00002.csv"]
    single = (workspace.root / "single.csv").read_bytes()
    header, _, _ = single.partition(b"\n")
    bodies = [p.read_bytes().partition(b"\n") for p in parts]
    assert all(head == header for head, _, _ in bodies)
    assert header + b"\n" + b"".join(body for _, _, body in bodies) == single
    # Nothing left beside the output: the staging directory was renamed.
    assert not [p for p in workspace.root.iterdir() if p.name.startswith(".out")]


@pytest.mark.slow
def test_single_csv_repartitioned_to_parquet_parts(
    fakepkg_cli: ModuleType,
    churn_store: Path,
    workspace: Workspace,
    scheduler: str,
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert fakepkg_cli.main(["predict", "--input", "data/churn.csv", "--output", "s.parquet"]) == 0
    args = ["--input", "data/churn.csv", "--output", "out", "--partitions", "4", "--quiet"]
    code = fakepkg_cli.main(
        ["predict", "--engine", "dask", "--scheduler", scheduler, "--output-format", "parquet"]
        + args
    )
    err = capsys.readouterr().err
    assert code == 0, err
    # --quiet (and no terminal): the summary line only.
    assert _error_lines(err)[-1] == "240 predictions from v1 written to out (4 part files)"
    parts = _parts(workspace.root / "out")
    assert [p.suffix for p in parts] == [".parquet"] * 4
    pd.testing.assert_frame_equal(_concat(parts), pd.read_parquet("s.parquet"))


@pytest.mark.slow
@pytest.mark.parametrize("suffix", [".csv", ".parquet"])
def test_array_model_floats_match_within_1e_12(
    fakearr_cli: ModuleType,
    workspace: Workspace,
    scheduler: str,
    capsys: pytest.CaptureFixture[str],
    suffix: str,
) -> None:
    train(fakearr_cli, capsys)
    rows = np.random.default_rng(3).normal(size=(300, 4))
    frame = pd.DataFrame(rows, columns=[f"x{i}" for i in range(4)])
    whole = workspace.root / f"whole{suffix}"
    if suffix == ".csv":
        frame.to_csv(whole, index=False)
    else:
        frame.to_parquet(whole, index=False)
    _split(frame, workspace.root / "parts", 2, suffix)
    single = workspace.root / f"single{suffix}"
    assert fakearr_cli.main(["predict", "--input", str(whole), "--output", str(single)]) == 0
    code = fakearr_cli.main(
        ["predict", "--engine", "dask", "--scheduler", scheduler]
        + ["--input", f"parts/*{suffix}", "--output", "out"]
    )
    assert code == 0, capsys.readouterr().err
    got = _concat(_parts(workspace.root / "out"))
    expected = _read(single)
    assert list(got.columns) == list(expected.columns)
    np.testing.assert_allclose(got.to_numpy(), expected.to_numpy(), rtol=1e-12, atol=0)


@pytest.mark.slow
def test_a_bad_partition_gives_the_single_process_line_and_no_output(
    fakepkg_cli: ModuleType,
    churn_store: Path,
    workspace: Workspace,
    scheduler: str,
    capsys: pytest.CaptureFixture[str],
) -> None:
    paths = _split(_features(workspace), workspace.root / "parts", 3, ".parquet")
    broken = pd.read_parquet(paths[1])
    broken["age"] = "old"
    broken.to_parquet(paths[1], index=False)
    assert fakepkg_cli.main(["predict", "--input", str(paths[1]), "--output", "p.csv"]) == 1
    single_line = _error_lines(capsys.readouterr().err)
    assert len(single_line) == 1

    code = fakepkg_cli.main(
        ["predict", "--engine", "dask", "--scheduler", scheduler]
        + ["--input", str(workspace.root / "parts" / "*.parquet"), "--output", "out"]
    )
    assert code == 1
    assert _error_lines(capsys.readouterr().err) == single_line
    assert not (workspace.root / "out").exists()
    assert not [p for p in workspace.root.iterdir() if p.name.startswith(".out")]


# --- a converted example, installed, through its console script ----------------------------


def _venv_python(root: Path) -> Path:
    venv.EnvBuilder(system_site_packages=True, with_pip=False, clear=True).create(root)
    return root / ("Scripts/python.exe" if os.name == "nt" else "bin/python")


@pytest.mark.slow
def test_installed_package_console_script_on_its_own_local_cluster(tmp_path: Path) -> None:
    from jupyter_mlprod.cli import main as nb2prod

    package_dir = tmp_path / "package"
    assert nb2prod(["convert", str(EXAMPLES / "churn.ipynb"), "-o", str(package_dir)]) == 0
    python = _venv_python(tmp_path / "venv")
    run_ok(
        [str(python), "-m", "pip", "install", "--quiet", "--no-deps", "--no-index"]
        + ["--no-build-isolation", str(package_dir)],
        cwd=tmp_path,
    )
    script = python.parent / "churn-model"
    env = {**os.environ, "MLPROD_MODEL_DIR": str(tmp_path / "models"), "MLPROD_UNSIGNED_OK": "1"}
    env.pop("PYTHONPATH", None)
    run_ok([str(script), "train"], cwd=EXAMPLES, env=env)

    features = pd.read_csv(EXAMPLES / "data" / "churn.csv").drop(columns=["churn"])
    features.to_csv(tmp_path / "all.csv", index=False)
    _split(features, tmp_path / "data", 4, ".parquet")
    run_ok([str(script), "predict", "--input", "all.csv", "--output", "single.csv"], tmp_path, env)
    # No --scheduler: the console script starts a LocalCluster sized to the machine.
    done = subprocess.run(
        [str(script), "predict", "--engine", "dask", "--input", "data/*.parquet"]
        + ["--output", "out", "--output-format", "csv"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    # Not a terminal: no progress, no Dask log lines, just the summary.
    assert _error_lines(done.stderr) == [
        f"{len(features)} predictions from v1 written to out (4 part files)"
    ]
    got = _concat(_parts(tmp_path / "out"))
    expected = pd.read_csv(tmp_path / "single.csv")
    pd.testing.assert_frame_equal(got, expected)


def test_the_partial_output_is_removed_even_when_a_running_write_adds_a_part_meanwhile(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A worker still writing after a failure can add a part between rmtree's listing and
    its rmdir (one run in four of the five-partition failure test); the removal repeats."""
    from jupyter_mlprod.runtime import dask_engine

    staging = tmp_path / ".out.mlprod-partial-x"
    staging.mkdir()
    (staging / "part-00000.csv").write_text("y_pred\n1\n", encoding="utf-8")
    real_rmtree = dask_engine.shutil.rmtree
    calls = []

    def rmtree_racing_a_writer(path: Path, ignore_errors: bool = False) -> None:
        calls.append(path)
        real_rmtree(path, ignore_errors=ignore_errors)
        if len(calls) == 1:  # the late write lands as the first removal ends
            Path(path).mkdir()
            (Path(path) / "part-00003.csv").write_text("y_pred\n0\n", encoding="utf-8")

    monkeypatch.setattr(dask_engine.shutil, "rmtree", rmtree_racing_a_writer)
    dask_engine.remove_staging(staging)
    assert not staging.exists()
    assert len(calls) == 2
    # Once it has become the output (os.replace), removing the staging path is a no-op.
    dask_engine.remove_staging(staging)
    assert list(tmp_path.iterdir()) == []
