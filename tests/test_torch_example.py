"""The PyTorch example notebook, end to end, and the torch paths of the converter and runtime.

``example_notebooks/torch_tabular.ipynb`` trains a small ``nn.Module`` MLP on
``load_breast_cancer``. These tests check that it converts, that the generated package's
own tests pass, that the package saves the module as a state dict (loaded back with
``weights_only=True``) and that ``train`` then ``predict`` reproduce the notebook's labels.
Each torch path the runtime has (state dicts with constructor arguments, weights_only loading,
training-mode hints, pins without local labels) has its own test here.
"""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

import nbformat
import numpy as np
import pytest

torch = pytest.importorskip("torch")

from subprocesses import run_ok  # noqa: E402

from jupyter_mlprod import requirements  # noqa: E402
from jupyter_mlprod.analysis import analyse_notebook  # noqa: E402
from jupyter_mlprod.cli import main as nb2prod  # noqa: E402
from jupyter_mlprod.notebook import load_notebook  # noqa: E402
from jupyter_mlprod.params_cell import parse_parameters_cell  # noqa: E402
from jupyter_mlprod.report import report_json  # noqa: E402
from jupyter_mlprod.runs.verify import verify_notebook  # noqa: E402
from jupyter_mlprod.runtime.store import ModelStore  # noqa: E402

EXAMPLES = Path(__file__).resolve().parent.parent / "example_notebooks"
NOTEBOOK = EXAMPLES / "torch_tabular.ipynb"
MODULE = "torch_tabular_model"
# load_breast_cancer has 569 rows; test_size=0.25 holds out ceil(569 * 0.25).
HELD_OUT_ROWS = 143

pytestmark = pytest.mark.slow


