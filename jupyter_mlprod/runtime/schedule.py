"""Scheduled retraining: the files that run ``train --promote-if-better`` on a timetable.

One retrain, four ways to run it, each written for the tool that will read it:

- ``cron``: one crontab line; ``flock -n`` skips a run while the previous one still holds the
  lock (a slow grid search must not overlap the next one), output is appended to a log file.
- ``systemd``: a ``.service`` (oneshot) and a ``.timer`` whose ``OnCalendar=`` is the cron
  expression translated field by field; ``Persistent=true`` catches up a run missed while the
  machine was off. systemd never starts a oneshot unit twice at once, so no lock is needed.
- ``github-actions``: a workflow with ``on.schedule`` (GitHub reads cron in UTC) and
  ``workflow_dispatch``, one run at a time (``concurrency``).
- ``airflow``: a DAG file (TaskFlow API, Airflow 3 imports) whose one task calls the package's
  ``train`` in-process, with retries, and returns the new version's id (its XCom value).

Every export trains with the same command line, :func:`train_arguments`; the exit code
:data:`NOT_PROMOTED` (trained, but not better than production) counts as success everywhere.
Pure functions: the command module (``cli_schedule``) does the I/O.
"""

from __future__ import annotations

import datetime as dt
import json
import shlex
from dataclasses import dataclass
from pathlib import Path

from .errors import ScheduleError
from .promotion import NOT_PROMOTED_EXIT

NOT_PROMOTED = NOT_PROMOTED_EXIT
"""Exit code of ``train --promote-if-better`` when the new version was saved, not promoted."""

EVERY: dict[str, str] = {
    "hourly": "0 * * * *",
    "daily": "0 3 * * *",
    "weekly": "0 3 * * 1",
    "monthly": "0 3 1 * *",
}
"""``--every`` names → cron expressions (a quiet hour of the night, Monday for weekly)."""

EXPORTS = ("cron", "systemd", "github-actions", "airflow")

_DAYS = ("Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat")
_FIELDS = ("minute", "hour", "day of month", "month", "day of week")


@dataclass(frozen=True)
class Retrain:
    """What a scheduled run does: which package trains, where, against which store.

    Attributes:
        module: the package's import name (``python -m <module> train``).
        python: the interpreter whose environment has the package installed.
        workdir: the directory train runs in (the notebook's data paths are relative to it).
        model_dir: the model store, absolute.
        promote_if_better: ``METRIC[:MIN_DELTA]`` passed to ``train --promote-if-better``.
        params_file: an optional ``--params-file`` for the run.
    """

    module: str
    python: str
    workdir: Path
    model_dir: Path
    promote_if_better: str
    params_file: Path | None = None

    @property
    def name(self) -> str:
        """The name files and jobs are given: ``<package>-retrain``."""
        return self.module.replace("_", "-") + "-retrain"


def parse_cron(expression: str) -> str:
    """Validate a five-field cron expression with croniter; return it normalised.

    Raises:
        ScheduleError: one line naming what is wrong and an example of a valid expression.
    """
    from croniter import croniter

    normalised = " ".join(expression.split())
    fields = normalised.split(" ") if normalised else []
    if len(fields) != 5:
        raise ScheduleError(
            f"cron expression {expression[:60]!r} has {len(fields)} field(s), not 5 "
            "(minute hour day-of-month month day-of-week), e.g. --cron '0 3 * * *'"
        )
    if not croniter.is_valid(normalised):
        raise ScheduleError(
            f"cron expression {expression[:60]!r} is not valid: {_invalid_field(fields)}; "
            "e.g. --cron '0 3 * * *' (every day at 03:00)"
        )
    return normalised


def _invalid_field(fields: list[str]) -> str:
    """Name the first field croniter refuses (each checked alone, the others set to ``*``)."""
    from croniter import croniter

    for index, value in enumerate(fields):
        probe = ["*"] * 5
        probe[index] = value
        if not croniter.is_valid(" ".join(probe)):
            return f"the {_FIELDS[index]} field {value!r} is out of range or malformed"
    return "the fields do not combine into a valid schedule"


def next_runs(expression: str, count: int = 3, now: dt.datetime | None = None) -> list[str]:
    """The next ``count`` run times (UTC, ISO format), shown so the user can check the rule."""
    from croniter import croniter

    start = now or dt.datetime.now(dt.timezone.utc)
    runs = croniter(expression, start)
    return [runs.get_next(dt.datetime).isoformat(timespec="minutes") for _ in range(count)]


