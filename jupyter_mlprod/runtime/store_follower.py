"""Every server process follows the model store: when an alias it serves moves, it reloads.

``models promote``, ``models rollback``, a retrain or another replica's alert rule changes
``aliases.json``; each worker of ``serve --workers N``, and each other server on the same store,
checks every ``interval`` seconds (default 2) whether its references still resolve to the
versions it serves and reloads when they do not, so all of them switch within one interval
without a ``POST /reload``. The check reads the alias table only (a few hundred bytes); a
version is loaded once, and requests in flight finish on the version they started with because
a reload replaces what is served as a whole (routing.Serving).
"""

from __future__ import annotations

from collections.abc import Callable

from .alert_actions import log_line
from .errors import ModelError
from .periodic import Periodic

DEFAULT_INTERVAL = 2.0


class StoreFollower:
    """Calls ``check`` every ``interval`` seconds in a background thread.

    Args:
        check: Reloads when the store moved; returns whether it did (ModelError: logged once
            per distinct message, and tried again at the next tick).
        interval: Seconds between two checks.
    """

    def __init__(self, check: Callable[[], bool], interval: float = DEFAULT_INTERVAL) -> None:
        self.check = check
        self.interval = interval
        self._last_problem: str | None = None
        self._timer: Periodic | None = None

    def start(self) -> None:
        """Start following (idempotent)."""
        if self._timer is None:
            self._timer = Periodic("mlprod-store-follower", self.interval, self.tick)
        self._timer.start()

    def stop(self) -> None:
        """Stop following."""
        if self._timer is not None:
            self._timer.stop()

    def tick(self) -> bool:
        """One check; returns whether the server reloaded."""
        try:
            changed = self.check()
        except ModelError as error:
            problem = str(error)
            if problem != self._last_problem:
                log_line(f"following the model store: {problem}; still serving the old models")
            self._last_problem = problem
            return False
        self._last_problem = None
        return changed
