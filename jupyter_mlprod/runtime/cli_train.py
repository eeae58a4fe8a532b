"""The ``train`` command: run the pipeline, check the saved artifacts predict as the run did,
and register a new version with its provenance."""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import json
import os
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from .cli_common import DEBUG_ENV, PACKAGE, Commands
from .errors import MlprodError, ModelError, PipelineError, PredictionError
from .param_types import build_params
from .progress import Progress
from .promotion import NOT_PROMOTED_EXIT, Decision, PromotionError, PromotionRule
from .seeding import DEFAULT_SEED


def register(commands: Commands, store: argparse.ArgumentParser) -> None:
    """Add this module's command(s) to the CLI; ``store`` is the ``--model-dir`` parent."""
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
    train.add_argument(
        "--promote-if-better",
        metavar="METRIC[:MIN_DELTA]",
        help="score this version and production on this run's held-out data and promote only "
        f"if METRIC is better by at least MIN_DELTA (default 0); exit {NOT_PROMOTED_EXIT} when "
        "saved but not promoted",
    )
    direction = train.add_mutually_exclusive_group()
    direction.add_argument(
        "--higher-is-better",
        dest="higher_is_better",
        action="store_const",
        const=True,
        help="METRIC improves upwards (known for accuracy, f1, roc_auc, r2, precision, recall)",
    )
    direction.add_argument(
        "--lower-is-better",
        dest="higher_is_better",
        action="store_const",
        const=False,
        help="METRIC improves downwards (known for mse, rmse, mae, log_loss, error)",
    )
    train.add_argument(
        "-q", "--quiet", action="store_true", help="no progress lines (shown only on a terminal)"
    )
    train.set_defaults(handler=_train)


def _train(args: argparse.Namespace) -> int:
    from . import params as params_module
    from .batching import rows_independent
    from .compare import compare_predictions
    from .predicting import call_predict
    from .profile import build_profile
    from .promotion import parse_rule
    from .provenance import describe_input_files, distribution_versions, git_state
    from .schema import conform, infer_schema
    from .seeding import seed_everything
    from .store import ModelStore, model_dir

    params = build_params(params_module.Params, args.param, args.params_file)
    rule = None
    if args.promote_if_better is not None:
        rule = parse_rule(args.promote_if_better, args.higher_is_better)
    elif args.higher_is_better is not None:
        raise PromotionError(
            "--higher-is-better and --lower-is-better go with --promote-if-better METRIC"
        )
    progress = Progress(enabled=not args.quiet)
    started = time.perf_counter()
    store = ModelStore(model_dir(args.model_dir))
    if rule is not None and store.alias_problems():
        # Found now rather than after training: the promotion would fail to write the table.
        raise ModelError(next(iter(store.alias_problems().values())))
    # Imported before seeding so that the libraries the pipeline uses (torch) are loaded and get
    # seeded; generated modules hold no module-level randomness (stage code is in functions).
    with progress.stage("import"), _notebook_code("importing the pipeline", params):
        from . import pipeline
        from . import predict as predict_module

    seeded = seed_everything(args.seed)
    # Taken before the pipeline runs, so that files it writes do not count; the store is this
    # command's own output.
    git = git_state(Path.cwd(), exclude=[store.root])

    with _stages_shown(pipeline, progress), _notebook_code("pipeline.run()", params):
        run = pipeline.run(params)
    missing = [name for name in predict_module.ARTIFACT_NAMES if name not in run.artifacts]
    if missing:
        raise ModelError(f"pipeline.run() did not produce artifact(s) {', '.join(missing)}")
    schema = infer_schema(run.sample_input)
    decision = None
    if rule is not None:
        with progress.stage("compare with production"):
            decision = _compare_with_production(rule, run, store, predict_module.predict, params)

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
        # The reference drift is measured against (models monitor, serve); bounded in size.
        "profile": build_profile(run.sample_input, run.predictions),
        "git": git,
        "python": sys.version.split()[0],
        "distributions": distribution_versions(PACKAGE),
        "train_seconds": round(time.perf_counter() - started, 3),
    }
    if decision is not None:
        metadata["promotion"] = decision.record()
    with progress.stage("register"):
        version = store.save(run.artifacts, metadata, check=check)
        if decision is not None and decision.promote:
            store.promote(version)
    shown = ", ".join(f"{k}={v:.4g}" for k, v in metadata["metrics"].items())
    progress.finish(f"saved {version}")
    print(f"saved {version} to {store.root}" + (f" ({shown})" if shown else ""), file=sys.stderr)
    if decision is not None:
        outcome = "promoted to production" if decision.promote else "not promoted"
        print(f"{version} {outcome}: {decision.reason}", file=sys.stderr)
    print(version)
    return NOT_PROMOTED_EXIT if decision is not None and not decision.promote else 0


def _compare_with_production(
    rule: PromotionRule, run: Any, store: Any, predict: Any, params: Any
) -> Decision:
    """Score the production version with this run's evaluation on this run's held-out input.

    Production's artifacts are loaded (signature and hashes checked) and predict on the very
    input the new version was scored on; both scores go through the same ``run.score``.
    """
    from .predicting import call_predict
    from .promotion import decide, metric_value
    from .store import DEFAULT_ALIAS

    new = metric_value(rule, _metrics(run.metrics), "the new version")
    if DEFAULT_ALIAS not in store.aliases():
        return decide(rule, new, None, None)
    if run.score is None:
        raise PromotionError(
            "--promote-if-better needs the pipeline's evaluation as a function "
            "(TrainingRun.score): the notebook has no evaluate stage, or the package predates "
            "it and must be generated again"
        )
    production = store.load(DEFAULT_ALIAS)
    try:
        predictions = call_predict(predict, production.artifacts, run.sample_input)
    except PredictionError as error:
        raise PredictionError(
            f"production {production.version} cannot predict this run's held-out input ({error}); "
            "nothing was saved: train without --promote-if-better and promote by hand"
        ) from None
    with _notebook_code(f"evaluating production {production.version}", params):
        scores = run.score(predictions)
    old = metric_value(rule, _metrics(scores), f"production {production.version}")
    return decide(rule, new, old, production.version)


@contextlib.contextmanager
def _stages_shown(pipeline: Any, progress: Progress) -> Iterator[None]:
    """Show each stage function of ``pipeline.run()`` as it runs (load, train, evaluate…).

    The generated ``run()`` keeps the notebook's shape and knows nothing of terminals, so on a
    terminal its stage functions are wrapped for the length of the run (each is called through
    its module's attribute, so the wrapper is what ``run()`` calls) and restored after.
    """
    if not progress.active:
        yield
        return
    stages = [
        (getattr(pipeline, module, None) if module != "pipeline" else pipeline, function)
        for module, function in _STAGE_FUNCTIONS
    ]
    replaced = []
    for owner, function in stages:
        original = getattr(owner, function, None) if owner is not None else None
        if callable(original):
            replaced.append((owner, function, original))
            setattr(owner, function, _shown(progress, function, original))
    try:
        yield
    finally:
        for owner, function, original in replaced:
            setattr(owner, function, original)


# (module as pipeline.py imports it, function): the stages pipeline.run() calls, in run order.
_STAGE_FUNCTIONS = (
    ("data", "load"),
    ("pipeline", "prepare"),
    ("train", "train"),
    ("pipeline", "predict"),
    ("pipeline", "evaluate"),
)


def _shown(progress: Progress, name: str, function: Any) -> Any:
    def shown(*args: Any, **kwargs: Any) -> Any:
        with progress.stage(name):
            return function(*args, **kwargs)

    return shown


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
