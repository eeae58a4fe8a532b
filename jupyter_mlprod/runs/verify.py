"""``nb2prod verify``: does the generated package predict what the notebook predicts?

:func:`verify_notebook` converts the notebook into a temporary package, runs the notebook
with papermill (generators seeded in a first cell, the predict input and output saved in a
last one), trains the package with the same seed and parameters, feeds it the notebook's
own predict input, and compares the two outputs with the runtime's comparator
(:mod:`jupyter_mlprod.runtime.compare`): exactly for labels, integers and strings, within a
relative tolerance for floats.

The notebook's run is a run like ``nb2prod run``'s, kept in the runs directory next to the
notebook (``runs/<run id>/``, ``kind: "verify"`` in its ``run.json``) with the verification's
outcome beside it in ``verify.json``, so a failed verification points at a folder that
exists. The package and its model store are scratch, removed afterwards unless kept.
Progress is reported per phase (:data:`PHASES`) as well as per notebook cell.
"""

from __future__ import annotations

import ast
import os
import pickle
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..errors import VerificationError
from ..notebook import Notebook, load_notebook
from ..roles import PREDICT, PREPARE
from .execute import PredictNames, ProgressCallback, execute_run, find_predict_names
from .execute import resolve_parameters as type_parameters
from .record import default_runs_dir

if TYPE_CHECKING:
    from ..runtime.compare import Comparison

SEED = 0
# The notebook and the package compute the same numbers: only summation-order noise is
# forgiven, relative to each value (`--rtol`), with no absolute slack.
DEFAULT_RTOL = 1e-9
_ATOL = 0.0
# Generous: a package's `train` repeats the notebook's whole training.
_SUBPROCESS_TIMEOUT = 3600

#: The verification's phases, in order, as ``on_phase`` reports them.
CONVERTING = "converting notebook"
EXECUTING = "executing notebook"
TRAINING = "training package"
PREDICTING = "predicting"
COMPARING = "comparing"
PHASES = (CONVERTING, EXECUTING, TRAINING, PREDICTING, COMPARING)

#: The verification's outcome, written into the notebook run's directory.
VERIFY_RECORD = "verify.json"
#: ``run.json``'s ``kind`` for the notebook run of a verification.
VERIFY_KIND = "verify"

#: ``on_phase(name)``: called as each of :data:`PHASES` starts.
PhaseCallback = Callable[[str], None]


class VerifyFailure(VerificationError):
    """The package failed after the notebook ran; ``run_dir`` holds that run and verify.json."""

    def __init__(self, message: str, run_dir: Path) -> None:
        super().__init__(message)
        self.run_dir = run_dir


@dataclass
class VerifyResult:
    """The outcome of one verification.

    Attributes:
        ok: the package reproduces the notebook's predict output.
        rows: rows compared.
        mismatches: rows where at least one value differs (or the row-count difference).
        first_differences: up to five ``{"row", "column", "notebook", "package"}``.
        notebook: the notebook verified.
        parameters: the parameters both sides ran with.
        rtol: the relative tolerance used for floats.
        columns: the compared columns (notebook names).
        predict_input: the predict stage's input variable.
        predict_output: the predict stage's output variable.
        message: a one-line summary (why it failed, when it did).
        durations: seconds taken by ``notebook``, ``train`` and ``predict``.
        run_dir: the notebook run's directory (``run.json``, the executed notebook).
        executed_notebook: the executed notebook's file name in ``run_dir``.
        metrics: the metrics the package's ``train`` recorded in its model manifest.
    """

    ok: bool
    rows: int
    mismatches: int
    first_differences: list[dict[str, Any]] = field(default_factory=list)
    notebook: str = ""
    parameters: dict[str, Any] = field(default_factory=dict)
    rtol: float = DEFAULT_RTOL
    columns: list[str] = field(default_factory=list)
    predict_input: str | None = None
    predict_output: str | None = None
    message: str = ""
    durations: dict[str, float] = field(default_factory=dict)
    run_dir: str = ""
    executed_notebook: str | None = None
    metrics: dict[str, Any] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        """The result as JSON-ready data (the server extension returns it as is)."""
        from .record import json_safe

        data = asdict(self)
        data["parameters"] = json_safe(self.parameters)
        return data


