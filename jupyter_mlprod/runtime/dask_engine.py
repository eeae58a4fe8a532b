"""Batch predict on Dask: ``predict --engine dask --input "data/*.parquet" --output out/``.

The input, one file or a glob (files sorted by name), is cut into partitions before any task
runs (input_splits.py): a Parquet file by its row groups, a CSV file by byte ranges of whole
lines, about ``--blocksize`` bytes each (default 128 MiB: of rows in memory for Parquet, of
text for CSV; a file is never shared), or the whole input into ``--partitions N`` partitions
of about equal size. So a big single file is read by many tasks at once, each holding only its
rows, and every piece reads as those rows of the single-process ``predict`` (batch.py) would,
conformed to the recorded schema with the same one-line errors, which also name the rows
(Parquet) or lines (CSV) of a piece that is not a whole file.

The model is loaded once per worker process, from the store by its exact version
(``client.run`` when the job starts, lazily on a worker that joins later), so the graph
carries only the store path, the version and each partition's pieces, never the model.
``dask.dataframe.from_map`` gets its ``meta`` from a prediction on the first rows of the first
file, made here before any task runs, so Dask never calls ``predict()`` on fake data.

Output: a directory holding one file per partition, ``part-00000.<csv|parquet>`` onwards in
input order, each written by batch.py's writer exactly as the single-process ``predict``
writes one file. The parts are written into a hidden ``.<output name>.mlprod-partial-<random>``
directory beside the target and renamed to the target only when every partition succeeded;
the target must not exist or be empty.

Workers must be able to import this package (installed in their environment, or its ``src``
on their ``PYTHONPATH``) and read the input files at the same paths, as must this process: it
reads every file's footer or header to plan, and scans a CSV it cuts once for quotes. A
``LocalCluster`` started here inherits this process's environment. Dask and distributed are
the package's ``dask`` extra and are imported only here.
"""

from __future__ import annotations

import glob
import logging
import os
import shutil
import sys
import tempfile
import threading
import time
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from . import input_splits
from .batch import PARTIAL_MARKER, to_frame, write_frame
from .cli_common import PACKAGE, PROG
from .errors import InputError, MlprodError, PredictionError, SchemaError, first_line
from .input_splits import Piece
from .predicting import call_predict
from .progress import Progress
from .schema import Schema, conform, n_rows

FORMATS = (".csv", ".parquet", ".pq")
"""Input and output formats of the Dask engine (row-wise tables only)."""

META_ROWS = 64
"""Rows of the first file predicted before the job starts, to learn the output's columns."""

INSTALL_HINT = f"pip install '{PROG}[dask]'"

_models: dict[tuple[str, str], Any] = {}
_models_lock = threading.Lock()


@dataclass(frozen=True)
class DaskResult:
    """What a Dask batch prediction wrote.

    Attributes:
        rows: Predictions written, over all partitions.
        partitions: Part files in the output directory.
        output: The output directory.
    """

    rows: int
    partitions: int
    output: Path


@dataclass(frozen=True)
class _Job:
    """Everything a task needs besides its partition: small, so cheap to ship with the graph."""

    store_root: str
    version: str
    schema: Schema
    output_name: str
    columns: tuple[str, ...]
    dtypes: tuple[str, ...]


@dataclass(frozen=True)
class _Partition:
    """One task's input: pieces of consecutive files, in row order."""

    pieces: tuple[Piece, ...]


def import_dask() -> tuple[Any, Any]:
    """Import ``dask.dataframe`` and ``distributed``, or fail with the extra's install command.

    Raises:
        MlprodError: Naming ``pip install '<distribution>[dask]'`` when either is missing.
    """
    try:
        import dask.dataframe as dd
        import distributed
    except ImportError as error:
        raise MlprodError(
            f"predict --engine dask needs {error.name or 'dask'}, which is not installed; "
            f"run: {INSTALL_HINT}"
        ) from None
    return dd, distributed


def parse_blocksize(text: str) -> int:
    """``--blocksize``: ``64MiB``, ``500MB``, ``1GiB`` or a number of bytes (Dask's units).

    Raises:
        InputError: When it is not a size of at least one byte.
    """
    import dask.utils

    try:
        size = int(dask.utils.parse_bytes(text))
    except (ValueError, TypeError):
        size = 0
    if size < 1:
        raise InputError(f"--blocksize {text}: not a size; give bytes such as 64MiB or 500MB")
    return size


