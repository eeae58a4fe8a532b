"""The command line of a generated package: train, predict, models, serve.

Run as the package's console script or ``python -m <package>``. The program name is the
package name with dashes. Every deliberate failure is an :class:`errors.MlprodError` and is
printed as one line without a traceback; a bad ``--param`` exits 2 like other usage errors.
When the notebook's own code raises inside ``train``, the line names the parameters that
differ from the defaults and the exception; set ``MLPROD_DEBUG=1`` to see its traceback.

Only the modules a command needs are imported, and only when it runs: ``predict`` and
``--help`` never import the training pipeline or the web server.
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import json
import os
import sys
import time
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any, NoReturn

from .errors import (
    InputError,
    MlprodError,
    ModelError,
    PipelineError,
    PredictionError,
    SchemaError,
)
from .http_limits import (
    DEFAULT_KEEP_ALIVE_TIMEOUT,
    DEFAULT_MAX_CONNECTIONS,
    DEFAULT_MAX_HEAD_BYTES,
    DEFAULT_READ_TIMEOUT,
    ConnectionLimits,
)
from .param_types import build_params
from .seeding import DEFAULT_SEED

PACKAGE = __package__ or "model"
PROG = PACKAGE.replace("_", "-")
DEBUG_ENV = "MLPROD_DEBUG"
"""Set (to anything but empty or 0) to let the notebook code's exceptions show their traceback."""


def main(argv: Sequence[str] | None = None) -> int:
    """Run the CLI.

    Args:
        argv: Arguments without the program name; ``None`` reads ``sys.argv``.

    Returns:
        The process exit code.
    """
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return int(args.handler(args))
    except MlprodError as error:
        print(f"{PROG}: error: {error}", file=sys.stderr)
        return error.exit_code
    except KeyboardInterrupt:
        return 130


