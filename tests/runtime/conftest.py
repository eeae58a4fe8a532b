"""Fixtures: hand-written fake generated packages with the runtime files copied in.

``fixtures/fakepkg`` is a scikit-learn LogisticRegression on a DataFrame (churn);
``fixtures/fakearr`` is a linear scorer on an ndarray. Each is copied once per session into
a temporary ``src/`` together with the runtime files listed in ``runtime.FILES``, exactly as
the converter does, and put on ``sys.path`` (in-process tests) and ``PYTHONPATH``
(subprocess tests).
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType

import numpy as np
import pandas as pd
import pytest

from jupyter_mlprod import runtime

FIXTURES = Path(__file__).parent / "fixtures"
RUNTIME_DIR = Path(runtime.__file__).parent


def build_package(src: Path, name: str) -> Path:
    """Copy a fixture package and the runtime files into ``src/<name>``."""
    package = src / name
    shutil.copytree(FIXTURES / name, package, ignore=shutil.ignore_patterns("__pycache__"))
    for file_name in runtime.FILES:
        (package / file_name).write_text(runtime.read_file(file_name), encoding="utf-8")
    return package


def write_churn_csv(path: Path, n_rows: int = 240, seed: int = 7) -> pd.DataFrame:
    """A small churn table whose label depends on the features (so accuracy means something)."""
    rng = np.random.default_rng(seed)
    age = rng.integers(18, 80, n_rows)
    income = rng.normal(50_000, 15_000, n_rows).round(2)
    plan = rng.choice(["basic", "plus", "pro"], n_rows)
    logit = (age - 45) / 10 - (income - 50_000) / 20_000 + (plan == "basic") * 1.0
    churn = (rng.random(n_rows) < 1 / (1 + np.exp(-logit))).astype(int)
    frame = pd.DataFrame({"age": age, "income": income, "plan": plan, "churn": churn})
    path.parent.mkdir(parents=True, exist_ok=True)
    frame.to_csv(path, index=False)
    return frame


@dataclass
class Workspace:
    """A working directory with data, a model store and the packages on the path."""

    root: Path
    src: Path
    models: Path

    def env(self) -> dict[str, str]:
        """Environment for subprocesses: the packages importable, the store selected."""
        env = dict(os.environ)
        env["PYTHONPATH"] = os.pathsep.join([str(self.src), env.get("PYTHONPATH", "")]).rstrip(
            os.pathsep
        )
        env["MLPROD_MODEL_DIR"] = str(self.models)
        return env

    def run(
        self, *args: str, package: str = "fakepkg", check: bool = False
    ) -> subprocess.CompletedProcess[str]:
        """Run ``python -m <package> args`` in the workspace."""
        result = subprocess.run(
            [sys.executable, "-m", package, *args],
            cwd=self.root,
            env=self.env(),
            capture_output=True,
            text=True,
            timeout=300,
        )
        if check and result.returncode != 0:
            raise AssertionError(f"{args} failed:\n{result.stdout}\n{result.stderr}")
        return result


@pytest.fixture(scope="session")
def package_src(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """Both fake packages, built once, importable in-process."""
    src = tmp_path_factory.mktemp("packages") / "src"
    src.mkdir()
    build_package(src, "fakepkg")
    build_package(src, "fakearr")
    sys.path.insert(0, str(src))
    yield src
    sys.path.remove(str(src))


@pytest.fixture
def workspace(package_src: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Workspace:
    """A fresh working directory (cwd) with the churn data and an empty model store."""
    write_churn_csv(tmp_path / "data" / "churn.csv")
    models = tmp_path / "models"
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("MLPROD_MODEL_DIR", str(models))
    # Unsigned stores, as most tests use, without the warning that says so (test_signing.py).
    monkeypatch.setenv("MLPROD_UNSIGNED_OK", "1")
    for name in ("MLPROD_SIGNING_KEY", "MLPROD_SIGNING_KEY_FILE"):
        monkeypatch.delenv(name, raising=False)
    return Workspace(root=tmp_path, src=package_src, models=models)


@pytest.fixture
def fakepkg_cli(workspace: Workspace) -> ModuleType:
    """The fake churn package's ``cli`` module."""
    import fakepkg.cli

    return fakepkg.cli


@pytest.fixture
def fakearr_cli(workspace: Workspace) -> ModuleType:
    """The fake array package's ``cli`` module."""
    import fakearr.cli

    return fakearr.cli


def train(cli: ModuleType, capsys: pytest.CaptureFixture[str], *args: str) -> str:
    """Run ``train`` in-process; return the version it printed."""
    assert cli.main(["train", *args]) == 0
    return capsys.readouterr().out.strip().splitlines()[-1]


@pytest.fixture
def churn_store(
    fakepkg_cli: ModuleType, workspace: Workspace, capsys: pytest.CaptureFixture[str]
) -> Path:
    """A model store holding v1 of the fake churn package."""
    train(fakepkg_cli, capsys)
    return workspace.models


def wait_until_serving(process: subprocess.Popen[str], health_url: str) -> None:
    """Poll a server started as a child until it answers; fail with its output if it exits."""
    import httpx

    deadline = time.monotonic() + 120
    while True:
        try:
            if httpx.get(health_url).status_code == 200:
                return
        except httpx.TransportError:
            pass
        assert process.poll() is None, process.communicate()
        assert time.monotonic() < deadline, "server did not start"
        time.sleep(0.2)


def free_port() -> int:
    """A loopback port nobody listens on right now."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def stop(process: subprocess.Popen[str]) -> None:
    """Stop a server started by a test; kill it if it does not stop within 30 s."""
    process.terminate()
    try:
        process.communicate(timeout=30)
    except subprocess.TimeoutExpired:
        process.kill()
        process.communicate()