def _import_from(path: Path) -> ModuleType:
    spec = importlib.util.spec_from_file_location(f"_example_{path.stem}", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def package_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The notebook converted once for the tests that only read or run the package."""
    out = tmp_path_factory.mktemp("torch_package") / "package"
    assert nb2prod(["convert", str(NOTEBOOK), "-o", str(out)]) == 0
    return out


def _package_env(package: Path) -> dict[str, str]:
    source = str((package / "src").resolve())
    return {
        **os.environ,
        "PYTHONPATH": os.pathsep.join(p for p in (source, os.environ.get("PYTHONPATH")) if p),
        f"{MODULE.upper()}_DATA_DIR": str(EXAMPLES),
    }


# ------------------------------------------------------------------ the notebook itself


def test_notebook_matches_its_build_script() -> None:
    saved_path = list(sys.path)
    try:  # _build_torch.py puts its own directory on sys.path to reuse _build.py
        build = _import_from(EXAMPLES / "_build_torch.py")
    finally:
        sys.path[:] = saved_path
    built = build.build_notebook(build.NAME, build.TORCH_TABULAR, build.PREDICT_IO)
    committed = nbformat.read(NOTEBOOK, as_version=nbformat.NO_CONVERT)
    assert json.loads(nbformat.writes(built)) == json.loads(nbformat.writes(committed))
    for cell in committed.cells:
        if cell.cell_type == "code":
            assert cell.outputs == [] and cell.execution_count is None


def test_model_class_sits_untagged_and_builds_without_arguments() -> None:
    nb = nbformat.read(NOTEBOOK, as_version=nbformat.NO_CONVERT)
    (cell,) = [c for c in nb.cells if "class MLP(nn.Module)" in c.source]
    assert not cell.metadata.get("tags")
    namespace: dict[str, Any] = {"nn": torch.nn}
    exec(cell.source, namespace)  # noqa: S102 - the repository's own example cell
    model = namespace["MLP"]()
    assert model(torch.zeros(4, 30)).shape == (4,)


def test_parameters_are_typed_literals() -> None:
    nb = nbformat.read(NOTEBOOK, as_version=nbformat.NO_CONVERT)
    (index,) = [i for i, c in enumerate(nb.cells) if "parameters" in c.metadata.get("tags", [])]
    specs = {
        s.name: s for s in parse_parameters_cell(nb.cells[index].source, path="", cell_index=index)
    }
    assert specs["seed"].type_name == "int" and specs["seed"].default == 0
    assert specs["epochs"].type_name == "int"
    assert specs["lr"].type_name == "float"
    assert specs["hidden"].type_name == "int"


def test_check_passes_with_predict_io_from_metadata() -> None:
    report = report_json(analyse_notebook(load_notebook(NOTEBOOK)))
    assert report["ok"], report["problems"]
    assert report["artifacts"] == ["model"]
    predict = report["predict"]
    assert (predict["input"], predict["output"]) == ("X_test", "y_pred")
    assert predict["input_source"] == predict["output_source"] == "metadata"
    assert nb2prod(["check", str(NOTEBOOK)]) == 0


# ------------------------------------------------------------------ the generated package


def test_generated_package_keeps_the_module_class_out_of_training(package_dir: Path) -> None:
    source = package_dir / "src" / MODULE
    assert "class MLP(nn.Module)" in (source / "features.py").read_text(encoding="utf-8")
    predict_source = (source / "predict.py").read_text(encoding="utf-8")
    assert "torch.from_numpy(X_test)" in predict_source
    for training in ("data", "train", "pipeline"):
        assert f"from .{training} import" not in predict_source
        assert f"from . import {training}" not in predict_source


def test_generated_package_tests_pass(package_dir: Path) -> None:
    output = run_ok(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider"],
        cwd=package_dir,
        env=_package_env(package_dir),
    )
    assert "2 passed" in output and "skipped" not in output, output


def test_train_saves_the_module_as_weights_only_state(package_dir: Path, tmp_path: Path) -> None:
    models = tmp_path / "models"
    env = _package_env(package_dir)
    run_ok(
        [sys.executable, "-m", MODULE, "train", "--seed", "0", "--param", "epochs=20"]
        + ["--model-dir", str(models)],
        EXAMPLES,
        env,
    )
    manifest = json.loads((models / "v1" / "manifest.json").read_text(encoding="utf-8"))
    assert manifest["params"]["epochs"] == 20
    (entry,) = manifest["artifacts"]
    assert entry["format"] == "torch-module"
    assert entry["class"] == f"{MODULE}.features:MLP"
    assert "torch" in manifest["seeded"]
    assert manifest["schema"] == {
        "kind": "ndarray",
        "shape": [None, 30],
        "dtype": "float32",
        "nullable": False,
    }
    state = torch.load(models / "v1" / "artifacts" / entry["file"], weights_only=True)
    assert set(state) == {f"net.{i}.{p}" for i in (0, 3, 6) for p in ("weight", "bias")}
    assert state["net.0.weight"].shape == (32, 30)

    # Predict on a few rows of standardised input through the CLI: labels 0/1.
    rows = np.random.default_rng(0).standard_normal((5, 30)).astype(np.float32)
    np.save(tmp_path / "rows.npy", rows, allow_pickle=False)
    out = tmp_path / "labels.npy"
    run_ok(
        [
            sys.executable,
            "-m",
            MODULE,
            "predict",
            "--input",
            str(tmp_path / "rows.npy"),
            "--output",
            str(out),
            "--model-dir",
            str(models),
        ],
        EXAMPLES,
        env,
    )
    labels = np.load(out, allow_pickle=False).ravel()
    assert labels.shape == (5,) and set(labels.tolist()) <= {0, 1}


def test_package_reproduces_the_notebooks_predictions() -> None:
    result = verify_notebook(NOTEBOOK)
    assert result.ok, result.message
    assert result.rows == HELD_OUT_ROWS and result.mismatches == 0
    assert (result.predict_input, result.predict_output) == ("X_test", "y_pred")


# ------------------------------------------------------------------ known gaps


_SIZED_NET = """
from torch import nn


class Net(nn.Module):
    def __init__(self, hidden=4):
        super().__init__()
        self.hidden = hidden
        self.layer = nn.Linear(3, hidden)

    def forward(self, x):
        return self.layer(x)
"""


def test_module_built_with_non_default_sizes_round_trips(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "sized_net.py").write_text(_SIZED_NET, encoding="utf-8")
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.delitem(sys.modules, "sized_net", raising=False)
    from sized_net import Net  # type: ignore[import-not-found]

    net = Net(hidden=8).eval()
    store = ModelStore(tmp_path / "models")
    version = store.save({"model": net}, {})
    loaded = store.load(version).artifacts["model"]
    sample = torch.ones(2, 3)
    assert torch.equal(loaded(sample), net(sample))


def test_pins_drop_the_local_version_label(monkeypatch: pytest.MonkeyPatch) -> None:
    class LocalBuild:
        metadata = {"Name": "torch"}
        version = "2.13.0+cpu"

    monkeypatch.setattr(requirements.metadata, "distribution", lambda name: LocalBuild())
    pinned, warnings = requirements.pin_requirements(["torch"])
    assert pinned == {"torch": "==2.13.0"}
    assert warnings == []


def test_module_left_in_training_mode_gets_a_hint(tmp_path: Path) -> None:
    nb = nbformat.read(NOTEBOOK, as_version=nbformat.NO_CONVERT)
    (train,) = [c for c in nb.cells if "train" in c.metadata.get("tags", [])]
    assert "model.eval()" in train.source
    train.source = train.source.replace("model.eval()", "")
    variant = tmp_path / "no_eval.ipynb"
    nbformat.write(nb, variant)
    package = tmp_path / "package"
    assert nb2prod(["convert", str(variant), "-o", str(package)]) == 0
    done = subprocess.run(
        [sys.executable, "-m", "no_eval_model", "train", "--param", "epochs=5"]
        + ["--model-dir", str(tmp_path / "models")],
        cwd=EXAMPLES,
        env=_package_env(package),
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    # Dropout is active in the pipeline's predictions and off after loading (the store
    # calls .eval()), so the smoke check must fail; the message should say why.
    assert done.returncode != 0
    assert "eval()" in done.stderr, done.stderr
