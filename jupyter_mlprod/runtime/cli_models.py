"""The ``models`` command: list, show, promote and roll back the versions of the model store,
show their history (promotions, rollbacks, alert rules' automatic actions), and monitor a file
for drift against a version's training reference (monitor_cmd.py)."""

from __future__ import annotations

import argparse
import json
import sys

from .cli_common import PROG, Commands, ranged
from .errors import ModelError, printable


def register(commands: Commands, store: argparse.ArgumentParser) -> None:
    """Add this module's command(s) to the CLI; ``store`` is the ``--model-dir`` parent."""
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
    history = actions.add_parser(
        "history",
        parents=[store],
        help="promotions, rollbacks and automatic actions (alert rules), oldest first",
    )
    history.add_argument("--alias", help="only this alias's promotions and rollbacks")
    history.add_argument("--json", action="store_true", help="machine-readable output")
    history.set_defaults(handler=_models_history)
    monitor = actions.add_parser(
        "monitor",
        parents=[store],
        help="drift of a file against the training reference",
        epilog="Exit status: 0 no dataset drift, 1 dataset drift, 2 an error.",
    )
    monitor.add_argument("--input", required=True, metavar="F", help="CSV, Parquet, JSON or .npy")
    monitor.add_argument(
        "--model", metavar="REF", help="vN, an alias or latest (default: production)"
    )
    monitor.add_argument("--report", metavar="R", help="also write an HTML report (R.html)")
    monitor.add_argument("--json", action="store_true", help="machine-readable output")
    monitor.add_argument(
        "--threshold-share",
        type=ranged(float, 0.0, 1.0),
        default=0.5,
        metavar="X",
        help="the dataset drifts when this share of columns drift (default 0.5)",
    )
    monitor.add_argument(
        "--stattest",
        choices=("auto", "psi"),
        default="auto",
        help="auto: Evidently's defaults per column (default); psi: PSI for every column",
    )
    monitor.add_argument(
        "--no-record",
        action="store_true",
        help="do not append the verdict to monitoring/drift.jsonl in the store",
    )
    monitor.set_defaults(handler=_models_monitor)


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


def _models_history(args: argparse.Namespace) -> int:
    from .store import ModelStore, model_dir

    store = ModelStore(model_dir(args.model_dir))
    entries = store.history(args.alias)
    if args.json:
        print(json.dumps(entries, indent=2))
        return 0
    if not entries:
        print(f"no history in {store.root}", file=sys.stderr)
        return 0
    print(f"{'TIME':<26} {'ACTION':<15} {'ALIAS':<12} {'VERSION':<8} {'FROM':<8} REASON")
    for entry in entries:
        reason = entry.get("reason") or {}
        why = (
            f"rule {reason.get('rule')}: {reason.get('when')}={reason.get('value'):.4g} "
            f"over {reason.get('requests')} requests in {reason.get('window_seconds'):g}s "
            f"(fired {reason.get('fired_at')})"
            if isinstance(reason.get("value"), int | float)
            and isinstance(reason.get("window_seconds"), int | float)
            else ("by hand" if not reason else json.dumps(reason, default=str))
        )
        print(
            f"{entry.get('time', '?'):<26} {entry.get('action', '?'):<15} "
            f"{entry.get('alias') or '-':<12} {entry.get('version') or '-':<8} "
            f"{entry.get('previous') or '-':<8} {printable(why)}"
        )
    return 0


def _models_monitor(args: argparse.Namespace) -> int:
    from .monitor_cmd import monitor

    return monitor(args)
