"""Benchmark: `nb2prod run` against the plain `papermill` CLI, and the converted package's
`train` against papermill, on the same notebooks.

Every command is timed as a whole process (start-up, imports, kernel start included),
because that is what a user or a CI job waits for. papermill runs without its progress bar,
as `nb2prod run` does when its output is not a terminal. Runs of the three commands
alternate so that load from other processes on the machine affects them alike; the table
reports the median of each (and the ratio to papermill's median; target for `nb2prod run`:
at most 1.10).

Usage::

    python bench/run.py [--runs 5] [--only churn.ipynb ...]
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = ROOT / "example_notebooks"
DEFAULT_NOTEBOOKS = ("churn.ipynb", "digits.ipynb")
TARGET_RATIO = 1.10


@dataclass(frozen=True)
class Timing:
    """Median wall-clock seconds of the three commands on one notebook."""

    notebook: str
    runs: int
    papermill_s: float
    nb2prod_run_s: float
    package_train_s: float

    @property
    def run_ratio(self) -> float:
        """`nb2prod run` time over papermill's."""
        return self.nb2prod_run_s / self.papermill_s

    @property
    def train_ratio(self) -> float:
        """The package's `train` time over papermill's."""
        return self.package_train_s / self.papermill_s


def time_command(command: Sequence[str], cwd: Path, env: dict[str, str]) -> float:
    """Wall-clock seconds of one process; a failure stops the benchmark with its output."""
    started = time.perf_counter()
    done = subprocess.run(command, cwd=cwd, env=env, capture_output=True, text=True, check=False)
    elapsed = time.perf_counter() - started
    if done.returncode != 0:
        raise SystemExit(
            f"benchmark command failed ({done.returncode}): {' '.join(command)}\n"
            f"{done.stdout[-2000:]}\n{done.stderr[-2000:]}"
        )
    return elapsed


def bench_notebook(notebook: Path, runs: int, scratch: Path) -> Timing:
    """Time papermill, `nb2prod run` and the package's `train` ``runs`` times each."""
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    nb2prod = [
        sys.executable,
        "-c",
        "import sys; from jupyter_mlprod.cli import main; sys.exit(main())",
    ]
    package_dir = scratch / f"{notebook.stem}_package"
    subprocess.run(
        [*nb2prod, "convert", str(notebook), "-o", str(package_dir)],
        env=env,
        check=True,
        capture_output=True,
    )
    (module_init,) = (package_dir / "src").glob("*/__main__.py")
    module = module_init.parent.name
    package_env = {**os.environ, "PYTHONPATH": str(package_dir / "src")}

    commands = {
        "papermill": lambda i: (
            [
                sys.executable,
                "-m",
                "papermill",
                "--no-progress-bar",
                "--cwd",
                str(notebook.parent),
                str(notebook),
                str(scratch / f"papermill-{i}.ipynb"),
            ],
            env,
        ),
        "nb2prod run": lambda i: (
            [*nb2prod, "run", str(notebook), "-o", str(scratch / "runs")],
            env,
        ),
        "package train": lambda i: (
            [
                sys.executable,
                "-m",
                module,
                "train",
                "--seed",
                "0",
                "--model-dir",
                str(scratch / f"models-{notebook.stem}"),
            ],
            package_env,
        ),
    }
    # One untimed round: the first kernel start and cold imports pay for disk caches.
    for make in commands.values():
        command, command_env = make("warmup")
        time_command(command, notebook.parent, command_env)
    seconds: dict[str, list[float]] = {name: [] for name in commands}
    for i in range(runs):
        for name, make in commands.items():
            command, command_env = make(i)
            seconds[name].append(time_command(command, notebook.parent, command_env))
            print(f"  {notebook.name} {name} #{i + 1}: {seconds[name][-1]:.2f}s", file=sys.stderr)
    return Timing(
        notebook=notebook.name,
        runs=runs,
        papermill_s=statistics.median(seconds["papermill"]),
        nb2prod_run_s=statistics.median(seconds["nb2prod run"]),
        package_train_s=statistics.median(seconds["package train"]),
    )


def render_table(timings: Sequence[Timing]) -> str:
    """The results as a Markdown table."""
    lines = [
        "| notebook | runs | papermill (s) | nb2prod run (s) | run / papermill | "
        "package train (s) | train / papermill |",
        "|---|---:|---:|---:|---:|---:|---:|",
    ]
    for t in timings:
        verdict = "" if t.run_ratio <= TARGET_RATIO else " (over target)"
        lines.append(
            f"| {t.notebook} | {t.runs} | {t.papermill_s:.2f} | {t.nb2prod_run_s:.2f} | "
            f"{t.run_ratio:.2f}{verdict} | {t.package_train_s:.2f} | {t.train_ratio:.2f} |"
        )
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    """Run the benchmark and print the Markdown table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5, help="timed runs per command (>= 5)")
    parser.add_argument(
        "--only",
        nargs="+",
        default=list(DEFAULT_NOTEBOOKS),
        metavar="NB",
        help="example notebooks to time",
    )
    args = parser.parse_args(argv)
    if args.runs < 5:
        parser.error("--runs must be at least 5 for a meaningful median")
    scratch = Path(tempfile.mkdtemp(prefix="nb2prod-bench-run-"))
    try:
        timings = [bench_notebook(EXAMPLES / name, args.runs, scratch) for name in args.only]
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    print(render_table(timings))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
