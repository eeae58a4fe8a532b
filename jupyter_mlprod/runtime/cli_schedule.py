"""The ``schedule`` command: write a cron line, systemd units, a GitHub Actions workflow or an
Airflow DAG that retrains on a timetable, promoting only a better model (schedule.py)."""

from __future__ import annotations

import argparse
import datetime as dt
import os
import sys
import tempfile
from pathlib import Path

from .cli_common import PACKAGE, PROG, Commands
from .errors import InputError, ModelError, ScheduleError


def register(commands: Commands, store: argparse.ArgumentParser) -> None:
    """Add this module's command(s) to the CLI; ``store`` is the ``--model-dir`` parent."""
    from .schedule import EVERY, EXPORTS

    schedule = commands.add_parser(
        "schedule",
        parents=[store],
        help="write a cron/systemd/GitHub Actions/Airflow schedule that retrains",
        description="Write the file(s) that run `train --promote-if-better` on a timetable. "
        "Run it from the directory you train in: scheduled runs train there.",
    )
    when = schedule.add_mutually_exclusive_group(required=True)
    when.add_argument("--cron", metavar="EXPR", help="five-field cron expression, e.g. '0 3 * * *'")
    when.add_argument(
        "--every", choices=sorted(EVERY), help="; ".join(f"{k}: {v!r}" for k, v in EVERY.items())
    )
    schedule.add_argument("--export", required=True, choices=EXPORTS, help="the target tool")
    schedule.add_argument(
        "-o",
        "--output",
        metavar="PATH",
        help="file to write (systemd: a directory, default .); default: standard output",
    )
    schedule.add_argument(
        "--promote-if-better",
        metavar="METRIC[:MIN_DELTA]",
        help="metric a new version must improve (default: production's first metric)",
    )
    schedule.add_argument("--params-file", metavar="F", help="parameters for each run")
    schedule.add_argument(
        "--log-file", metavar="F", help=f"cron: log file (default logs/{PROG}-retrain.log)"
    )
    schedule.set_defaults(handler=_schedule)


def _schedule(args: argparse.Namespace) -> int:
    from .schedule import (
        EVERY,
        Retrain,
        airflow_dag,
        crontab,
        github_workflow,
        next_runs,
        parse_cron,
        systemd_units,
    )
    from .store import model_dir

    expression = parse_cron(args.cron) if args.cron else EVERY[args.every]
    workdir = Path.cwd().resolve()
    store = model_dir(args.model_dir).resolve()
    retrain = Retrain(
        module=PACKAGE,
        python=sys.executable,
        workdir=workdir,
        model_dir=store,
        promote_if_better=args.promote_if_better or _production_metric(store),
        params_file=Path(args.params_file).resolve() if args.params_file else None,
    )
    files: dict[str, str]
    if args.export == "cron":
        log = Path(args.log_file or f"logs/{retrain.name}.log").resolve()
        files = {"": crontab(expression, retrain, log, log.with_suffix(".lock"))}
    elif args.export == "systemd":
        files = systemd_units(expression, retrain)
    elif args.export == "github-actions":
        version = ".".join(str(part) for part in sys.version_info[:2])
        files = {"": github_workflow(expression, retrain, version)}
    else:
        start = dt.datetime.now(dt.timezone.utc).date()
        files = {"": airflow_dag(expression, retrain, start)}

    written = _write(files, args.output, directory=args.export == "systemd")
    for path in written:
        print(f"wrote {path}", file=sys.stderr)
    print(
        f"{args.export}: {expression!r} retrains with --promote-if-better "
        f"{retrain.promote_if_better}; next runs (UTC): {', '.join(next_runs(expression))}",
        file=sys.stderr,
    )
    return 0


def _production_metric(store: Path) -> str:
    """The first metric of the version served by default (production, else the latest):
    what a retrain should beat unless told otherwise."""
    from .store import ModelStore

    hint = "pass --promote-if-better METRIC (e.g. accuracy), or train a version first"
    models = ModelStore(store)
    try:
        version = models.resolve(None)
        metrics = models.manifest(version).get("metrics") or {}
    except ModelError as error:
        raise ScheduleError(f"{error}; no metric to retrain against: {hint}") from None
    if not metrics:
        raise ScheduleError(f"{version} in {store} recorded no metrics; {hint}")
    return str(next(iter(metrics)))


def _write(files: dict[str, str], output: str | None, *, directory: bool) -> list[Path]:
    """Write each file atomically (temp file, then rename); ``""`` is the single file."""
    if output is None and not directory:
        sys.stdout.write(files[""])
        return []
    if directory:
        folder = Path(output or ".")
        if folder.exists() and not folder.is_dir():
            raise InputError(f"{folder}: systemd units are written into a directory, not a file")
        targets = {folder / name: text for name, text in files.items()}
    else:
        targets = {Path(str(output)): files[""]}
    written = []
    for target, text in targets.items():
        temp: str | None = None
        try:
            target.parent.mkdir(parents=True, exist_ok=True)
            handle, temp = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.")
            with os.fdopen(handle, "w", encoding="utf-8") as stream:
                stream.write(text)
            os.replace(temp, target)
        except OSError as error:
            if temp is not None and os.path.exists(temp):
                os.unlink(temp)
            raise InputError(f"{target}: cannot write ({error.strerror or error})") from None
        written.append(target)
    return written
