"""Alert rules of ``serve --alerts alerts.yaml``: the file checked at start, the rules
evaluated in a background thread, their actions taken.

A rule watches one arm (``production``: the primary version, or ``canary``) over a sliding
window of seconds and fires when its condition holds and the window saw at least
``min_requests`` requests::

    when                          value compared                      fires when
    error_rate_5xx / _4xx         share of the arm's /predict answers  value > above
    p99_latency_ms                99th percentile latency (ms)         value > above
    drift                         the live monitor's verdict           the window drifted
    drift_score                   one column's drift score             value > above / < below
    shadow_disagreement_rate      rows where the shadow disagreed      value > above
    canary_error_rate_vs_primary  canary 5xx rate - primary 5xx rate   value > above (0)

Actions: ``log``, ``webhook`` (alert_actions.py: background, retries, timeout), ``command``
(an argv list, no shell, in the background) and ``rollback``. Rolling back a canary sets its
traffic to 0 % at once; rolling back production moves the ``production`` alias to its previous
version and reloads, and only with ``auto_rollback: true`` on the rule (a rule cannot move
production by accident). Both are recorded in the store's history with the rule, the value
and the time (``models history``). After firing, a rule waits ``cooldown`` seconds before it
can fire again, so a flapping condition cannot fire a webhook per second.

The request path only writes ``(time, status, seconds)`` into its version's ring of events
(:class:`EventRing`); the evaluator counts a copy of the window with numpy. :func:`load_alerts`
reports every mistake of the file, one line each (the file, the rule, the field, what is
wrong, what to write instead) in :class:`AlertsError`.
"""

from __future__ import annotations

import array
import math
import os
import re
import threading
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

import numpy as np

from .alert_actions import ActionRunner, Command, Webhook, describe_actions, log_line
from .drift import DriftReport
from .errors import ModelError, printable
from .periodic import Periodic
from .provenance import utc_now

CONDITIONS = (
    "error_rate_5xx",
    "error_rate_4xx",
    "p99_latency_ms",
    "drift",
    "drift_score",
    "shadow_disagreement_rate",
    "canary_error_rate_vs_primary",
)
ARMS = ("production", "canary")
RULE_FIELDS = (
    "name",
    "when",
    "arm",
    "above",
    "below",
    "column",
    "window",
    "min_requests",
    "cooldown",
    "actions",
    "auto_rollback",
)
TOP_FIELDS = ("rules", "evaluate_every")
DEFAULT_WINDOW = 60.0
DEFAULT_MIN_REQUESTS = 10
DEFAULT_COOLDOWN = 300.0
DEFAULT_EVALUATE_EVERY = 1.0
MAX_EVENTS = 100_000
"""Requests kept per version for the windows (the oldest go first)."""
_RATES = ("error_rate_5xx", "error_rate_4xx", "shadow_disagreement_rate")
_ENV_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


class AlertsError(ModelError):
    """The alerts file has mistakes: ``problems`` holds one line per mistake."""

    exit_code = 2

    def __init__(self, problems: Sequence[str]) -> None:
        self.problems = tuple(problems)
        super().__init__(
            f"{self.problems[0]} (and {len(problems) - 1} more)"
            if len(problems) > 1
            else self.problems[0]
        )


@dataclass(frozen=True)
class Rule:
    """One checked alert rule (see the module docstring for the fields)."""

    name: str
    when: str
    arm: str
    above: float | None
    below: float | None
    column: str | None
    window: float
    min_requests: int
    cooldown: float
    actions: tuple[Any, ...]
    """``"log"``, ``"rollback"``, :class:`Webhook` or :class:`Command`."""
    auto_rollback: bool

    @property
    def rolls_back(self) -> bool:
        """Whether firing rolls the arm back."""
        return "rollback" in self.actions or self.auto_rollback

    def holds(self, value: float) -> bool:
        """Whether ``value`` meets the condition."""
        if self.when == "drift":
            return value >= 1.0
        if self.below is not None:
            return value < self.below
        return value > (self.above if self.above is not None else 0.0)

    def condition(self) -> dict[str, Any]:
        """The condition as JSON (alerts, history)."""
        described: dict[str, Any] = {"when": self.when, "arm": self.arm}
        for name in ("above", "below", "column"):
            if getattr(self, name) is not None:
                described[name] = getattr(self, name)
        return {**described, "window_seconds": self.window, "min_requests": self.min_requests}


