"""The ``schedule`` command: each export is accepted by its tool and really retrains.

The cron line is split as cron splits it and its command run by ``sh``; the systemd timer's
calendar goes through ``systemd-analyze calendar``; the GitHub workflow's retrain step is run by
bash. The Airflow DAG runs in a real Airflow in ``test_schedule_airflow.py``.
"""

from __future__ import annotations

import ast
import datetime as dt
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from types import ModuleType

import pytest
import yaml
from croniter import croniter

from jupyter_mlprod.runtime import schedule
from jupyter_mlprod.runtime.errors import ScheduleError

from .conftest import Workspace, train

SYSTEMD_ANALYZE = shutil.which("systemd-analyze")


def versions(models: Path) -> list[str]:
    return sorted(p.name for p in models.iterdir() if p.is_dir() and p.name.startswith("v"))


# ------------------------------------------------------------------ cron syntax


@pytest.mark.parametrize(
    ("expression", "expected"),
    [
        ("0 3 * * *", "0 3 * * *"),
        ("  */15   *  * * 1-5 ", "*/15 * * * 1-5"),
        ("0 0 1 jan *", "0 0 1 jan *"),
    ],
)
def test_valid_cron_expressions_are_normalised(expression: str, expected: str) -> None:
    assert schedule.parse_cron(expression) == expected


@pytest.mark.parametrize(
    ("expression", "message"),
    [
        ("0 3 * *", "has 4 field(s), not 5"),
        ("0 3 * * * *", "has 6 field(s), not 5"),
        ("", "has 0 field(s)"),
        ("61 3 * * *", "the minute field '61'"),
        ("0 25 * * *", "the hour field '25'"),
        ("0 3 32 * *", "the day of month field '32'"),
        ("0 3 * 13 *", "the month field '13'"),
        ("0 3 * * funday", "the day of week field 'funday'"),
    ],
)
def test_bad_cron_expressions_get_one_line_naming_the_field(expression: str, message: str) -> None:
    with pytest.raises(ScheduleError) as caught:
        schedule.parse_cron(expression)
    text = str(caught.value)
    assert message in text
    assert "e.g. --cron '0 3 * * *'" in text
    assert "\n" not in text
    assert caught.value.exit_code == 2


def test_every_names_are_valid_cron_expressions() -> None:
    for expression in schedule.EVERY.values():
        assert croniter.is_valid(expression)
    assert schedule.EVERY["daily"] == "0 3 * * *"


def test_next_runs_follow_the_expression() -> None:
    now = dt.datetime(2026, 12, 1, 12, 0, tzinfo=dt.timezone.utc)
    assert schedule.next_runs("0 3 * * *", 2, now) == [
        "2026-12-02T03:00+00:00",
        "2026-12-03T03:00+00:00",
    ]


# ---------------------------------------------------------------- OnCalendar


@pytest.mark.parametrize(
    ("expression", "calendar"),
    [
        ("0 3 * * *", "*-*-* 3:0:00"),
        ("*/15 * * * *", "*-*-* *:0/15:00"),
        ("30 2 * * 1-5", "Mon..Fri *-*-* 2:30:00"),
        ("0 3 * * 0,6", "Sun,Sat *-*-* 3:0:00"),
        ("0 3 * * 7", "Sun *-*-* 3:0:00"),
        ("0 3 1 * *", "*-*-1 3:0:00"),
        ("0 6,18 1-7 */3 *", "*-1/3-1..7 6,18:0:00"),
        ("5 4 * * mon", "Mon *-*-* 4:5:00"),
    ],
)
def test_cron_translates_to_systemd_calendar(expression: str, calendar: str) -> None:
    assert schedule.on_calendar(expression) == calendar


