"""Headless runs: execute a notebook with papermill and leave a run record.

:func:`run_notebook` is the orchestrator (the API the CLI and the server extension call):
read and check the notebook → type the parameters → add the bookkeeping cells → execute with
papermill in a fresh kernel → tidy the executed notebook → write ``run.json`` → raise on a
failed cell. Parameters are typed by the parameters cell (``coerce_value``), never guessed,
and rejected before any kernel starts.
"""

from __future__ import annotations

import ast
import contextlib
import json
import logging
import os
import sys
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import nbformat

from .. import __version__
from ..errors import ExecutionError, MlprodError, ParameterError
from ..notebook import Notebook, load_notebook
from ..roles import LOAD, MLPROD_KEY, PARAMETERS, PREDICT, ROLE_TAGS
from ..runtime.provenance import git_state, sha256_file, utc_now
from . import kernel_cells, record

if TYPE_CHECKING:
    from ..params_cell import ParamSpec

ProgressCallback = Callable[[int, int], None]

# Cells that are not the user's: papermill's injected parameters and error banners, ours.
_PAPERMILL_INJECTED = "injected-parameters"
_PAPERMILL_ERROR_MARKER = "papermill-error-cell-tag"
_ENGINE_NAME = "mlprod"
_MISSING_PAPERMILL = "headless runs need papermill and ipykernel: pip install 'jupyter-mlprod[run]'"


@dataclass(frozen=True)
class PredictNames:
    """The predict stage's input and output variable names, when known."""

    input: str | None
    output: str | None  # a variable, or a column of one: `df["pred"]`


def run_notebook(
    notebook_path: str | os.PathLike[str],
    parameters: Mapping[str, Any],
    runs_dir: str | os.PathLike[str] | None = None,
    *,
    kernel: str | None = None,
    timeout: float | None = None,
    log_output: bool = False,
    on_cell: ProgressCallback | None = None,
) -> dict[str, Any]:
    """Execute a notebook headless with papermill and record the run.

    Args:
        notebook_path: the ``.ipynb`` to run; it executes in its own directory.
        parameters: overrides by name; strings are converted like ``-p`` values, other
            values are checked against the parameter's type.
        runs_dir: where ``<run id>/`` is created (default: ``runs`` next to the notebook).
        kernel: kernel name; default the notebook's kernelspec, else ``python3``.
        timeout: seconds each cell may take (default: no limit).
        log_output: stream cell output to the log while running.
        on_cell: called with ``(done, total)`` user cells as execution progresses.

    Returns:
        The run record (what ``run.json`` holds).

    Raises:
        NotebookError: the notebook cannot be read.
        ParameterError: an unknown parameter or a value that does not fit its type.
        ExecutionError: a cell failed (the record is written first).
    """
    return execute_run(
        notebook_path,
        parameters,
        runs_dir,
        kernel=kernel,
        timeout=timeout,
        log_output=log_output,
        on_cell=on_cell,
    )