@dataclass(frozen=True)
class AlertConfig:
    """A checked alerts file."""

    path: Path
    rules: tuple[Rule, ...]
    evaluate_every: float = DEFAULT_EVALUATE_EVERY
    warnings: tuple[str, ...] = ()


# ------------------------------------------------------------------ the file


def load_alerts(path: str | os.PathLike[str]) -> AlertConfig:
    """Read and check an alerts file.

    Raises:
        AlertsError: With one line per mistake.
    """
    import yaml

    where = Path(path)
    try:
        text = where.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as error:
        reason = getattr(error, "strerror", None) or type(error).__name__
        raise AlertsError([f"{where}: cannot read the alerts file ({reason})"]) from None
    try:
        document = yaml.safe_load(text)
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        at = f"line {mark.line + 1}, column {mark.column + 1}: " if mark is not None else ""
        problem = getattr(error, "problem", None) or "cannot be parsed"
        raise AlertsError(
            [f"{where}: not valid YAML ({at}{problem}); fix the syntax (see alerts.example.yaml)"]
        ) from None
    return check_alerts(document, where)


def check_alerts(document: Any, where: Path) -> AlertConfig:
    """Check a parsed alerts document (:func:`load_alerts` without the reading).

    Raises:
        AlertsError: With one line per mistake.
    """
    problems: list[str] = []
    warnings: list[str] = []
    if not isinstance(document, Mapping) or not isinstance(document.get("rules"), list):
        raise AlertsError(
            [f"{where}: expected a mapping with a `rules:` list of rules (see alerts.example.yaml)"]
        )
    for key in document:
        if key not in TOP_FIELDS:
            problems.append(
                f"{where}: unknown top-level field {printable(str(key))!r}; "
                f"known fields are {', '.join(TOP_FIELDS)}"
            )
    evaluate_every = _seconds(
        document.get("evaluate_every", DEFAULT_EVALUATE_EVERY),
        f"{where}: field `evaluate_every`",
        problems,
        "evaluate_every: 1",
    )
    if not document["rules"]:
        problems.append(f"{where}: `rules:` is empty; add at least one rule")
    rules: list[Rule] = []
    seen: set[str] = set()
    for index, raw in enumerate(document["rules"], start=1):
        rule = _check_rule(raw, index, where, problems, warnings)
        if rule is None:
            continue
        if rule.name in seen:
            problems.append(
                f"{where}: rule {index} {rule.name!r}: field `name`: used by an earlier rule; "
                "give every rule its own name"
            )
        seen.add(rule.name)
        rules.append(rule)
    if problems:
        raise AlertsError(problems)
    return AlertConfig(
        where, tuple(rules), evaluate_every or DEFAULT_EVALUATE_EVERY, tuple(warnings)
    )


