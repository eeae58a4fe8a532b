"""train --promote-if-better and POST /retrain's promote_if_better, on a really generated package.

The notebook trains a logistic regression whose target column is a parameter: on column 0 it
learns the held-out labels (accuracy near 1), on column 2 (noise) it does not (near 0.5). The
held-out data is the same in every run, so a worse and a better version are one parameter apart.
"""

from __future__ import annotations

import json
import os
import pty
import subprocess
import sys
import time
import warnings
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
from notebooks import code, notebook, write

from jupyter_mlprod.cli import main as nb2prod
from jupyter_mlprod.runs.verify import package_module
from jupyter_mlprod.runtime.promotion import (
    NOT_PROMOTED_EXIT,
    PromotionError,
    decide,
    known_direction,
    parse_rule,
)

with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    from starlette.testclient import TestClient

_LOAD = (
    "import numpy as np\n"
    "rng = np.random.default_rng(0)\n"
    "X = rng.normal(size=(400, 3))\n"
    "labels = (X[:, 0] > 0).astype(int)\n"
    "X_train, X_test, y_test = X[:300], X[300:], labels[300:]\n"
    "y_train = (X_train[:, target_column] > 0).astype(int)"
)
_TRAIN = (
    "from sklearn.linear_model import LogisticRegression\n"
    "model = LogisticRegression().fit(X_train, y_train)"
)
_EVALUATE = (
    "from sklearn.metrics import accuracy_score\n"
    "accuracy = accuracy_score(y_test, y_pred)\n"
    "error_rate = 1 - accuracy"
)
GOOD, BAD = "target_column=0", "target_column=2"


@pytest.fixture(scope="module")
def package(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Path, str]]:
    """The converted package (its ``src`` on ``sys.path``) and its import name."""
    root = tmp_path_factory.mktemp("promote")
    nb = notebook(
        code("target_column = 0", "parameters"),
        code(_LOAD, "load"),
        code(_TRAIN, "train"),
        # The metric lines after the prediction become the evaluate stage.
        code("y_pred = model.predict(X_test)\n" + _EVALUATE, "predict"),
        mlprod={"predict_input": "X_test", "predict_output": "y_pred"},
    )
    path = write(nb, root / "promotion_probe.ipynb")
    assert nb2prod(["convert", str(path), "-o", str(root / "package")]) == 0
    module = package_module(root / "package")
    src = str(root / "package" / "src")
    sys.path.insert(0, src)
    try:
        yield root / "package", module
    finally:
        sys.path.remove(src)


def _env(package_dir: Path) -> dict[str, str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(
        p for p in (str(package_dir / "src"), env.get("PYTHONPATH")) if p
    )
    return env


def _train(package: tuple[Path, str], store: Path, *args: str) -> subprocess.CompletedProcess[str]:
    package_dir, module = package
    return subprocess.run(
        [sys.executable, "-m", module, "train", "--model-dir", str(store), *args],
        cwd=store.parent,
        env=_env(package_dir),
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


def _promotion(store: Path, version: str) -> dict[str, Any]:
    manifest = json.loads((store / version / "manifest.json").read_text(encoding="utf-8"))
    return dict(manifest["promotion"])


def _production(store: Path) -> dict[str, Any]:
    return dict(json.loads((store / "aliases.json").read_text(encoding="utf-8"))["production"])


# -- the rules -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("metric", "higher"),
    [
        ("accuracy", True),
        ("test_accuracy", True),
        ("f1_macro", True),
        ("val_roc_auc", True),
        ("r2_score", True),
        ("precision", True),
        ("recall", True),
        ("mse", False),
        ("val_rmse", False),
        ("mae", False),
        ("log_loss", False),
        ("mean_squared_error", False),
        ("error", False),
        ("n_train", None),
        ("accuracy_loss", None),
    ],
)
def test_known_directions(metric: str, higher: bool | None) -> None:
    assert known_direction(metric) is higher


def test_the_flags_set_a_direction_and_override_the_known_one() -> None:
    assert parse_rule("n_train", higher_is_better=True).higher_is_better is True
    assert parse_rule("accuracy", higher_is_better=False).higher_is_better is False
    assert parse_rule("rmse:0.25").min_delta == 0.25


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("n_train", "add --higher-is-better or --lower-is-better"),
        ("accuracy:-1", "MIN_DELTA must be a number ≥ 0"),
        ("accuracy:abc", "MIN_DELTA must be a number ≥ 0"),
        ("accuracy:nan", "MIN_DELTA must be a number ≥ 0"),
        (":0.1", "needs a metric name"),
    ],
)
def test_bad_rules_are_one_line(text: str, problem: str) -> None:
    with pytest.raises(PromotionError, match=problem) as raised:
        parse_rule(text)
    assert raised.value.exit_code == 2 and "\n" not in str(raised.value)


