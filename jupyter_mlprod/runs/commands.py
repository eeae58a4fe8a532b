"""The ``nb2prod`` subcommands for runs: ``run``, ``rerun``, ``runs list`` and ``verify``.

``jupyter_mlprod.cli`` calls :func:`register`; each subcommand sets ``func`` to a callable
taking the parsed arguments and returning the exit code. Failures are raised as
:class:`~jupyter_mlprod.errors.MlprodError`; ``cli.main`` prints their one line and exits with
their code (2 for a bad parameter, 1 for a failed cell).
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from ..errors import MlprodError, ParameterError
from . import record as records

DEFAULT_RUNS_DIR = records.DEFAULT_RUNS_DIR


def register(subparsers: Any) -> None:
    """Add ``run``, ``rerun``, ``runs`` and ``verify`` to the ``nb2prod`` parser."""
    run = subparsers.add_parser(
        "run",
        help="execute a notebook headless with papermill and record the run",
        description="Execute NOTEBOOK in a fresh kernel with parameters injected into its "
        "`parameters` cell, and write the executed notebook and run.json to RUNS_DIR/<run id>/ "
        "(default: runs/ next to the notebook).",
    )
    run.add_argument("notebook", metavar="NOTEBOOK")
    _add_parameter_options(run)
    run.add_argument(
        "-o",
        "--runs-dir",
        default=None,
        metavar="RUNS_DIR",
        help="where run directories go (default: runs/ next to the notebook)",
    )
    _add_kernel_options(run)
    run.set_defaults(func=cmd_run)

    rerun = subparsers.add_parser(
        "rerun",
        help="repeat a recorded run and say whether its predictions are identical",
        description="Run the notebook of RUN_DIR again with the same parameters into a new "
        "run directory beside it; warn when the notebook or an input file changed.",
    )
    rerun.add_argument("run_dir", metavar="RUN_DIR", help="RUNS_DIR/<run id>")
    _add_kernel_options(rerun)
    rerun.set_defaults(func=cmd_rerun)

    runs = subparsers.add_parser("runs", help="inspect recorded runs")
    runs_commands = runs.add_subparsers(dest="runs_command", metavar="COMMAND", required=True)
    listing = runs_commands.add_parser("list", help="list runs, newest first")
    listing.add_argument("runs_dir", nargs="?", default=DEFAULT_RUNS_DIR, metavar="RUNS_DIR")
    listing.add_argument("--json", action="store_true", help="print the run records as JSON")
    listing.set_defaults(func=cmd_runs_list)

    verify = subparsers.add_parser(
        "verify",
        help="check that the generated package reproduces the notebook's predictions",
        description="Run NOTEBOOK (seed 0) and its converted package on the same parameters "
        "and predict input, and compare their predict outputs.",
    )
    verify.add_argument("notebook", metavar="NOTEBOOK")
    _add_parameter_options(verify)
    verify.add_argument(
        "--rtol",
        type=float,
        default=1e-9,
        help="relative tolerance for float predictions (default: 1e-9)",
    )
    verify.add_argument("--kernel", metavar="K", help="kernel name (default: the notebook's)")
    verify.add_argument("--json", action="store_true", help="print the result as JSON")
    verify.add_argument(
        "-o",
        "--runs-dir",
        default=None,
        metavar="RUNS_DIR",
        help="where the notebook's run directory goes (default: runs/ next to the notebook)",
    )
    verify.add_argument("--keep", metavar="DIR", help="keep the package and models in DIR")
    verify.set_defaults(func=cmd_verify)


def cmd_run(args: argparse.Namespace) -> int:
    """``nb2prod run``."""
    from .execute import execute_run

    parameters = collect_parameters(args.params_file, args.param)
    run_record = execute_run(
        args.notebook,
        parameters,
        args.runs_dir,
        kernel=args.kernel,
        timeout=args.timeout,
        log_output=args.log_output,
        progress_bar=sys.stdout.isatty(),
    )
    print(_finished_line(run_record))
    return 0


def cmd_rerun(args: argparse.Namespace) -> int:
    """``nb2prod rerun``: same notebook, same parameters, a new run directory."""
    from ..errors import ExecutionError
    from ..runtime.provenance import sha256_file
    from .execute import execute_run

    old_dir = Path(args.run_dir)
    old = records.read_record(old_dir)
    notebook_path = Path(old["notebook"]["absolute_path"])
    notebook_changed = False
    if not notebook_path.is_file():
        raise MlprodError(f"{notebook_path}: the notebook of run {old['run_id']} is gone")
    if sha256_file(notebook_path) != old["notebook"].get("sha256"):
        notebook_changed = True
        _warn(f"{notebook_path} changed since run {old['run_id']} (SHA-256 differs)")
    changed = records.changed_inputs(old, notebook_path.parent)
    for name in changed:
        _warn(f"input file {name} changed since run {old['run_id']} (SHA-256 differs)")
    rerun_info = {
        "of": old["run_id"],
        "notebook_changed": notebook_changed,
        "changed_inputs": changed,
    }
    try:
        new = execute_run(
            notebook_path,
            old.get("parameters") or {},
            old_dir.resolve().parent,
            kernel=args.kernel or (old.get("kernel") or {}).get("name"),
            timeout=args.timeout,
            log_output=args.log_output,
            progress_bar=sys.stdout.isatty(),
            extra={"rerun": rerun_info},
        )
    except ExecutionError as exc:
        _update_rerun(Path(exc.executed_path).parent, rerun_info, None)
        raise
    identical = _same_predict_output(old, new)
    _update_rerun(Path(new["run_dir"]), rerun_info, identical)
    print(_finished_line(new))
    if identical is None:
        print("predict output: not recorded in both runs; cannot compare")
    elif identical:
        print(f"predict output: identical to run {old['run_id']}")
    else:
        print(f"predict output: DIFFERS from run {old['run_id']}")
    return 0


def cmd_runs_list(args: argparse.Namespace) -> int:
    """``nb2prod runs list``: a table of runs, newest first."""
    found = records.list_records(args.runs_dir)
    if args.json:
        print(json.dumps(found, indent=2))
        return 0
    if not found:
        print(f"no runs in {args.runs_dir}")
        return 0
    rows = [
        [
            str(item.get("run_id", "")),
            _date(item.get("start")),
            str(item.get("status", "?")),
            _duration(item.get("duration")),
            Path(str((item.get("notebook") or {}).get("path", ""))).name,
            _parameters(item.get("parameters") or {}),
        ]
        for item in found
    ]
    header = ["RUN ID", "DATE (UTC)", "STATUS", "DURATION", "NOTEBOOK", "PARAMETERS"]
    print(format_table(header, rows))
    return 0


def cmd_verify(args: argparse.Namespace) -> int:
    """``nb2prod verify``: exit 0 when the package reproduces the notebook's predictions."""
    from .verify import verify_notebook

    parameters = collect_parameters(args.params_file, args.param)
    result = verify_notebook(
        args.notebook,
        parameters,
        rtol=args.rtol,
        kernel=args.kernel,
        work_dir=args.keep,
        runs_dir=args.runs_dir,
    )
    if args.json:
        print(json.dumps(result.to_json(), indent=2))
        return 0 if result.ok else 1
    summary = [
        ["notebook", f"{result.notebook} (seed 0, {result.durations.get('notebook', 0):.1f}s)"],
        ["predict", f"{result.predict_input} -> {result.predict_output}"],
        ["parameters", _parameters(result.parameters) or "(defaults)"],
        [
            "package",
            f"train {result.durations.get('train', 0):.1f}s, "
            f"predict {result.durations.get('predict', 0):.1f}s",
        ],
        ["run", result.run_dir],
        ["rows compared", str(result.rows)],
        ["columns", ", ".join(result.columns)],
        ["mismatches", f"{result.mismatches} (rtol {result.rtol:g} for floats)"],
    ]
    print(format_table(["", ""], summary, header=False))
    if result.ok:
        print(f"OK: {result.message}")
        return 0
    print(f"MISMATCH: {result.message}")
    if result.first_differences:
        print("first differences:")
        rows = [
            [str(d["row"]), d["column"], d["notebook"], d["package"]]
            for d in result.first_differences
        ]
        print(format_table(["ROW", "COLUMN", "NOTEBOOK", "PACKAGE"], rows))
    return 1


