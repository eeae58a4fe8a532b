"""Benchmark batch prediction: ``predict --engine dask`` (on many files, and on one big file) vs
the single-process ``predict`` vs a plain pandas + model script, on one model and one dataset.

The model is the churn example (``example_notebooks/churn.ipynb``: a scikit-learn pipeline of
imputers, a one-hot encoder and a classifier), converted with ``nb2prod convert``, installed
into a virtualenv that sees this environment's packages, and trained once. The dataset is
``--rows`` rows (10 million by default) resampled from the notebook's churn table, written
into a temporary directory twice: as ``--partitions`` Parquet files (20 by default) for Dask,
and as one Parquet file for the single-process ``predict`` and the plain script.

Each contender runs as a fresh process (its start, imports and model load included):

- ``dask``: ``<pkg> predict --engine dask --input 'parts/*.parquet' --output out/`` (its own
  LocalCluster, one worker process per core);
- ``dask-file``: ``<pkg> predict --engine dask --input all.parquet --output out-file/``: the
  one big file, cut into partitions by its row groups (the default block size);
- ``single``: ``<pkg> predict --input all.parquet --output single.parquet``;
- ``plain``: ``pandas.read_parquet`` + ``model.predict`` + ``to_parquet``, the model taken
  from the store.

Reported per contender, as medians over ``--runs`` runs: wall time, rows/s, and peak memory:
the largest sum of the resident set sizes of the process and all its descendants (Dask's
scheduler and worker processes included), sampled every 50 ms with psutil. Printed as a
Markdown table, with each rows/s as a ratio to the single-process ``predict`` of the same
run.

Usage::

    python bench/batch.py                     # 10M rows in 20 partitions, 3 runs
    python bench/batch.py --rows 200000 --runs 1   # a quick check that the script works
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import venv
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import psutil

REPO = Path(__file__).resolve().parent.parent
EXAMPLES = REPO / "example_notebooks"
NOTEBOOK = EXAMPLES / "churn.ipynb"
SCRIPT = "churn-model"
MODULE = "churn_model"

PLAIN = """
import sys
from pathlib import Path
import pandas as pd
from {module}.store import ModelStore
model = ModelStore(Path(sys.argv[1])).load("latest").artifacts["model"]
frame = pd.read_parquet(sys.argv[2])
pd.DataFrame({{"y_pred": model.predict(frame)}}).to_parquet(sys.argv[3], index=False)
"""


@dataclass(frozen=True)
class Run:
    """One contender's run: wall seconds and the process tree's peak resident memory."""

    seconds: float
    peak_bytes: int


def build_package(root: Path) -> tuple[Path, dict[str, str]]:
    """Convert the example, install it in a venv, train v1; the venv's bin and an env."""
    package = root / "package"
    subprocess.run(
        [sys.executable, "-c", "import sys; from jupyter_mlprod.cli import main; sys.exit(main())"]
        + ["convert", str(NOTEBOOK), "-o", str(package)],
        check=True,
        capture_output=True,
    )
    venv.EnvBuilder(system_site_packages=True, with_pip=False, clear=True).create(root / "venv")
    python = root / "venv" / "bin" / "python"
    subprocess.run(
        [str(python), "-m", "pip", "install", "--quiet", "--no-deps", "--no-index"]
        + ["--no-build-isolation", str(package)],
        check=True,
    )
    env = {**os.environ, "MLPROD_MODEL_DIR": str(root / "models"), "MLPROD_UNSIGNED_OK": "1"}
    env.pop("PYTHONPATH", None)
    subprocess.run(
        [str(python.parent / SCRIPT), "train"], cwd=EXAMPLES, env=env, check=True, stdout=-3
    )
    return python.parent, env


def write_data(root: Path, rows: int, partitions: int) -> tuple[Path, Path]:
    """The resampled table as ``partitions`` files and as one file."""
    table = pd.read_csv(EXAMPLES / "data" / "churn.csv").drop(columns=["churn"])
    parts = root / "parts"
    parts.mkdir()
    rng = np.random.default_rng(0)
    pieces = []
    for number, bounds in enumerate(np.array_split(np.arange(rows), partitions)):
        piece = table.iloc[rng.integers(0, len(table), len(bounds))].reset_index(drop=True)
        piece.to_parquet(parts / f"part-{number:03d}.parquet", index=False)
        pieces.append(piece)
    whole = root / "all.parquet"
    pd.concat(pieces, ignore_index=True).to_parquet(whole, index=False)
    return parts, whole


