"""What every command module of the CLI shares: the program name, the parser class, and
argument types. A leaf: the command modules import it, it imports none of them."""

from __future__ import annotations

import argparse
from collections.abc import Callable
from typing import Any, NoReturn

PACKAGE = __package__ or "model"
PROG = PACKAGE.replace("_", "-")
DEBUG_ENV = "MLPROD_DEBUG"
"""Set (to anything but empty or 0) to let the notebook code's exceptions show their traceback."""

Commands = Any
"""``argparse``'s sub-parsers action (its class is private), which command modules add to."""


class Parser(argparse.ArgumentParser):
    """argparse, with a usage error as one line (like every other error) instead of the usage."""

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"{self.prog}: error: {message}; see {self.prog} --help\n")


def ranged(kind: type[int] | type[float], low: float, high: float) -> Callable[[str], Any]:
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