def verify_notebook(
    notebook_path: str | os.PathLike[str],
    parameters: Mapping[str, Any] | None = None,
    *,
    rtol: float = DEFAULT_RTOL,
    kernel: str | None = None,
    on_cell: ProgressCallback | None = None,
    package_dir: str | os.PathLike[str] | None = None,
    python: str | None = None,
    work_dir: str | os.PathLike[str] | None = None,
    runs_dir: str | os.PathLike[str] | None = None,
    on_phase: PhaseCallback | None = None,
) -> VerifyResult:
    """Run the notebook and its generated package on the same inputs; compare predictions.

    Args:
        notebook_path: the tagged notebook.
        parameters: overrides, typed like ``nb2prod run -p``.
        rtol: relative tolerance for floating-point predictions.
        kernel: the notebook's kernel (default as for ``nb2prod run``).
        on_cell: progress of the notebook run, ``(done, total)``.
        package_dir: an already generated package to check instead of converting afresh.
        python: the interpreter to run the package with; when given, the package is
            expected to be installed there (no ``PYTHONPATH`` to its sources).
        work_dir: where to keep the package and the model store (default: a temporary
            directory removed afterwards).
        runs_dir: where the notebook's run directory goes (default: ``runs`` next to the
            notebook, as for ``nb2prod run``).
        on_phase: called with each of :data:`PHASES` as it starts.

    Raises:
        ParameterError: unknown or badly typed parameter (before anything runs).
        ConversionError: the notebook cannot be converted.
        ExecutionError: the notebook fails in a cell.
        VerifyFailure: the package fails to train or predict, or the notebook's predict
            values cannot be captured (``verify.json`` in the run directory says so too).
    """
    path = Path(notebook_path)
    notebook = load_notebook(path)
    typed = type_parameters(notebook, parameters or {})
    phase = on_phase or (lambda _name: None)
    runs = Path(runs_dir) if runs_dir is not None else default_runs_dir(path)
    scratch = Path(work_dir) if work_dir else Path(tempfile.mkdtemp(prefix="nb2prod-verify-"))
    scratch.mkdir(parents=True, exist_ok=True)
    run_dir: Path | None = None
    try:
        phase(CONVERTING)
        if package_dir is None:
            package = _convert(path, scratch / "package")
        else:
            package = Path(package_dir)
        names = _package_predict_names(package) or find_predict_names(notebook)
        if not names.input or not names.output:
            raise VerificationError(
                f"{path}: the predict input and output are unknown; set them with "
                "--predict-input/--predict-output at conversion or in the Pipeline panel"
            )
        phase(EXECUTING)
        record = execute_run(
            path,
            typed,
            runs,
            kernel=kernel,
            on_cell=on_cell,
            seed=SEED,
            capture_input=True,
            predict_names=names,
            input_before_cell=input_capture_cell(notebook),
            extra={"kind": VERIFY_KIND},
        )
        run_dir = Path(record["run_dir"])
        result = VerifyResult(
            ok=False,
            rows=0,
            mismatches=0,
            notebook=str(notebook_path),
            parameters=typed,
            rtol=rtol,
            predict_input=names.input,
            predict_output=names.output,
            durations={"notebook": float(record.get("duration") or 0.0)},
            run_dir=str(run_dir),
            executed_notebook=record.get("executed_notebook"),
        )
        try:
            _compare(result, record, path, names, package, scratch, python, phase)
        except VerificationError as error:
            result.message = str(error)
            write_verify_record(run_dir, result)
            raise VerifyFailure(f"{error} — run record in {run_dir}", run_dir) from None
    finally:
        if work_dir is None:
            shutil.rmtree(scratch, ignore_errors=True)
    write_verify_record(run_dir, result)
    return result


def _compare(
    result: VerifyResult,
    record: Mapping[str, Any],
    path: Path,
    names: PredictNames,
    package: Path,
    scratch: Path,
    python: str | None,
    phase: PhaseCallback,
) -> None:
    """Train and run the package on the notebook's predict input; fill in ``result``."""
    from ..runtime.compare import compare_predictions

    run_dir = Path(record["run_dir"])
    captured = record.get("predict") or {}
    input_file = _captured_file(captured, "input", run_dir, path)
    expected = load_value(_captured_file(captured, "output", run_dir, path))
    if input_file.suffix not in (".parquet", ".npy"):
        raise VerificationError(
            f"{path}: the predict input {names.input} "
            f"({captured['input'].get('type')}) cannot be written as a file the "
            "package's `predict --input` reads; use a DataFrame or a NumPy array"
        )
    runner = PackageRunner(package, python=python, cwd=path.resolve().parent)
    model_dir = scratch / "models"
    phase(TRAINING)
    train_seconds = runner.train(result.parameters, model_dir)
    result.durations["train"] = round(train_seconds, 3)
    result.metrics = trained_metrics(model_dir)
    output_file = scratch / ("package_predictions" + _output_suffix(expected))
    phase(PREDICTING)
    predict_seconds = runner.predict(input_file, output_file, model_dir)
    result.durations["predict"] = round(predict_seconds, 3)
    phase(COMPARING)
    comparison = compare_predictions(
        expected, load_value(output_file), rtol=result.rtol, atol=_ATOL
    )
    result.ok = comparison.ok
    result.rows = comparison.rows
    result.mismatches = comparison.mismatches
    result.first_differences = first_differences(comparison)
    result.columns = list(comparison.columns)
    result.message = describe_mismatch(comparison) or (
        f"the package reproduces the notebook's {names.output} on {comparison.rows} rows"
        if comparison.ok
        else f"{comparison.mismatches} of {comparison.rows} rows differ"
    )


