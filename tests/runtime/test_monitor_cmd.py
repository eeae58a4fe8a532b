"""``models monitor``: a batch file against the version's training reference, in-process, as a
subprocess, and through a package really converted from an example notebook."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from types import ModuleType

import pandas as pd
import pytest

from jupyter_mlprod.cli import main as nb2prod

from .conftest import Workspace, write_churn_csv

EXAMPLES = Path(__file__).resolve().parents[2] / "example_notebooks"


def _steady(path: Path) -> Path:
    """New rows from the training distribution (another seed), without the label."""
    frame = write_churn_csv(path, n_rows=300, seed=11).drop(columns=["churn"])
    frame.to_csv(path, index=False)
    return path


def _drifted(path: Path) -> Path:
    """Older, richer customers, all on the top plan."""
    frame = write_churn_csv(path, n_rows=300, seed=11).drop(columns=["churn"])
    frame["age"] = frame["age"] + 25
    frame["income"] = frame["income"] * 2
    frame["plan"] = "pro"
    frame.to_csv(path, index=False)
    return path


def _monitor(
    cli: ModuleType, capsys: pytest.CaptureFixture[str], *args: str
) -> tuple[int, str, str]:
    code = cli.main(["models", "monitor", *args])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def test_a_steady_file_exits_0_and_a_drifted_one_1(
    fakepkg_cli: ModuleType, churn_store: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, err = _monitor(fakepkg_cli, capsys, "--input", str(_steady(tmp_path / "new.csv")))
    assert code == 0, out + err
    lines = out.splitlines()
    assert lines[0].split() == [
        "COLUMN",
        "KIND",
        "TEST",
        "STATISTIC",
        "P-VALUE",
        "THRESHOLD",
        "DRIFTED",
    ]
    rows = {line.split()[0]: line.split() for line in lines[1:5]}
    assert rows["age"][1:3] == ["numeric", "ks"] and rows["age"][-1] == "no"
    assert rows["plan"][1:3] == ["categorical", "chisquare"]
    # The reference is 60 held-out rows with binary predictions: the z-test, beside the inputs.
    assert rows["prediction"][1:3] == ["categorical", "z"] and lines[4].endswith("(prediction)")
    assert lines[-1].startswith("no dataset drift: 0 of 3 columns drifted (share 0.00 < 0.50)")

    code, out, _ = _monitor(fakepkg_cli, capsys, "--input", str(_drifted(tmp_path / "d.csv")))
    assert code == 1, out
    assert out.splitlines()[-1].startswith(
        "dataset drift: 3 of 3 columns drifted (share 1.00 >= 0.50)"
    )


def test_json_output_and_the_options(
    fakepkg_cli: ModuleType, churn_store: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    drifted = _drifted(tmp_path / "drifted.csv")
    code, out, _ = _monitor(fakepkg_cli, capsys, "--input", str(drifted), "--json")
    assert code == 1
    result = json.loads(out)
    assert result["version"] == "v1" and result["drifted"] is True and result["n_drifted"] == 3
    assert [c["column"] for c in result["columns"]] == ["age", "income", "plan"]
    assert [c["test"] for c in result["columns"]] == ["ks", "ks", "chisquare"]
    assert all(c["p_value"] < 0.05 and c["threshold"] == 0.05 for c in result["columns"])
    assert result["prediction"][0]["column"] == "prediction"

    # Only the plan changed: 1 of 3 columns is under the default share, at or over 1/3 when asked.
    steady = pd.read_csv(_steady(tmp_path / "steady.csv"))
    steady["plan"] = "pro"
    one = tmp_path / "one.csv"
    steady.to_csv(one, index=False)
    assert _monitor(fakepkg_cli, capsys, "--input", str(one))[0] == 0
    assert _monitor(fakepkg_cli, capsys, "--input", str(one), "--threshold-share", "0.3")[0] == 1

    code, out, _ = _monitor(
        fakepkg_cli, capsys, "--input", str(drifted), "--json", "--stattest", "psi"
    )
    assert code == 1
    assert {c["test"] for c in json.loads(out)["columns"]} == {"psi"}


def test_the_html_report_has_a_plot_per_column_and_nothing_from_the_network(
    fakepkg_cli: ModuleType, churn_store: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    report = tmp_path / "report.html"
    code, _, err = _monitor(
        fakepkg_cli, capsys, "--input", str(_drifted(tmp_path / "d.csv")), "--report", str(report)
    )
    assert code == 1 and f"report written to {report}" in err
    page = report.read_text(encoding="utf-8")
    assert page.count('<figure class="plot input"') == 3
    assert page.count('<figure class="plot prediction"') == 1
    assert page.count("<svg") == 4
    assert "<script" not in page and "<link" not in page
    # The only URL is the SVG namespace, which is a name, not a download.
    assert page.replace("http://www.w3.org/2000/svg", "").count("http") == 0
    assert "Dataset drift: 3 of 3 columns drifted" in page
    assert [p.name for p in tmp_path.iterdir() if "mlprod-partial" in p.name] == []


def test_errors_are_one_line_with_exit_status_2_and_leave_no_report(
    fakepkg_cli: ModuleType,
    churn_store: Path,
    workspace: Workspace,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    report = tmp_path / "report.html"
    missing = tmp_path / "nope.csv"
    code, out, err = _monitor(fakepkg_cli, capsys, "--input", str(missing), "--report", str(report))
    assert (code, out) == (2, "")
    assert err.strip() == f"fakepkg: error: {missing}: no such file"
    assert not report.exists()

    lacking = tmp_path / "lacking.csv"
    pd.read_csv(_steady(tmp_path / "s.csv")).drop(columns=["income"]).to_csv(lacking, index=False)
    code, _, err = _monitor(fakepkg_cli, capsys, "--input", str(lacking))
    assert code == 2 and err.strip() == f"fakepkg: error: {lacking}: input column 'income': missing"

    code, _, err = _monitor(
        fakepkg_cli, capsys, "--input", str(lacking), "--report", str(tmp_path / "no" / "r.html")
    )
    assert code == 2 and "report directory does not exist" in err

    with pytest.raises(SystemExit) as usage:
        _monitor(fakepkg_cli, capsys, "--input", str(lacking), "--threshold-share", "2")
    assert usage.value.code == 2
    assert "--threshold-share: '2' is not a number from 0 to 1" in capsys.readouterr().err

    # A version trained before monitoring existed has no profile to compare with.
    manifest = workspace.models / "v1" / "manifest.json"
    content = json.loads(manifest.read_text())
    del content["profile"]
    manifest.write_text(json.dumps(content))
    code, _, err = _monitor(fakepkg_cli, capsys, "--input", str(_steady(tmp_path / "n.csv")))
    assert code == 2 and "v1 has no reference profile" in err and "train a new version" in err


def test_monitor_as_a_subprocess(churn_store: Path, workspace: Workspace, tmp_path: Path) -> None:
    steady = workspace.run("models", "monitor", "--input", str(_steady(tmp_path / "s.csv")))
    assert steady.returncode == 0, steady.stderr
    assert "no dataset drift" in steady.stdout
    drifted = workspace.run(
        "models", "monitor", "--input", str(_drifted(tmp_path / "d.csv")), "--json"
    )
    assert drifted.returncode == 1, drifted.stderr
    assert json.loads(drifted.stdout)["drifted"] is True
    broken = tmp_path / "broken.json"
    broken.write_text("{not json")
    failed = workspace.run("models", "monitor", "--input", str(broken))
    assert failed.returncode == 2 and "Traceback" not in failed.stderr
    assert failed.stderr.strip().startswith(f"fakepkg: error: {broken}: cannot read json input")


@pytest.mark.slow
def test_a_package_converted_from_the_churn_example_monitors_its_new_customers(
    tmp_path: Path,
) -> None:
    package = tmp_path / "package"
    assert nb2prod(["convert", str(EXAMPLES / "churn.ipynb"), "-o", str(package)]) == 0
    module = next(p.parent.name for p in (package / "src").glob("*/__main__.py"))
    (tmp_path / "data").mkdir()
    for name in ("churn.csv", "churn_new_customers.csv"):
        (tmp_path / "data" / name).write_bytes((EXAMPLES / "data" / name).read_bytes())
    env = {
        **os.environ,
        "PYTHONPATH": str(package / "src"),
        "MLPROD_MODEL_DIR": str(tmp_path / "models"),
        "MLPROD_UNSIGNED_OK": "1",
    }

    def run(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", module, *args],
            cwd=tmp_path,
            env=env,
            capture_output=True,
            text=True,
            timeout=300,
        )

    trained = run("train")
    assert trained.returncode == 0, trained.stderr
    new = tmp_path / "data" / "churn_new_customers.csv"
    steady = run("models", "monitor", "--input", str(new), "--json")
    assert steady.returncode in (0, 1), steady.stderr
    result = json.loads(steady.stdout)
    assert [c["column"] for c in result["columns"]] == [
        "tenure_months",
        "monthly_charges",
        "total_charges",
        "support_calls",
        "senior_citizen",
        "gender",
        "contract",
        "internet_service",
        "payment_method",
    ]
    assert result["prediction"] and result["drifted"] is (steady.returncode == 1)

    frame = pd.read_csv(new)
    frame["tenure_months"] = frame["tenure_months"] + 60
    frame["monthly_charges"] = frame["monthly_charges"] * 3
    frame["total_charges"] = frame["total_charges"] * 10
    frame["contract"] = "Two year"
    frame["payment_method"] = "Credit card (automatic)"
    frame["support_calls"] = frame["support_calls"] + 8
    drifted_file = tmp_path / "drifted.parquet"
    frame.to_parquet(drifted_file)
    report = tmp_path / "drift.html"
    drifted = run("models", "monitor", "--input", str(drifted_file), "--report", str(report))
    assert drifted.returncode == 1, drifted.stdout + drifted.stderr
    assert drifted.stdout.splitlines()[-1].startswith("dataset drift: ")
    assert report.read_text(encoding="utf-8").count("<svg") == 9 + len(result["prediction"])


def test_each_check_is_recorded_in_the_store_for_the_models_view(
    fakepkg_cli: ModuleType, churn_store: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    steady, drifted = _steady(tmp_path / "new.csv"), _drifted(tmp_path / "d.csv")
    assert _monitor(fakepkg_cli, capsys, "--input", str(steady))[0] == 0
    assert _monitor(fakepkg_cli, capsys, "--input", str(drifted))[0] == 1
    assert _monitor(fakepkg_cli, capsys, "--input", str(drifted), "--no-record")[0] == 1
    lines = (churn_store / "monitoring" / "drift.jsonl").read_text().splitlines()
    records = [json.loads(line) for line in lines]
    assert [(r["version"], r["drifted"], r["input"]) for r in records] == [
        ("v1", False, str(steady)),
        ("v1", True, str(drifted)),
    ]
    assert records[1]["drifted_columns"] == ["age", "income", "plan"]
    assert records[1]["message"] == f"3 of 3 columns drifted in {drifted}"
    assert "message" not in records[0]