def collect_parameters(
    params_file: str | None, pairs: Sequence[Sequence[str]] | None
) -> dict[str, Any]:
    """Merge ``-f params.yaml`` with ``-p NAME VALUE`` (the command line wins).

    File values arrive typed (checked later against the parameters cell); ``-p`` values
    stay strings, converted by the parameter's declared type. The file is read as a
    package's ``train --params-file`` reads it (JSON for ``.json``, else YAML).

    Raises:
        ParameterError: the file is unreadable or not a mapping of names.
    """
    from ..runtime.errors import ParameterError as PackageParameterError
    from ..runtime.param_types import read_params_file

    values: dict[str, Any] = {}
    if params_file:
        try:
            values.update(read_params_file(params_file))
        except PackageParameterError as error:
            raise ParameterError(str(error)) from None
    for name, value in pairs or ():
        values[name] = value
    return values


def format_table(
    columns: Sequence[str], rows: Sequence[Sequence[str]], *, header: bool = True
) -> str:
    """Left-aligned plain-text columns, two spaces apart (the last one is not padded)."""
    lines = [list(columns)] if header else []
    lines += [list(row) for row in rows]
    widths = [max(len(line[i]) for line in lines) for i in range(len(columns))]
    rendered = []
    for line in lines:
        cells = [text.ljust(width) for text, width in zip(line[:-1], widths, strict=False)]
        rendered.append("  ".join([*cells, line[-1]]).rstrip())
    return "\n".join(rendered)