def input_files(pattern: str) -> list[Path]:
    """The files a ``--input`` names: one path, or a glob, sorted by name.

    Raises:
        InputError: When nothing matches or a file is not CSV or Parquet.
    """
    names = sorted(glob.glob(pattern)) if glob.has_magic(pattern) else [pattern]
    files = [Path(name) for name in names]
    if not files or not all(path.is_file() for path in files):
        missing = next((path for path in files if not path.is_file()), pattern)
        raise InputError(f"{missing}: no such file")
    suffixes = {path.suffix.lower() for path in files}
    if not suffixes <= set(FORMATS):
        raise InputError(f"{pattern}: --engine dask reads {', '.join(FORMATS)} files only")
    if len({".parquet" if s == ".pq" else s for s in suffixes}) > 1:
        raise InputError(f"{pattern}: mixes CSV and Parquet files; give one format")
    return files


def check_output_dir(target: Path) -> None:
    """Fail before any work when ``target`` cannot become the output directory.

    Raises:
        InputError: If it is a file, a non-empty directory, or its parent does not exist.
    """
    if target.is_dir():
        if any(target.iterdir()):
            raise InputError(
                f"{target}: output directory is not empty; remove it or name a new directory"
            )
    elif target.exists():
        raise InputError(f"{target}: exists and is not a directory; name a new directory")
    parent = target.parent
    if not parent.is_dir():
        raise InputError(f"{parent}: output directory's parent does not exist")


def run(
    *,
    pattern: str,
    output: Path,
    store_root: Path,
    model: Any,
    output_name: str,
    output_format: str | None,
    scheduler: str | None,
    partitions: int | None,
    progress: Progress,
    blocksize: int | None = None,
) -> DaskResult:
    """Predict every row of the input files on a Dask cluster and write the parts.

    Args:
        pattern: ``--input``: one CSV/Parquet file or a glob.
        output: ``--output``: the directory to create.
        store_root: The model store the workers load the version from.
        model: The loaded version (store.LoadedModel); its version is what workers load.
        output_name: Column name of a 1-d prediction (as the single-process predict).
        output_format: ``csv`` or ``parquet``; None writes the input's format.
        scheduler: A scheduler address; None starts a LocalCluster sized to this machine.
        partitions: Cut the whole input into this many partitions; None cuts by blocksize.
        progress: Where partitions done are shown.
        blocksize: Bytes per partition (per file); None means 128 MiB.

    Returns:
        Rows and partitions written, and the directory.

    Raises:
        MlprodError: One line for every deliberate failure; the output directory is then
            not created (the partial one is removed).
    """
    dd, distributed = import_dask()
    files = input_files(pattern)
    check_output_dir(output)
    in_suffix = ".parquet" if files[0].suffix.lower() in (".parquet", ".pq") else ".csv"
    suffix = f".{output_format}" if output_format else in_suffix
    schema = model.schema
    meta, row_bytes = _meta(files[0], model, schema, output_name)
    with progress.stage("split the input into partitions"):
        plan = input_splits.plan(
            files,
            [str(path) for path in files],
            schema,
            blocksize=blocksize,
            partitions=partitions,
            row_bytes=row_bytes,
        )
    if len(plan.partitions) > input_splits.MAX_PARTITIONS:
        raise InputError(
            f"{pattern}: would make {len(plan.partitions)} partitions (at most "
            f"{input_splits.MAX_PARTITIONS}); give a larger --blocksize"
        )
    for note in plan.notes:
        print(f"{PROG}: note: {note}", file=sys.stderr)
    job = _Job(
        store_root=str(store_root.resolve()),
        version=model.version,
        schema=schema,
        output_name=output_name,
        columns=tuple(str(c) for c in meta.columns),
        dtypes=tuple(str(t) for t in meta.dtypes),
    )
    _quiet_dask_logs()
    import dask

    # Partitions reach predict() as the single-process reader returns them: without this,
    # Dask would turn text columns into Arrow strings on the way.
    with dask.config.set({"dataframe.convert-string": False}), warnings.catch_warnings():
        # Dask's advice ("Port … is already in use", large graph sizes) is not the user's.
        warnings.simplefilter("ignore", UserWarning)
        tasks = [_Partition(pieces) for pieces in plan.partitions]
        return _run_on_cluster(
            dd, distributed, tasks, job, meta, output, suffix, scheduler, progress
        )


