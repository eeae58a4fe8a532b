"""Serving metrics: request counters and a latency histogram in the Prometheus text format.

Kept in memory per server process and rendered by ``GET /metrics``; thread-safe, because
predictions finish in the thread pool.
"""

from __future__ import annotations

import math
import threading
from bisect import bisect_left
from collections import Counter

LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
"""Upper bounds (seconds) of the ``POST /predict`` latency histogram's buckets."""

PREDICT_PATH = "/predict"


class Metrics:
    """Counters and a latency histogram, rendered in the Prometheus text format."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.requests: Counter[tuple[str, int]] = Counter()
        self.by_version: Counter[str] = Counter()
        self.rows_by_version: Counter[str] = Counter()
        self.buckets = [0] * (len(LATENCY_BUCKETS) + 1)
        self.latency_sum = 0.0
        self.shadow_requests: Counter[str] = Counter()
        self.shadow_disagreements: Counter[str] = Counter()
        self.shadow_errors: Counter[str] = Counter()

    def observe(self, path: str, status: int, seconds: float) -> None:
        """Count one request and its latency."""
        with self._lock:
            self.requests[(path, status)] += 1
            if path == PREDICT_PATH:
                self.buckets[bisect_left(LATENCY_BUCKETS, seconds)] += 1
                self.latency_sum += seconds

    def prediction(self, version: str, rows: int) -> None:
        """Count a successful prediction by the version that served it."""
        with self._lock:
            self.by_version[version] += 1
            self.rows_by_version[version] += rows

    def shadow(self, version: str, disagreements: int, failed: bool) -> None:
        """Count one shadow prediction."""
        with self._lock:
            self.shadow_requests[version] += 1
            self.shadow_disagreements[version] += disagreements
            self.shadow_errors[version] += int(failed)

    def render(self) -> str:
        """The metrics page."""
        with self._lock:
            lines = [
                "# HELP mlprod_requests_total HTTP requests by path and status.",
                "# TYPE mlprod_requests_total counter",
            ]
            for (path, status), count in sorted(self.requests.items()):
                lines.append(f'mlprod_requests_total{{path="{path}",status="{status}"}} {count}')
            lines += [
                "# HELP mlprod_predict_latency_seconds Latency of POST /predict.",
                "# TYPE mlprod_predict_latency_seconds histogram",
            ]
            cumulative = 0
            for bound, count in zip((*LATENCY_BUCKETS, math.inf), self.buckets, strict=True):
                cumulative += count
                label = "+Inf" if bound == math.inf else repr(bound)
                lines.append(f'mlprod_predict_latency_seconds_bucket{{le="{label}"}} {cumulative}')
            lines.append(f"mlprod_predict_latency_seconds_sum {self.latency_sum:.6f}")
            lines.append(f"mlprod_predict_latency_seconds_count {cumulative}")
            for name, help_text, counter in (
                (
                    "mlprod_predictions_total",
                    "Successful predictions by model version.",
                    self.by_version,
                ),
                (
                    "mlprod_prediction_rows_total",
                    "Rows predicted by model version.",
                    self.rows_by_version,
                ),
                (
                    "mlprod_shadow_predictions_total",
                    "Shadow predictions by shadow version.",
                    self.shadow_requests,
                ),
                (
                    "mlprod_shadow_disagreements_total",
                    "Rows where the shadow version disagreed with the served one.",
                    self.shadow_disagreements,
                ),
                (
                    "mlprod_shadow_errors_total",
                    "Shadow predictions that failed.",
                    self.shadow_errors,
                ),
            ):
                lines += [f"# HELP {name} {help_text}", f"# TYPE {name} counter"]
                lines += [f'{name}{{version="{v}"}} {n}' for v, n in sorted(counter.items())]
            return "\n".join(lines) + "\n"
