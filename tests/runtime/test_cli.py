"""The generated package's CLI: train, predict, models — in-process and as `python -m`."""

from __future__ import annotations

import json
from pathlib import Path
from types import ModuleType

import numpy as np
import pandas as pd
import pytest

from jupyter_mlprod.runtime.compare import compare_predictions

from .conftest import Workspace, train


def inputs(workspace: Workspace, n_rows: int = 30) -> pd.DataFrame:
    frame = pd.read_csv(workspace.root / "data" / "churn.csv").drop(columns="churn")
    return frame.head(n_rows)


def test_train_saves_a_version_with_its_metadata(
    fakepkg_cli: ModuleType, workspace: Workspace, capsys: pytest.CaptureFixture[str]
) -> None:
    assert train(fakepkg_cli, capsys, "--param", "C=0.5", "--seed", "3") == "v1"
    assert train(fakepkg_cli, capsys) == "v2"
    manifest = json.loads((workspace.models / "v1" / "manifest.json").read_text())
    assert manifest["params"]["C"] == 0.5 and manifest["seed"] == 3
    # torch is seeded too whenever it is loaded in the process (other tests may load it).
    assert manifest["seeded"] in (["random", "numpy"], ["random", "numpy", "torch"])
    assert set(manifest["metrics"]) == {"accuracy", "n_train"}
    assert manifest["notebook"] == {"name": "churn.ipynb", "sha256": "0" * 64}
    [data] = manifest["input_files"]
    assert data["path"] == "data/churn.csv" and len(data["sha256"]) == 64
    assert [c["name"] for c in manifest["schema"]["columns"]] == ["age", "income", "plan"]
    assert manifest["predict_output"] == "y_pred"
    assert "scikit-learn" in manifest["distributions"]
    assert {a["name"]: a["format"] for a in manifest["artifacts"]} == {
        "model": "skops",
        "features": "json",
    }


def test_same_seed_gives_same_model(
    fakearr_cli: ModuleType, workspace: Workspace, capsys: pytest.CaptureFixture[str]
) -> None:
    for seed in ("5", "5", "6"):
        train(fakearr_cli, capsys, "--seed", seed)
    import fakearr.store

    store = fakearr.store.ModelStore(workspace.models)
    weights = [store.load(v).artifacts["weights"] for v in ("v1", "v2", "v3")]
    np.testing.assert_array_equal(weights[0], weights[1])
    assert not np.array_equal(weights[0], weights[2])


def test_predict_formats_keep_row_order(
    fakepkg_cli: ModuleType, workspace: Workspace, capsys: pytest.CaptureFixture[str]
) -> None:
    train(fakepkg_cli, capsys)
    frame = inputs(workspace)
    import fakepkg.predict
    import fakepkg.store

    expected = fakepkg.predict.predict(
        fakepkg.store.ModelStore(workspace.models).load().artifacts, frame
    ).tolist()
    frame.to_csv("in.csv", index=False)
    frame.to_parquet("in.parquet")
    frame.to_json("in.json", orient="records")
    for source, target in [
        ("in.csv", "out.csv"),
        ("in.parquet", "out.parquet"),
        ("in.json", "out.json"),
        ("in.csv", "out2.json"),
    ]:
        assert fakepkg_cli.main(["predict", "--input", source, "--output", target]) == 0
        if target.endswith(".csv"):
            result = pd.read_csv(target)
        elif target.endswith(".parquet"):
            result = pd.read_parquet(target)
        else:
            result = pd.DataFrame(json.loads(Path(target).read_text()))
        assert list(result.columns) == ["y_pred"]
        assert result["y_pred"].tolist() == expected
    assert "30 predictions from v1" in capsys.readouterr().err
    # No temporary files are left next to the outputs.
    assert not [p for p in workspace.root.iterdir() if p.name.startswith(".out")]


def test_predict_arrays_from_npy_and_csv(
    fakearr_cli: ModuleType, workspace: Workspace, capsys: pytest.CaptureFixture[str]
) -> None:
    train(fakearr_cli, capsys)
    rows = np.arange(12.0).reshape(3, 4)
    np.save("in.npy", rows)
    np.savetxt("in.csv", rows, delimiter=",")
    pd.DataFrame(rows, columns=list("abcd")).to_csv("headed.csv", index=False)
    assert fakearr_cli.main(["predict", "--input", "in.npy", "--output", "out.npy"]) == 0
    from_npy = np.load("out.npy")
    assert from_npy.shape == (3,)
    for source in ("in.csv", "headed.csv"):
        assert fakearr_cli.main(["predict", "--input", source, "--output", "out.csv"]) == 0
        # CSV is text: forgive float formatting as np.testing.assert_allclose (rtol 1e-7) does.
        same = compare_predictions(from_npy, pd.read_csv("out.csv")["scores"], rtol=1e-7, atol=0.0)
        assert same.ok, same.first_differences


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("age,income\n30,1.0\n", "in.csv: input column 'plan': missing"),
        (
            "age,income,plan\nold,1.0,basic\n",
            "in.csv: input column 'age': expected int64, got text",
        ),
        # No imputer in this model: scikit-learn's refusal comes back as one line.
        ("age,income,plan\n30,,basic\n", "predict() failed: ValueError: Input X contains NaN"),
    ],
)
def test_predict_rejects_bad_input_with_one_line(
    fakepkg_cli: ModuleType,
    workspace: Workspace,
    capsys: pytest.CaptureFixture[str],
    content: str,
    message: str,
) -> None:
    train(fakepkg_cli, capsys)
    Path("in.csv").write_text(content)
    assert fakepkg_cli.main(["predict", "--input", "in.csv", "--output", "out.csv"]) == 1
    err = capsys.readouterr().err
    assert err.strip() == f"fakepkg: error: {message}" or message in err
    assert len(err.strip().splitlines()) == 1
    assert not Path("out.csv").exists()


def test_predict_unreadable_files(
    fakepkg_cli: ModuleType, workspace: Workspace, capsys: pytest.CaptureFixture[str]
) -> None:
    train(fakepkg_cli, capsys)
    Path("broken.parquet").write_bytes(b"not parquet")
    Path("broken.json").write_text("{nope")
    cases = {
        "missing.csv": "missing.csv: no such file",
        "broken.parquet": "broken.parquet: cannot read parquet input",
        "broken.json": "broken.json: cannot read json input",
        "data.xlsx": "data.xlsx: unsupported input format",
    }
    for source, message in cases.items():
        assert fakepkg_cli.main(["predict", "--input", source, "--output", "o.csv"]) == 1
        err = capsys.readouterr().err.strip()
        assert message in err and len(err.splitlines()) == 1


def test_models_commands(
    fakepkg_cli: ModuleType, workspace: Workspace, capsys: pytest.CaptureFixture[str]
) -> None:
    for _ in range(3):
        train(fakepkg_cli, capsys)
    assert fakepkg_cli.main(["models", "promote", "v1"]) == 0
    assert capsys.readouterr().out.strip() == "production -> v1"
    assert fakepkg_cli.main(["models", "promote", "latest"]) == 0
    assert capsys.readouterr().out.strip() == "production -> v3 (was v1)"
    assert fakepkg_cli.main(["models", "promote", "v2", "--alias", "staging"]) == 0
    capsys.readouterr()
    assert fakepkg_cli.main(["models", "list"]) == 0
    listing = capsys.readouterr().out.splitlines()
    assert listing[0].split() == ["VERSION", "CREATED", "ALIASES", "METRICS"]
    rows = {line.split()[0]: line for line in listing[1:]}
    assert "production" in rows["v3"] and "staging" in rows["v2"] and "accuracy=" in rows["v1"]
    assert fakepkg_cli.main(["models", "show", "production"]) == 0
    assert json.loads(capsys.readouterr().out)["version"] == "v3"
    assert fakepkg_cli.main(["models", "rollback"]) == 0
    assert capsys.readouterr().out.strip() == "production -> v1 (was v3)"
    assert fakepkg_cli.main(["models", "list", "--json"]) == 0
    table = json.loads(capsys.readouterr().out)
    assert table["aliases"]["production"]["version"] == "v1"
    assert [h["action"] for h in table["aliases"]["production"]["history"]] == [
        "promote",
        "promote",
        "rollback",
    ]
    # predict defaults to production.
    inputs(workspace, 3).to_csv("in.csv", index=False)
    assert fakepkg_cli.main(["predict", "--input", "in.csv", "--output", "o.csv"]) == 0
    assert "from v1" in capsys.readouterr().err
    assert fakepkg_cli.main(["models", "show", "v7"]) == 1
    assert "no version v7" in capsys.readouterr().err


def test_model_dir_flag_beats_environment(
    fakearr_cli: ModuleType, workspace: Workspace, capsys: pytest.CaptureFixture[str]
) -> None:
    train(fakearr_cli, capsys, "--model-dir", "elsewhere")
    assert (workspace.root / "elsewhere" / "v1" / "manifest.json").is_file()
    assert not workspace.models.exists()


