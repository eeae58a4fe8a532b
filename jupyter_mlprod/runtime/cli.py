"""The command line of a generated package: train, predict, models, serve, schedule.

Run as the package's console script or ``python -m <package>``. The program name is the
package name with dashes. Every deliberate failure is an :class:`errors.MlprodError` and is
printed as one line without a traceback; a bad ``--param`` exits 2 like other usage errors.
When the notebook's own code raises inside ``train``, the line names the parameters that
differ from the defaults and the exception; set ``MLPROD_DEBUG=1`` to see its traceback.

Each command lives in its own module (``cli_train``, ``cli_predict``, ``cli_models``,
``cli_serve``…), registered in :data:`COMMANDS`. Only the modules a command needs are
imported, and only when it runs: ``predict`` and ``--help`` never import the training
pipeline or the web server.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from . import cli_models, cli_predict, cli_schedule, cli_serve, cli_train
from .cli_common import DEBUG_ENV, PACKAGE, PROG, Parser
from .errors import MlprodError

__all__ = ["DEBUG_ENV", "PACKAGE", "PROG", "build_parser", "main"]

COMMANDS = (cli_train, cli_predict, cli_models, cli_serve, cli_schedule)
"""The command modules, in the order ``--help`` lists them; each has ``register()``."""


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
    store = Parser(add_help=False)
    store.add_argument(
        "--model-dir",
        metavar="D",
        help="model store directory (default: $MLPROD_MODEL_DIR, else ./models)",
    )
    parser = Parser(prog=PROG, description=f"Train, version and serve the {PROG} model.")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for command in COMMANDS:
        command.register(commands, store)
    return parser
