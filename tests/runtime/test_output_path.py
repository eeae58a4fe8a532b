"""``predict --output``: a target that cannot be written is one line before any work is done,
and predictions and store files are written with the permissions the umask gives (not
mkstemp's 0600)."""

from __future__ import annotations

import os
import stat
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType

import numpy as np
import pandas as pd
import pytest

from .conftest import Workspace, train


def inputs(workspace: Workspace, n: int = 5) -> pd.DataFrame:
    frame = pd.read_csv(workspace.root / "data" / "churn.csv").drop(columns=["churn"])
    return frame.head(n)


@pytest.fixture
def trained(
    fakepkg_cli: ModuleType, workspace: Workspace, capsys: pytest.CaptureFixture[str]
) -> ModuleType:
    train(fakepkg_cli, capsys)
    inputs(workspace).to_csv("in.csv", index=False)
    Path("existing.csv").mkdir()
    Path("plain_file").write_text("not a directory")
    return fakepkg_cli


@pytest.mark.parametrize(
    ("output", "message"),
    [
        ("existing.csv", "existing.csv: is a directory; name the output file"),
        (".", ".: is a directory; name the output file"),
        ("plain_file/out.csv", "plain_file: is not a directory, so it cannot hold out.csv"),
        ("missing_dir/out.csv", "missing_dir: output directory does not exist"),
        ("/proc/out.csv", "/proc/out.csv: cannot write to /proc"),
        ("out.txt", "out.txt: unsupported output format"),
    ],
)
def test_an_output_that_cannot_be_written_is_one_line_and_no_work(
    trained: ModuleType,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    output: str,
    message: str,
) -> None:
    import fakepkg.store

    def no_loading(*args: object) -> None:
        raise AssertionError("the model was loaded before the output was checked")

    monkeypatch.setattr(fakepkg.store.ModelStore, "load", no_loading)
    before = sorted(p.name for p in Path.cwd().iterdir())
    assert trained.main(["predict", "--input", "in.csv", "--output", output]) == 1
    err = capsys.readouterr().err
    assert err.startswith(f"fakepkg: error: {message}"), err
    assert len(err.strip().splitlines()) == 1
    assert sorted(p.name for p in Path.cwd().iterdir()) == before


def test_a_failure_after_the_output_is_reserved_leaves_nothing(
    trained: ModuleType, capsys: pytest.CaptureFixture[str]
) -> None:
    Path("in.csv").write_text("age,income\n1,2\n")  # the plan column is missing
    before = sorted(p.name for p in Path.cwd().iterdir())
    assert trained.main(["predict", "--input", "in.csv", "--output", "out.csv"]) == 1
    assert "plan" in capsys.readouterr().err
    assert sorted(p.name for p in Path.cwd().iterdir()) == before


@pytest.fixture
def umask() -> Iterator[None]:
    previous = os.umask(0o027)
    try:
        yield
    finally:
        os.umask(previous)


@pytest.mark.parametrize("suffix", [".csv", ".json", ".parquet", ".npy"])
@pytest.mark.usefixtures("umask")
def test_predictions_get_the_permissions_of_the_umask(
    batch_module: ModuleType, tmp_path: Path, suffix: str
) -> None:
    written = batch_module.write_output(tmp_path / f"out{suffix}", np.array([1, 2]), "y", 2)
    assert stat.S_IMODE(written.stat().st_mode) == 0o640


def test_the_umask_decides_in_the_cli_too(
    trained: ModuleType, capsys: pytest.CaptureFixture[str]
) -> None:
    previous = os.umask(0o022)
    try:
        assert trained.main(["predict", "--input", "in.csv", "--output", "out.csv"]) == 0
    finally:
        os.umask(previous)
    assert stat.S_IMODE(Path("out.csv").stat().st_mode) == 0o644


@pytest.mark.usefixtures("umask")
def test_store_files_get_the_permissions_of_the_umask(package_src: Path, tmp_path: Path) -> None:
    import fakepkg.store

    store = fakepkg.store.ModelStore(tmp_path / "models")
    store.save({"value": 1}, {})
    store.promote("v1")
    for written in ("v1/manifest.json", "aliases.json", "v1/artifacts/value.json"):
        assert stat.S_IMODE((tmp_path / "models" / written).stat().st_mode) == 0o640, written


@pytest.fixture
def batch_module(package_src: Path) -> ModuleType:
    import fakepkg.batch

    return fakepkg.batch
