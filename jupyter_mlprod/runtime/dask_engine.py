"""Batch predict on Dask: ``predict --engine dask --input "data/*.parquet" --output out/``.

Each input file is one partition (``--partitions N`` repartitions them), read with the very
reader of the single-process ``predict`` (batch.py) and conformed to the recorded schema with
the same one-line errors. The model is loaded once per worker process, from the store by its
exact version (``client.run`` when the job starts, lazily on a worker that joins later), so
the graph carries only the store path and the version, never the model. ``map_partitions``
gets its ``meta`` from a prediction on the first rows of the first file, made here before any
task runs, so Dask never calls ``predict()`` on fake data.

Output: a directory holding one file per partition, ``part-00000.<csv|parquet>`` onwards in
input order (files sorted by name), each written by batch.py's writer exactly as the
single-process ``predict`` writes one file. The parts are written into a hidden
``.<output name>.mlprod-partial-<random>`` directory beside the target and renamed to the
target only when every partition succeeded; the target must not exist or be empty.

Workers must be able to import this package (installed in their environment, or its ``src``
on their ``PYTHONPATH``); a ``LocalCluster`` started here inherits this process's
environment. Dask and distributed are the package's ``dask`` extra and are imported only here.
"""

from __future__ import annotations

import glob
import logging
import os
import shutil
import tempfile
import threading
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from .batch import PARTIAL_MARKER, read_input, to_frame, write_frame
from .cli_common import PACKAGE, PROG
from .errors import InputError, MlprodError, PredictionError, SchemaError
from .predicting import call_predict
from .progress import Progress
from .schema import Schema, conform

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
    labels: tuple[str, ...]
    # Absolute: a worker of a cluster started elsewhere has its own working directory.
    paths: tuple[str, ...]
    columns: tuple[str, ...]
    dtypes: tuple[str, ...]


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
        partitions: Repartition to this many partitions; None keeps one per file.
        progress: Where partitions done are shown.

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
    input_meta, meta = _meta(files[0], model, schema, output_name)
    job = _Job(
        store_root=str(store_root.resolve()),
        version=model.version,
        schema=schema,
        output_name=output_name,
        labels=tuple(str(path) for path in files),
        paths=tuple(str(path.resolve()) for path in files),
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
        return _run_on_cluster(
            dd,
            distributed,
            files,
            job,
            input_meta,
            meta,
            output,
            suffix,
            scheduler,
            partitions,
            progress,
        )


def _run_on_cluster(
    dd: Any,
    distributed: Any,
    files: list[Path],
    job: _Job,
    input_meta: pd.DataFrame,
    meta: pd.DataFrame,
    output: Path,
    suffix: str,
    scheduler: str | None,
    partitions: int | None,
    progress: Progress,
) -> DaskResult:
    with progress.stage("start Dask" if scheduler is None else f"connect to {scheduler}"):
        client, cluster = _client(distributed, scheduler)
    try:
        with progress.stage("load the model on every worker"):
            _load_on_workers(client, job)
        frames = dd.from_map(_read_partition, list(range(len(files))), args=(job,), meta=input_meta)
        labelled = partitions is None or partitions == len(files)
        if not labelled:
            frames = frames.repartition(npartitions=partitions)
        predictions = frames.map_partitions(
            _predict_partition, job, labelled, partition_info=True, meta=meta
        )
        return _write_parts(client, distributed, predictions, output, suffix, progress)
    finally:
        client.close()
        if cluster is not None:
            cluster.close()


def _meta(
    first: Path, model: Any, schema: Schema, output_name: str
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Empty input and output frames: the first rows of the first file, and their prediction."""
    if first.suffix.lower() == ".csv":
        head = _csv_head(first, schema)
    else:
        head = _parquet_head(first)
    try:
        sample = conform(head, schema)
    except SchemaError as error:
        raise InputError(f"{first}: {error}") from None
    if not len(sample):
        raise InputError(f"{first}: has no rows; the first file must hold at least one")
    from . import predict as predict_module

    predicted = call_predict(predict_module.predict, model.artifacts, sample)
    return head.iloc[:0], to_frame(predicted, output_name, len(sample)).iloc[:0]


def _csv_head(path: Path, schema: Schema) -> pd.DataFrame:
    try:
        if schema.get("kind") != "ndarray":
            return pd.read_csv(path, nrows=META_ROWS)
        # As batch.py reads array CSV: with or without a header row.
        head = pd.read_csv(path, header=None, nrows=META_ROWS + 1)
        if len(head) and pd.to_numeric(head.iloc[0], errors="coerce").isna().all():
            head = head.iloc[1:].apply(pd.to_numeric).reset_index(drop=True)
        head.columns = range(head.shape[1])
        return head
    except (OSError, ValueError) as error:
        raise InputError(f"{path}: cannot read csv input ({_first_line(error)})") from None


def _parquet_head(path: Path) -> pd.DataFrame:
    import pyarrow.parquet as pq

    try:
        batches = pq.ParquetFile(path).iter_batches(batch_size=META_ROWS)
        batch = next(batches, None)
    except (OSError, ValueError) as error:
        raise InputError(f"{path}: cannot read parquet input ({_first_line(error)})") from None
    if batch is None:
        return pd.read_parquet(path)
    frame: pd.DataFrame = batch.to_pandas()
    return frame


def _client(distributed: Any, scheduler: str | None) -> tuple[Any, Any]:
    if scheduler is not None:
        try:
            return distributed.Client(scheduler, timeout="10s"), None
        except (OSError, TimeoutError, ValueError) as error:
            raise InputError(
                f"{scheduler}: cannot connect to the Dask scheduler ({_first_line(error)}); "
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
                f"Dask workers cannot import {PACKAGE} ({_first_line(error)}); install the "
                "package on every worker, or put its src directory on their PYTHONPATH"
            ) from None
        raise MlprodError(
            f"a Dask worker cannot load {job.version}: {type(error).__name__}: {_first_line(error)}"
        ) from None


def _worker_model(store_root: str, version: str) -> Any:
    """The version, loaded once per process (a worker's tasks share it)."""
    key = (store_root, version)
    with _models_lock:
        if key not in _models:
            from .store import ModelStore

            _models[key] = ModelStore(Path(store_root)).load(version)
        return _models[key]


def _read_partition(index: int, job: _Job) -> Any:
    # The single-process reader, so a partition reads exactly as that file would alone.
    label = job.labels[index]
    try:
        data = read_input(job.paths[index], job.schema)
    except InputError as error:
        # Named as the user wrote it, as the single-process predict names its file.
        raise InputError(str(error).replace(job.paths[index], label, 1)) from None
    if isinstance(data, pd.DataFrame):
        return data
    if getattr(data, "ndim", 0) != 2:
        raise InputError(f"{label}: --engine dask takes rows of a table")
    # An array model's CSV rows: a frame for Dask, turned back into the array by conform().
    return pd.DataFrame(data)


def _predict_partition(
    frame: pd.DataFrame, job: _Job, labelled: bool, partition_info: dict[str, Any] | None = None
) -> pd.DataFrame:
    number = int((partition_info or {}).get("number", 0))
    label = job.labels[number] if labelled else f"partition {number + 1}"
    try:
        data = conform(frame, job.schema)
    except SchemaError as error:
        # Re-raised as a plain InputError: it must travel back from the worker by pickle.
        raise InputError(f"{label}: {error}") from None
    empty = pd.DataFrame(
        {c: pd.Series(dtype=t) for c, t in zip(job.columns, job.dtypes, strict=True)}
    )
    if not len(frame):
        return empty
    from . import predict as predict_module

    model = _worker_model(job.store_root, job.version)
    try:
        predicted = call_predict(predict_module.predict, model.artifacts, data)
        result = to_frame(predicted, job.output_name, len(frame))
    except PredictionError as error:
        raise PredictionError(f"{label}: {error}") from None
    if tuple(str(c) for c in result.columns) != job.columns:
        raise PredictionError(
            f"{label}: predict() returned columns {list(result.columns)}, "
            f"but the first rows gave {list(job.columns)}"
        )
    return result


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
            f"{output}: cannot write the output ({error.strerror or _first_line(error)})"
        ) from None
    except Exception as error:  # noqa: BLE001 - Dask and the readers raise their own types
        raise PredictionError(
            f"predict --engine dask failed: {type(error).__name__}: {_first_line(error)}"
        ) from None
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return DaskResult(rows=rows, partitions=len(tasks), output=output)


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def _first_line(error: BaseException) -> str:
    text = str(error).strip().splitlines()
    return text[0] if text else type(error).__name__
