"""Issue 11's faults on a package really converted from a notebook: the notebook's code failing
inside ``train``, an output path that cannot be written and a damaged store are each one line
from the package's own command line (a subprocess), never a traceback."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from notebooks import code, notebook, write

from jupyter_mlprod.cli import main

PARAMETERS = "data_path = 'data.csv'\ntest_size = 0.25\nC = 1.0"
LOAD = (
    "import pandas as pd\n"
    "from sklearn.model_selection import train_test_split\n"
    "frame = pd.read_csv(data_path)\n"
    "X_train, X_test, y_train, y_test = train_test_split(\n"
    "    frame[['a', 'b']], frame['y'], test_size=test_size, random_state=0\n"
    ")"
)
TRAIN = (
    "from sklearn.linear_model import LogisticRegression\n"
    "model = LogisticRegression(C=C).fit(X_train, y_train)"
)
PREDICT = "y_pred = model.predict(X_test)"


@pytest.fixture(scope="module")
def package(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The converted package's directory, with ``data.csv`` beside it."""
    root = tmp_path_factory.mktemp("faults")
    rows = ["a,b,y"] + [f"{i},{i % 7},{int(i + i % 7 > 22)}" for i in range(40)]
    (root / "data.csv").write_text("\n".join(rows) + "\n")
    nb = notebook(
        code(PARAMETERS, "parameters"),
        code(LOAD, "load"),
        code(TRAIN, "train"),
        code(PREDICT, "predict"),
    )
    path = write(nb, root / "faults.ipynb")
    out = root / "package"
    assert main(["convert", str(path), "-o", str(out), "--name", "faults_model"]) == 0
    return out


def run(package: Path, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    environment = dict(os.environ)
    environment.pop("MLPROD_DEBUG", None)
    environment.update(env)
    environment["PYTHONPATH"] = str(package / "src")
    environment["MLPROD_MODEL_DIR"] = str(package.parent / "models")
    return subprocess.run(
        [sys.executable, "-m", "faults_model", *args],
        cwd=package.parent,
        env=environment,
        capture_output=True,
        text=True,
        timeout=300,
    )


def one_line(result: subprocess.CompletedProcess[str]) -> str:
    assert result.returncode == 1, result
    assert "Traceback" not in result.stderr
    # Warnings (an unsigned store) may precede it; the failure itself is one line.
    lines = [line for line in result.stderr.splitlines() if ": warning: " not in line]
    assert len(lines) == 1, result.stderr
    return lines[0]


@pytest.mark.slow
def test_a_converted_package_reports_faults_in_one_line(package: Path) -> None:
    root = package.parent
    for param, expected in (
        ("data_path=/nonexistent.csv", "data_path='/nonexistent.csv': FileNotFoundError"),
        ("test_size=2.0", "test_size=2.0: InvalidParameterError"),
        ("C=nan", "C=nan: InvalidParameterError"),
    ):
        line = one_line(run(package, "train", "--param", param))
        assert line.startswith(f"faults-model: error: pipeline.run() failed with {expected}")
        assert line.endswith("set MLPROD_DEBUG=1 for the traceback")
    debugged = run(package, "train", "--param", "C=nan", MLPROD_DEBUG="1")
    assert debugged.returncode == 1 and "Traceback" in debugged.stderr
    assert not (root / "models").exists() or not list((root / "models").glob("v*"))

    assert run(package, "train").returncode == 0
    assert run(package, "train").returncode == 0
    (root / "in.csv").write_text("a,b\n1,2\n30,5\n")
    (root / "taken.csv").mkdir()
    line = one_line(run(package, "predict", "--input", "in.csv", "--output", "taken.csv"))
    assert line.startswith("faults-model: error: taken.csv: is a directory")
    line = one_line(run(package, "predict", "--input", "in.csv", "--output", "/proc/p.csv"))
    assert line.startswith("faults-model: error: /proc/p.csv: cannot write to /proc")

    shutil.rmtree(root / "models" / "v2")
    (root / "models" / "v2").mkdir()
    listed = run(package, "models", "list")
    assert listed.returncode == 0 and "Traceback" not in listed.stderr
    assert "faults-model: warning: " in listed.stderr
    assert "v2/manifest.json: manifest is missing" in listed.stderr
    assert "BROKEN" in listed.stdout and "accuracy" not in listed.stdout.split("v2")[-1]
    line = one_line(run(package, "predict", "--input", "in.csv", "--output", "p.csv"))
    assert "v2/manifest.json: manifest is missing" in line
    assert run(package, "models", "promote", "v1").returncode == 0
    predicted = run(package, "predict", "--input", "in.csv", "--output", "p.csv")
    assert predicted.returncode == 0 and "from v1" in predicted.stderr
    assert (root / "p.csv").read_text().splitlines()[0] == "y_pred"
    aliases = json.loads((root / "models" / "aliases.json").read_text())
    del aliases["production"]["history"]
    (root / "models" / "aliases.json").write_text(json.dumps(aliases))
    line = one_line(run(package, "models", "rollback"))
    assert "aliases.json: alias 'production' has no history" in line