@pytest.mark.skipif(SYSTEMD_ANALYZE is None, reason="systemd-analyze is not installed")
@pytest.mark.parametrize(
    "expression", ["0 3 * * *", "*/15 * * * *", "30 2 * * 1-5", "0 6,18 1-7 */3 *"]
)
def test_systemd_accepts_the_translated_calendar(expression: str) -> None:
    assert SYSTEMD_ANALYZE is not None
    result = subprocess.run(
        [SYSTEMD_ANALYZE, "calendar", "--iterations=3", schedule.on_calendar(expression)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    # The next elapses systemd computes are the ones croniter computes.
    elapses = [
        line.split(":", 1)[1].strip()
        for line in result.stdout.splitlines()
        if "Next elapse" in line or line.strip().startswith("Iter.")
    ]
    assert len(elapses) == 3


@pytest.mark.parametrize(
    ("expression", "message"),
    [
        ("0 3 1 * 1", "restricts both the day of month and the day of week"),
        ("0 3 * * 1-5/2", "steps have no systemd equivalent"),
        ("0 1-10/2 * * *", "a stepped range has no systemd equivalent"),
    ],
)
def test_cron_rules_systemd_cannot_express_are_refused(expression: str, message: str) -> None:
    with pytest.raises(ScheduleError, match=message):
        schedule.on_calendar(expression)


# ----------------------------------------------------------- the command, in-process


def test_cron_export_line_retrains_when_run_as_cron_would(
    fakepkg_cli: ModuleType, workspace: Workspace, capsys: pytest.CaptureFixture[str]
) -> None:
    train(fakepkg_cli, capsys)
    out = workspace.root / "retrain.cron"
    code = fakepkg_cli.main(["schedule", "--cron", "0 3 * * *", "--export", "cron", "-o", str(out)])
    assert code == 0
    err = capsys.readouterr().err
    assert f"wrote {out}" in err
    assert "--promote-if-better accuracy" in err  # the production version's first metric
    lines = [line for line in out.read_text().splitlines() if not line.startswith("#")]
    assert len(lines) == 1
    fields = lines[0].split(" ", 5)
    assert croniter.is_valid(" ".join(fields[:5]))
    command = fields[5]
    assert "flock -n" in command
    assert "%" not in command.replace("\\%", "")
    # cron turns `\%` back into `%` and runs the rest with sh, from the home directory.
    result = subprocess.run(
        ["sh", "-c", command.replace("\\%", "%")],
        cwd="/",
        env=workspace.env(),
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode in (0, schedule.NOT_PROMOTED), result.stderr
    assert versions(workspace.models) == ["v1", "v2"]
    log = workspace.root / "logs" / "fakepkg-retrain.log"
    assert "saved v2" in log.read_text()


def test_cron_line_skips_a_run_while_the_previous_one_holds_the_lock(
    fakepkg_cli: ModuleType, workspace: Workspace, capsys: pytest.CaptureFixture[str]
) -> None:
    out = workspace.root / "retrain.cron"
    args = ["schedule", "--every", "daily", "--export", "cron", "-o", str(out)]
    assert fakepkg_cli.main([*args, "--promote-if-better", "accuracy"]) == 0
    command = out.read_text().splitlines()[-1].split(" ", 5)[5].replace("\\%", "%")
    lock = workspace.root / "logs" / "fakepkg-retrain.lock"
    lock.parent.mkdir()
    holder = subprocess.Popen(["flock", str(lock), "sleep", "30"])
    try:
        # Let the holder take the lock before the scheduled run tries it.
        for _ in range(100):
            if subprocess.run(["flock", "-n", str(lock), "true"]).returncode != 0:
                break
        result = subprocess.run(
            ["sh", "-c", command], env=workspace.env(), capture_output=True, text=True
        )
    finally:
        holder.kill()
        holder.wait()
    assert result.returncode == 1  # flock -n: the lock is held, nothing ran
    assert not workspace.models.exists() or versions(workspace.models) == []


def test_systemd_export_writes_a_service_and_a_timer(
    fakepkg_cli: ModuleType, workspace: Workspace, capsys: pytest.CaptureFixture[str]
) -> None:
    units = workspace.root / "units"
    code = fakepkg_cli.main(
        [
            "schedule",
            "--cron",
            "30 2 * * 1-5",
            "--export",
            "systemd",
            "-o",
            str(units),
            "--promote-if-better",
            "accuracy:0.01",
        ]
    )
    assert code == 0
    assert sorted(p.name for p in units.iterdir()) == [
        "fakepkg-retrain.service",
        "fakepkg-retrain.timer",
    ]
    service = (units / "fakepkg-retrain.service").read_text()
    timer = (units / "fakepkg-retrain.timer").read_text()
    assert "Type=oneshot" in service
    assert f"WorkingDirectory={workspace.root.resolve()}" in service
    assert f"SuccessExitStatus={schedule.NOT_PROMOTED}" in service
    assert "--promote-if-better accuracy:0.01" in service
    assert "OnCalendar=Mon..Fri *-*-* 2:30:00" in timer
    assert "Persistent=true" in timer
    assert "Unit=fakepkg-retrain.service" in timer
    # The ExecStart line is a real command: run it as systemd would (no shell).
    exec_start = next(line for line in service.splitlines() if line.startswith("ExecStart="))
    import shlex

    result = subprocess.run(
        shlex.split(exec_start.removeprefix("ExecStart=")),
        cwd=workspace.root,
        env=workspace.env(),
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode in (0, schedule.NOT_PROMOTED), result.stderr
    assert versions(workspace.models) == ["v1"]


@pytest.mark.skipif(SYSTEMD_ANALYZE is None, reason="systemd-analyze is not installed")
def test_systemd_analyze_verify_accepts_the_units(
    fakepkg_cli: ModuleType, workspace: Workspace
) -> None:
    assert SYSTEMD_ANALYZE is not None
    units = workspace.root / "units"
    args = ["schedule", "--every", "weekly", "--export", "systemd", "-o", str(units)]
    assert fakepkg_cli.main([*args, "--promote-if-better", "accuracy"]) == 0
    result = subprocess.run(
        [SYSTEMD_ANALYZE, "verify", "--man=no", *(str(p) for p in sorted(units.iterdir()))],
        capture_output=True,
        text=True,
        check=False,
    )
    problems = [
        line for line in (result.stdout + result.stderr).splitlines() if "fakepkg-retrain" in line
    ]
    # Without a running systemd (a container), verify still parses the units and reports
    # their own mistakes by file name; lines about the host's missing manager are not ours.
    assert problems == [], problems


def test_github_actions_export_is_a_scheduled_workflow_whose_step_retrains(
    fakepkg_cli: ModuleType, workspace: Workspace, capsys: pytest.CaptureFixture[str]
) -> None:
    out = workspace.root / ".github" / "workflows" / "retrain.yml"
    code = fakepkg_cli.main(
        [
            "schedule",
            "--cron",
            "0 4 * * 0",
            "--export",
            "github-actions",
            "-o",
            str(out),
            "--promote-if-better",
            "accuracy",
        ]
    )
    assert code == 0
    workflow = yaml.safe_load(out.read_text())
    triggers = workflow[True] if True in workflow else workflow["on"]  # YAML 1.1 reads `on`
    assert [entry["cron"] for entry in triggers["schedule"]] == ["0 4 * * 0"]
    assert "workflow_dispatch" in triggers
    assert workflow["concurrency"]["cancel-in-progress"] is False
    steps = workflow["jobs"]["retrain"]["steps"]
    python_step = next(step for step in steps if step.get("uses", "").startswith("actions/setup"))
    assert python_step["with"]["python-version"] == ".".join(map(str, sys.version_info[:2]))
    retrain = next(step for step in steps if "promote-if-better" in step.get("run", ""))
    # Run the step as the runner would (bash -e), with this interpreter as `python`.
    bin_dir = workspace.root / "bin"
    bin_dir.mkdir()
    (bin_dir / "python").symlink_to(sys.executable)
    env = {**workspace.env(), "PATH": f"{bin_dir}{os.pathsep}{os.environ['PATH']}"}
    for _ in ("first run: v1", "second run: v2"):
        result = subprocess.run(
            ["bash", "-e", "-c", retrain["run"]],
            cwd=workspace.root,
            env=env,
            capture_output=True,
            text=True,
            check=False,
        )
        assert result.returncode == 0, result.stderr
    assert versions(workspace.root / "models") == ["v1", "v2"]


def test_airflow_export_is_a_dag_file_with_the_schedule(
    fakepkg_cli: ModuleType, workspace: Workspace, capsys: pytest.CaptureFixture[str]
) -> None:
    out = workspace.root / "dags" / "fakepkg_retrain.py"
    args = ["schedule", "--cron", "15 1 * * *", "--export", "airflow", "-o", str(out)]
    assert fakepkg_cli.main([*args, "--promote-if-better", "accuracy"]) == 0
    source = out.read_text()
    tree = ast.parse(source)
    imports = {
        (node.module, alias.name)
        for node in ast.walk(tree)
        if isinstance(node, ast.ImportFrom)
        for alias in node.names
    }
    assert ("airflow.sdk", "dag") in imports and ("airflow.sdk", "task") in imports
    assert "schedule='15 1 * * *'" in source
    assert "catchup=False" in source
    assert '"retries": 2' in source
    assert "from fakepkg.cli import main" in source
    assert json.dumps("--promote-if-better")[1:-1] in source
    # Lint it as Airflow's own rules would.
    result = subprocess.run(
        [sys.executable, "-m", "ruff", "check", "--no-cache", "--select", "AIR,F,E9", str(out)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr


# ------------------------------------------------------------- bad input, as a user


def test_bad_cron_from_the_command_line_is_one_line_and_writes_nothing(
    workspace: Workspace,
) -> None:
    out = workspace.root / "retrain.cron"
    result = workspace.run("schedule", "--cron", "0 3 * *", "--export", "cron", "-o", str(out))
    assert result.returncode == 2
    assert result.stderr.count("\n") == 1
    assert "fakepkg: error: cron expression '0 3 * *' has 4 field(s)" in result.stderr
    assert "Traceback" not in result.stderr
    assert not out.exists()


def test_without_a_metric_or_a_trained_version_the_command_says_what_to_pass(
    workspace: Workspace,
) -> None:
    result = workspace.run("schedule", "--every", "daily", "--export", "airflow")
    assert result.returncode == 2
    assert "pass --promote-if-better METRIC" in result.stderr
    assert "Traceback" not in result.stderr
    assert result.stdout == ""


def test_unknown_export_is_a_usage_error(workspace: Workspace) -> None:
    result = workspace.run("schedule", "--every", "daily", "--export", "kubernetes")
    assert result.returncode == 2
    assert "invalid choice: 'kubernetes'" in result.stderr


def test_export_to_standard_output(workspace: Workspace) -> None:
    result = workspace.run(
        "schedule", "--every", "hourly", "--export", "cron", "--promote-if-better", "accuracy"
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines()[-1].startswith("0 * * * * cd ")
    assert "next runs (UTC)" in result.stderr