def _check_rule(
    raw: Any, index: int, where: Path, problems: list[str], warnings: list[str]
) -> Rule | None:
    if not isinstance(raw, Mapping):
        problems.append(
            f"{where}: rule {index}: expected a mapping (name:, when:, actions:, ...), "
            f"got {type(raw).__name__}"
        )
        return None
    name = raw.get("name")
    label = f"{where}: rule {index}" + (f" {printable(name)!r}" if isinstance(name, str) else "")
    before = len(problems)

    def bad(field_name: str, problem: str) -> None:
        problems.append(f"{label}: field `{field_name}`: {problem}")

    for key in raw:
        if key not in RULE_FIELDS:
            bad(str(key), f"unknown field; known fields are {', '.join(RULE_FIELDS)}")
    if not isinstance(name, str) or not name.strip():
        bad("name", "missing or empty; give the rule a name, e.g. name: canary-errors")
    when = raw.get("when")
    if when not in CONDITIONS:
        got = "missing" if when is None else f"{printable(str(when))!r} is not a condition"
        bad("when", f"{got}; use one of {', '.join(CONDITIONS)}")
    arm = raw.get("arm", "canary" if when == "canary_error_rate_vs_primary" else "production")
    if arm not in ARMS:
        bad("arm", f"{printable(str(arm))!r} is not an arm; use production or canary")
    if when == "canary_error_rate_vs_primary" and arm != "canary":
        bad("arm", "canary_error_rate_vs_primary watches the canary; write arm: canary")
    if when == "shadow_disagreement_rate" and arm != "production":
        bad("arm", "the shadow is compared with what production served; write arm: production")
    above = _number(raw, "above", bad)
    below = _number(raw, "below", bad)
    if above is not None and below is not None:
        bad("below", "give either above or below, not both")
    if when == "drift" and (above is not None or below is not None):
        bad("above", "a drift rule fires on the monitor's verdict; remove above/below")
    if when in (*_RATES, "p99_latency_ms") and raw.get("above") is None:
        example = "above: 250" if when == "p99_latency_ms" else "above: 0.05"
        bad("above", f"{when} needs a threshold; add e.g. {example}")
    if when in _RATES and above is not None and not 0 <= above < 1:
        bad("above", f"{above:g} is not a share; use a number from 0 to 1, e.g. above: 0.05")
    if when in _RATES and below is not None:
        bad("below", f"{when} fires above a share; use above:")
    column = raw.get("column")
    if when == "drift_score":
        if not isinstance(column, str) or not column:
            bad("column", "drift_score needs the column to watch, e.g. column: age")
        if raw.get("above") is None and raw.get("below") is None:
            bad(
                "above",
                "drift_score needs above: (for distances: wasserstein, jensenshannon, psi) "
                "or below: (for p-values: ks, chisquare, z)",
            )
    elif column is not None:
        bad("column", f"only drift_score rules watch a column; remove it from this {when} rule")
    window = _seconds(
        raw.get("window", DEFAULT_WINDOW), f"{label}: field `window`", problems, "window: 60"
    )
    cooldown = _seconds(
        raw.get("cooldown", DEFAULT_COOLDOWN),
        f"{label}: field `cooldown`",
        problems,
        "cooldown: 300",
        zero=True,
    )
    min_requests = raw.get("min_requests", DEFAULT_MIN_REQUESTS)
    if isinstance(min_requests, bool) or not isinstance(min_requests, int) or min_requests < 1:
        bad(
            "min_requests",
            f"{printable(repr(min_requests))} is not a whole number >= 1; e.g. min_requests: 20",
        )
    auto_rollback = raw.get("auto_rollback", False)
    if not isinstance(auto_rollback, bool):
        bad("auto_rollback", f"{printable(repr(auto_rollback))} is not true or false")
    actions = _check_actions(raw.get("actions"), bad, warnings, label)
    if "rollback" in actions and arm == "production" and auto_rollback is not True:
        bad(
            "actions",
            "rollback on the production arm moves the production alias; "
            "confirm with auto_rollback: true on this rule, or remove rollback",
        )
    if len(problems) > before:
        return None
    return Rule(
        name=str(name),
        when=str(when),
        arm=str(arm),
        above=above,
        below=below,
        column=column if when == "drift_score" else None,
        window=float(window or DEFAULT_WINDOW),
        min_requests=int(min_requests),
        cooldown=float(cooldown or 0.0),
        actions=tuple(actions),
        auto_rollback=bool(auto_rollback),
    )


def _number(raw: Mapping[str, Any], key: str, bad: Any) -> float | None:
    value = raw.get(key)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        bad(key, f"{printable(repr(value))} is not a number; e.g. {key}: 0.05")
        return None
    return float(value)


def _seconds(
    value: Any, label: str, problems: list[str], example: str, zero: bool = False
) -> float | None:
    bad_type = isinstance(value, bool) or not isinstance(value, int | float)
    if bad_type or not math.isfinite(value) or value < 0 or (value == 0 and not zero):
        least = ">= 0" if zero else "> 0"
        problems.append(
            f"{label}: {printable(repr(value))} is not a number of seconds {least}; e.g. {example}"
        )
        return None
    return float(value)


def _check_actions(raw: Any, bad: Any, warnings: list[str], label: str) -> list[Any]:
    if not isinstance(raw, list) or not raw:
        bad("actions", "missing or empty; list what to do, e.g. actions: [log]")
        return []
    actions: list[Any] = []
    for position, action in enumerate(raw, start=1):
        where = f"actions[{position}]"
        if action in ("log", "rollback"):
            actions.append(action)
            continue
        if not isinstance(action, Mapping) or len(action) != 1:
            bad(
                where,
                f"{printable(repr(action))[:60]} is not an action; use log, rollback, "
                "{webhook: {url: ...}} or {command: [program, arg, ...]}",
            )
            continue
        [(kind, spec)] = action.items()
        if kind == "webhook":
            hook = _check_webhook(spec, where, bad, warnings, label)
            if hook is not None:
                actions.append(hook)
        elif kind == "command":
            if (
                not isinstance(spec, list)
                or not spec
                or not all(isinstance(arg, str) and arg for arg in spec)
            ):
                bad(
                    where, "command needs an argv list of strings, e.g. command: [notify, --urgent]"
                )
            else:
                actions.append(Command(tuple(spec)))
        else:
            bad(
                where,
                f"{printable(str(kind))!r} is not an action; use log, rollback, webhook or command",
            )
    return actions


