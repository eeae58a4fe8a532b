"""Progress lines for long commands: each stage as it runs, with elapsed time, on a terminal only.

API (a leaf module; any command may use it)::

    progress = Progress(enabled=not args.quiet)   # shown only if also stderr is a TTY
    with progress.stage("load"):                  # "load …" then "load done (1.2s)"
        ...
    progress.count("predict", done, total, "rows")  # "predict 4,000/10,000 rows (40%)",
                                                  # redrawn in place, at most ~10 times a second
    progress.finish("saved v3")                   # a last line with the total time

Everything goes to the given stream (stderr by default) so stdout stays machine-readable.
When the stream is not a TTY (a pipe, a log file, CI, a child process of ``POST /retrain``) or
``enabled`` is False, nothing is written at all: the progress is for a person watching.
"""

from __future__ import annotations

import contextlib
import sys
import time
from collections.abc import Callable, Iterator
from typing import TextIO

_REDRAW_SECONDS = 0.1
_CLEAR_LINE = "\r\x1b[K"


class Progress:
    """Stage and count lines on a terminal; silent otherwise.

    Args:
        enabled: False silences it regardless of the stream (``--quiet``).
        stream: Where to write; ``None`` means ``sys.stderr`` at the time of the call.
        clock: Seconds, monotonic (a parameter so tests can drive it).
    """

    def __init__(
        self,
        enabled: bool = True,
        stream: TextIO | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.stream = stream if stream is not None else sys.stderr
        self.active = enabled and _is_terminal(self.stream)
        self._clock = clock
        self.started = self._clock()
        self._last_redraw = 0.0
        self._counting = False

    def stage(self, name: str) -> contextlib.AbstractContextManager[None]:
        """A context manager around one stage: its name when it starts, its time when it ends.

        A stage that raises is marked ``failed`` and the exception propagates unchanged.
        """
        return self._stage(name)

    @contextlib.contextmanager
    def _stage(self, name: str) -> Iterator[None]:
        begun = self._clock()
        self._line(f"{name} …", final=False)
        try:
            yield
        except BaseException:
            self._line(f"{name} failed ({_seconds(self._clock() - begun)})")
            raise
        self._line(f"{name} done ({_seconds(self._clock() - begun)})")

    def count(self, name: str, done: int, total: int | None = None, unit: str = "") -> None:
        """Show ``done`` (of ``total``) for a stage that counts rows, partitions or batches.

        Redrawn in place; calls closer together than a tenth of a second are skipped except
        the last one (``done == total``).
        """
        if not self.active:
            return
        now = self._clock()
        finished = total is not None and done >= total
        if not finished and now - self._last_redraw < _REDRAW_SECONDS:
            return
        self._last_redraw = now
        text = f"{name} {done:,}" + (f"/{total:,}" if total is not None else "")
        text += f" {unit}" if unit else ""
        if total:
            text += f" ({100 * done // total}%)"
        self._line(text, final=finished)

    def finish(self, message: str) -> None:
        """A last line: ``message`` and the time since this object was made."""
        self._line(f"{message} in {_seconds(self._clock() - self.started)}")

    def _line(self, text: str, final: bool = True) -> None:
        if not self.active:
            return
        # A line that will be replaced is written without a newline and cleared by the next.
        self.stream.write(_CLEAR_LINE + text + ("\n" if final else ""))
        self.stream.flush()


def _is_terminal(stream: TextIO) -> bool:
    try:
        return stream.isatty()
    except (AttributeError, ValueError):
        return False


def _seconds(seconds: float) -> str:
    if seconds < 60:
        return f"{seconds:.1f}s"
    minutes, rest = divmod(int(seconds), 60)
    return f"{minutes}m{rest:02d}s"
