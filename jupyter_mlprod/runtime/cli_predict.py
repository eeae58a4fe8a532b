"""The ``predict`` command: batch predictions for a file, through the same schema checks as
serving; ``--engine dask`` spreads a file or a glob, cut into partitions, over a Dask cluster
(dask_engine.py)."""

from __future__ import annotations

import argparse
import functools
import sys
from pathlib import Path

from .cli_common import Commands, ranged
from .errors import InputError, SchemaError


def register(commands: Commands, store: argparse.ArgumentParser) -> None:
    """Add this module's command(s) to the CLI; ``store`` is the ``--model-dir`` parent."""
    predict = commands.add_parser("predict", parents=[store], help="batch predictions for a file")
    predict.add_argument("--input", required=True, metavar="F", help="CSV, Parquet, JSON or .npy")
    predict.add_argument("--output", required=True, metavar="G", help="CSV, Parquet, JSON or .npy")
    predict.add_argument(
        "--model", metavar="REF", help="vN, an alias or latest (default: production)"
    )
    predict.add_argument(
        "--engine",
        choices=("local", "dask"),
        default="local",
        help="local: this process, one file (default); dask: a Dask cluster, CSV or Parquet "
        "file or glob in, a directory of part files out (needs the dask extra)",
    )
    predict.add_argument(
        "--scheduler",
        metavar="ADDRESS",
        help="with --engine dask: the scheduler (tcp://host:8786); default: a local cluster "
        "with one worker process per core",
    )
    predict.add_argument(
        "--partitions",
        type=ranged(int, 1, 100_000),
        metavar="N",
        help="with --engine dask: cut the whole input into N partitions of about equal size "
        "(small files may share one)",
    )
    predict.add_argument(
        "--blocksize",
        metavar="SIZE",
        help="with --engine dask: cut each file into partitions of about SIZE (64MiB, 1GiB; "
        "default 128MiB): Parquet by row groups, CSV by lines",
    )
    predict.add_argument(
        "--output-format",
        choices=("csv", "parquet"),
        help="with --engine dask: the part files' format (default: the input's)",
    )
    predict.add_argument(
        "--quiet", action="store_true", help="no progress lines (shown only on a terminal)"
    )
    predict.set_defaults(handler=functools.partial(_predict, parser=predict))


def _predict(args: argparse.Namespace, parser: argparse.ArgumentParser) -> int:
    if args.engine == "dask":
        if args.partitions is not None and args.blocksize is not None:
            parser.error("give --partitions or --blocksize, not both")
        return _predict_dask(args)
    for flag in ("scheduler", "partitions", "blocksize", "output_format"):
        if getattr(args, flag) is not None:
            parser.error(f"--{flag.replace('_', '-')} needs --engine dask")
    return _predict_local(args)


def _predict_dask(args: argparse.Namespace) -> int:
    from . import dask_engine
    from .progress import Progress
    from .store import ModelStore, model_dir

    progress = Progress(enabled=not args.quiet)
    dask_engine.import_dask()
    blocksize = dask_engine.parse_blocksize(args.blocksize) if args.blocksize else None
    # Checked before the model is loaded or a cluster started: bad paths fail at once.
    dask_engine.input_files(args.input)
    output = Path(args.output)
    dask_engine.check_output_dir(output)
    store = ModelStore(model_dir(args.model_dir))
    with progress.stage("load the model"):
        model = store.load(args.model)
    result = dask_engine.run(
        pattern=args.input,
        output=output,
        store_root=store.root,
        model=model,
        output_name=_output_label(str(model.manifest.get("predict_output") or "prediction")),
        output_format=args.output_format,
        scheduler=args.scheduler,
        partitions=args.partitions,
        progress=progress,
        blocksize=blocksize,
    )
    print(
        f"{result.rows} predictions from {model.version} written to {result.output} "
        f"({result.partitions} part file{'' if result.partitions == 1 else 's'})",
        file=sys.stderr,
    )
    return 0


def _predict_local(args: argparse.Namespace) -> int:
    from . import predict as predict_module
    from .batch import OutputFile, read_input
    from .predicting import call_predict
    from .progress import Progress
    from .schema import conform, n_rows
    from .store import ModelStore, model_dir

    progress = Progress(enabled=not args.quiet)
    store = ModelStore(model_dir(args.model_dir))
    # Opened first, so an output path that cannot be written fails before any work is done.
    with OutputFile(args.output) as output:
        with progress.stage("load the model"):
            model = store.load(args.model)
        with progress.stage(f"read {args.input}"):
            try:
                data = conform(read_input(args.input, model.schema), model.schema)
            except SchemaError as error:
                raise InputError(f"{args.input}: {error}") from None
        rows = n_rows(data)
        if rows == 0:
            # Most models refuse zero samples with an error of their own; say it plainly, and
            # for every model, before any predict() runs (nothing is written either).
            raise InputError(f"{args.input}: no rows to predict (the file holds only a header)")
        # One predict() call over all rows, as training checked it; the lines name the rows.
        with progress.stage(f"predict {rows:,} rows"):
            predictions = call_predict(predict_module.predict, model.artifacts, data)
        output_name = _output_label(str(model.manifest.get("predict_output") or "prediction"))
        with progress.stage(f"write {rows:,} rows"):
            written = output.write(predictions, output_name, rows)
    print(f"{rows} predictions from {model.version} written to {written}", file=sys.stderr)
    return 0


def _output_label(predict_output: str) -> str:
    """The column a 1-d prediction is written as: the notebook's output variable, or for
    predictions the notebook added as a column (``df["pred"]``), that column's name."""
    if predict_output.endswith('"]') and '["' in predict_output:
        return predict_output[predict_output.index('["') + 2 : -2]
    return predict_output