def build_parser() -> argparse.ArgumentParser:
    """Build the argument parser (exposed so tests and docs can inspect it)."""
    store = _Parser(add_help=False)
    store.add_argument(
        "--model-dir",
        metavar="D",
        help="model store directory (default: $MLPROD_MODEL_DIR, else ./models)",
    )
    parser = _Parser(prog=PROG, description=f"Train, version and serve the {PROG} model.")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    train = commands.add_parser(
        "train",
        parents=[store],
        help="train and save a new model version",
        epilog=f"If the notebook's code fails, set {DEBUG_ENV}=1 to see the traceback.",
    )
    train.add_argument(
        "--param", action="append", default=[], metavar="K=V", help="override a parameter"
    )
    train.add_argument("--params-file", metavar="F", help="parameters from a YAML or JSON file")
    train.add_argument(
        "--seed", type=int, default=DEFAULT_SEED, help=f"random seed (default {DEFAULT_SEED})"
    )
    train.set_defaults(handler=_train)

    predict = commands.add_parser("predict", parents=[store], help="batch predictions for a file")
    predict.add_argument("--input", required=True, metavar="F", help="CSV, Parquet, JSON or .npy")
    predict.add_argument("--output", required=True, metavar="G", help="CSV, Parquet, JSON or .npy")
    predict.add_argument(
        "--model", metavar="REF", help="vN, an alias or latest (default: production)"
    )
    predict.set_defaults(handler=_predict)

    models = commands.add_parser("models", help="list, inspect, promote and roll back versions")
    actions = models.add_subparsers(dest="action", required=True, metavar="ACTION")
    listing = actions.add_parser("list", parents=[store], help="versions, metrics and aliases")
    listing.add_argument("--json", action="store_true", help="machine-readable output")
    listing.set_defaults(handler=_models_list)
    show = actions.add_parser("show", parents=[store], help="a version's manifest")
    show.add_argument("ref", metavar="REF")
    show.set_defaults(handler=_models_show)
    promote = actions.add_parser("promote", parents=[store], help="point an alias at a version")
    promote.add_argument("ref", metavar="REF")
    promote.add_argument("--alias", default="production")
    promote.set_defaults(handler=_models_promote)
    rollback = actions.add_parser("rollback", parents=[store], help="move an alias back one step")
    rollback.add_argument("--alias", default="production")
    rollback.set_defaults(handler=_models_rollback)

    serve = commands.add_parser("serve", parents=[store], help="serve predictions over HTTP")
    serve.add_argument("--host", default="127.0.0.1", help="bind address (default 127.0.0.1)")
    serve.add_argument("--port", type=_ranged(int, 1, 65535), default=8000, help="1 to 65535")
    serve.add_argument(
        "--model", metavar="REF", help="vN, an alias or latest (default: production)"
    )
    serve.add_argument(
        "--shadow", metavar="REF", help="also predict with REF, off the response path"
    )
    serve.add_argument("--canary", metavar="REF:PCT", help="send PCT%% of requests to REF")
    serve.add_argument("--max-body-bytes", type=int, default=1 << 20, metavar="N")
    serve.add_argument("--prediction-log", metavar="FILE", help="append one JSON line per request")
    serve.add_argument(
        "--shadow-log", metavar="FILE", help="default: shadow.jsonl in the model store"
    )
    serve.add_argument(
        "--threads", type=int, default=2, metavar="N", help="predictions run at once (default 2)"
    )
    serve.add_argument(
        "--no-micro-batch",
        action="store_true",
        help="predict each request on its own even when concurrent requests could share a call",
    )
    serve.add_argument(
        "--max-header-bytes",
        type=_ranged(int, 1024, 1 << 24),
        default=DEFAULT_MAX_HEAD_BYTES,
        metavar="N",
        help=f"larger request heads get 431 (default {DEFAULT_MAX_HEAD_BYTES})",
    )
    serve.add_argument(
        "--read-timeout",
        type=_ranged(float, 0.1, 3600),
        default=DEFAULT_READ_TIMEOUT,
        metavar="S",
        help="seconds a request head, then its body, may take to arrive; slower ones get 408 "
        f"(default {DEFAULT_READ_TIMEOUT:g})",
    )
    serve.add_argument(
        "--keep-alive-timeout",
        type=_ranged(int, 1, 3600),
        default=DEFAULT_KEEP_ALIVE_TIMEOUT,
        metavar="S",
        help="seconds a connection may wait for a request before it is closed "
        f"(default {DEFAULT_KEEP_ALIVE_TIMEOUT})",
    )
    serve.add_argument(
        "--max-connections",
        type=_ranged(int, 1, 1_000_000),
        default=DEFAULT_MAX_CONNECTIONS,
        metavar="N",
        help=f"past N open connections requests get 503 (default {DEFAULT_MAX_CONNECTIONS})",
    )
    serve.add_argument(
        "--allow-retrain",
        action="store_true",
        help="serve POST /retrain (runs train in a child process; $MLPROD_RETRAIN_TOKEN, if "
        "set, is required as a bearer token, and must be set to bind a non-loopback address)",
    )
    serve.set_defaults(handler=_serve)
    return parser


class _Parser(argparse.ArgumentParser):
    """argparse, with a usage error as one line (like every other error) instead of the usage."""

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"{self.prog}: error: {message}; see {self.prog} --help\n")


def _ranged(kind: type[int] | type[float], low: float, high: float) -> Callable[[str], Any]:
    """An argparse type: a number of ``kind`` from ``low`` to ``high``, else a usage error."""

    def parse(text: str) -> Any:
        try:
            value = kind(text)
        except ValueError:
            value = None
        if value is None or not low <= value <= high:
            raise argparse.ArgumentTypeError(
                f"{text[:20]!r} is not {'an integer' if kind is int else 'a number'} "
                f"from {low:g} to {high:g}"
            )
        return value

    return parse


# ------------------------------------------------------------------------ train


