"""``models monitor --input F``: drift of a batch file against the version's training reference.

The file is read and conformed to the schema exactly as ``predict`` reads it (batch.py,
schema.py), predicted on, and tested column by column against the reference profile stored
at train time (profile.py, drift.py). The result is a table (or ``--json``) and optionally an
HTML report with a plot per column (monitor_report.py). The exit status is for CI, as
``diff``'s: 0 no dataset drift, 1 dataset drift, 2 or more an error (one line, as every
error of the CLI).
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import sys
from pathlib import Path

from .cli_common import PROG
from .drift import ColumnDrift, DriftOptions, DriftReport
from .errors import InputError, MlprodError, ModelError, SchemaError, printable

ERROR_EXIT = 2
"""The least exit status of a failed run, so that 1 always means drift."""


def monitor(args: argparse.Namespace) -> int:
    """Run ``models monitor``; errors are re-raised with an exit status of at least 2."""
    try:
        return _monitor(args)
    except MlprodError as error:
        error.exit_code = max(error.exit_code, ERROR_EXIT)
        raise


def _monitor(args: argparse.Namespace) -> int:
    from . import predict as predict_module
    from .batch import read_input
    from .drift import detect_drift
    from .predicting import call_predict
    from .profile import column_values
    from .schema import conform
    from .store import ModelStore, model_dir

    if args.report:
        from .monitor_report import check_report_target

        # Before any work, so that a report that cannot be written fails first.
        check_report_target(args.report)
    store = ModelStore(model_dir(args.model_dir))
    model = store.load(args.model)
    profile = model.manifest.get("profile")
    if not isinstance(profile, dict) or not profile.get("columns"):
        raise ModelError(
            f"{model.version} has no reference profile to monitor against (it was trained "
            "before monitoring existed, or its input has no columns); train a new version"
        )
    try:
        data = conform(read_input(args.input, model.schema), model.schema)
    except SchemaError as error:
        raise InputError(f"{args.input}: {error}") from None
    predictions = None
    if profile.get("prediction"):
        predictions = call_predict(predict_module.predict, model.artifacts, data)
    options = DriftOptions(stattest=args.stattest, drift_share=args.threshold_share)
    try:
        report = detect_drift(profile, data, options, predictions)
    except SchemaError as error:
        raise InputError(f"{args.input}: {error}") from None
    if args.report:
        from .monitor_report import render_report, write_report

        page = render_report(
            report,
            profile,
            column_values(data, "value"),
            column_values(predictions, "prediction") if predictions is not None else None,
            title=f"Drift report: {model.version}",
            subtitle=f"{args.input} against the training reference of {model.version}",
        )
        written = write_report(args.report, page)
        print(f"report written to {written}", file=sys.stderr)
    if not args.no_record:
        _record(store.root, model.version, str(args.input), report)
    if args.json:
        print(json.dumps({"version": model.version, "input": str(args.input), **report.to_json()}))
    else:
        _print_table(report)
    return 1 if report.drifted else 0


DRIFT_RECORDS = "monitoring/drift.jsonl"
"""Where each check's verdict is appended, in the store: the per-version drift status that
``models list`` readers (the lab's Models view) show."""


def _record(store_root: Path, version: str, source: str, report: DriftReport) -> None:
    """Append one line per check; a store that cannot be written only costs a warning, since
    the check itself (and its exit status) stands."""
    drifted = [column.column for column in report.columns if column.drifted]
    record: dict[str, object] = {
        "time": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
        "version": version,
        "source": "models monitor",
        "input": source,
        "rows": report.rows,
        "drifted": report.drifted,
        "share": report.share,
        "drifted_columns": drifted,
    }
    if report.drifted:
        record["message"] = f"{len(drifted)} of {len(report.columns)} columns drifted in {source}"
    path = store_root / DRIFT_RECORDS
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        with open(path, "a", encoding="utf-8") as stream:
            stream.write(json.dumps(record) + "\n")
    except OSError as error:
        print(f"{PROG}: warning: {path}: cannot record the verdict ({error})", file=sys.stderr)


def _print_table(report: DriftReport) -> None:
    results = [*report.columns, *report.prediction]
    width = max([len(printable(r.column, limit=40)) for r in results] + [6])
    print(
        f"{'COLUMN':<{width}}  {'KIND':<11}  {'TEST':<13}  {'STATISTIC':>9}  {'P-VALUE':>9}  "
        f"{'THRESHOLD':>9}  DRIFTED"
    )
    for result in report.columns:
        print(_row(result, width, ""))
    for result in report.prediction:
        print(_row(result, width, " (prediction)"))
    if report.missing_columns:
        names = ", ".join(printable(n, limit=40) for n in report.missing_columns)
        print(f"not in the input, not tested: {names}")
    relation = ">=" if report.drifted else "<"
    print(
        f"{'dataset drift' if report.drifted else 'no dataset drift'}: {report.n_drifted} of "
        f"{len(report.columns)} columns drifted (share {report.share:.2f} {relation} "
        f"{report.drift_share:.2f})"
        + ("; the predictions drifted" if report.prediction_drifted else "")
    )


def _row(result: ColumnDrift, width: int, suffix: str) -> str:
    return (
        f"{printable(result.column, limit=40):<{width}}  {result.kind:<11}  {result.test:<13}  "
        f"{_number(result.statistic):>9}  {_number(result.p_value):>9}  "
        f"{_number(result.threshold):>9}  {'yes' if result.drifted else 'no'}{suffix}"
    )


def _number(value: float | None) -> str:
    return "-" if value is None else f"{value:.4g}"