def test_smoke_prediction_mismatch_saves_nothing(
    fakearr_cli: ModuleType,
    workspace: Workspace,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import fakearr.pipeline

    original = fakearr.pipeline.run

    def skewed(params: object) -> object:
        run = original(params)
        run.predictions = run.predictions + 1.0
        return run

    monkeypatch.setattr(fakearr.pipeline, "run", skewed)
    assert fakearr_cli.main(["train"]) == 1
    assert "smoke prediction" in capsys.readouterr().err
    assert not workspace.models.exists() or not list(workspace.models.glob("v*"))


@pytest.mark.slow
def test_subprocess_train_predict_and_errors(workspace: Workspace) -> None:
    trained = workspace.run("train", "--param", "max_iter=300", check=True)
    assert trained.stdout.strip().splitlines()[-1] == "v1"
    bad = workspace.run("train", "--param", "C=abc")
    assert bad.returncode == 2
    assert bad.stderr.strip() == "fakepkg: error: --param C=abc: expected float"
    unknown = workspace.run("train", "--param", "gamma=1")
    assert unknown.returncode == 2 and "Traceback" not in unknown.stderr
    inputs(workspace).to_csv(workspace.root / "in.csv", index=False)
    workspace.run("predict", "--input", "in.csv", "--output", "out.parquet", check=True)
    assert len(pd.read_parquet(workspace.root / "out.parquet")) == 30
    workspace.run("models", "promote", "v1", check=True)
    listed = workspace.run("models", "list", check=True)
    assert "production" in listed.stdout.splitlines()[1]
    shown = workspace.run("models", "show", "production", check=True)
    assert json.loads(shown.stdout)["params"]["max_iter"] == 300
    missing = workspace.run("models", "rollback")
    assert missing.returncode == 1
    assert missing.stderr.strip() == (
        "fakepkg: error: alias 'production' has no earlier version to roll back to"
    )
    helped = workspace.run("--help", check=True)
    assert helped.stdout.startswith("usage: fakepkg")


@pytest.mark.slow
def test_predict_and_help_stay_light(workspace: Workspace) -> None:
    workspace.run("train", check=True)
    inputs(workspace).to_csv(workspace.root / "in.csv", index=False)
    probe = (
        "import sys, json\n"
        "import fakepkg.cli as cli\n"
        "light = set(sys.modules)\n"
        "import fakepkg.predict, fakepkg.store, fakepkg.schema, fakepkg.batch\n"
        "closure = set(sys.modules)\n"
        "code = cli.main(sys.argv[1:])\n"
        "report = {'code': code, 'help': sorted(light), 'closure': sorted(closure)}\n"
        "print(json.dumps({**report, 'after': sorted(sys.modules)}))\n"
    )
    import subprocess
    import sys

    result = subprocess.run(
        [sys.executable, "-c", probe, "predict", "--input", "in.csv", "--output", "o.csv"],
        cwd=workspace.root,
        env=workspace.env(),
        capture_output=True,
        text=True,
        timeout=300,
        check=True,
    )
    report = json.loads(result.stdout.strip().splitlines()[-1])
    assert report["code"] == 0
    heavy = ("sklearn", "pandas", "numpy", "starlette", "uvicorn", "skops", "torch")
    assert not [m for m in report["help"] if m.split(".")[0] in heavy]
    training_only = ("sklearn.model_selection", "matplotlib", "fakepkg.pipeline")
    assert not [m for m in report["closure"] if m.startswith(training_only)]
    after = report["after"]
    for module in ("fakepkg.pipeline", "fakepkg.train", "starlette", "uvicorn", "matplotlib"):
        assert module not in after


@pytest.mark.parametrize(
    ("option", "value"),
    [
        ("--port", "70000"),
        ("--port", "0"),
        ("--port", "-1"),
        ("--port", "http"),
        ("--read-timeout", "nan"),
        ("--keep-alive-timeout", "0"),
        ("--max-header-bytes", "10"),
        ("--max-connections", "0"),
    ],
)
def test_serve_refuses_out_of_range_numbers_in_one_line(
    fakepkg_cli: ModuleType, capsys: pytest.CaptureFixture[str], option: str, value: str
) -> None:
    with pytest.raises(SystemExit) as exited:
        fakepkg_cli.main(["serve", option, value])
    assert exited.value.code == 2
    [line] = capsys.readouterr().err.strip().splitlines()
    assert line.startswith(f"fakepkg serve: error: argument {option}: {value!r} is not ")


def test_an_out_of_range_port_is_one_line_from_the_command_line(workspace: Workspace) -> None:
    result = workspace.run("serve", "--port", "70000")
    assert result.returncode == 2 and result.stdout == ""
    assert result.stderr.splitlines() == [
        "fakepkg serve: error: argument --port: '70000' is not an integer from 1 to 65535; "
        "see fakepkg serve --help"
    ]