def _train(args: argparse.Namespace) -> int:
    from . import params as params_module
    from .batching import rows_independent
    from .compare import compare_predictions
    from .predicting import call_predict
    from .provenance import describe_input_files, distribution_versions, git_state
    from .schema import conform, infer_schema
    from .seeding import seed_everything
    from .store import ModelStore, model_dir

    params = build_params(params_module.Params, args.param, args.params_file)
    started = time.perf_counter()
    # Imported before seeding so that the libraries the pipeline uses (torch) are loaded and get
    # seeded; generated modules hold no module-level randomness (stage code is in functions).
    with _notebook_code("importing the pipeline", params):
        from . import pipeline
        from . import predict as predict_module

    seeded = seed_everything(args.seed)
    store = ModelStore(model_dir(args.model_dir))
    # Taken before the pipeline runs, so that files it writes do not count; the store is this
    # command's own output.
    git = git_state(Path.cwd(), exclude=[store.root])

    with _notebook_code("pipeline.run()", params):
        run = pipeline.run(params)
    missing = [name for name in predict_module.ARTIFACT_NAMES if name not in run.artifacts]
    if missing:
        raise ModelError(f"pipeline.run() did not produce artifact(s) {', '.join(missing)}")
    schema = infer_schema(run.sample_input)

    def check(loaded: dict[str, Any]) -> None:
        # The smoke prediction uses the artifacts as read back from disk and the sample as
        # coerced by the schema: exactly the path batch and HTTP predictions will take.
        smoke = call_predict(predict_module.predict, loaded, conform(run.sample_input, schema))
        if not compare_predictions(run.predictions, smoke).equivalent:
            training = _modules_in_training_mode(run.artifacts)
            if training:
                # Dropout and batch norm behave differently until eval(); loading calls it.
                raise PredictionError(
                    f"{training[0]} is still in training mode, so its predictions change once "
                    f"it is saved and loaded; call `{training[0]}.eval()` at the end of the train "
                    "cell. The model was not saved"
                )
            raise PredictionError(
                "smoke prediction with the saved artifacts differs from the pipeline's "
                "predictions; the model was not saved (is predict() deterministic?)"
            )

    # Whether serving may answer concurrent requests with one predict() call (batching.py).
    row_independent = rows_independent(
        predict_module.predict, run.artifacts, conform(run.sample_input, schema), run.predictions
    )
    metadata = {
        "package": PACKAGE,
        "notebook": dict(pipeline.NOTEBOOK),
        "predict_input": pipeline.PREDICT_INPUT,
        "predict_output": pipeline.PREDICT_OUTPUT,
        "params": _jsonable(dataclasses.asdict(params)),
        "seed": args.seed,
        "seeded": seeded,
        "metrics": _metrics(run.metrics),
        "input_files": describe_input_files(list(run.input_files)),
        "schema": schema,
        "row_independent": row_independent,
        "git": git,
        "python": sys.version.split()[0],
        "distributions": distribution_versions(PACKAGE),
        "train_seconds": round(time.perf_counter() - started, 3),
    }
    version = store.save(run.artifacts, metadata, check=check)
    shown = ", ".join(f"{k}={v:.4g}" for k, v in metadata["metrics"].items())
    print(f"saved {version} to {store.root}" + (f" ({shown})" if shown else ""), file=sys.stderr)
    print(version)
    return 0


@contextlib.contextmanager
def _notebook_code(what: str, params: Any) -> Iterator[None]:
    """Turn an exception from the notebook's own code into one :class:`PipelineError` line.

    Train runs the notebook's code in this one place; the line names the parameters that
    differ from the defaults (they are what the user changed) and the exception. With
    ``MLPROD_DEBUG`` set the exception propagates with its traceback.
    """
    try:
        yield
    except MlprodError:
        raise
    except Exception as error:  # noqa: BLE001 - the notebook's code may raise anything
        if os.environ.get(DEBUG_ENV, "") not in ("", "0"):
            raise
        detail = _clip((str(error).strip().splitlines() or [""])[0], 300)
        raise PipelineError(
            f"{what} failed with {_changed_params(params)}: {type(error).__name__}"
            + (f": {detail}" if detail else "")
            + f"; set {DEBUG_ENV}=1 for the traceback",
            cause=type(error).__name__,
        ) from None


def _changed_params(params: Any) -> str:
    """``name=value`` for each parameter that differs from its default, values clipped."""
    values = dataclasses.asdict(params)
    try:
        defaults = dataclasses.asdict(type(params)())
    except TypeError:
        defaults = {}
    changed = [
        f"{name}={_clip(repr(value), 60)}"
        for name, value in values.items()
        if name not in defaults or defaults[name] != value
    ]
    return ", ".join(changed) if changed else "the default parameters"