def test_min_delta_and_direction_decide() -> None:
    higher = parse_rule("accuracy:0.05")
    assert decide(higher, 0.9, 0.8, "v1").promote
    assert not decide(higher, 0.84, 0.8, "v1").promote  # better, but by less than 0.05
    assert "better by only" in decide(higher, 0.84, 0.8, "v1").reason
    assert not decide(parse_rule("accuracy"), 0.8, 0.8, "v1").promote  # equal is not better
    lower = parse_rule("rmse")
    assert decide(lower, 1.0, 2.0, "v1").promote and not decide(lower, 2.0, 1.0, "v1").promote
    assert decide(lower, 5.0, None, None).promote  # no production yet
    assert not decide(lower, float("nan"), 1.0, "v1").promote
    assert decide(lower, 1.0, float("nan"), "v1").record()["production"] is None


# -- train, as a subprocess ------------------------------------------------------------------


@pytest.mark.slow
def test_a_worse_model_is_not_promoted_and_a_better_one_is(
    package: tuple[Path, str], tmp_path: Path
) -> None:
    store = tmp_path / "models"
    first = _train(package, store, "--promote-if-better", "accuracy")
    assert first.returncode == 0, first.stderr
    assert _promotion(store, "v1")["promoted"] and _promotion(store, "v1")["production"] is None
    assert _production(store)["version"] == "v1"

    worse = _train(package, store, "--param", BAD, "--promote-if-better", "accuracy")
    assert worse.returncode == NOT_PROMOTED_EXIT, worse.stderr
    assert worse.stdout.strip() == "v2"  # saved all the same
    assert "v2 not promoted: accuracy" in worse.stderr
    record = _promotion(store, "v2")
    assert record["promoted"] is False and record["production_version"] == "v1"
    assert record["production"] > 0.9 > record["new"]
    assert record["higher_is_better"] is True
    assert _production(store)["version"] == "v1"

    # Production goes to the worse model by hand; the good one then beats it on `error_rate`
    # (lower is better), by more than the asked-for margin.
    assert _train_cli(package, store, "models", "promote", "v2").returncode == 0
    better = _train(package, store, "--promote-if-better", "error_rate:0.1")
    assert better.returncode == 0, better.stderr
    record = _promotion(store, "v3")
    assert record["promoted"] and record["production_version"] == "v2"
    assert record["higher_is_better"] is False and record["new"] < record["production"] - 0.1
    production = _production(store)
    assert production["version"] == "v3"
    assert [entry["version"] for entry in production["history"]] == ["v1", "v2", "v3"]

    # The same model again: not better than itself.
    same = _train(package, store, "--promote-if-better", "accuracy")
    assert same.returncode == NOT_PROMOTED_EXIT and "not better" in same.stderr


