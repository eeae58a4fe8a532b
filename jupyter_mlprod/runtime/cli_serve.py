"""The ``serve`` command: predictions over HTTP with the connection limits of http_limits.py."""

from __future__ import annotations

import argparse
import os
import sys

from .cli_common import PROG, Commands, ranged
from .errors import printable
from .http_limits import (
    DEFAULT_KEEP_ALIVE_TIMEOUT,
    DEFAULT_MAX_CONNECTIONS,
    DEFAULT_MAX_HEAD_BYTES,
    DEFAULT_READ_TIMEOUT,
    ConnectionLimits,
)


def register(commands: Commands, store: argparse.ArgumentParser) -> None:
    """Add this module's command(s) to the CLI; ``store`` is the ``--model-dir`` parent."""
    serve = commands.add_parser("serve", parents=[store], help="serve predictions over HTTP")
    serve.add_argument("--host", default="127.0.0.1", help="bind address (default 127.0.0.1)")
    serve.add_argument("--port", type=ranged(int, 1, 65535), default=8000, help="1 to 65535")
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
        type=ranged(int, 1024, 1 << 24),
        default=DEFAULT_MAX_HEAD_BYTES,
        metavar="N",
        help=f"larger request heads get 431 (default {DEFAULT_MAX_HEAD_BYTES})",
    )
    serve.add_argument(
        "--read-timeout",
        type=ranged(float, 0.1, 3600),
        default=DEFAULT_READ_TIMEOUT,
        metavar="S",
        help="seconds a request head, then its body, may take to arrive; slower ones get 408 "
        f"(default {DEFAULT_READ_TIMEOUT:g})",
    )
    serve.add_argument(
        "--keep-alive-timeout",
        type=ranged(int, 1, 3600),
        default=DEFAULT_KEEP_ALIVE_TIMEOUT,
        metavar="S",
        help="seconds a connection may wait for a request before it is closed "
        f"(default {DEFAULT_KEEP_ALIVE_TIMEOUT})",
    )
    serve.add_argument(
        "--max-connections",
        type=ranged(int, 1, 1_000_000),
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
    serve.add_argument(
        "--monitor-window",
        type=ranged(int, 0, 1_000_000),
        default=1000,
        metavar="N",
        help="rows of each served version kept for live drift tests, GET /monitor and "
        "/metrics (default 1000; 0 turns monitoring off)",
    )
    serve.add_argument(
        "--monitor-interval",
        type=ranged(float, 0.05, 86400),
        default=10.0,
        metavar="S",
        help="seconds between two drift tests of a window, off the request path (default 10)",
    )
    serve.add_argument(
        "--alerts",
        metavar="FILE",
        help="alert rules (YAML, see alerts.example.yaml): checked at start, GET /alerts",
    )
    serve.add_argument(
        "--workers",
        type=ranged(int, 1, 64),
        default=1,
        metavar="N",
        help="server processes on one socket (default 1); each follows the model store",
    )
    serve.add_argument(
        "--follow-interval",
        type=ranged(float, 0.0, 3600),
        default=2.0,
        metavar="S",
        help="seconds between two checks of the aliases: when a served one moves, reload "
        "without /reload (default 2; 0: never)",
    )
    serve.set_defaults(handler=_serve)


def _serve(args: argparse.Namespace) -> int:
    from .alerts import AlertsError, load_alerts
    from .retrain import TOKEN_ENV
    from .routing import parse_canary
    from .serve import run_server
    from .store import model_dir

    try:
        alerts = load_alerts(args.alerts) if args.alerts else None
    except AlertsError as error:
        # Every mistake of the file at once, one line each, so one edit can fix them all.
        for problem in error.problems:
            print(f"{PROG}: error: {printable(problem)}", file=sys.stderr)
        return error.exit_code
    return run_server(
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
        monitor_window=args.monitor_window,
        monitor_interval=args.monitor_interval,
        alerts=alerts,
        workers=args.workers,
        follow_interval=args.follow_interval,
    )
