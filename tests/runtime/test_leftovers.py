"""What a killed ``train`` or ``predict`` leaves behind is removed by the next run, and only
that: a leftover a live writer still holds, or one too fresh to tell, is kept."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType

import numpy as np
import pytest

from .conftest import build_package

HOUR_AGO = time.time() - 3600


def age(path: Path) -> None:
    """Make a leftover, and all it holds, look abandoned for an hour (its writer was killed
    long ago)."""
    for inside in path.rglob("*") if path.is_dir() else []:
        os.utime(inside, (HOUR_AGO, HOUR_AGO))
    os.utime(path, (HOUR_AGO, HOUR_AGO))


@pytest.fixture
def store_module(package_src: Path) -> ModuleType:
    import fakepkg.store

    return fakepkg.store


@pytest.fixture
def batch(package_src: Path) -> ModuleType:
    import fakepkg.batch

    return fakepkg.batch


@pytest.fixture
def locks(package_src: Path) -> ModuleType:
    import fakepkg.locks

    return fakepkg.locks


def staging_dirs(models: Path) -> list[Path]:
    return sorted(models.glob(".staging-*"))


def partial_files(directory: Path) -> list[Path]:
    return sorted(p for p in directory.iterdir() if p.name.startswith("."))


# ------------------------------------------------------------------ in process


def test_abandoned_staging_is_removed_and_live_or_fresh_staging_is_kept(
    store_module: ModuleType, locks: ModuleType, tmp_path: Path
) -> None:
    models = tmp_path / "models"
    models.mkdir()
    abandoned = models / ".staging-dead"
    (abandoned / "artifacts").mkdir(parents=True)
    (abandoned / "artifacts" / "model.joblib").write_bytes(b"half")
    (abandoned / ".lock").touch()
    age(abandoned)
    fresh = models / ".staging-fresh"  # unlocked, but created a moment ago
    fresh.mkdir()
    live = models / ".staging-live"  # old, but its train still holds the lock
    live.mkdir()
    busy = models / ".staging-busy"  # unlocked and old, but a file in it is being written
    (busy / "artifacts").mkdir(parents=True)
    age(busy)
    (busy / "artifacts" / "model.joblib").write_bytes(b"growing")
    alias_temp = models / ".aliases.json.x1y2"  # a promote killed mid-write
    alias_temp.write_text("{")
    age(alias_temp)
    with open(live / ".lock", "a+b") as holder:
        locks.acquire(holder.fileno())
        age(live)
        assert store_module.ModelStore(models).save({"value": 1}, {}) == "v1"
        assert staging_dirs(models) == [busy, fresh, live]
    assert not alias_temp.exists()
    assert not (models / "v1" / ".lock").exists()
    assert store_module.ModelStore(models).load("v1").artifacts == {"value": 1}


def test_a_version_never_keeps_its_staging_lock(store_module: ModuleType, tmp_path: Path) -> None:
    store = store_module.ModelStore(tmp_path / "models")
    store.save({"value": 1}, {})
    assert sorted(p.name for p in (tmp_path / "models" / "v1").iterdir()) == [
        "artifacts",
        "manifest.json",
    ]
    assert staging_dirs(tmp_path / "models") == []


def test_abandoned_partial_outputs_are_removed_by_the_next_write(
    batch: ModuleType, locks: ModuleType, tmp_path: Path
) -> None:
    abandoned = tmp_path / ".old.csv.mlprod-partial-0a1b2c3d.csv"
    abandoned.write_text("y\n1\n")
    age(abandoned)
    fresh = tmp_path / ".out.csv.mlprod-partial-11111111.csv"
    fresh.write_text("")
    live = tmp_path / ".out.csv.mlprod-partial-22222222.csv"
    live.write_text("")
    unrelated = tmp_path / ".out.csv.backup"
    unrelated.write_text("keep")
    age(unrelated)
    with open(live, "rb") as holder:
        locks.acquire(holder.fileno())
        age(live)
        batch.write_output(tmp_path / "out.csv", np.array([1, 2]), "y", 2)
    assert (tmp_path / "out.csv").read_text() == "y\n1\n2\n"
    assert partial_files(tmp_path) == [unrelated, fresh, live]


# ------------------------------------------------------------------ killed for real


@pytest.fixture(scope="module")
def stall_env(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, str]]:
    """``fakestall`` (an artifact or a prediction that stalls on request) on PYTHONPATH."""
    src = tmp_path_factory.mktemp("stallpkg") / "src"
    src.mkdir()
    build_package(src, "fakestall")
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([str(src), env.get("PYTHONPATH", "")]).rstrip(os.pathsep)
    env.pop("FAKESTALL_AT", None)
    yield env


def run_stall(
    root: Path, env: dict[str, str], *args: str, stall_at: str | None = None
) -> subprocess.CompletedProcess[str]:
    """Run ``python -m fakestall args``; with ``stall_at``, SIGKILL it once it stalls there."""
    command = [sys.executable, "-m", "fakestall", *args, "--model-dir", str(root / "models")]
    if stall_at is None:
        return subprocess.run(
            command, cwd=root, env=env, capture_output=True, text=True, timeout=300, check=True
        )
    marker = root / f"stalled-{stall_at}"
    stalling = {**env, "FAKESTALL_AT": stall_at, "FAKESTALL_MARKER": str(marker)}
    process = subprocess.Popen(
        command, cwd=root, env=stalling, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    deadline = time.monotonic() + 120
    while not marker.exists():
        assert process.poll() is None, process.communicate()
        assert time.monotonic() < deadline, "the package never reached its stall"
        time.sleep(0.05)
    process.send_signal(signal.SIGKILL)
    out, err = process.communicate(timeout=60)
    assert process.returncode == -signal.SIGKILL
    return subprocess.CompletedProcess(command, process.returncode, out, err)


@pytest.mark.slow
def test_train_killed_mid_save_leaves_staging_the_next_train_removes(
    stall_env: dict[str, str], tmp_path: Path
) -> None:
    models = tmp_path / "models"
    run_stall(tmp_path, stall_env, "train", stall_at="save")
    (left,) = staging_dirs(models)
    assert (left / "artifacts" / "weights.npy").is_file()  # killed with the save half done
    assert not list(models.glob("v*"))
    # Right after the kill the leftover is too fresh to tell from a train that just began.
    run_stall(tmp_path, stall_env, "train")
    assert staging_dirs(models) == [left]
    age(left)
    trained = run_stall(tmp_path, stall_env, "train")
    assert trained.stdout.strip() == "v2"
    assert staging_dirs(models) == []
    assert sorted(p.name for p in models.glob("v*")) == ["v1", "v2"]


@pytest.mark.slow
def test_predict_killed_mid_write_leaves_a_partial_file_the_next_predict_removes(
    stall_env: dict[str, str], tmp_path: Path
) -> None:
    run_stall(tmp_path, stall_env, "train")
    np.save(tmp_path / "in.npy", np.ones((5, 2)))
    out = tmp_path / "out"
    out.mkdir()
    (out / "keep.csv").write_text("x\n")
    predict = ("predict", "--input", str(tmp_path / "in.npy"), "--output", str(out / "p.csv"))
    run_stall(tmp_path, stall_env, *predict, stall_at="write")
    (left,) = partial_files(out)
    assert left.name.startswith(".p.csv.mlprod-partial-") and left.suffix == ".csv"
    assert not (out / "p.csv").exists()
    age(left)
    run_stall(tmp_path, stall_env, *predict)
    assert sorted(p.name for p in out.iterdir()) == ["keep.csv", "p.csv"]
    assert (out / "p.csv").read_text().splitlines() == ["scores", *["0.0"] * 5]