def _train_cli(
    package: tuple[Path, str], store: Path, *args: str
) -> subprocess.CompletedProcess[str]:
    package_dir, module = package
    return subprocess.run(
        [sys.executable, "-m", module, *args, "--model-dir", str(store)],
        env=_env(package_dir),
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


@pytest.mark.slow
def test_bad_promotion_flags_save_nothing(package: tuple[Path, str], tmp_path: Path) -> None:
    store = tmp_path / "models"
    unknown = _train(package, store, "--promote-if-better", "nope")
    assert unknown.returncode == 2
    assert unknown.stderr.strip().count("\n") == 0 and "--higher-is-better" in unknown.stderr
    missing = _train(package, store, "--promote-if-better", "f1")
    assert missing.returncode == 2 and "has no metric 'f1' (it has: accuracy, error_rate)" in (
        missing.stderr
    )
    alone = _train(package, store, "--lower-is-better")
    assert alone.returncode == 2 and "go with --promote-if-better" in alone.stderr
    assert not list(store.glob("v*"))


# -- train, in-process -----------------------------------------------------------------------


def _cli(package: tuple[Path, str]) -> ModuleType:
    __import__(f"{package[1]}.cli")
    return sys.modules[f"{package[1]}.cli"]


def test_promotion_in_process(
    package: tuple[Path, str],
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.chdir(tmp_path)
    cli = _cli(package)
    store = ["--model-dir", str(tmp_path / "models")]
    assert cli.main(["train", *store, "--param", BAD, "--promote-if-better", "accuracy"]) == 0
    assert cli.main(["train", *store, "--param", GOOD, "--promote-if-better", "accuracy"]) == 0
    assert cli.main(["train", *store, "--param", BAD, "--promote-if-better", "accuracy"]) == (
        NOT_PROMOTED_EXIT
    )
    err = capsys.readouterr().err
    assert "v2 promoted to production" in err and "v3 not promoted" in err
    models = tmp_path / "models"
    assert _production(models)["version"] == "v2"
    assert _promotion(models, "v2")["production_version"] == "v1"
    assert _promotion(models, "v3")["production"] == _promotion(models, "v2")["new"]
    # Without the flag a train records no decision.
    assert cli.main(["train", *store]) == 0
    manifest = json.loads((models / "v4" / "manifest.json").read_text(encoding="utf-8"))
    assert "promotion" not in manifest


# -- progress --------------------------------------------------------------------------------


def _train_on_a_pty(package: tuple[Path, str], store: Path, *args: str) -> tuple[int, str]:
    """Run train with stderr on a pseudo-terminal; its exit code and what the terminal got."""
    package_dir, module = package
    leader, follower = pty.openpty()
    process = subprocess.Popen(
        [sys.executable, "-m", module, "train", "--model-dir", str(store), *args],
        env=_env(package_dir),
        stdout=subprocess.DEVNULL,
        stderr=follower,
        stdin=subprocess.DEVNULL,
    )
    os.close(follower)
    chunks = []
    while True:
        try:
            chunk = os.read(leader, 4096)
        except OSError:  # EIO: the child closed the terminal
            break
        if not chunk:
            break
        chunks.append(chunk)
    os.close(leader)
    return process.wait(timeout=300), b"".join(chunks).decode("utf-8", "replace")


@pytest.mark.slow
def test_progress_shows_stages_on_a_terminal_and_nothing_otherwise(
    package: tuple[Path, str], tmp_path: Path
) -> None:
    code_, shown = _train_on_a_pty(package, tmp_path / "models")
    assert code_ == 0, shown
    stages = [s for s in ("import", "load", "train", "predict", "evaluate", "register")]
    positions = [shown.find(f"{stage} done (") for stage in stages]
    assert all(p >= 0 for p in positions) and positions == sorted(positions), shown
    assert "saved v1 in " in shown

    quiet_code, quiet = _train_on_a_pty(package, tmp_path / "models", "--quiet")
    assert quiet_code == 0 and "done (" not in quiet and "saved v2 to" in quiet

    piped = _train(package, tmp_path / "models")
    assert piped.returncode == 0 and "done (" not in piped.stderr and "\x1b" not in piped.stderr


# -- POST /retrain ---------------------------------------------------------------------------


def _wait(client: TestClient, job: str) -> dict[str, Any]:
    deadline = time.monotonic() + 240
    while time.monotonic() < deadline:
        state = client.get(f"/retrain/{job}").json()
        if state["status"] != "running":
            return dict(state)
        time.sleep(0.2)
    raise AssertionError(f"retrain {job} did not finish")


@pytest.mark.slow
def test_retrain_promotes_only_a_better_model(
    package: tuple[Path, str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    store = tmp_path / "models"
    assert _train(package, store, "--param", BAD).returncode == 0
    assert _train_cli(package, store, "models", "promote", "v1").returncode == 0
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("PYTHONPATH", _env(package[0])["PYTHONPATH"])
    __import__(f"{package[1]}.serve")
    serve = sys.modules[f"{package[1]}.serve"]
    with TestClient(serve.create_app(store, allow_retrain=True)) as client:
        assert client.get("/health").json()["version"] == "v1"
        job = client.post(
            "/retrain", json={"params": {"target_column": 0}, "promote_if_better": "accuracy:0.1"}
        )
        assert job.status_code == 202, job.text
        done = _wait(client, job.json()["id"])
        assert done["status"] == "succeeded" and done["version"] == "v2" and done["promoted"], done
        assert done["promotion"]["production_version"] == "v1"
        assert client.get("/health").json()["version"] == "v2"  # reloaded

        job = client.post(
            "/retrain", json={"params": {"target_column": 2}, "promote_if_better": "accuracy"}
        )
        done = _wait(client, job.json()["id"])
        assert done["status"] == "succeeded" and done["version"] == "v3", done
        assert done["promoted"] is False and done["promotion"]["promoted"] is False
        assert client.get("/health").json()["version"] == "v2"

        for body, problem in [
            ({"promote_if_better": "nope"}, "add --higher-is-better"),
            ({"promote_if_better": 3}, '"promote_if_better" must be a string'),
            ({"promote_if_better": "accuracy", "promote": True}, "exclude each other"),
            ({"higher_is_better": True}, 'goes with "promote_if_better"'),
            ({"promote_if_better": "n", "higher_is_better": "yes"}, "must be true or false"),
        ]:
            refused = client.post("/retrain", json=body)
            assert refused.status_code == 400 and problem in refused.json()["error"], body
        accepted = client.post(
            "/retrain", json={"promote_if_better": "n", "higher_is_better": True}
        )
        done = _wait(client, accepted.json()["id"])
        # `n` is no metric of this notebook: the child refuses in one line, nothing is saved.
        assert done["status"] == "failed" and "has no metric 'n'" in done["error"], done
    assert sorted(p.name for p in store.glob("v*")) == ["v1", "v2", "v3"]
