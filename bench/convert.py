"""Benchmark: how long `nb2prod convert` takes next to `jupyter nbconvert --to script`.

Both tools are timed as whole processes (start-up and imports included), because that is
what a user or a CI job waits for. The notebooks are a generated one with many code cells
(built here, and checked with `nb2prod check` before timing) and every example notebook.
Runs of the two tools alternate so that load from other processes on the machine affects
both alike; the table reports the median of each, as wall-clock time (what the user waits
for) and as CPU time of the child process (user + system, which other load on a shared
machine disturbs much less).

Usage::

    python bench/convert.py [--runs 5] [--cells 300] [--only churn.ipynb ...]
"""

from __future__ import annotations

import argparse
import os
import platform
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path

import nbformat
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = ROOT / "example_notebooks"
N_COLUMNS = 8  # raw columns of the generated notebook's synthetic frame


@dataclass(frozen=True)
class Sample:
    """One timed process: wall-clock and CPU (user + system) seconds."""

    wall_s: float
    cpu_s: float


@dataclass(frozen=True)
class Timing:
    """Median seconds of both tools on one notebook."""

    notebook: str
    code_cells: int
    convert_s: float
    nbconvert_s: float
    convert_cpu_s: float
    nbconvert_cpu_s: float

    @property
    def ratio(self) -> float:
        """How many times longer `nb2prod convert` takes than nbconvert (wall clock)."""
        return self.convert_s / self.nbconvert_s

    @property
    def cpu_ratio(self) -> float:
        """The same ratio in CPU time."""
        return self.convert_cpu_s / self.nbconvert_cpu_s