def _check_webhook(
    spec: Any, where: str, bad: Any, warnings: list[str], label: str
) -> Webhook | None:
    if isinstance(spec, str):
        spec = {"url": spec}
    if not isinstance(spec, Mapping):
        bad(where, "webhook needs {url: https://...} or {url_env: VARIABLE}")
        return None
    known = ("url", "url_env", "timeout", "retries")
    for key in spec:
        if key not in known:
            bad(f"{where}.{key}", f"unknown webhook field; known fields are {', '.join(known)}")
    url, env = spec.get("url"), spec.get("url_env")
    if (url is None) == (env is None):
        bad(where, "a webhook needs exactly one of url: or url_env: (an environment variable)")
        return None
    if env is not None:
        if not isinstance(env, str) or not _ENV_NAME.match(env):
            bad(f"{where}.url_env", f"{printable(repr(env))} is not an environment variable name")
            return None
        url = os.environ.get(env)
        if not url:
            warnings.append(
                f"{label}: webhook skipped: ${env} is not set (set it to the URL to call)"
            )
            return None
    if not isinstance(url, str) or not re.match(r"^https?://[^/\s]+", url):
        shown = f"${env}" if env is not None else printable(repr(url))[:60]
        bad(f"{where}.url", f"{shown} is not an http:// or https:// URL")
        return None
    timeout = spec.get("timeout", 5.0)
    if isinstance(timeout, bool) or not isinstance(timeout, int | float) or not 0 < timeout <= 300:
        bad(
            f"{where}.timeout",
            f"{printable(repr(timeout))} is not seconds from 0 to 300; e.g. timeout: 5",
        )
        return None
    retries = spec.get("retries", 3)
    if isinstance(retries, bool) or not isinstance(retries, int) or not 0 <= retries <= 10:
        bad(f"{where}.retries", f"{printable(repr(retries))} is not a whole number from 0 to 10")
        return None
    return Webhook(url, float(timeout), retries)


# ------------------------------------------------------------- evaluation


class Server(Protocol):
    """What the rules need from the server (serve.py's ModelServer)."""

    def arm_version(self, arm: str) -> str | None:
        """The version an arm serves now (None: no canary, or at 0 %)."""

    def shadow_version(self) -> str | None:
        """The shadow version, if any."""

    def drift_report(self, version: str) -> DriftReport | None:
        """The live monitor's latest report for a version."""

    def stop_canary(self, reason: Mapping[str, Any]) -> str:
        """Set the canary's traffic to 0 % and record it; returns what was done."""

    def rollback_production(self, reason: Mapping[str, Any]) -> str:
        """Move ``production`` back one version, record it and reload; returns what was done."""


@dataclass
class RuleState:
    """What ``GET /alerts`` says about one rule."""

    state: str = "waiting"
    """``waiting`` (too few requests), ``ok``, ``firing`` or ``cooling`` (fired recently)."""
    value: float | None = None
    requests: int = 0
    version: str | None = None
    fired: int = 0
    last_fired: str | None = None
    last_outcome: str | None = None
    cooling_until: float = 0.0
    history: list[dict[str, Any]] = field(default_factory=list)


@dataclass(frozen=True)
class Events:
    """A window of events, one array per field, in time order."""

    times: np.ndarray
    first: np.ndarray
    """A request's status, or a shadow comparison's row count."""
    second: np.ndarray
    """A request's latency in seconds, or a shadow comparison's disagreements."""

    def __len__(self) -> int:
        return len(self.times)


NO_EVENTS = Events(np.empty(0), np.empty(0), np.empty(0))


