"""Quality floors for the generated model tests: ``convert --quality`` and the notebook's
``metadata.mlprod.quality`` parsed, merged and recorded in the generated pyproject.toml; bad
floors refused in one line before anything is written; the next-steps block and the delivery
files (Dockerfile, CI workflow) as convert writes them."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import nbformat
import pytest
import yaml
from dockerfile_parse import DockerfileParser

from jupyter_mlprod.cli import main
from jupyter_mlprod.errors import ConversionError
from jupyter_mlprod.quality import QualityFloor, floors_from, parse_floor

try:
    import tomllib
except ModuleNotFoundError:  # Python 3.10: pytest depends on tomli there
    import tomli as tomllib

EXAMPLE = Path(__file__).resolve().parents[2] / "example_notebooks" / "churn.ipynb"
PYTHON_MINOR = f"{sys.version_info.major}.{sys.version_info.minor}"


def run_cli(args: list[str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "jupyter_mlprod.cli", *args], capture_output=True, text=True
    )


def churn_with(tmp_path: Path, quality: object | None) -> Path:
    """The churn example beside its data's copy, with ``metadata.mlprod.quality`` set."""
    nb = nbformat.read(str(EXAMPLE), as_version=4)
    if quality is not None:
        nb.metadata["mlprod"]["quality"] = quality
    path = tmp_path / "churn.ipynb"
    nbformat.write(nb, str(path))
    return path


def quality_table(package: Path) -> dict[str, dict[str, float]]:
    with open(package / "pyproject.toml", "rb") as handle:
        return dict(tomllib.load(handle)["tool"]["churn_model"]["quality"])


@pytest.mark.parametrize(
    ("text", "floor"),
    [
        ("acc>=0.8", QualityFloor("acc", "min", 0.8)),
        ("mae <= 6.5", QualityFloor("mae", "max", 6.5)),
        ("val.loss<=1e-3", QualityFloor("val.loss", "max", 0.001)),
        ("r2>=-1", QualityFloor("r2", "min", -1.0)),
    ],
)
def test_floors_parse(text: str, floor: QualityFloor) -> None:
    assert parse_floor(text, "--quality") == floor


@pytest.mark.parametrize("text", ["acc", "acc>0.8", "acc>=", "acc>=high", "acc>=nan", ">=1", ""])
def test_a_bad_floor_is_one_line_naming_it(text: str) -> None:
    with pytest.raises(ConversionError) as caught:
        parse_floor(text, "--quality")
    message = str(caught.value)
    assert "\n" not in message and "--quality" in message and "METRIC>=VALUE" in message


def test_the_command_line_replaces_the_notebook_metric_by_metric() -> None:
    floors = floors_from(["acc>=0.7", "mae<=3"], ["acc>=0.5", "r2>=0.1"])
    assert [floor.describe() for floor in floors] == ["acc>=0.7", "r2>=0.1", "mae<=3"]
    assert floors_from([], "acc>=0.5") == (QualityFloor("acc", "min", 0.5),)
    with pytest.raises(ConversionError, match="twice"):
        floors_from(["acc>=0.7", "acc>=0.8"], None)
    with pytest.raises(ConversionError, match="a list of strings"):
        floors_from([], {"acc": 0.7})


def test_convert_records_the_floors_and_says_what_to_do_next(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    notebook = churn_with(tmp_path, ["acc>=0.5", "r2>=0.1"])
    out = tmp_path / "pkg"
    args = ["convert", str(notebook), "-o", str(out), "--quality", "acc>=0.7"]
    assert main([*args, "--quality", "mae<=3"]) == 0
    assert quality_table(out) == {"acc": {"min": 0.7}, "r2": {"min": 0.1}, "mae": {"max": 3.0}}
    shown = capsys.readouterr().out
    steps = shown[shown.index("next steps:") :]
    for expected in (
        f"pip install '{out}[test]'",
        "churn-model train",
        "tests/test_model.py",
        "quality gate: acc>=0.7, r2>=0.1, mae<=3",
        "churn-model serve",
        f"docker build -t churn-model {out}",
        ".github/workflows/ci.yml",
    ):
        assert expected in steps, steps
    for delivered in ("tests/test_model.py", ".github/workflows/ci.yml", "Dockerfile"):
        assert (out / delivered).is_file()
    assert (out / ".dockerignore").is_file()


def test_without_floors_the_table_is_empty_and_says_so(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "pkg"
    assert main(["convert", str(churn_with(tmp_path, None)), "-o", str(out)]) == 0
    assert quality_table(out) == {}
    assert "No floor was set" in (out / "pyproject.toml").read_text(encoding="utf-8")
    assert "quality gate: none set" in capsys.readouterr().out

    # The image and CI run the converting Python; the image serves on all interfaces.
    image = DockerfileParser(path=str(tmp_path / "parsed.Dockerfile"))
    image.content = (out / "Dockerfile").read_text(encoding="utf-8")
    assert image.baseimage == f"python:{PYTHON_MINOR}-slim"
    kinds = [item["instruction"] for item in image.structure]
    assert {"USER", "HEALTHCHECK", "VOLUME", "ENTRYPOINT"} <= set(kinds)
    assert "--allow-retrain" in image.structure[-1]["value"]
    assert "MLPROD_RETRAIN_TOKEN:+" in image.structure[-1]["value"]
    workflow = yaml.safe_load((out / ".github/workflows/ci.yml").read_text(encoding="utf-8"))
    setup = workflow["jobs"]["test"]["steps"][1]
    assert setup["with"] == {
        "python-version": PYTHON_MINOR,
        "cache": "pip",
        "cache-dependency-path": "requirements.txt",
    }


def test_a_bad_quality_option_is_refused_before_anything_is_written(tmp_path: Path) -> None:
    out = tmp_path / "pkg"
    result = run_cli(["convert", str(EXAMPLE), "-o", str(out), "--quality", "acc=0.7"])
    assert result.returncode == 1, result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in result.stderr, result.stderr
    assert lines[0].startswith("nb2prod: error: --quality 'acc=0.7'"), lines[0]
    assert "acc>=0.8" in lines[0]  # says how to write one
    assert not out.exists() and list(tmp_path.iterdir()) == []


def test_bad_metadata_quality_is_reported_by_check_and_refused_by_convert(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    notebook = churn_with(tmp_path, ["acc at least 0.7"])
    assert main(["check", str(notebook)]) == 1
    report = capsys.readouterr().out
    assert "metadata.mlprod.quality 'acc at least 0.7'" in report, report
    out = tmp_path / "pkg"
    assert main(["convert", str(notebook), "-o", str(out)]) == 1
    error = capsys.readouterr().err.strip().splitlines()
    assert len(error) == 1 and "metadata.mlprod.quality" in error[0], error
    assert not out.exists()
