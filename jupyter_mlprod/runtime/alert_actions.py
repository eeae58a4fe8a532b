"""What a firing alert rule does outside the server: a log line, a webhook, a command.

Webhooks and commands never run on a request's thread, nor on the rule evaluator's: they
are queued for one background worker. A webhook is one ``POST`` of the alert as JSON, with a
timeout per attempt and retries with exponential backoff (0.5 s, 1 s, 2 s, …) on a network
error or a 5xx answer; a 4xx is the receiver's refusal and is not retried. A command is
started with its argv list (no shell, so nothing in the alert can be interpreted by one),
the alert in ``$MLPROD_ALERT`` as JSON, and reaped by its own thread so a slow command holds
nothing up. Every outcome is one line on stderr. The queue is bounded: when alerts come
faster than they can be delivered, the newest are dropped (and said so), the server never
waits.
"""

from __future__ import annotations

import json
import os
import queue
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from .errors import printable

ALERT_ENV = "MLPROD_ALERT"
"""The environment variable a command finds the alert JSON in."""
QUEUE_SIZE = 1000
BACKOFF_SECONDS = 0.5


@dataclass(frozen=True)
class Webhook:
    """POST the alert to ``url``: ``timeout`` seconds per attempt, ``retries`` more attempts."""

    url: str
    timeout: float = 5.0
    retries: int = 3


@dataclass(frozen=True)
class Command:
    """Run ``argv`` (no shell) with the alert in ``$MLPROD_ALERT``."""

    argv: tuple[str, ...]


def log_line(message: str) -> None:
    """One line on stderr, prefixed by the package name, control characters escaped."""
    print(f"{__package__}: {printable(message)}", file=sys.stderr, flush=True)


class ActionRunner:
    """The background worker that delivers webhooks and starts commands.

    Args:
        log: Where outcome lines go (stderr by default; tests collect them).
        backoff: Seconds before the first retry of a webhook (doubled after each).
    """

    def __init__(
        self, log: Callable[[str], None] = log_line, backoff: float = BACKOFF_SECONDS
    ) -> None:
        self.log = log
        self.backoff = backoff
        self._queue: queue.Queue[tuple[Webhook | Command, dict[str, Any]] | None] = queue.Queue(
            QUEUE_SIZE
        )
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()
        self.delivered: list[tuple[str, str]] = []
        """``(rule, outcome)`` of every finished action, for ``GET /alerts``: the last 100."""

    def submit(self, action: Webhook | Command, alert: Mapping[str, Any]) -> None:
        """Queue one action; never blocks (a full queue drops it, with a log line)."""
        self._start()
        try:
            self._queue.put_nowait((action, dict(alert)))
        except queue.Full:
            self.log(f"alert {alert.get('rule')}: action dropped, {QUEUE_SIZE} already queued")

    def stop(self, timeout: float = 10.0) -> None:
        """Finish what is queued (up to ``timeout`` seconds) and stop the worker."""
        with self._lock:
            thread, self._thread = self._thread, None
        if thread is not None:
            self._queue.put(None)
            thread.join(timeout)

    def _start(self) -> None:
        with self._lock:
            if self._thread is None:
                self._thread = threading.Thread(
                    target=self._work, name="mlprod-alert-actions", daemon=True
                )
                self._thread.start()

    def _work(self) -> None:
        while (item := self._queue.get()) is not None:
            action, alert = item
            try:
                outcome = (
                    self.post(action, alert)
                    if isinstance(action, Webhook)
                    else self.start_command(action, alert)
                )
            except Exception as error:  # noqa: BLE001 - the worker must outlive any action
                outcome = f"failed ({type(error).__name__}: {error})"
            self._done(str(alert.get("rule")), outcome)

    def _done(self, rule: str, outcome: str) -> None:
        self.log(f"alert {rule}: {outcome}")
        with self._lock:
            self.delivered = [*self.delivered[-99:], (rule, outcome)]

    def post(self, hook: Webhook, alert: Mapping[str, Any]) -> str:
        """POST the alert, retrying; returns the outcome line."""
        body = json.dumps(alert, default=str).encode("utf-8")
        problem = ""
        for attempt in range(hook.retries + 1):
            if attempt:
                time.sleep(self.backoff * 2 ** (attempt - 1))
            request = urllib.request.Request(
                hook.url,
                data=body,
                method="POST",
                headers={"Content-Type": "application/json", "User-Agent": f"{__package__}"},
            )
            try:
                with urllib.request.urlopen(request, timeout=hook.timeout) as answer:  # noqa: S310 - http(s) checked by alerts.py
                    return f"webhook {_host(hook.url)} answered {answer.status}"
            except urllib.error.HTTPError as error:
                problem = f"answered {error.code}"
                if error.code < 500:
                    break
            except (OSError, ValueError) as error:
                problem = f"unreachable ({type(error).__name__}: {error})"
        return f"webhook {_host(hook.url)} failed after {attempt + 1} attempt(s): {problem}"

    def start_command(self, command: Command, alert: Mapping[str, Any]) -> str:
        """Start the command and reap it in its own thread; returns the outcome line."""
        env = {**os.environ, ALERT_ENV: json.dumps(alert, default=str)}
        try:
            process = subprocess.Popen(  # noqa: S603 - an argv list from the alerts file, no shell
                list(command.argv),
                env=env,
                stdin=subprocess.DEVNULL,
                start_new_session=True,
            )
        except OSError as error:
            return f"command {command.argv[0]!r} could not start ({error.strerror or error})"
        rule = str(alert.get("rule"))

        def reap() -> None:
            code = process.wait()
            self._done(rule, f"command {command.argv[0]!r} exited with {code}")

        threading.Thread(target=reap, name="mlprod-alert-command", daemon=True).start()
        return f"command {command.argv[0]!r} started (pid {process.pid})"


def _host(url: str) -> str:
    """The URL without its path and query, which may hold a secret token."""
    scheme, _, rest = url.partition("://")
    return f"{scheme}://{rest.split('/', 1)[0].rsplit('@', 1)[-1]}"


def describe_actions(actions: Sequence[Any]) -> list[str]:
    """Actions as short names for ``GET /alerts`` (a webhook without its URL's path)."""
    names = []
    for action in actions:
        if isinstance(action, Webhook):
            names.append(f"webhook {_host(action.url)}")
        elif isinstance(action, Command):
            names.append(f"command {action.argv[0]}")
        else:
            names.append(str(action))
    return names