class EventRing:
    """The last ``capacity`` events of one kind, each three floats, oldest first.

    Preallocated rows written in place: the request path allocates nothing that outlives the
    request, and a window is found by binary search and counted by numpy. A deque of 100,000
    tuples cost the evaluator a Python pass over each of them per rule. The rows live in an
    ``array.array`` seen through numpy because the write is the request path's: writing its
    items rather than a numpy array's took a request's ``record`` from 761 to 532 ns.
    """

    def __init__(self, capacity: int = MAX_EVENTS) -> None:
        self._flat = array.array("d", bytes(8 * 3 * capacity))
        # A view sharing the array's memory, a row per event (the array is never resized).
        self._rows = np.frombuffer(self._flat).reshape(capacity, 3)
        self._capacity = capacity
        self._next = 0
        self._size = 0

    def append(self, moment: float, first: float, second: float) -> None:
        """Add an event, dropping the oldest when full (the caller holds the lock)."""
        flat, at = self._flat, 3 * self._next
        flat[at], flat[at + 1], flat[at + 2] = moment, first, second
        self._next = (self._next + 1) % self._capacity
        if self._size < self._capacity:
            self._size += 1

    def since(self, moment: float) -> Events:
        """A copy of the events from time ``moment`` on (the caller holds the lock).

        Events arrive in time order (one monotonic clock, under the lock), so each of the
        ring's two runs (before and after the write position) is sorted by time.
        """
        if self._size < self._capacity:
            runs = [self._rows[: self._size]]
        else:
            runs = [self._rows[self._next :], self._rows[: self._next]]
        kept = [run[np.searchsorted(run[:, 0], moment, side="left") :] for run in runs]
        rows = np.concatenate(kept)
        return Events(rows[:, 0], rows[:, 1], rows[:, 2])


class RequestWindows:
    """Per version, recent requests as rows of ``(time, status, seconds)`` and shadow
    comparisons as rows of ``(time, rows, disagreements)`` (:class:`EventRing`)."""

    def __init__(self, capacity: int = MAX_EVENTS) -> None:
        self.capacity = capacity
        self._lock = threading.Lock()
        self._requests: dict[str, EventRing] = {}
        self._shadow: dict[str, EventRing] = {}

    def record(self, version: str, status: int, seconds: float) -> None:
        """One answered /predict request (the request path's only cost)."""
        with self._lock:
            events = self._requests.get(version)
            if events is None:
                events = self._requests[version] = EventRing(self.capacity)
            events.append(time.monotonic(), status, seconds)

    def record_shadow(self, version: str, rows: int, disagreements: int) -> None:
        """One shadow comparison."""
        with self._lock:
            events = self._shadow.get(version)
            if events is None:
                events = self._shadow[version] = EventRing(self.capacity)
            events.append(time.monotonic(), rows, disagreements)

    def requests(self, version: str, since: float) -> Events:
        """The version's requests answered after ``since`` (monotonic)."""
        return self._since(self._requests, version, since)

    def shadow(self, version: str, since: float) -> Events:
        """The shadow comparisons made after ``since``."""
        return self._since(self._shadow, version, since)

    def _since(self, rings: dict[str, EventRing], version: str, since: float) -> Events:
        with self._lock:
            ring = rings.get(version)
            return ring.since(since) if ring is not None else NO_EVENTS