def measure(command: list[str], cwd: Path, env: dict[str, str]) -> Run:
    """Run ``command``; its wall time and the peak RSS summed over its process tree."""
    started = time.perf_counter()
    process = subprocess.Popen(command, cwd=cwd, env=env, stdout=-3, stderr=subprocess.PIPE)
    peak = 0
    stop = threading.Event()

    def sample() -> None:
        nonlocal peak
        try:
            root = psutil.Process(process.pid)
        except psutil.NoSuchProcess:
            return
        while not stop.is_set():
            total = 0
            try:
                for member in [root, *root.children(recursive=True)]:
                    try:
                        total += member.memory_info().rss
                    except psutil.NoSuchProcess:
                        continue
            except psutil.NoSuchProcess:
                return
            peak = max(peak, total)
            stop.wait(0.05)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    _, err = process.communicate()
    seconds = time.perf_counter() - started
    stop.set()
    sampler.join()
    if process.returncode != 0:
        raise SystemExit(f"{' '.join(command)} failed:\n{err.decode()[-2000:]}")
    return Run(seconds, peak)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=10_000_000)
    parser.add_argument("--partitions", type=int, default=20)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="bench-batch-") as temp:
        root = Path(temp)
        print(f"building the package and {args.rows:,} rows in {root} …", file=sys.stderr)
        bin_dir, env = build_package(root)
        parts, whole = write_data(root, args.rows, args.partitions)
        script = str(bin_dir / SCRIPT)
        plain = root / "plain.py"
        plain.write_text(PLAIN.format(module=MODULE), encoding="utf-8")
        commands = {
            "dask": [script, "predict", "--engine", "dask", "--input", f"{parts}/*.parquet"]
            + ["--output", str(root / "out")],
            "dask-file": [script, "predict", "--engine", "dask", "--input", str(whole)]
            + ["--output", str(root / "out-file")],
            "single": [script, "predict", "--input", str(whole)]
            + ["--output", str(root / "single.parquet")],
            "plain": [str(bin_dir / "python"), str(plain), env["MLPROD_MODEL_DIR"], str(whole)]
            + [str(root / "plain.parquet")],
        }
        results: dict[str, list[Run]] = {name: [] for name in commands}
        for number in range(args.runs):
            for name, command in commands.items():
                if name.startswith("dask"):
                    shutil.rmtree(root / ("out" if name == "dask" else "out-file"), True)
                run = measure(command, root, env)
                results[name].append(run)
                print(
                    f"run {number + 1} {name}: {run.seconds:.1f}s, "
                    f"peak {run.peak_bytes / 2**20:,.0f} MiB",
                    file=sys.stderr,
                )
        check_same(root)
        print_table(results, args)
    return 0


def check_same(root: Path) -> None:
    """The contenders wrote the same predictions (else the timing compares nothing)."""
    single = pd.read_parquet(root / "single.parquet")
    plain = pd.read_parquet(root / "plain.parquet")
    assert single.equals(plain), "the contenders disagree"
    for directory in ("out", "out-file"):
        parts = sorted((root / directory).iterdir())
        dask = pd.concat([pd.read_parquet(p) for p in parts], ignore_index=True)
        assert single.equals(dask), f"{directory} disagrees with the single process"
        print(f"{directory}: {len(parts)} part files", file=sys.stderr)


def print_table(results: dict[str, list[Run]], args: argparse.Namespace) -> None:
    seconds = {name: statistics.median(r.seconds for r in runs) for name, runs in results.items()}
    peaks = {name: statistics.median(r.peak_bytes for r in runs) for name, runs in results.items()}
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    print(
        f"\n{args.rows:,} rows, {args.partitions} Parquet partitions, {cores} cores, "
        f"median of {args.runs} run(s)\n"
    )
    print("| engine | wall s | rows/s | vs single | peak RSS (process tree) |")
    print("|---|---:|---:|---:|---:|")
    labels = {
        "dask": "`predict --engine dask` on the files (LocalCluster)",
        "dask-file": "`predict --engine dask` on the one file (LocalCluster)",
        "single": "`predict` (single process)",
        "plain": "pandas + model script",
    }
    for name, label in labels.items():
        rate = args.rows / seconds[name]
        ratio = seconds["single"] / seconds[name]
        print(
            f"| {label} | {seconds[name]:.1f} | {rate:,.0f} | {ratio:.2f}× | "
            f"{peaks[name] / 2**30:.2f} GiB |"
        )


if __name__ == "__main__":
    raise SystemExit(main())