def execute_run(
    notebook_path: str | os.PathLike[str],
    parameters: Mapping[str, Any],
    runs_dir: str | os.PathLike[str] | None = None,
    *,
    kernel: str | None = None,
    timeout: float | None = None,
    log_output: bool = False,
    on_cell: ProgressCallback | None = None,
    progress_bar: bool = False,
    seed: int | None = None,
    capture_input: bool = False,
    predict_names: PredictNames | None = None,
    extra: Mapping[str, Any] | None = None,
    input_before_cell: int | None = None,
) -> dict[str, Any]:
    """:func:`run_notebook` with the knobs the CLI, ``rerun`` and ``verify`` need.

    Args:
        progress_bar: show papermill's per-cell progress bar (on a terminal).
        seed: seed ``random``/NumPy/torch in a first hidden cell with the package's own
            ``runtime/seeding.py``, as its ``train --seed`` does.
        capture_input: also save the predict stage's input value (for ``verify``).
        predict_names: the predict input/output names; found from the notebook when None.
        extra: more fields for the run record (``rerun_of``).
        input_before_cell: with ``capture_input``, save the input as it is just before this
            cell runs (the predict code changes it in place), not after the last cell.
    """
    papermill = _import_papermill()
    path = Path(notebook_path)
    notebook = load_notebook(path)
    injected = resolve_parameters(notebook, parameters)
    names = predict_names or find_predict_names(notebook)
    kernel_name = choose_kernel(notebook, kernel)
    nb_dir = path.resolve().parent

    runs_dir = Path(runs_dir) if runs_dir is not None else record.default_runs_dir(path)
    run_id = record.new_run_id()
    run_dir = (runs_dir / run_id).resolve()
    try:
        run_dir.mkdir(parents=True)
    except OSError as exc:
        raise MlprodError(
            f"{runs_dir}: cannot create a run directory there ({exc.strerror}); pass another -o"
        ) from None
    executed_path = run_dir / path.name
    wanted = {"output": names.output} if names.output else {}
    if capture_input and names.input:
        wanted["input"] = names.input
    snapshot_at = input_before_cell if "input" in wanted else None
    prepared_path = _prepare_notebook(path, run_dir, seed, wanted, snapshot_at)

    # The tree as the run found it; the runs directory is this run's own output.
    git = git_state(nb_dir, exclude=[runs_dir])
    started, clock = utc_now(), time.perf_counter()
    interrupted = False
    try:
        failure = _execute(
            papermill,
            prepared_path,
            executed_path,
            injected,
            kernel_name=kernel_name,
            cwd=nb_dir,
            timeout=timeout,
            log_output=log_output,
            progress_bar=progress_bar,
            on_cell=on_cell,
        )
    except KeyboardInterrupt:
        # Still leave a record saying so, then let the interrupt through.
        interrupted = True
        failure = {"ename": "KeyboardInterrupt", "evalue": "interrupted"}
    duration = time.perf_counter() - clock
    prepared_path.unlink(missing_ok=True)

    cells, error_cell = _tidy_executed_notebook(executed_path, notebook)
    kernel_info = _pop_json(run_dir / kernel_cells.KERNEL_INFO_NAME)
    values = _pop_json(run_dir / kernel_cells.VALUES_NAME)
    error: dict[str, Any] | None = None
    if failure is not None:
        error = {
            "cell_index": error_cell["index"] if error_cell else None,
            "cell_id": error_cell.get("id") if error_cell else None,
            "role": error_cell.get("role") if error_cell else None,
            **failure,
        }
    status = "interrupted" if interrupted else "failed" if failure else "succeeded"
    run_record: dict[str, Any] = {
        "schema": record.RECORD_SCHEMA,
        "schema_version": record.RECORD_SCHEMA_VERSION,
        "run_id": run_id,
        "status": status,
        "notebook": {
            "path": str(notebook_path),
            "absolute_path": str(path.resolve()),
            "sha256": sha256_file(path),
        },
        "executed_notebook": executed_path.name if executed_path.exists() else None,
        "parameters": record.json_safe(injected),
        "input_files": record.find_input_files(
            [cell.source for cell in notebook.code_cells if LOAD in cell.tags],
            injected_and_defaults(notebook, injected),
            nb_dir,
        ),
        "start": started,
        "end": utc_now(),
        "duration": round(duration, 3),
        "cells": cells,
        "error": error,
        "kernel": {"name": kernel_name, **kernel_info},
        "packages": record.package_versions(kernel_info.get("executable")),
        "git": git,
        "seed": seed,
        "predict": values or None,
        "stdout": record.STDOUT_NAME,
        "stderr": record.STDERR_NAME,
        "tool": {"name": "jupyter-mlprod", "version": __version__},
        **(extra or {}),
    }
    record.write_record(run_dir, run_record)
    run_record["run_dir"] = str(run_dir)
    if interrupted:
        raise KeyboardInterrupt
    if error is not None:
        raise _run_error(error, notebook_path, kernel_name, run_dir, executed_path)
    return run_record