def _add_parameter_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "-p",
        "--parameter",
        dest="param",
        nargs=2,
        action="append",
        metavar=("NAME", "VALUE"),
        help="set a parameter; the value is converted by the parameter's declared type",
    )
    parser.add_argument("-f", "--params-file", metavar="FILE", help="YAML file of parameter values")


def _add_kernel_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--kernel", metavar="K", help="kernel name (default: the notebook's)")
    parser.add_argument(
        "--timeout", type=float, metavar="S", help="seconds each cell may take (default: none)"
    )
    parser.add_argument(
        "--log-output", action="store_true", help="stream the cells' output while running"
    )


def _finished_line(run_record: dict[str, Any]) -> str:
    return (
        f"run {run_record['run_id']} {run_record['status']} in "
        f"{_duration(run_record.get('duration'))}: {run_record['run_dir']}"
    )


def _same_predict_output(old: dict[str, Any], new: dict[str, Any]) -> bool | None:
    before = ((old.get("predict") or {}).get("output") or {}).get("sha256")
    after = ((new.get("predict") or {}).get("output") or {}).get("sha256")
    if not before or not after:
        return None
    return bool(before == after)


def _update_rerun(run_dir: Path, info: dict[str, Any], identical: bool | None) -> None:
    try:
        current = records.read_record(run_dir)
    except MlprodError:
        return
    current["rerun"] = {**info, "predict_output_identical": identical}
    records.write_record(run_dir, current)


def _warn(message: str) -> None:
    print(f"warning: {message}", file=sys.stderr)


def _date(value: Any) -> str:
    try:
        when = dt.datetime.fromisoformat(str(value))
    except ValueError:
        return "?"
    return when.astimezone(dt.timezone.utc).strftime("%Y-%m-%d %H:%M:%S")


def _duration(value: Any) -> str:
    if not isinstance(value, (int, float)):
        return "?"
    if value < 60:
        return f"{value:.1f}s"
    minutes, seconds = divmod(int(round(value)), 60)
    return f"{minutes}m{seconds:02d}s"


def _parameters(values: dict[str, Any], width: int = 60) -> str:
    text = " ".join(f"{name}={json.dumps(value)}" for name, value in values.items())
    return text if len(text) <= width else text[: width - 3] + "..."
