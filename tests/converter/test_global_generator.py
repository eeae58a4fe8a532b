"""NumPy's global random generator as a value of the slice (analysis/global_rng.py).

A forest fitted without ``random_state`` draws from NumPy's global generator, in whatever
state the untagged exploration before it left it (the PDSH and sklearn-tutorial forest
chapters of the corpus). The statements that advance it since the last reseed join the stage,
in order, so the package — seeded as the baseline run is — fits the same forest. Each test is
one rule; the ones that convert run the package and compare with the notebook executed top to
bottom, both seeded by the runtime's own ``seed_everything``.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from jupyter_mlprod.runtime.seeding import seed_everything

from .test_stage_completion import check, convert, notebook_value, run_package, write_notebook

__all__ = ["run_package"]  # the fixture, imported for the tests below

IMPORTS = (
    "import numpy as np\nimport matplotlib.pyplot as plt\n"
    "from sklearn.datasets import make_blobs\n"
    "from sklearn.tree import DecisionTreeClassifier\n"
    "from sklearn.ensemble import RandomForestClassifier"
)
LOAD = (
    "X, y = make_blobs(n_samples=120, centers=3, random_state=0, cluster_std=2.0)\n"
    "X_train, X_test, y_train = X[:90], X[90:], y[:90]"
)
# Exploration: a tree fitted without random_state, noise drawn for a plot, a plot.
EXPLORE = (
    "tree = DecisionTreeClassifier().fit(X, y)\nnoise = np.random.normal(size=10)\nplt.plot(noise)"
)
FOREST = (
    "model = RandomForestClassifier(n_estimators=5, max_features=1)\nmodel.fit(X_train, y_train)"
)
PREDICT = "y_pred = model.predict(X_test)"


def _seeded_notebook_value(path: Path, name: str) -> Any:
    seed_everything(0)
    return notebook_value(path, name)


def _seeded_run(run_package: Any, package: Path) -> Any:
    seed_everything(0)
    return run_package(package)


def _generator_inferences(report: dict[str, Any]) -> list[tuple[int, int]]:
    return [
        (item["cell"], item["line"])
        for item in report["inferred"]
        if "global random generator" in item["because"]
    ]


def test_draws_before_an_unseeded_fit_join_train_in_order(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], run_package: Any
) -> None:
    path = write_notebook(
        tmp_path,
        [(IMPORTS, None), (LOAD, "load"), (EXPLORE, None), (FOREST, "train"), (PREDICT, "predict")],
    )
    code, report = check(path, capsys)
    assert code == 0, report["problems"]
    assert _generator_inferences(report) == [(2, 1), (2, 2)]
    because = {item["line"]: item["because"] for item in report["inferred"] if item["cell"] == 2}
    assert "the train stage draws from in cell 4, line 2" in because[2]
    assert "inferred train code draws from in cell 3, line 2" in because[1]
    assert "random_state=" in because[1]
    package = convert(path, capsys)
    train = (next((package / "src").glob("*/train.py"))).read_text(encoding="utf-8")
    assert "np.random.normal(size=10)" in train and "plt.plot" not in train
    np.testing.assert_array_equal(
        _seeded_run(run_package, package).predictions, _seeded_notebook_value(path, "y_pred")
    )


def test_a_plot_that_draws_keeps_only_its_draw(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], run_package: Any
) -> None:
    scatter = "plt.scatter(X[:, 0], X[:, 1], c=np.random.rand(len(X)))"
    path = write_notebook(
        tmp_path,
        [(IMPORTS, None), (LOAD, "load"), (scatter, None), (FOREST, "train"), (PREDICT, "predict")],
    )
    code, report = check(path, capsys)
    assert code == 0, report["problems"]
    assert _generator_inferences(report) == [(2, 1)]
    package = convert(path, capsys)
    train = (next((package / "src").glob("*/train.py"))).read_text(encoding="utf-8")
    assert "np.random.rand(len(X))" in train and "scatter" not in train
    np.testing.assert_array_equal(
        _seeded_run(run_package, package).predictions, _seeded_notebook_value(path, "y_pred")
    )


def test_a_reseed_cuts_the_draws_before_it(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = write_notebook(
        tmp_path,
        [
            (IMPORTS, None),
            (LOAD, "load"),
            (EXPLORE, None),
            ("np.random.seed(1)", None),
            (FOREST, "train"),
            (PREDICT, "predict"),
        ],
    )
    code, report = check(path, capsys)
    assert code == 0, report["problems"]
    assert _generator_inferences(report) == [(3, 1)]


def test_a_seeded_fit_reads_no_generator(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    seeded = FOREST.replace("max_features=1)", "max_features=1, random_state=0)")
    path = write_notebook(
        tmp_path,
        [(IMPORTS, None), (LOAD, "load"), (EXPLORE, None), (seeded, "train"), (PREDICT, "predict")],
    )
    code, report = check(path, capsys)
    assert code == 0 and _generator_inferences(report) == []


def test_strict_leaves_the_draws_out_with_a_warning(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = write_notebook(
        tmp_path,
        [(IMPORTS, None), (LOAD, "load"), (EXPLORE, None), (FOREST, "train"), (PREDICT, "predict")],
    )
    code, report = check(path, capsys, "--strict")
    assert code == 0 and report["inferred"] == []
    warnings = [p for p in report["problems"] if p["code"] == "global-generator"]
    assert [(w["cell"], w["line"]) for w in warnings] == [(2, 1), (2, 2)]
    assert all("random_state=" in w["hint"] for w in warnings)


def test_a_helper_module_beside_the_notebook_that_fits_unseeded_draws(
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    run_package: Any,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """PDSH 05.08's ``helpers_05_08.randomized_tree_interactive`` fits an unseeded tree; a
    notebook function passed to a call (``interact(fit_tree)``) is taken to be called."""
    (tmp_path / "nbhelpers.py").write_text(
        "from sklearn.tree import DecisionTreeClassifier\n\n\n"
        "def explore(X, y):\n"
        "    clf = DecisionTreeClassifier(max_depth=3)\n"
        "    clf.fit(X, y)\n"
        "    return clf\n",
        encoding="utf-8",
    )
    path = write_notebook(
        tmp_path,
        [
            (IMPORTS + "\nimport nbhelpers", None),
            (LOAD, "load"),
            ("nbhelpers.explore(X, y)", None),
            ("def fit_tree():\n    DecisionTreeClassifier().fit(X, y)", None),
            ("def call(f):\n    f()", None),
            ("call(fit_tree)", None),
            (FOREST, "train"),
            (PREDICT, "predict"),
        ],
    )
    code, report = check(path, capsys)
    assert code == 0, report["problems"]
    assert _generator_inferences(report) == [(2, 1), (5, 1)]
    package = convert(path, capsys)
    # Both run where the notebook is, its module importable (as `train` from that directory).
    monkeypatch.syspath_prepend(str(tmp_path))
    try:
        np.testing.assert_array_equal(
            _seeded_run(run_package, package).predictions, _seeded_notebook_value(path, "y_pred")
        )
    finally:
        sys.modules.pop("nbhelpers", None)


def test_check_as_a_subprocess_names_the_draw(tmp_path: Path) -> None:
    path = write_notebook(
        tmp_path,
        [(IMPORTS, None), (LOAD, "load"), (EXPLORE, None), (FOREST, "train"), (PREDICT, "predict")],
    )
    done = subprocess.run(
        [sys.executable, "-m", "jupyter_mlprod.cli", "check", "--json", str(path)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)
    assert _generator_inferences(report) == [(2, 1), (2, 2)]


def test_a_draw_before_the_load_stays_before_it_and_cannot_clobber_its_names(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], run_package: Any
) -> None:
    """sklearn tutorial 02.2: an unseeded split of iris comes before the digits are loaded
    under the same names; kept for the generator, it joins load in its place (not train,
    where it would run after the load and replace the digits' X_train)."""
    iris = (
        "from sklearn.model_selection import train_test_split\n"
        "X, y = make_blobs(n_samples=60, centers=2, random_state=1)\n"
        "X_train, X_test, y_train, y_test = train_test_split(X, y)"
    )
    path = write_notebook(
        tmp_path,
        [(IMPORTS, None), (iris, None), (LOAD, "load"), (FOREST, "train"), (PREDICT, "predict")],
    )
    code, report = check(path, capsys)
    assert code == 0, report["problems"]
    stages = {(item["cell"], item["line"]): item["stage"] for item in report["inferred"]}
    assert stages[(1, 3)] == "load"  # the split, kept for its draw, stays before the load
    package = convert(path, capsys)
    np.testing.assert_array_equal(
        _seeded_run(run_package, package).predictions, _seeded_notebook_value(path, "y_pred")
    )
