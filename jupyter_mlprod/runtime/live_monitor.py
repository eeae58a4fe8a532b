"""Live drift monitoring of a running server: a bounded window of served rows per version.

The request path only appends a reference to what it already has (the decoded, validated
payload and the JSON predictions) to the version's window: a lock, a ``deque.append`` and,
once the window is full, a ``popleft``, so monitoring adds well under a microsecond per
request. Everything costly happens in one background thread at most every ``interval``
seconds, and only for windows that changed: the payloads are joined into one input (the
same shapes ``POST /predict`` accepts), conformed to the version's schema, and tested against
the reference profile of its manifest with drift.py's :func:`detect_drift`. The latest
report per version is what ``GET /monitor`` returns and ``/metrics`` exports.

The window holds the last ``window`` rows (whole requests are kept while any of their rows is
among them, the extra rows are dropped when the window is tested), so it follows the traffic
as it is now rather than a reservoir of the whole run: drift that starts now shows up within
one window.
"""

from __future__ import annotations

import threading
from collections import Counter, deque
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from .batching import frame_of, record_columns
from .drift import DriftOptions, DriftReport, detect_drift
from .errors import MlprodError, first_line
from .periodic import Periodic
from .profile import category_key, column_values, numeric_values
from .provenance import utc_now
from .schema import Schema, conform, from_payload
from .store import LoadedModel

DEFAULT_WINDOW = 1000
"""Rows kept per version: the size of the small-reference tests' reference (drift.py)."""
DEFAULT_INTERVAL = 10.0
"""Seconds between two drift computations of a window."""
MIN_ROWS = 30
"""A window with fewer rows is not tested: a handful of rows makes every test noise."""
PREDICTION_QUANTILES = (0.1, 0.5, 0.9)
TOP_CLASSES = 10


@dataclass
class _Window:
    """One version's served requests: ``(payload, predictions, rows)``, newest last."""

    model: LoadedModel
    requests: deque[tuple[Any, Any, int]] = field(default_factory=deque)
    rows: int = 0
    added: int = 0
    """Requests ever added: the window changed since a test when this moved."""


@dataclass(frozen=True)
class WindowState:
    """The latest drift test of one version's window."""

    version: str
    time: str
    rows: int
    report: DriftReport | None
    predictions: dict[str, Any]
    problem: str | None = None

    def to_json(self) -> dict[str, Any]:
        """The state as JSON (``GET /monitor``)."""
        return {
            "version": self.version,
            "time": self.time,
            "rows": self.rows,
            "drift": self.report.to_json() if self.report else None,
            "prediction_distribution": self.predictions,
            **({"problem": self.problem} if self.problem else {}),
        }


class LiveMonitor:
    """Per-version windows of served rows and their drift, recomputed in the background.

    Args:
        window: Rows kept per version.
        interval: Seconds between two computations (a window that did not change is skipped).
        options: The drift tests' options (drift.py).
    """

    def __init__(
        self,
        window: int = DEFAULT_WINDOW,
        interval: float = DEFAULT_INTERVAL,
        options: DriftOptions | None = None,
    ) -> None:
        self.window = window
        self.interval = interval
        self.options = options or DriftOptions()
        self._windows: dict[str, _Window] = {}
        self._tested: dict[str, int] = {}
        self._lock = threading.Lock()
        self._states: dict[str, WindowState] = {}
        self._timer: Periodic | None = None

    # ----------------------------------------------------------- request path

    def add(self, model: LoadedModel, payload: Any, predictions: Any, rows: int) -> None:
        """Append one served request to its version's window (cheap: see the module doc)."""
        with self._lock:
            window = self._windows.get(model.version)
            if window is None:
                window = self._windows[model.version] = _Window(model)
            window.requests.append((payload, predictions, rows))
            window.rows += rows
            window.added += 1
            # Drop the oldest requests none of whose rows are among the last ``window``.
            while window.rows - window.requests[0][2] >= self.window:
                window.rows -= window.requests.popleft()[2]

    # ------------------------------------------------------------- background

    def start(self) -> None:
        """Start the background thread (idempotent)."""
        if self._timer is None:
            self._timer = Periodic("mlprod-live-monitor", self.interval, self.update)
        self._timer.start()

    def stop(self) -> None:
        """Stop the background thread and wait for it."""
        if self._timer is not None:
            self._timer.stop()

    def update(self) -> dict[str, WindowState]:
        """Test every window that changed since its last test; returns the latest states."""
        with self._lock:
            changed = [
                (version, window.model, list(window.requests), window.added)
                for version, window in self._windows.items()
                if self._tested.get(version) != window.added
            ]
        for version, model, requests, added in changed:
            try:
                state = self._test(version, model, requests)
            except Exception as error:  # noqa: BLE001 - the thread must outlive one bad window
                # Periodic's thread ends on an exception: monitoring would stop for good.
                problem = f"window not tested: {type(error).__name__}: {first_line(error)}"
                state = WindowState(version, utc_now(), 0, None, {}, problem)
            with self._lock:
                self._states[version] = state
                self._tested[version] = added
        with self._lock:
            return dict(self._states)

    def states(self) -> dict[str, WindowState]:
        """The latest state per version (without computing)."""
        with self._lock:
            return dict(self._states)

    def rows(self, version: str) -> int:
        """Rows in a version's window right now."""
        with self._lock:
            window = self._windows.get(version)
            return min(window.rows, self.window) if window else 0

    def _test(
        self, version: str, model: LoadedModel, requests: Sequence[tuple[Any, Any, int]]
    ) -> WindowState:
        profile = model.manifest.get("profile")
        try:
            data, predictions = _joined(requests, model, self.window)
        except MlprodError as error:
            return WindowState(version, utc_now(), 0, None, {}, f"window not tested: {error}")
        rows = len(predictions)
        distribution = prediction_distribution(predictions)
        if not isinstance(profile, Mapping) or not profile.get("columns"):
            problem = f"{version} has no reference profile (trained before profiles existed)"
            return WindowState(version, utc_now(), rows, None, distribution, problem)
        if rows < MIN_ROWS:
            problem = f"{rows} rows in the window; drift is tested from {MIN_ROWS}"
            return WindowState(version, utc_now(), rows, None, distribution, problem)
        try:
            report = detect_drift(dict(profile), data, self.options, predictions)
        except MlprodError as error:
            return WindowState(version, utc_now(), rows, None, distribution, str(error))
        return WindowState(version, utc_now(), rows, report, distribution)

    # ---------------------------------------------------------------- output

    def describe(self) -> dict[str, Any]:
        """``GET /monitor``: the settings and the latest state of every version's window."""
        return {
            "window": self.window,
            "interval_seconds": self.interval,
            "stattest": self.options.stattest,
            "drift_share": self.options.drift_share,
            "versions": {version: state.to_json() for version, state in self.states().items()},
        }

    def render(self) -> str:
        """The monitoring part of the ``/metrics`` page (Prometheus text format)."""
        states = self.states()
        lines = [
            "# HELP mlprod_drift_score Drift score per column of the served window: the "
            "p-value for ks, chisquare and z (drift when below the threshold), else the distance.",
            "# TYPE mlprod_drift_score gauge",
        ]
        detected = ["# TYPE mlprod_drift_detected gauge"]
        share = ["# TYPE mlprod_drift_share gauge"]
        window_rows = ["# TYPE mlprod_monitor_window_rows gauge"]
        quantiles = ["# TYPE mlprod_window_prediction_quantile gauge"]
        shares = ["# TYPE mlprod_window_prediction_share gauge"]
        for version, state in sorted(states.items()):
            label = _label(version)
            window_rows.append(f'mlprod_monitor_window_rows{{version="{label}"}} {state.rows}')
            for column, summary in state.predictions.items():
                name = _label(column)
                for q, value in summary.get("quantiles", {}).items():
                    quantiles.append(
                        "mlprod_window_prediction_quantile"
                        f'{{version="{label}",column="{name}",quantile="{q}"}} {value:.6g}'
                    )
                for value, fraction in summary.get("shares", {}).items():
                    shares.append(
                        "mlprod_window_prediction_share"
                        f'{{version="{label}",column="{name}",value="{_label(value)}"}} '
                        f"{fraction:.6g}"
                    )
            report = state.report
            if report is None:
                continue
            detected.append(f'mlprod_drift_detected{{version="{label}"}} {int(report.drifted)}')
            share.append(f'mlprod_drift_share{{version="{label}"}} {report.share:.6g}')
            for result in (*report.columns, *report.prediction):
                if result.score is None:
                    continue
                kind = "prediction" if result in report.prediction else "input"
                lines.append(
                    f'mlprod_drift_score{{version="{label}",column="{_label(result.column)}",'
                    f'test="{result.test}",kind="{kind}"}} {result.score:.6g}'
                )
        return "\n".join([*lines, *detected, *share, *window_rows, *quantiles, *shares]) + "\n"

    def drifted(self, version: str) -> tuple[bool | None, DriftReport | None]:
        """The verdict of a version's latest test (None when it has none)."""
        state = self.states().get(version)
        if state is None or state.report is None:
            return None, None
        return state.report.drifted, state.report