def build_large_notebook(n_code_cells: int) -> nbformat.NotebookNode:
    """A tagged notebook with ``n_code_cells`` code cells, shaped like a long real one.

    Besides the imports, parameters, split, model and predict cells, the cells are helpers
    (functions in untagged cells), feature-building ``load`` cells that call them, untagged
    or ``skip`` exploration cells that display intermediate frames, and ``train`` cells
    that derive small statistics, with a markdown heading every few cells. The notebook is
    runnable (numpy, pandas, scikit-learn) so what is measured is a plausible conversion.

    Args:
        n_code_cells: total number of code cells; at least 20.

    Returns:
        The notebook, nbformat 4.5, with ``metadata.mlprod`` naming predict input/output.
    """
    if n_code_cells < 20:
        raise ValueError("n_code_cells must be at least 20")
    fixed = 7  # imports, parameters, base frame, split, scaler, model, predict
    flexible = n_code_cells - fixed
    n_helpers = flexible // 8
    n_train = flexible // 10
    n_explore = flexible // 5
    n_features = flexible - n_helpers - n_train - n_explore

    cells: list[nbformat.NotebookNode] = [
        new_markdown_cell("# Generated benchmark notebook"),
        new_code_cell(
            "import numpy as np\nimport pandas as pd\n"
            "from sklearn.linear_model import LogisticRegression\n"
            "from sklearn.model_selection import train_test_split\n"
            "from sklearn.preprocessing import StandardScaler"
        ),
        _tagged(
            "n_rows: int = 500  # synthetic rows\n"
            "random_state: int = 0  # seed for data and split\n"
            "C: float = 1.0  # inverse regularisation strength\n"
            "test_size: float = 0.25  # held-out share",
            "parameters",
        ),
        _tagged(
            "rng = np.random.default_rng(random_state)\n"
            f"df = pd.DataFrame(rng.normal(size=(n_rows, {N_COLUMNS})),\n"
            f'                  columns=[f"x{{i}}" for i in range({N_COLUMNS})])',
            "load",
        ),
    ]
    for k in range(n_helpers):
        cells.append(
            new_code_cell(
                f"def feature_{k}(frame):\n"
                f'    """Interaction feature number {k}."""\n'
                f'    return frame["x{k % N_COLUMNS}"] * {k + 1} - frame["x{(k + 3) % N_COLUMNS}"]'
            )
        )
    # Interleave features, exploration and markdown the way a long notebook grows.
    features: list[str] = []
    explore_every = max(1, n_features // max(1, n_explore))
    explored = 0
    for k in range(n_features):
        name = f"f{k}"
        source = f'df["{name}"] = feature_{k % n_helpers}(df)'
        if features:
            source += f' + 0.1 * df["{features[-1]}"]'
        cells.append(_tagged(source, "load"))
        features.append(name)
        if k % explore_every == 0 and explored < n_explore:
            exploration = f'df["{name}"].describe()' if explored % 2 else "df.head()"
            cells.append(
                _tagged(exploration, "skip") if explored % 3 == 0 else new_code_cell(exploration)
            )
            explored += 1
        if k % 25 == 0:
            cells.append(new_markdown_cell(f"## Features {k}–{k + 24}"))
    while explored < n_explore:
        cells.append(new_code_cell("df.shape"))
        explored += 1
    cells.append(
        _tagged(
            'X = df[[c for c in df.columns if c.startswith("f")]]\n'
            'y = (df["x0"] + df["x1"] > 0).astype(int)\n'
            "X_train, X_test, y_train, y_test = train_test_split(\n"
            "    X, y, test_size=test_size, random_state=random_state\n"
            ")",
            "load",
        )
    )
    cells.append(_tagged("scaler = StandardScaler().fit(X_train)", "train"))
    for k in range(n_train):
        previous = f"spread_{k - 1}" if k else "X_train.std()"
        cells.append(
            _tagged(f"spread_{k} = {previous} * 0.5 + X_train.iloc[:, {k % 5}].std()", "train")
        )
    cells.append(
        _tagged(
            f"weights = np.full(len(X_train), 1.0 + 0.0 * spread_{n_train - 1}.mean())\n"
            "model = LogisticRegression(C=C, max_iter=500)\n"
            "model.fit(scaler.transform(X_train), y_train, sample_weight=weights)",
            "train",
        )
    )
    cells.append(_tagged("y_pred = model.predict(scaler.transform(X_test))", "predict"))

    nb = new_notebook(cells=cells)
    nb.metadata["kernelspec"] = {
        "name": "python3",
        "display_name": "Python 3",
        "language": "python",
    }
    nb.metadata["language_info"] = {"name": "python", "file_extension": ".py"}
    nb.metadata["mlprod"] = {"predict_input": "X_test", "predict_output": "y_pred"}
    for index, cell in enumerate(nb.cells):
        cell.id = f"bench-{index:04d}"  # stable ids keep runs comparable
    actual = sum(cell.cell_type == "code" for cell in nb.cells)
    assert actual == n_code_cells, (actual, n_code_cells)
    nbformat.validate(nb)
    return nb


def _tagged(source: str, role: str) -> nbformat.NotebookNode:
    cell = new_code_cell(source)
    cell.metadata["tags"] = [role]
    return cell


def nb2prod_command() -> list[str]:
    """The command that runs `nb2prod`: the installed script, else the module in this tree."""
    script = shutil.which("nb2prod")
    if script:
        return [script]
    return [
        sys.executable,
        "-c",
        "import sys; from jupyter_mlprod.cli import main; sys.exit(main())",
    ]


def nbconvert_command() -> list[str]:
    """The command that runs `jupyter nbconvert`."""
    script = shutil.which("jupyter")
    return [script, "nbconvert"] if script else [sys.executable, "-m", "nbconvert"]


def run_once(command: Sequence[str], cwd: Path) -> Sample:
    """Run ``command`` to completion and return its wall-clock and CPU durations.

    Raises:
        RuntimeError: the command failed; its stderr is included.
    """
    # Children's rusage accumulates over every waited-for child, so take the difference.
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    completed = subprocess.run(command, cwd=cwd, capture_output=True, text=True, check=False)
    elapsed = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    if completed.returncode != 0:
        raise RuntimeError(
            f"{' '.join(command)} exited {completed.returncode}:\n"
            f"{completed.stdout[-2000:]}{completed.stderr[-2000:]}"
        )
    return Sample(wall_s=elapsed, cpu_s=cpu)


def time_notebook(notebook: Path, runs: int, scratch: Path) -> Timing:
    """Median times of both tools on ``notebook``, after one untimed warm-up run each."""
    package_dir = scratch / f"{notebook.stem}_package"
    script_dir = scratch / f"{notebook.stem}_script"
    convert = [*nb2prod_command(), "convert", str(notebook), "-o", str(package_dir), "--force"]
    nbconvert = [
        *nbconvert_command(),
        "--to",
        "script",
        "--log-level",
        "ERROR",
        "--output-dir",
        str(script_dir),
        str(notebook),
    ]
    # Warm-up: fills the OS file cache and Python's bytecode caches for both tools.
    run_once(convert, notebook.parent)
    run_once(nbconvert, notebook.parent)
    convert_times: list[Sample] = []
    nbconvert_times: list[Sample] = []
    for _ in range(runs):
        convert_times.append(run_once(convert, notebook.parent))
        nbconvert_times.append(run_once(nbconvert, notebook.parent))
    code_cells = sum(
        cell.cell_type == "code" for cell in nbformat.read(notebook, as_version=4).cells
    )
    return Timing(
        notebook=notebook.name,
        code_cells=code_cells,
        convert_s=statistics.median(sample.wall_s for sample in convert_times),
        nbconvert_s=statistics.median(sample.wall_s for sample in nbconvert_times),
        convert_cpu_s=statistics.median(sample.cpu_s for sample in convert_times),
        nbconvert_cpu_s=statistics.median(sample.cpu_s for sample in nbconvert_times),
    )


def check_notebook(notebook: Path) -> None:
    """Fail early, with the check report, if ``nb2prod check`` rejects ``notebook``."""
    completed = subprocess.run(
        [*nb2prod_command(), "check", str(notebook)],
        cwd=notebook.parent,
        capture_output=True,
        text=True,
        check=False,
    )
    if completed.returncode != 0:
        raise RuntimeError(
            f"nb2prod check rejects {notebook}:\n{completed.stdout}{completed.stderr}"
        )


def tool_versions() -> str:
    """The versions being compared, for the record."""
    found = []
    for distribution in ("jupyter-mlprod", "nbconvert"):
        try:
            found.append(f"{distribution} {metadata.version(distribution)}")
        except metadata.PackageNotFoundError:
            found.append(f"{distribution} (not installed)")
    found.append(f"Python {platform.python_version()}")
    return ", ".join(found)


def render_table(timings: Sequence[Timing], runs: int) -> str:
    """The results as a Markdown table."""
    lines = [
        f"Median of {runs} runs each, whole process (start-up included); "
        "CPU = user + system time of the process.",
        f"{tool_versions()}; {os.cpu_count()} CPUs, load average "
        f"{os.getloadavg()[0]:.1f} at the end.",
        "",
        "| notebook | code cells | `nb2prod convert` wall (s) | `nbconvert --to script` wall (s) "
        "| ratio | convert CPU (s) | nbconvert CPU (s) | CPU ratio |",
        "|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for timing in timings:
        lines.append(
            f"| {timing.notebook} | {timing.code_cells} | {timing.convert_s:.2f} "
            f"| {timing.nbconvert_s:.2f} | {timing.ratio:.2f}× | {timing.convert_cpu_s:.2f} "
            f"| {timing.nbconvert_cpu_s:.2f} | {timing.cpu_ratio:.2f}× |"
        )
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    """Build the large notebook, time both tools on it and on the examples, print a table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5, help="timed runs per tool (default 5)")
    parser.add_argument(
        "--cells", type=int, default=300, help="code cells in the generated notebook (300)"
    )
    parser.add_argument(
        "--only", nargs="*", default=None, help="example notebooks to include (default: all)"
    )
    args = parser.parse_args(argv)
    if args.runs < 1:
        parser.error("--runs must be at least 1")

    with tempfile.TemporaryDirectory(prefix="nb2prod-bench-") as tmp:
        scratch = Path(tmp)
        large = scratch / f"generated_{args.cells}_cells.ipynb"
        nbformat.write(build_large_notebook(args.cells), large)
        check_notebook(large)
        examples = sorted(EXAMPLES.glob("*.ipynb"))
        if args.only is not None:
            examples = [path for path in examples if path.name in set(args.only)]
        timings = []
        for notebook in [large, *examples]:
            print(f"timing {notebook.name} …", file=sys.stderr, flush=True)
            timings.append(time_notebook(notebook, args.runs, scratch))
    print(render_table(timings, args.runs))
    return 0


if __name__ == "__main__":
    sys.exit(main())