def train_arguments(retrain: Retrain) -> list[str]:
    """The arguments after ``python -m <module>`` that every export runs."""
    arguments = [
        "train",
        "--model-dir",
        str(retrain.model_dir),
        "--promote-if-better",
        retrain.promote_if_better,
    ]
    if retrain.params_file is not None:
        arguments += ["--params-file", str(retrain.params_file)]
    return arguments


def _command(retrain: Retrain) -> list[str]:
    return [retrain.python, "-m", retrain.module, *train_arguments(retrain)]


# --------------------------------------------------------------------------- cron


def crontab(expression: str, retrain: Retrain, log_file: Path, lock_file: Path) -> str:
    """A crontab fragment: a comment saying what it is and how to install it, and the line.

    ``%`` is a newline to cron, so it is escaped wherever it appears in the command.
    """
    command = shlex.join(_command(retrain))
    line = (
        f"cd {shlex.quote(str(retrain.workdir))} && "
        f"mkdir -p {shlex.quote(str(log_file.parent))} && "
        f"flock -n {shlex.quote(str(lock_file))} {command} "
        f">> {shlex.quote(str(log_file))} 2>&1"
    )
    return (
        f"# {retrain.name}: retrain, promoting only a better model "
        f"(--promote-if-better {retrain.promote_if_better}).\n"
        "# Install: (crontab -l 2>/dev/null; cat THIS_FILE) | crontab -\n"
        f"# A run is skipped while the previous one holds {lock_file.name}; exit "
        f"{NOT_PROMOTED} means trained but not promoted.\n"
        f"{expression} {line.replace('%', chr(92) + '%')}\n"
    )


# ------------------------------------------------------------------------ systemd


def on_calendar(expression: str) -> str:
    """Translate a five-field cron expression into a systemd ``OnCalendar=`` value.

    Raises:
        ScheduleError: for the one cron rule systemd cannot express: day of month and day of
            week both restricted (cron runs when *either* matches, systemd when both do).
    """
    minute, hour, day, month, weekday = expression.split(" ")
    if day != "*" and weekday != "*":
        raise ScheduleError(
            f"cron expression {expression!r} restricts both the day of month and the day of "
            "week, which cron joins with OR and systemd with AND; restrict only one, or use "
            "--export cron"
        )
    days = "" if weekday == "*" else _weekdays(weekday) + " "
    date = f"*-{_calendar(month, 1)}-{_calendar(day, 1)}"
    return f"{days}{date} {_calendar(hour, 0)}:{_calendar(minute, 0)}:00"


def _calendar(field: str, first: int) -> str:
    """One numeric cron field in systemd's syntax: ``a-b`` → ``a..b``, ``*/n`` → ``first/n``."""
    parts = []
    for part in field.split(","):
        value, _, step = part.partition("/")
        if value == "*":
            value = str(first) if step else "*"
        elif "-" in value:
            low, high = value.split("-", 1)
            if step:
                raise ScheduleError(
                    f"cron field {field!r}: a stepped range has no systemd equivalent; "
                    "list the values instead, or use --export cron"
                )
            value = f"{low}..{high}"
        parts.append(f"{value}/{step}" if step else value)
    return ",".join(parts)


def _weekdays(field: str) -> str:
    """Cron's day-of-week field (0 or 7 is Sunday, names allowed) as systemd day names."""

    def name(text: str) -> str:
        if text.isdigit():
            return _DAYS[int(text) % 7]
        return text[:3].capitalize()

    parts = []
    for part in field.split(","):
        if "/" in part:
            raise ScheduleError(
                f"cron day-of-week {field!r}: steps have no systemd equivalent; list the days, "
                "or use --export cron"
            )
        low, dash, high = part.partition("-")
        parts.append(f"{name(low)}..{name(high)}" if dash else name(low))
    return ",".join(parts)


def systemd_units(expression: str, retrain: Retrain) -> dict[str, str]:
    """``{file name: text}`` of the ``.service`` and ``.timer`` pair."""
    command = shlex.join(_command(retrain))
    service = f"""[Unit]
Description={retrain.name}: retrain {retrain.module}, promoting only a better model
After=network-online.target

[Service]
Type=oneshot
WorkingDirectory={retrain.workdir}
Environment=MLPROD_MODEL_DIR={retrain.model_dir}
ExecStart={command}
# {NOT_PROMOTED}: a new version was trained and kept, but it was not better than production.
SuccessExitStatus={NOT_PROMOTED}
"""
    timer = f"""[Unit]
Description=Run {retrain.name} on the schedule {expression!r} (cron syntax)

[Timer]
OnCalendar={on_calendar(expression)}
# Run once at boot if the machine was off at the scheduled time.
Persistent=true
Unit={retrain.name}.service

[Install]
WantedBy=timers.target
"""
    return {f"{retrain.name}.service": service, f"{retrain.name}.timer": timer}