def trained_metrics(model_dir: Path) -> dict[str, Any]:
    """The ``metrics`` of the newest version in a model store (manifest only), or ``{}``."""
    from ..runtime.errors import ModelError
    from ..runtime.store import ModelStore

    store = ModelStore(model_dir)
    try:
        metrics = store.manifest(store.resolve("latest")).get("metrics")
    except ModelError:
        return {}
    return dict(metrics) if isinstance(metrics, dict) else {}


def write_verify_record(run_dir: Path, result: VerifyResult) -> Path:
    """Write ``verify.json`` atomically beside the run's ``run.json``."""
    import json

    path = run_dir / VERIFY_RECORD
    partial = run_dir / (VERIFY_RECORD + ".partial")
    partial.write_text(json.dumps(result.to_json(), indent=2) + "\n", encoding="utf-8")
    os.replace(partial, path)
    return path


class PackageRunner:
    """Runs a generated package's CLI (``python -m <pkg> train|predict``) in a subprocess.

    A subprocess, not an import: the package must work as its users will run it, with its
    own ``sys.path`` and seeding, and nothing from this process's state leaking in.
    """

    def __init__(self, package_dir: Path, *, python: str | None, cwd: Path) -> None:
        self.package_dir = package_dir
        self.module = package_module(package_dir)
        self.python = python or sys.executable
        self.cwd = cwd
        self.env = dict(os.environ)
        if python is None:
            # Not installed: import the package straight from its sources.
            source = str((package_dir / "src").resolve())
            self.env["PYTHONPATH"] = os.pathsep.join(
                part for part in (source, os.environ.get("PYTHONPATH")) if part
            )

    def train(self, parameters: Mapping[str, Any], model_dir: Path) -> float:
        """``train --seed 0 --param k=v ... --model-dir D``; returns the seconds it took."""
        args = ["train", "--seed", str(SEED), "--model-dir", str(model_dir)]
        for name, value in parameters.items():
            args += ["--param", f"{name}={format_param(value)}"]
        return self._call(args)

    def predict(self, input_file: Path, output_file: Path, model_dir: Path) -> float:
        """``predict --input F --output G --model-dir D``; returns the seconds it took."""
        args = ["predict", "--input", str(input_file), "--output", str(output_file)]
        return self._call([*args, "--model-dir", str(model_dir)])

    def _call(self, args: Sequence[str]) -> float:
        import time

        command = [self.python, "-m", self.module, *args]
        started = time.perf_counter()
        try:
            done = subprocess.run(
                command,
                cwd=self.cwd,
                env=self.env,
                capture_output=True,
                text=True,
                timeout=_SUBPROCESS_TIMEOUT,
                check=False,
            )
        except (OSError, subprocess.TimeoutExpired) as exc:
            raise VerificationError(f"`{self.module} {args[0]}` could not run: {exc}") from None
        if done.returncode != 0:
            lines = (done.stderr or done.stdout).strip().splitlines()
            last = lines[-1] if lines else "no output"
            raise VerificationError(
                f"`python -m {self.module} {args[0]}` failed (exit {done.returncode}): {last}"
            )
        return time.perf_counter() - started


def input_capture_cell(notebook: Notebook) -> int | None:
    """The cell before which the notebook's predict input is what ``predict`` is given, when
    the predict code changes its input in place (else None: the input after the run is it).

    That is the first cell of the predict code, unless the predict cells build the input
    there or later (then no cell boundary separates the two, and the input after the run,
    which schema conformance trims of added columns, is the best there is).
    """
    from ..analysis import analyse_notebook

    analysis = analyse_notebook(notebook)
    io = analysis.predict_io
    predict = analysis.plan(PREDICT)
    if io.input is None or predict is None or not predict.mutates(io.input):
        return None
    first = min(predict.cells)
    prepare = analysis.plan(PREPARE)
    if prepare is not None and any(
        io.input in statement.defines and statement.cell >= first
        for statement in prepare.statements
    ):
        return None
    return first


def format_param(value: Any) -> str:
    """A parameter value as ``--param k=v`` text: strings as they are, others as literals."""
    return value if isinstance(value, str) else repr(value)


def package_module(package_dir: Path) -> str:
    """The import name of the generated package under ``<dir>/src``.

    Raises:
        VerificationError: no package with a ``__main__`` there.
    """
    candidates = sorted(p.parent.name for p in (package_dir / "src").glob("*/__main__.py"))
    if len(candidates) != 1:
        raise VerificationError(
            f"{package_dir}: expected one package with __main__.py under src/, "
            f"found {len(candidates)}"
        )
    return candidates[0]


def load_value(path: Path) -> Any:
    """Read a saved prediction value (``.npy``, ``.parquet``, ``.csv``, ``.json``, ``.pkl``)."""
    suffix = path.suffix.lower()
    if suffix == ".npy":
        import numpy as np

        return np.load(path, allow_pickle=False)
    import pandas as pd

    if suffix in (".parquet", ".pq"):
        return pd.read_parquet(path)
    if suffix == ".csv":
        return pd.read_csv(path)
    if suffix == ".json":
        return pd.read_json(path, orient="records")
    if suffix == ".pkl":
        # Written moments ago by this run's own kernel in a directory we created.
        with open(path, "rb") as stream:
            return pickle.load(stream)  # noqa: S301
    raise VerificationError(f"{path}: unknown prediction file format")


def describe_mismatch(comparison: Comparison) -> str:
    """Why the notebook's and the package's predictions cannot be compared row for row.

    Returns:
        A one-line reason (different column or row counts), or ``""`` when they line up.
    """
    notebook_columns, package_columns = comparison.column_counts
    if notebook_columns != package_columns:
        return (
            f"the notebook's predictions have {notebook_columns} column(s), "
            f"the package's {package_columns}"
        )
    notebook_rows, package_rows = comparison.row_counts
    if notebook_rows != package_rows:
        return f"the notebook predicted {notebook_rows} rows, the package {package_rows}"
    return ""


def first_differences(comparison: Comparison) -> list[dict[str, Any]]:
    """The first differing values as ``{"row", "column", "notebook", "package"}``."""
    return [
        {"row": d.row, "column": d.column, "notebook": d.expected, "package": d.actual}
        for d in comparison.first_differences
    ]


def _output_suffix(expected: Any) -> str:
    """Ask the package for the container the notebook produced: arrays as ``.npy``."""
    import numpy as np

    return (
        ".npy" if isinstance(expected, np.ndarray) and not expected.dtype.hasobject else ".parquet"
    )


def _captured_file(captured: Mapping[str, Any], role: str, run_dir: Path, path: Path) -> Path:
    entry = captured.get(role) or {}
    if "file" not in entry:
        problem = entry.get("error", "not captured")
        raise VerificationError(
            f"{path}: the predict {role} {entry.get('name', '?')!r} could not be saved "
            f"after the run ({problem})"
        )
    return run_dir / entry["file"]


def _convert(path: Path, out_dir: Path) -> Path:
    from ..convert import ConvertOptions, convert_notebook

    options = ConvertOptions(
        name=None, predict_input=None, predict_output=None, lift_paths=False, force=False
    )
    return Path(convert_notebook(path, out_dir, options).out_dir)


def _package_predict_names(package_dir: Path) -> PredictNames | None:
    """``PREDICT_INPUT`` / ``PREDICT_OUTPUT`` from the package's ``pipeline.py``: what the
    package itself was generated for."""
    try:
        module = package_module(package_dir)
        tree = ast.parse((package_dir / "src" / module / "pipeline.py").read_text("utf-8"))
    except (VerificationError, OSError, SyntaxError):
        return None
    found: dict[str, str] = {}
    for node in tree.body:
        target: ast.expr | None = node.target if isinstance(node, ast.AnnAssign) else None
        if isinstance(node, ast.Assign) and len(node.targets) == 1:
            target = node.targets[0]
        value = getattr(node, "value", None)
        if isinstance(target, ast.Name) and isinstance(value, ast.Constant):
            if isinstance(value.value, str):
                found[target.id] = value.value
    if "PREDICT_INPUT" not in found or "PREDICT_OUTPUT" not in found:
        return None
    return PredictNames(found["PREDICT_INPUT"], found["PREDICT_OUTPUT"])
