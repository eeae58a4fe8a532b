"""One background thread that calls a function every few seconds until stopped.

The live monitor, the alert rules and the store follower each do their work off the request
path on a timer; this is that timer, so start/stop semantics (idempotent start, a stop that
wakes the thread at once and waits for it) are the same for all three.
"""

from __future__ import annotations

import threading
from collections.abc import Callable


class Periodic:
    """Calls ``tick`` every ``interval`` seconds in a daemon thread named ``name``.

    The first call comes one interval after :meth:`start`. ``tick`` handles its own errors:
    an exception it lets out ends the thread, as it would any thread.
    """

    def __init__(self, name: str, interval: float, tick: Callable[[], object]) -> None:
        self.name = name
        self.interval = interval
        self.tick = tick
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    @property
    def running(self) -> bool:
        """Whether the thread is started and not stopped."""
        return self._thread is not None

    def start(self) -> None:
        """Start the thread (idempotent)."""
        if self._thread is None:
            self._stop.clear()
            self._thread = threading.Thread(target=self._run, name=self.name, daemon=True)
            self._thread.start()

    def stop(self) -> None:
        """Wake the thread, stop it and wait for it (up to 30 s)."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=30)
            self._thread = None

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            self.tick()