class AlertEngine:
    """Evaluates the rules every ``evaluate_every`` seconds in a background thread."""

    def __init__(
        self, config: AlertConfig, server: Server, runner: ActionRunner | None = None
    ) -> None:
        self.config = config
        self.server = server
        self.runner = runner or ActionRunner()
        self.windows = RequestWindows()
        self.states = {rule.name: RuleState() for rule in config.rules}
        self._lock = threading.Lock()
        self._timer = Periodic("mlprod-alerts", config.evaluate_every, self._evaluate_logged)

    def start(self) -> None:
        """Start evaluating (idempotent)."""
        self._timer.start()

    def stop(self) -> None:
        """Stop evaluating and let queued actions finish."""
        self._timer.stop()
        self.runner.stop()

    def _evaluate_logged(self) -> None:
        try:
            self.evaluate()
        except Exception as error:  # noqa: BLE001 - one bad evaluation must not stop alerting
            log_line(f"alert evaluation failed ({type(error).__name__}: {error})")

    def evaluate(self) -> list[str]:
        """Evaluate every rule once; returns the names of the rules that fired."""
        fired = []
        with self._lock:
            for rule in self.config.rules:
                if self._evaluate(rule, self.states[rule.name]):
                    fired.append(rule.name)
        return fired

    def _evaluate(self, rule: Rule, state: RuleState) -> bool:
        now = time.monotonic()
        version = self.server.arm_version(rule.arm)
        state.version = version
        if version is None:
            state.state, state.value, state.requests = "waiting", None, 0
            return False
        value, requests = self._measure(rule, version, now - rule.window)
        state.value, state.requests = value, requests
        if value is None or requests < rule.min_requests:
            state.state = "waiting"
            return False
        if not rule.holds(value):
            state.state = "cooling" if now < state.cooling_until else "ok"
            return False
        if now < state.cooling_until:
            state.state = "cooling"
            return False
        self._fire(rule, state, version, value, requests)
        state.cooling_until = now + rule.cooldown
        return True

    def _measure(self, rule: Rule, version: str, since: float) -> tuple[float | None, int]:
        """The rule's value over its window and the request count it rests on."""
        if rule.when == "shadow_disagreement_rate":
            shadow = self.server.shadow_version()
            compared = self.windows.shadow(shadow, since) if shadow else NO_EVENTS
            rows = compared.first.sum()
            return (float(compared.second.sum() / rows) if rows else None), len(compared)
        events = self.windows.requests(version, since)
        if rule.when in ("drift", "drift_score"):
            report = self.server.drift_report(version)
            if report is None:
                return None, len(events)
            if rule.when == "drift":
                return float(report.drifted), len(events)
            for result in (*report.columns, *report.prediction):
                if result.column == rule.column:
                    return result.score, len(events)
            return None, len(events)
        if not events:
            return None, 0
        statuses = events.first
        if rule.when == "p99_latency_ms":
            # The nearest-rank 99th percentile: the smallest latency that at least 99 % of
            # the window's requests did not exceed.
            rank = min(len(events) - 1, math.ceil(0.99 * len(events)) - 1)
            return float(np.partition(events.second, rank)[rank]) * 1000, len(events)
        if rule.when == "error_rate_4xx":
            clients = np.count_nonzero((statuses >= 400) & (statuses < 500))
            return clients / len(events), len(events)
        rate = np.count_nonzero(statuses >= 500) / len(events)
        if rule.when == "canary_error_rate_vs_primary":
            primary = self.server.arm_version("production")
            others = self.windows.requests(primary, since) if primary else NO_EVENTS
            base = np.count_nonzero(others.first >= 500) / len(others) if len(others) else 0.0
            return rate - base, len(events)
        return rate, len(events)

    def _fire(
        self, rule: Rule, state: RuleState, version: str, value: float, requests: int
    ) -> None:
        fired_at = utc_now()
        alert: dict[str, Any] = {
            "rule": rule.name,
            "time": fired_at,
            "version": version,
            "value": value,
            "requests": requests,
            "condition": rule.condition(),
            "actions": describe_actions(rule.actions),
        }
        outcome = "no rollback"
        if rule.rolls_back:
            reason = {
                "rule": rule.name,
                "automatic": True,
                "value": value,
                "requests": requests,
                "fired_at": fired_at,
                **rule.condition(),
            }
            try:
                if rule.arm == "canary":
                    outcome = self.server.stop_canary(reason)
                else:
                    outcome = self.server.rollback_production(reason)
            except ModelError as error:
                outcome = f"rollback failed: {error}"
        alert["outcome"] = outcome
        state.state = "firing"
        state.fired += 1
        state.last_fired = fired_at
        state.last_outcome = outcome
        state.history = [*state.history[-9:], alert]
        threshold = rule.below if rule.below is not None else rule.above
        log_line(
            f"alert {rule.name} fired: {rule.when}={value:.4g}"
            + (f" (threshold {threshold:g})" if threshold is not None else "")
            + f" on {rule.arm} {version}, {requests} requests in {rule.window:g}s; {outcome}"
        )
        for action in rule.actions:
            if isinstance(action, Webhook | Command):
                self.runner.submit(action, alert)

    def describe(self) -> dict[str, Any]:
        """``GET /alerts``: every rule with its state."""
        now = time.monotonic()
        with self._lock:
            rules = []
            for rule in self.config.rules:
                state = self.states[rule.name]
                rules.append(
                    {
                        "name": rule.name,
                        **rule.condition(),
                        "cooldown_seconds": rule.cooldown,
                        "auto_rollback": rule.auto_rollback,
                        "actions": describe_actions(rule.actions),
                        "state": state.state,
                        "value": state.value,
                        "requests": state.requests,
                        "version": state.version,
                        "fired": state.fired,
                        "last_fired": state.last_fired,
                        "last_outcome": state.last_outcome,
                        "cooldown_left_seconds": round(max(0.0, state.cooling_until - now), 3),
                        "alerts": list(state.history),
                    }
                )
        return {
            "file": str(self.config.path),
            "evaluate_every_seconds": self.config.evaluate_every,
            "rules": rules,
            "warnings": list(self.config.warnings),
            "actions_delivered": [
                {"rule": rule, "outcome": outcome} for rule, outcome in self.runner.delivered
            ],
        }
