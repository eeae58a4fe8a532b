"""Benchmark: how fast the analysis keeps up with typing, cold and after a one-cell edit.

For generated notebooks of 30, 100, 300 and 1000 code cells (the shape of a long real one:
helpers, feature cells, exploration, markdown; see ``bench/convert.py``'s builder), it times
in-process:

* **cold check**: the whole ``nb2prod check`` work (analysis and JSON report) with an empty
  per-cell cache, as the first analysis of a notebook or a fresh ``nb2prod check`` does;
* **one-edit analyse**: what the server extension does when the lab sends the notebook after
  one cell changed: build the notebook from its JSON, analyse it and report, with the cache
  holding every other cell (the server process keeps it between calls);
* **warm re-check**: the same notebook again, nothing changed.

Each figure is the median over ``--runs`` runs; the edit changes a different cell each run.
Times are CPU time of this process (see ``timed``). The ratio of the one-edit time to the
cold time (same run, same machine) is what the cache buys.

Usage::

    python bench/analysis.py [--runs 5] [--sizes 30 100 300 1000]
"""

from __future__ import annotations

import argparse
import copy
import functools
import json
import platform
import statistics
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from convert import build_large_notebook  # noqa: E402  (the sibling bench script)

from jupyter_mlprod.analysis import analyse_notebook  # noqa: E402
from jupyter_mlprod.analysis.cache import CELL_CACHE  # noqa: E402
from jupyter_mlprod.notebook import notebook_from_json  # noqa: E402
from jupyter_mlprod.report import report_json  # noqa: E402
from jupyter_mlprod.server.handlers import analyse_report  # noqa: E402

SIZES = (30, 100, 300, 1000)


@dataclass(frozen=True)
class Timing:
    """Median seconds for one notebook size."""

    code_cells: int
    cold_s: float
    edit_s: float
    warm_s: float

    @property
    def ratio(self) -> float:
        """One-edit time as a share of the cold time."""
        return self.edit_s / self.cold_s


def timed(work: Callable[[], Any]) -> float:
    """CPU seconds ``work`` takes in this process: the analysis is single-threaded, so on an
    idle machine this is its wall-clock time, and other processes' load disturbs it far less
    than the wall clock."""
    start = time.process_time()
    work()
    return time.process_time() - start


def handle(body: dict[str, Any], path: str) -> dict[str, Any]:
    """What the server's analyse handler does with a request's notebook."""
    return analyse_report(notebook_from_json(body, path))


def edited(data: dict[str, Any], run: int) -> dict[str, Any]:
    """The notebook JSON with one code cell edited: a different cell each run, as typing
    moves through a notebook (a comment appended, so the notebook still converts)."""
    changed = copy.deepcopy(data)
    code = [cell for cell in changed["cells"] if cell["cell_type"] == "code"]
    cell = code[(len(code) // 2 + 7 * run) % len(code)]
    source = cell["source"] if isinstance(cell["source"], str) else "".join(cell["source"])
    cell["source"] = f"{source}\n# edit {run}"
    return changed


def measure(n_code_cells: int, runs: int) -> Timing:
    """Time cold checks, one-edit analyses and warm re-checks of one notebook size."""
    # Plain JSON values, as the server receives the notebook.
    data: dict[str, Any] = json.loads(json.dumps(build_large_notebook(n_code_cells)))
    path = f"bench_{n_code_cells}.ipynb"
    notebook = notebook_from_json(data, path)
    report = report_json(analyse_notebook(notebook))
    assert report["ok"], report["problems"][:3]
    cold, edit, warm = [], [], []
    for run in range(runs):
        CELL_CACHE.clear()
        cold.append(timed(lambda: report_json(analyse_notebook(notebook))))
        warm.append(timed(lambda: report_json(analyse_notebook(notebook))))
        body = edited(data, run)
        # The handler's work: the body's notebook read, analysed and reported.
        edit.append(timed(functools.partial(handle, body, path)))
    return Timing(
        n_code_cells,
        statistics.median(cold),
        statistics.median(edit),
        statistics.median(warm),
    )


def main(argv: Sequence[str] | None = None) -> int:
    """Run the benchmark and print a Markdown table."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=5, help="runs per size (median)")
    parser.add_argument("--sizes", type=int, nargs="+", default=list(SIZES))
    args = parser.parse_args(argv)
    if args.runs < 1 or any(size < 20 for size in args.sizes):
        parser.error("--runs must be at least 1 and every size at least 20")
    print(f"Python {platform.python_version()}, {platform.machine()}, median of {args.runs} runs")
    print()
    print("| code cells | cold check | one-edit analyse | warm re-check | edit / cold |")
    print("|---:|---:|---:|---:|---:|")
    for size in args.sizes:
        timing = measure(size, args.runs)
        print(
            f"| {timing.code_cells} | {timing.cold_s * 1000:.0f} ms | "
            f"{timing.edit_s * 1000:.0f} ms | {timing.warm_s * 1000:.0f} ms | "
            f"{timing.ratio:.2f} |",
            flush=True,
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