def _clip(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _output_label(predict_output: str) -> str:
    """The column a 1-d prediction is written as: the notebook's output variable, or for
    predictions the notebook added as a column (``df["pred"]``), that column's name."""
    if predict_output.endswith('"]') and '["' in predict_output:
        return predict_output[predict_output.index('["') + 2 : -2]
    return predict_output


def _modules_in_training_mode(artifacts: dict[str, Any]) -> list[str]:
    torch = sys.modules.get("torch")
    if torch is None:
        return []
    return [
        name
        for name, value in artifacts.items()
        if isinstance(value, torch.nn.Module) and value.training
    ]


def _metrics(metrics: dict[str, Any]) -> dict[str, float]:
    """Keep the numeric metrics, as floats (the manifest is JSON)."""
    kept = {}
    for name, value in metrics.items():
        try:
            kept[str(name)] = float(value)
        except (TypeError, ValueError):
            continue
    return kept


def _jsonable(value: Any) -> Any:
    return json.loads(json.dumps(value, default=str))


# ---------------------------------------------------------------------- predict


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


# ----------------------------------------------------------------------- models


def _models_list(args: argparse.Namespace) -> int:
    from .store import ModelStore, model_dir

    store = ModelStore(model_dir(args.model_dir))
    # A broken version or alias is marked and reported; the rest of the store is listed.
    problems: list[str] = []
    try:
        aliases = store.aliases()
        problems.extend(store.alias_problems().values())
    except ModelError as error:
        aliases = {}
        problems.append(str(error))
    pointing: dict[str, list[str]] = {}
    for alias, entry in sorted(aliases.items()):
        pointing.setdefault(str(entry.get("version")), []).append(alias)
    rows = []
    for stored in store.stored_versions():
        manifest = stored.manifest or {}
        if stored.problem:
            problems.append(stored.problem)
        rows.append(
            {
                "version": stored.version,
                "created": manifest.get("created"),
                "metrics": manifest.get("metrics", {}),
                "aliases": pointing.get(stored.version, []),
                **({"problem": stored.problem} if stored.problem else {}),
            }
        )
    for problem in problems:
        print(f"{PROG}: warning: {problem}", file=sys.stderr)
    if args.json:
        print(json.dumps({"versions": rows, "aliases": aliases}, indent=2))
        return 0
    if not rows:
        print(f"no model versions in {store.root}", file=sys.stderr)
        return 0
    print(f"{'VERSION':<8} {'CREATED':<26} {'ALIASES':<20} METRICS")
    for row in rows:
        metrics = ", ".join(f"{k}={v:.4g}" for k, v in row["metrics"].items())
        if "problem" in row:
            metrics = "BROKEN (see the warning above)"
        names = ",".join(row["aliases"]) or "-"
        print(f"{row['version']:<8} {row['created'] or '?':<26} {names:<20} {metrics}")
    return 0


def _models_show(args: argparse.Namespace) -> int:
    from .store import ModelStore, model_dir

    store = ModelStore(model_dir(args.model_dir))
    version = store.resolve(args.ref)
    print(json.dumps(store.manifest(version), indent=2))
    return 0


def _models_promote(args: argparse.Namespace) -> int:
    from .store import ModelStore, model_dir

    store = ModelStore(model_dir(args.model_dir))
    version, previous = store.promote(args.ref, args.alias)
    print(f"{args.alias} -> {version}" + (f" (was {previous})" if previous else ""))
    return 0


def _models_rollback(args: argparse.Namespace) -> int:
    from .store import ModelStore, model_dir

    store = ModelStore(model_dir(args.model_dir))
    version, previous = store.rollback(args.alias)
    print(f"{args.alias} -> {version} (was {previous})")
    return 0


# ------------------------------------------------------------------------ serve


def _serve(args: argparse.Namespace) -> int:
    from .retrain import TOKEN_ENV
    from .routing import parse_canary
    from .serve import run_server
    from .store import model_dir

    run_server(
        model_dir(args.model_dir),
        host=args.host,
        port=args.port,
        limits=ConnectionLimits(
            max_head_bytes=args.max_header_bytes,
            read_timeout=args.read_timeout,
            keep_alive_timeout=args.keep_alive_timeout,
            max_connections=args.max_connections,
        ),
        model_ref=args.model,
        shadow_ref=args.shadow,
        canary=parse_canary(args.canary) if args.canary else None,
        max_body_bytes=args.max_body_bytes,
        prediction_log=args.prediction_log,
        shadow_log=args.shadow_log,
        predict_threads=args.threads,
        micro_batch=not args.no_micro_batch,
        allow_retrain=args.allow_retrain,
        retrain_token=os.environ.get(TOKEN_ENV) or None,
    )
    return 0