# ----------------------------------------------------------------- GitHub Actions


def github_workflow(expression: str, retrain: Retrain, python_version: str) -> str:
    """A workflow that retrains on the schedule; the package is the repository's root.

    The model store must outlive the job: on a hosted runner every job starts empty, so the
    store is kept as an artifact here, and a self-hosted runner with ``MLPROD_MODEL_DIR`` on
    shared storage is what production wants (said in the file).
    """
    arguments = train_arguments(
        Retrain(
            retrain.module,
            "python",
            Path("."),
            Path("models"),
            retrain.promote_if_better,
            retrain.params_file,
        )
    )
    train = shlex.join(["python", "-m", retrain.module, *arguments])
    return f"""# {retrain.name}: retrain on a schedule, promoting only a better model.
# GitHub runs scheduled workflows in UTC, on the default branch, and may delay them.
# Every hosted job starts with an empty disk: the model store below lives for one job and is
# uploaded as an artifact. For a store that lasts, run on a self-hosted runner and point
# MLPROD_MODEL_DIR (and --model-dir) at shared storage.
name: {retrain.name}

on:
  schedule:
    - cron: {json.dumps(expression)}
  workflow_dispatch: {{}}

concurrency:
  group: {retrain.name}
  cancel-in-progress: false

jobs:
  retrain:
    runs-on: ubuntu-latest
    timeout-minutes: 180
    steps:
      - uses: actions/checkout@v4
      - uses: actions/setup-python@v5
        with:
          python-version: {json.dumps(python_version)}
          cache: pip
      - name: Install the package
        run: python -m pip install .
      - name: Retrain, promoting only a better model
        run: |
          set +e
          {train}
          code=$?
          if [ "$code" -eq {NOT_PROMOTED} ]; then
            echo "::notice::trained a new version; it was not better than production"
            exit 0
          fi
          exit "$code"
      - name: Keep the model store
        if: always()
        uses: actions/upload-artifact@v4
        with:
          name: model-store
          path: models/
          if-no-files-found: ignore
"""


# ------------------------------------------------------------------------ Airflow


def airflow_dag(expression: str, retrain: Retrain, start: dt.date) -> str:
    """A DAG file: one TaskFlow task that trains in-process and returns the new version."""
    dag_id = retrain.module + "_retrain"
    arguments = train_arguments(retrain)
    return f'''"""{retrain.name}: retrain {retrain.module} on the schedule {expression!r}.

Written by `{retrain.module.replace("_", "-")} schedule --export airflow`. The task calls the
package's train in-process (the package must be installed where the task runs), promotes the
new version only when it beats production on the same held-out data, and returns the new
version's id, which Airflow keeps as the task's XCom value.
"""

from __future__ import annotations

import contextlib
import io
import os

import pendulum
from airflow.sdk import dag, task

WORKDIR = {str(retrain.workdir)!r}
TRAIN_ARGUMENTS = {arguments!r}
NOT_PROMOTED = {NOT_PROMOTED}


@dag(
    dag_id={dag_id!r},
    schedule={expression!r},
    start_date=pendulum.datetime({start.year}, {start.month}, {start.day}, tz="UTC"),
    catchup=False,
    max_active_runs=1,
    default_args={{"retries": 2, "retry_delay": pendulum.duration(minutes=5)}},
    tags=["mlprod", {retrain.module!r}],
)
def {dag_id}() -> None:
    @task
    def train() -> str:
        from {retrain.module}.cli import main

        printed = io.StringIO()
        previous = os.getcwd()
        os.chdir(WORKDIR)
        try:
            with contextlib.redirect_stdout(printed):
                code = main(TRAIN_ARGUMENTS)
        except SystemExit as exit_:  # a usage error: argparse exits
            code = exit_.code if isinstance(exit_.code, int) else 2
        finally:
            os.chdir(previous)
        if code not in (0, NOT_PROMOTED):
            raise RuntimeError(f"train exited with {{code}}; its error is in the log above")
        version = printed.getvalue().split()[-1]
        print(f"{{version}}: " + ("promoted" if code == 0 else "kept, not promoted"))
        return version

    train()


{dag_id}()
'''
