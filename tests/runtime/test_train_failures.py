"""When the notebook's own code raises inside ``train``, the user sees one line naming the
parameters they changed and the exception, and nothing is saved; ``MLPROD_DEBUG=1`` shows
the traceback."""

from __future__ import annotations

from types import ModuleType

import pytest

from .conftest import Workspace


@pytest.mark.parametrize(
    ("param", "message"),
    [
        (
            "data_path=/nonexistent.csv",
            "pipeline.run() failed with data_path='/nonexistent.csv': FileNotFoundError: "
            "[Errno 2] No such file or directory: '/nonexistent.csv'",
        ),
        ("test_size=2.0", "pipeline.run() failed with test_size=2.0: InvalidParameterError: "),
        ("C=nan", "pipeline.run() failed with C=nan: InvalidParameterError: The 'C' parameter"),
    ],
)
def test_a_failing_pipeline_is_one_line_naming_the_parameters(
    fakepkg_cli: ModuleType,
    workspace: Workspace,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    param: str,
    message: str,
) -> None:
    monkeypatch.delenv("MLPROD_DEBUG", raising=False)
    assert fakepkg_cli.main(["train", "--param", param]) == 1
    err = capsys.readouterr().err
    assert err.startswith(f"fakepkg: error: {message}"), err
    assert err.rstrip().endswith("; set MLPROD_DEBUG=1 for the traceback")
    assert len(err.strip().splitlines()) == 1
    assert not workspace.models.exists() or not list(workspace.models.iterdir())


def test_with_default_parameters_the_line_says_so(
    fakepkg_cli: ModuleType,
    workspace: Workspace,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("MLPROD_DEBUG", raising=False)
    (workspace.root / "data" / "churn.csv").unlink()
    assert fakepkg_cli.main(["train"]) == 1
    err = capsys.readouterr().err
    assert "pipeline.run() failed with the default parameters: FileNotFoundError" in err


def test_a_long_value_is_clipped(
    fakepkg_cli: ModuleType,
    workspace: Workspace,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("MLPROD_DEBUG", raising=False)
    assert fakepkg_cli.main(["train", "--param", "data_path=/" + "x" * 5000]) == 1
    err = capsys.readouterr().err
    assert len(err) < 600 and len(err.strip().splitlines()) == 1


def test_a_failing_smoke_predict_is_one_line(
    fakepkg_cli: ModuleType,
    workspace: Workspace,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import fakepkg.predict

    original = fakepkg.predict.predict
    calls = []

    def fails_once_saved(artifacts: object, data: object) -> object:
        calls.append(1)
        if len(calls) > 3:  # the pipeline's own call and rows_independent's two halves pass
            raise KeyError("features")
        return original(artifacts, data)  # type: ignore[arg-type]

    monkeypatch.setattr(fakepkg.predict, "predict", fails_once_saved)
    monkeypatch.setattr("fakepkg.pipeline.predict", fails_once_saved)
    assert fakepkg_cli.main(["train"]) == 1
    err = capsys.readouterr().err
    assert err.strip() == "fakepkg: error: predict() failed: KeyError: 'features'"
    assert not list(workspace.models.iterdir()) or not list(workspace.models.glob("v*"))
    assert not list(workspace.models.glob(".staging-*"))


@pytest.mark.parametrize(
    ("model_dir", "message"),
    [
        ("/proc/models", "/proc/models: cannot write the model store"),
        ("a_file", "a_file: is not a directory; choose another --model-dir"),
    ],
)
def test_a_store_that_cannot_be_written_is_one_line(
    fakepkg_cli: ModuleType,
    workspace: Workspace,
    capsys: pytest.CaptureFixture[str],
    model_dir: str,
    message: str,
) -> None:
    (workspace.root / "a_file").write_text("")
    for command in (["train"], ["models", "promote", "v1"]):
        assert fakepkg_cli.main([*command, "--model-dir", model_dir]) == 1
        err = capsys.readouterr().err
        assert err.startswith(f"fakepkg: error: {message}") and len(err.splitlines()) == 1, err


@pytest.mark.slow
def test_subprocess_one_line_and_debug_traceback(workspace: Workspace) -> None:
    failed = workspace.run("train", "--param", "data_path=/nonexistent.csv")
    assert failed.returncode == 1
    assert "Traceback" not in failed.stderr
    assert failed.stderr.count("\n") == 1
    assert "FileNotFoundError" in failed.stderr and "MLPROD_DEBUG=1" in failed.stderr
    env = {**workspace.env(), "MLPROD_DEBUG": "1"}
    import subprocess
    import sys

    debugged = subprocess.run(
        [sys.executable, "-m", "fakepkg", "train", "--param", "data_path=/nonexistent.csv"],
        cwd=workspace.root,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert debugged.returncode == 1
    assert "Traceback" in debugged.stderr and "FileNotFoundError" in debugged.stderr
