"""Benchmark: what one drift check of a serving-sized window costs.

``detect_drift`` (jupyter_mlprod/runtime/drift.py) is meant to run from a background task of
the server every few seconds over a window of about 1000 served rows, so its cost per call is
what matters. Timed here on a window of ``--rows`` rows of a table with ``--columns`` numeric
and as many categorical columns, against a small reference (at most 1000 rows: KS and
chi-squared) and a large one (Wasserstein and Jensen-Shannon), from a DataFrame and from the
plain mapping of column lists a window hands over. As a yardstick in the same run, pandas'
``DataFrame.describe(include="all")`` of the same window. Calls alternate; the table reports
medians.

Usage::

    python bench/drift.py [--runs 30] [--rows 1000] [--columns 6]
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Callable

import numpy as np
import pandas as pd

from jupyter_mlprod.runtime.drift import DriftOptions, detect_drift
from jupyter_mlprod.runtime.profile import build_profile


def _table(rows: int, columns: int, seed: int) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    data: dict[str, object] = {}
    for i in range(columns):
        data[f"x{i}"] = rng.normal(i, 1 + i, rows)
        data[f"c{i}"] = rng.choice([f"v{j}" for j in range(3 + i)], rows)
    return pd.DataFrame(data)


def _median_ms(call: Callable[[], object], runs: int) -> float:
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        call()
        times.append(time.perf_counter() - started)
    return statistics.median(times) * 1000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=30)
    parser.add_argument("--rows", type=int, default=1000)
    parser.add_argument("--columns", type=int, default=6)
    args = parser.parse_args()

    window = _table(args.rows, args.columns, seed=2)
    plain = {name: window[name].tolist() for name in window.columns}
    small = build_profile(_table(1000, args.columns, seed=1))
    large = build_profile(_table(20_000, args.columns, seed=1))
    cases: dict[str, Callable[[], object]] = {
        "describe(include='all') (yardstick)": lambda: window.describe(include="all"),
        "small reference, DataFrame": lambda: detect_drift(small, window),
        "small reference, mapping": lambda: detect_drift(small, plain),
        "large reference, DataFrame": lambda: detect_drift(large, window),
        "large reference, mapping": lambda: detect_drift(large, plain),
        "PSI, DataFrame": lambda: detect_drift(small, window, DriftOptions(stattest="psi")),
    }
    for call in cases.values():
        call()
    samples: dict[str, list[float]] = {name: [] for name in cases}
    for _ in range(args.runs):
        for name, call in cases.items():
            samples[name].append(_median_ms(call, 1))
    yardstick = statistics.median(samples["describe(include='all') (yardstick)"])
    print(f"window: {args.rows} rows x {2 * args.columns} columns; {args.runs} runs, medians")
    print(f"{'case':<40} {'ms':>8} {'x describe':>11}")
    for name, values in samples.items():
        median = statistics.median(values)
        print(f"{name:<40} {median:>8.2f} {median / yardstick:>11.2f}")


if __name__ == "__main__":
    main()
