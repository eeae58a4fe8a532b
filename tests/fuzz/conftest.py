"""Fixtures of the fuzz suite: the fake generated packages of tests/runtime, and a clean
in-process run of a command line with its streams captured.

The Hypothesis profiles (CI and ``long``) are registered in tests/conftest.py.
"""

from __future__ import annotations

import contextlib
import io
from collections.abc import Callable, Sequence
from dataclasses import dataclass

# jedi raises the interpreter's recursion limit when it is first imported, which the
# converter's IPython translation does lazily, inside the first example; imported here, the
# limit is already raised when Hypothesis notes it, so it does not warn that a test changed it.
import jedi  # noqa: F401
from runtime.conftest import churn_store, fakepkg_cli, package_src, workspace

__all__ = [
    "Outcome",
    "assert_one_line_errors",
    "churn_store",
    "fakepkg_cli",
    "package_src",
    "run_in_process",
    "workspace",
]


@dataclass(frozen=True)
class Outcome:
    """What one in-process command run gave: its exit code and both streams."""

    code: int
    stdout: str
    stderr: str


def run_in_process(main: Callable[[Sequence[str]], int], argv: Sequence[str]) -> Outcome:
    """Call a CLI's ``main(argv)`` with stdout and stderr captured.

    An exception escaping ``main`` propagates: for the fuzz tests that is the traceback a user
    would have seen, and Hypothesis reports it with the example that caused it.
    """
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main(list(argv))
    return Outcome(code, out.getvalue(), err.getvalue())


def assert_one_line_errors(outcome: Outcome, prog: str) -> None:
    """No traceback, no terminal escapes; on failure every stderr line is the program's own
    one-line error or warning (a success may also report what it did, as ``predict`` does)."""
    assert "Traceback" not in outcome.stderr, outcome.stderr
    for line in outcome.stderr.splitlines():
        if outcome.code != 0:
            assert line.startswith((f"{prog}: error: ", f"{prog}: warning: ")), outcome.stderr
        assert not any(ord(char) < 32 and char != "\t" for char in line), repr(line)
        assert "\x7f" not in line and "\x9b" not in line, repr(line)
    if outcome.code != 0:
        assert outcome.stderr.strip() or outcome.stdout.strip(), "failed without a word"
