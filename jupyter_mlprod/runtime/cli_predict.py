"""The ``predict`` command: batch predictions for a file, through the same schema checks as
serving."""

from __future__ import annotations

import argparse
import sys

from .cli_common import Commands
from .errors import InputError, SchemaError


def register(commands: Commands, store: argparse.ArgumentParser) -> None:
    """Add this module's command(s) to the CLI; ``store`` is the ``--model-dir`` parent."""
    predict = commands.add_parser("predict", parents=[store], help="batch predictions for a file")
    predict.add_argument("--input", required=True, metavar="F", help="CSV, Parquet, JSON or .npy")
    predict.add_argument("--output", required=True, metavar="G", help="CSV, Parquet, JSON or .npy")
    predict.add_argument(
        "--model", metavar="REF", help="vN, an alias or latest (default: production)"
    )
    predict.set_defaults(handler=_predict)


def _predict(args: argparse.Namespace) -> int:
    from . import predict as predict_module
    from .batch import OutputFile, read_input
    from .predicting import call_predict
    from .schema import conform, n_rows
    from .store import ModelStore, model_dir

    store = ModelStore(model_dir(args.model_dir))
    # Opened first, so an output path that cannot be written fails before any work is done.
    with OutputFile(args.output) as output:
        model = store.load(args.model)
        try:
            data = conform(read_input(args.input, model.schema), model.schema)
        except SchemaError as error:
            raise InputError(f"{args.input}: {error}") from None
        rows = n_rows(data)
        predictions = call_predict(predict_module.predict, model.artifacts, data)
        output_name = _output_label(str(model.manifest.get("predict_output") or "prediction"))
        written = output.write(predictions, output_name, rows)
    print(f"{rows} predictions from {model.version} written to {written}", file=sys.stderr)
    return 0


def _output_label(predict_output: str) -> str:
    """The column a 1-d prediction is written as: the notebook's output variable, or for
    predictions the notebook added as a column (``df["pred"]``), that column's name."""
    if predict_output.endswith('"]') and '["' in predict_output:
        return predict_output[predict_output.index('["') + 2 : -2]
    return predict_output