def _prepare_notebook(
    path: Path,
    run_dir: Path,
    seed: int | None,
    wanted: Mapping[str, str],
    snapshot_at: int | None = None,
) -> Path:
    """Write the notebook to run: ours first and last cells around the user's (and, when
    ``snapshot_at`` is given, one before that cell keeping a copy of the predict input).

    Our cells are Python; a notebook in another language (an R or Julia kernel) runs as
    it is, without kernel facts, seeding or a predict output hash.
    """
    node = nbformat.read(path, as_version=4)
    if _language(node) == "python":
        if snapshot_at is not None and 0 <= snapshot_at < len(node.cells):
            node.cells.insert(snapshot_at, kernel_cells.snapshot_cell(wanted["input"]))
        node.cells.insert(0, kernel_cells.prelude_cell(str(run_dir), seed))
        if wanted:
            node.cells.append(kernel_cells.dump_cell(str(run_dir), wanted))
    prepared = run_dir / (".input-" + path.name)
    nbformat.write(node, prepared)
    return prepared


def _execute(
    papermill: Any,
    prepared_path: Path,
    executed_path: Path,
    parameters: Mapping[str, Any],
    *,
    kernel_name: str,
    cwd: Path,
    timeout: float | None,
    log_output: bool,
    progress_bar: bool,
    on_cell: ProgressCallback | None,
) -> dict[str, Any] | None:
    """Run papermill; return ``{"ename", "evalue"}`` of a failure, or None."""
    run_dir = executed_path.parent
    with (
        open(run_dir / record.STDOUT_NAME, "w", encoding="utf-8") as stdout_file,
        open(run_dir / record.STDERR_NAME, "w", encoding="utf-8") as stderr_file,
        _papermill_logging(log_output),
    ):
        try:
            papermill.execute_notebook(
                str(prepared_path),
                str(executed_path),
                parameters=dict(parameters),
                engine_name=_ENGINE_NAME,
                kernel_name=kernel_name,
                progress_bar=progress_bar,
                log_output=log_output,
                stdout_file=stdout_file,
                stderr_file=stderr_file,
                cwd=str(cwd),
                execution_timeout=timeout,
                on_cell=on_cell,
            )
        except papermill.PapermillExecutionError as exc:
            return {"ename": exc.ename, "evalue": exc.evalue}
        except Exception as exc:  # noqa: BLE001 - timeouts, dead or missing kernels
            # nbclient raises these past papermill's cell loop; the saved notebook still
            # tells which cell was running.
            return {"ename": type(exc).__name__, "evalue": str(exc)}
    return None


def _language(node: Any) -> str:
    metadata = node.get("metadata", {})
    for key in ("kernelspec", "language_info"):
        section = metadata.get(key)
        if isinstance(section, Mapping):
            name = section.get("language" if key == "kernelspec" else "name")
            if isinstance(name, str) and name:
                return name.lower()
    return "python"


def _run_error(
    error: Mapping[str, Any],
    notebook_path: str | os.PathLike[str],
    kernel_name: str,
    run_dir: Path,
    executed_path: Path,
) -> MlprodError:
    if error["cell_index"] is None:
        # No user cell ran: the kernel did not start (unknown name, broken environment).
        return MlprodError(
            f"{notebook_path}: could not run kernel {kernel_name!r} "
            f"({error['ename']}: {_first_line(error['evalue'])}); see `jupyter kernelspec "
            f"list` or pass --kernel — run record in {run_dir}"
        )
    return ExecutionError(
        error["cell_index"],
        error["role"],
        error["ename"],
        _first_line(error["evalue"]),
        str(executed_path),
    )


def resolve_parameters(notebook: Notebook, values: Mapping[str, Any]) -> dict[str, Any]:
    """Type the given values by the notebook's parameters cell.

    Raises:
        ParameterError: unknown name, impossible value, or no parameters cell at all.
    """
    if not values:
        return {}
    from ..params_cell import check_value, coerce_value, find_spec

    specs = notebook_parameters(notebook)
    if specs is None:
        names = ", ".join(values)
        raise ParameterError(
            f"{notebook.path}: cannot set {names}: the notebook has no cell tagged "
            f"`{PARAMETERS}`; tag the cell that assigns the parameters"
        )
    typed: dict[str, Any] = {}
    for name, value in values.items():
        spec = find_spec(specs, name)
        # Strings are command-line text (`-p`, a form field); anything else is already typed.
        if isinstance(value, str):
            typed[name] = coerce_value(spec, value)
        else:
            typed[name] = check_value(spec, value)
    return typed


def notebook_parameters(notebook: Notebook) -> tuple[ParamSpec, ...] | None:
    """The specs of the first cell tagged ``parameters``, or None when there is none."""
    # Imported here: libcst costs a noticeable share of a short run's start-up, and a run
    # without overrides never needs it.
    from ..params_cell import parse_parameters_cell

    for cell in notebook.code_cells:
        if PARAMETERS in cell.tags:
            return parse_parameters_cell(cell.source, path=notebook.path, cell_index=cell.index)
    return None


def injected_and_defaults(notebook: Notebook, injected: Mapping[str, Any]) -> list[Any]:
    """Every parameter's effective value: the injected one, else the literal default.

    Defaults are read with ``ast`` (enough for literal assignments, and cheap); a cell
    that does not parse simply contributes no defaults.
    """
    values: dict[str, Any] = {}
    for cell in notebook.code_cells:
        if PARAMETERS not in cell.tags:
            continue
        try:
            tree = ast.parse(cell.source)
        except SyntaxError:
            break
        for node in tree.body:
            target: ast.expr | None = node.target if isinstance(node, ast.AnnAssign) else None
            if isinstance(node, ast.Assign) and len(node.targets) == 1:
                target = node.targets[0]
            value = getattr(node, "value", None)
            if isinstance(target, ast.Name) and value is not None:
                with contextlib.suppress(ValueError, TypeError, SyntaxError):
                    values[target.id] = ast.literal_eval(value)
        break
    values.update(injected)
    return list(values.values())


def find_predict_names(notebook: Notebook) -> PredictNames:
    """The predict input/output names: ``metadata.mlprod`` first, else the analyser's answer.

    A run does not need them (they only let it hash the predict output), so an analysis
    that fails or is not available yields None rather than stopping the run.
    """
    meta = notebook.metadata.get(MLPROD_KEY)
    meta = meta if isinstance(meta, Mapping) else {}
    given_input, given_output = meta.get("predict_input"), meta.get("predict_output")
    if isinstance(given_input, str) and isinstance(given_output, str):
        return PredictNames(given_input, given_output)
    if not any(PREDICT in cell.tags for cell in notebook.code_cells):
        return PredictNames(None, None)
    inferred = _analysed_predict_names(notebook)
    return PredictNames(
        given_input if isinstance(given_input, str) else inferred.input,
        given_output if isinstance(given_output, str) else inferred.output,
    )


def _analysed_predict_names(notebook: Notebook) -> PredictNames:
    # Imported here: the analyser (libcst) is only needed when the notebook does not name them.
    from ..analysis import analyse_notebook

    try:
        chosen = analyse_notebook(notebook).predict_io
    except MlprodError:
        return PredictNames(None, None)
    return PredictNames(chosen.input, chosen.output_expression)


def choose_kernel(notebook: Notebook, requested: str | None) -> str:
    """The kernel to run: as asked, else the notebook's kernelspec if installed, else python3.

    A kernelspec from the author's machine (``conda-env-foo``) is common in shared notebooks;
    falling back to ``python3`` with a warning beats refusing to run.
    """
    if requested:
        return requested
    spec = notebook.metadata.get("kernelspec")
    name = spec.get("name") if isinstance(spec, Mapping) else None
    if isinstance(name, str) and name:
        if name == "python3" or name in _installed_kernels():
            return name
        print(
            f"warning: {notebook.path}: kernel {name!r} is not installed here; using python3",
            file=sys.stderr,
        )
    return "python3"


def _installed_kernels() -> set[str]:
    from jupyter_client.kernelspec import KernelSpecManager

    return set(KernelSpecManager().find_kernel_specs())