def _joined(
    requests: Sequence[tuple[Any, Any, int]], model: LoadedModel, limit: int
) -> tuple[Any, list[Any]]:
    """The window's requests as one conformed input and one list of predictions, cut to the
    last ``limit`` rows."""
    rows: list[Any] = []
    predictions: list[Any] = []
    for payload, predicted, _ in requests:
        rows.extend(_payload_rows(payload))
        predictions.extend(predicted if isinstance(predicted, list) else [predicted])
    rows, predictions = rows[-limit:], predictions[-limit:]
    if len(rows) != len(predictions):
        # A predict() that does not return one prediction per row: keep the inputs only.
        predictions = []
    return conform(_window_input(rows, model.schema), model.schema), predictions


def _window_input(rows: list[Any], schema: Schema) -> Any:
    """The window's rows as one input: records whose values already have their columns' types
    take the batching path's column-wise build (half the time of from_payload's)."""
    columns = record_columns(rows, schema)
    if columns is not None:
        try:
            return frame_of(columns, schema)
        except (ValueError, TypeError, OverflowError):
            pass  # e.g. an integer past 64 bits: from_payload names the problem
    return from_payload(rows, schema)


def _payload_rows(payload: Any) -> list[Any]:
    """The rows of one accepted request body, as records or array rows."""
    if isinstance(payload, Mapping):
        if "columns" in payload and "data" in payload:
            names = [str(c) for c in payload["columns"]]
            return [dict(zip(names, row, strict=True)) for row in payload["data"]]
        return list(payload["instances"])
    return list(payload)


def prediction_distribution(predictions: Sequence[Any]) -> dict[str, Any]:
    """Per prediction column: score quantiles (numeric) or class shares (top classes)."""
    if not predictions:
        return {}
    try:
        columns = column_values(np.asarray(predictions), "prediction")
    except (TypeError, ValueError):
        return {}
    summary: dict[str, Any] = {}
    for name, values in columns.items():
        numbers = numeric_values(values)
        if numbers is not None and len(np.unique(numbers)) > TOP_CLASSES:
            if len(numbers):
                points = np.quantile(numbers, PREDICTION_QUANTILES)
                summary[name] = {
                    "kind": "numeric",
                    "quantiles": {
                        f"{q:g}": float(v)
                        for q, v in zip(PREDICTION_QUANTILES, points, strict=True)
                    },
                }
            continue
        counts: Counter[str] = Counter()
        try:
            # Count the raw values first (in C), then name the few distinct ones: category_key
            # per row was a third of a window's test.
            raw = Counter(values.tolist())
        except TypeError:  # unhashable values (a record per row): named one by one
            raw = Counter(category_key(value) for value in values.tolist())
        for value, count in raw.items():
            counts[category_key(value)] += count
        total = sum(counts.values()) or 1
        summary[name] = {
            "kind": "categorical",
            "shares": {key: count / total for key, count in counts.most_common(TOP_CLASSES)},
        }
    return summary


def _label(value: str) -> str:
    """A Prometheus label value: backslash, quote and newline escaped."""
    return value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")