def _run_on_cluster(
    dd: Any,
    distributed: Any,
    tasks: list[_Partition],
    job: _Job,
    meta: pd.DataFrame,
    output: Path,
    suffix: str,
    scheduler: str | None,
    progress: Progress,
) -> DaskResult:
    with progress.stage("start Dask" if scheduler is None else f"connect to {scheduler}"):
        client, cluster = _client(distributed, scheduler)
    try:
        with progress.stage("load the model on every worker"):
            _load_on_workers(client, job)
        predictions = dd.from_map(_predict_partition, tasks, args=(job,), meta=meta)
        return _write_parts(client, distributed, predictions, output, suffix, progress)
    finally:
        client.close()
        if cluster is not None:
            cluster.close()


def _meta(first: Path, model: Any, schema: Schema, output_name: str) -> tuple[pd.DataFrame, float]:
    """An empty output frame (the prediction of the first rows of the first file), and the
    memory a row of that file takes once read (to weigh Parquet row groups)."""
    head = input_splits.read_head(first, schema, META_ROWS)
    try:
        sample = conform(head, schema)
    except SchemaError as error:
        raise InputError(f"{first}: {error}") from None
    if not len(sample):
        raise InputError(f"{first}: has no rows; the first file must hold at least one")
    from . import predict as predict_module

    predicted = call_predict(predict_module.predict, model.artifacts, sample)
    row_bytes = float(head.memory_usage(deep=True).sum()) / len(head)
    return to_frame(predicted, output_name, len(sample)).iloc[:0], row_bytes


def _client(distributed: Any, scheduler: str | None) -> tuple[Any, Any]:
    if scheduler is not None:
        try:
            return distributed.Client(scheduler, timeout="10s"), None
        except (OSError, TimeoutError, ValueError) as error:
            raise InputError(
                f"{scheduler}: cannot connect to the Dask scheduler ({first_line(error)}); "
                "check the address (tcp://host:8786)"
            ) from None
    workers = _cpu_count()
    cluster = distributed.LocalCluster(
        n_workers=workers,
        threads_per_worker=1,
        processes=True,
        # The scheduler's HTTP routes start even without a dashboard, on :8787 unless told
        # otherwise; any free port keeps two runs (or a notebook's cluster) from clashing.
        dashboard_address=":0",
        # A failing task is reported once, as the command's error line, not by each worker.
        silence_logs=logging.CRITICAL,
    )
    return distributed.Client(cluster), cluster


def _cpu_count() -> int:
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:
        return max(1, os.cpu_count() or 1)


def _quiet_dask_logs() -> None:
    # Dask's lines (worker start, "Event loop was unresponsive", a task's traceback) would
    # bury the command's one line of output; the error that stops the job is that line.
    for name in ("distributed", "dask"):
        logging.getLogger(name).setLevel(logging.CRITICAL)


def _load_on_workers(client: Any, job: _Job) -> None:
    try:
        client.run(_worker_model, job.store_root, job.version)
    except MlprodError as error:
        raise MlprodError(f"a Dask worker cannot load {job.version}: {error}") from None
    except Exception as error:  # noqa: BLE001 - whatever the worker raised, one line
        if isinstance(error, ImportError):
            raise MlprodError(
                f"Dask workers cannot import {PACKAGE} ({first_line(error)}); install the "
                "package on every worker, or put its src directory on their PYTHONPATH"
            ) from None
        raise MlprodError(
            f"a Dask worker cannot load {job.version}: {type(error).__name__}: {first_line(error)}"
        ) from None


def _worker_model(store_root: str, version: str) -> Any:
    """The version, loaded once per process (a worker's tasks share it)."""
    key = (store_root, version)
    with _models_lock:
        if key not in _models:
            from .store import ModelStore

            _models[key] = ModelStore(Path(store_root)).load(version)
        return _models[key]