def _tidy_executed_notebook(
    executed_path: Path, notebook: Notebook
) -> tuple[list[dict[str, Any]], dict[str, Any] | None]:
    """Drop our hidden cells from the saved notebook; return per-cell timings and the
    failing cell, both with the original notebook's cell indices."""
    if not executed_path.exists():
        return [], None
    node = nbformat.read(executed_path, as_version=4)
    node.cells = [cell for cell in node.cells if kernel_cells.HIDDEN_TAG not in _tags(cell)]
    papermill_meta = node.metadata.get("papermill", {})
    papermill_meta["input_path"] = notebook.path
    nbformat.write(node, executed_path)

    cells: list[dict[str, Any]] = []
    error_cell: dict[str, Any] | None = None
    original_index = -1
    parameters_index: int | None = None
    for cell in node.cells:
        tags = _tags(cell)
        if _PAPERMILL_ERROR_MARKER in tags:
            continue
        injected = _PAPERMILL_INJECTED in tags
        if not injected:
            original_index += 1
            if PARAMETERS in tags:
                parameters_index = original_index
        index = parameters_index if injected else original_index
        if cell.cell_type != "code" or index is None:
            continue
        meta = cell.metadata.get("papermill", {})
        roles = [tag for tag in tags if tag in ROLE_TAGS]
        role = PARAMETERS if injected else (roles[0] if roles else None)
        entry = {
            "index": index,
            "role": role,
            "injected": injected,
            "status": meta.get("status"),
            "duration": meta.get("duration"),
        }
        cells.append(entry)
        if error_cell is None and (meta.get("exception") or _has_error_output(cell)):
            error_cell = {"index": index, "role": role, "id": _cell_id(notebook, index)}
    return cells, error_cell


def _has_error_output(cell: Any) -> bool:
    for output in cell.get("outputs", []):
        if output.get("output_type") == "error":
            # papermill treats `sys.exit()` / `sys.exit(0)` as a clean stop.
            return not (output.get("ename") == "SystemExit" and output.get("evalue") in ("", "0"))
    return False


def _cell_id(notebook: Notebook, index: int) -> str | None:
    return notebook.cells[index].cell_id if 0 <= index < len(notebook.cells) else None


def _tags(cell: Any) -> list[str]:
    tags = cell.get("metadata", {}).get("tags", [])
    return tags if isinstance(tags, list) else []


def _pop_json(path: Path) -> dict[str, Any]:
    """Read and delete a JSON file the bookkeeping cells left (``{}`` if they did not)."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError):
        return {}
    path.unlink(missing_ok=True)
    return data if isinstance(data, dict) else {}


def _first_line(text: str) -> str:
    """An error value on one line: the message must stay a single line."""
    flat = " ".join(line.strip() for line in str(text).splitlines() if line.strip())
    return flat if len(flat) <= 300 else flat[:297] + "..."


@contextlib.contextmanager
def _papermill_logging(log_output: bool) -> Iterator[None]:
    """Stream papermill's INFO log (cell output with ``log_output``) to stdout meanwhile."""
    if not log_output:
        yield
        return
    logger = logging.getLogger("papermill")
    handler = logging.StreamHandler(sys.stdout)
    handler.setFormatter(logging.Formatter("%(message)s"))
    previous = logger.level
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    try:
        yield
    finally:
        logger.removeHandler(handler)
        logger.setLevel(previous)


def _import_papermill() -> Any:
    try:
        import papermill
        from papermill.engines import NBClientEngine, papermill_engines
    except ImportError:
        raise MlprodError(_MISSING_PAPERMILL) from None
    if _ENGINE_NAME not in papermill_engines._engines:
        papermill_engines.register(_ENGINE_NAME, _progress_engine(NBClientEngine))
    return papermill


def _progress_engine(base: Any) -> Any:
    """papermill's nbclient engine, plus an ``on_cell(done, total)`` callback.

    The callback rides along as an engine keyword argument, so concurrent runs (server
    jobs in threads) each keep their own.
    """

    class ProgressEngine(base):  # type: ignore[misc, valid-type]
        @classmethod
        def execute_managed_notebook(
            cls, nb_man: Any, kernel_name: str, on_cell: ProgressCallback | None = None, **kwargs
        ) -> Any:
            if on_cell is not None:
                user_cells = {
                    index
                    for index, cell in enumerate(nb_man.nb.cells)
                    if kernel_cells.HIDDEN_TAG not in _tags(cell)
                    and _PAPERMILL_INJECTED not in _tags(cell)
                }
                total, done = len(user_cells), 0
                complete = nb_man.cell_complete
                on_cell(0, total)

                def cell_complete(cell: Any, cell_index: int | None = None, **more: Any) -> None:
                    nonlocal done
                    complete(cell, cell_index=cell_index, **more)
                    if cell_index in user_cells:
                        done += 1
                        on_cell(done, total)

                nb_man.cell_complete = cell_complete
            return super().execute_managed_notebook(nb_man, kernel_name, **kwargs)

    return ProgressEngine