def _predict_partition(task: _Partition, job: _Job) -> pd.DataFrame:
    """Read, conform and predict one partition on a worker; errors name the piece."""
    conformed = []
    for piece in task.pieces:
        raw = input_splits.read_piece(piece, job.schema)
        try:
            conformed.append(conform(raw, job.schema))
        except SchemaError as error:
            # Re-raised as a plain InputError: it must travel back from the worker by pickle.
            raise InputError(f"{input_splits.describe(piece)}: {error}") from None
    data = _joined(conformed)
    empty = pd.DataFrame(
        {c: pd.Series(dtype=t) for c, t in zip(job.columns, job.dtypes, strict=True)}
    )
    rows = n_rows(data)
    if not rows:
        return empty
    from . import predict as predict_module

    model = _worker_model(job.store_root, job.version)
    try:
        predicted = call_predict(predict_module.predict, model.artifacts, data)
        result = to_frame(predicted, job.output_name, rows)
    except PredictionError as error:
        raise PredictionError(f"{_where(task)}: {error}") from None
    if tuple(str(c) for c in result.columns) != job.columns:
        raise PredictionError(
            f"{_where(task)}: predict() returned columns {list(result.columns)}, "
            f"but the first rows gave {list(job.columns)}"
        )
    return result


def _where(task: _Partition) -> str:
    # Only for a message: a CSV piece's line numbers cost a pass over the file before it.
    return " + ".join(input_splits.describe(piece) for piece in task.pieces)


def _joined(parts: list[Any]) -> Any:
    """The conformed pieces of one partition as one input, in row order."""
    if len(parts) == 1:
        return parts[0]
    first = parts[0]
    if isinstance(first, pd.DataFrame | pd.Series):
        return pd.concat(parts)
    if isinstance(first, np.ndarray):
        return np.concatenate(parts)
    return [item for part in parts for item in part]


def _write_part(frame: pd.DataFrame, path: str, suffix: str) -> int:
    write_frame(frame, path, suffix)
    return len(frame)


def _write_parts(
    client: Any, distributed: Any, predictions: Any, output: Path, suffix: str, progress: Progress
) -> DaskResult:
    import dask

    # Absolute, like the inputs: workers write the parts themselves, so with a remote cluster
    # the output directory must be on a file system they share with this machine.
    staging = Path(
        tempfile.mkdtemp(prefix=f".{output.name}{PARTIAL_MARKER}", dir=output.resolve().parent)
    )
    try:
        parts = predictions.to_delayed()
        tasks = [
            dask.delayed(_write_part)(part, str(staging / f"part-{i:05d}{suffix}"), suffix)
            for i, part in enumerate(parts)
        ]
        futures = client.compute(tasks)
        rows = 0
        progress.count("predict", 0, len(futures), "partitions")
        for done, future in enumerate(distributed.as_completed(futures), start=1):
            try:
                rows += int(future.result())
            except Exception:
                client.cancel(futures)
                raise
            progress.count("predict", done, len(futures), "partitions")
        os.chmod(staging, 0o777 & ~_umask())
        if output.is_dir():
            output.rmdir()
        os.replace(staging, output)
    except MlprodError:
        raise
    except OSError as error:
        raise InputError(
            f"{output}: cannot write the output ({error.strerror or first_line(error)})"
        ) from None
    except Exception as error:  # noqa: BLE001 - Dask and the readers raise their own types
        raise PredictionError(
            f"predict --engine dask failed: {type(error).__name__}: {first_line(error)}"
        ) from None
    finally:
        remove_staging(staging)
    return DaskResult(rows=rows, partitions=len(tasks), output=output)


STAGING_REMOVAL_SECONDS = 30.0


def remove_staging(staging: Path, within: float = STAGING_REMOVAL_SECONDS) -> None:
    """Remove the partial output directory (a no-op once it has become the output).

    After a failure, cancelling the other partitions' futures does not stop a write already
    running on a worker, and a part file it opens between rmtree's listing and its rmdir
    leaves the directory behind (seen: one run in four of a failing five-partition CSV).
    So the removal is repeated until the directory is gone; a write that starts after that
    fails on its own, because nothing creates the directory again.
    """
    deadline = time.monotonic() + within
    while True:
        shutil.rmtree(staging, ignore_errors=True)
        if not os.path.lexists(staging) or time.monotonic() > deadline:
            return
        time.sleep(0.05)


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask
