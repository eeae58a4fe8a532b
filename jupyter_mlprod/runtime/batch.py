"""Batch input and output for ``predict --input F --output G``.

The format follows the file extension: ``.csv``, ``.parquet``/``.pq``, ``.json`` (a list of
records, or the ``{"columns", "data"}`` / ``{"instances"}`` shapes the server accepts),
``.npy`` for arrays. Array models also read headerless CSV.

:class:`OutputFile` is the one writer of output files. It checks the target before any work is
done (a supported format, not a directory, in a directory it can create files in), writes a
temporary file next to the target and renames it over the target, so a crash never leaves a
half-written prediction file that a downstream job could pick up. The temporary file is named
``.<target name>.mlprod-partial-<random><suffix>`` and locked while it is written; a run
killed meanwhile leaves it behind, and the next run writing to that directory removes it
(locks.py). It is created with mode 0666 less the umask, as other tools create files.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from types import TracebackType
from typing import Any

import numpy as np
import pandas as pd

from .errors import InputError, PredictionError, first_line
from .locks import create_locked, remove_abandoned
from .schema import Schema, from_payload, text_dtypes

PARTIAL_MARKER = ".mlprod-partial-"
"""In the name of every temporary output file, so the next run can find the abandoned ones."""

INPUT_FORMATS = (".csv", ".parquet", ".pq", ".json", ".npy")
OUTPUT_FORMATS = (".csv", ".parquet", ".pq", ".json", ".npy")


def read_input(path: str | os.PathLike[str], schema: Schema) -> Any:
    """Read a batch input file into a DataFrame or an array.

    Args:
        path: The input file; its extension selects the reader.
        schema: The recorded input schema (arrays and frames read CSV differently).

    Returns:
        Raw input data, to be validated with :func:`schema.conform`.

    Raises:
        InputError: One line naming the file when it is missing or unreadable.
    """
    source = Path(path)
    suffix = source.suffix.lower()
    if suffix not in INPUT_FORMATS:
        raise InputError(f"{source}: unsupported input format; use {', '.join(INPUT_FORMATS)}")
    if not source.is_file():
        raise InputError(f"{source}: no such file")
    try:
        if suffix == ".csv":
            return _read_csv(source, schema)
        if suffix in (".parquet", ".pq"):
            return pd.read_parquet(source)
        if suffix == ".npy":
            return np.load(source, allow_pickle=False)
        with open(source, encoding="utf-8") as handle:
            payload = json.load(handle)
    except InputError:
        raise
    except (OSError, ValueError, ImportError) as error:
        raise InputError(
            f"{source}: cannot read {suffix[1:]} input ({first_line(error)})"
        ) from None
    except Exception as error:  # noqa: BLE001 - parsers raise their own error types
        raise InputError(
            f"{source}: cannot read {suffix[1:]} input ({type(error).__name__})"
        ) from None
    try:
        return from_payload(payload, schema)
    except InputError as error:
        raise InputError(f"{source}: {error}") from None


def _read_csv(source: Path, schema: Schema) -> Any:
    if schema.get("kind") != "ndarray":
        names = pd.read_csv(source, nrows=0).columns
        return pd.read_csv(source, dtype=text_dtypes(schema, names))
    # Arrays have no column names: accept files with or without a header row.
    frame = pd.read_csv(source, header=None)
    if len(frame) and not all(pd.api.types.is_numeric_dtype(t) for t in frame.dtypes):
        first = pd.to_numeric(frame.iloc[0], errors="coerce")
        if first.isna().all():
            frame = pd.read_csv(source)
    return frame.to_numpy()


def _os_reason(error: OSError) -> str:
    """The operating system's words for an error, without the temporary file's name."""
    return error.strerror or type(error).__name__


def to_frame(predictions: Any, output_name: str, n_rows: int | None = None) -> pd.DataFrame:
    """Turn predictions into a table: a 1-d result becomes one column named ``output_name``.

    Raises:
        PredictionError: If the predictions do not line up with the input rows.
    """
    if isinstance(predictions, pd.DataFrame):
        frame = predictions.reset_index(drop=True)
    elif isinstance(predictions, pd.Series):
        frame = pd.DataFrame({output_name: predictions.to_numpy()})
    else:
        array = np.asarray(predictions)
        if array.ndim == 0:
            array = array.reshape(1)
        if array.ndim == 1:
            frame = pd.DataFrame({output_name: array})
        elif array.ndim == 2:
            columns = [f"{output_name}_{i}" for i in range(array.shape[1])]
            frame = pd.DataFrame(array, columns=columns)
        else:
            raise PredictionError(f"predictions have {array.ndim} dimensions; write them as .npy")
    if n_rows is not None and len(frame) != n_rows:
        raise PredictionError(f"predict() returned {len(frame)} rows for {n_rows} input rows")
    return frame


def _write_csv(frame: pd.DataFrame, path: str) -> None:
    """``frame.to_csv(path, index=False)``, byte for byte, faster for integer columns.

    Class labels are the most common batch output, and pandas formats each integer in Python
    (about 0.3 s per million rows, bench/serve.py); Arrow's writer does it in C++ several
    times faster with the same text. Other dtypes keep pandas' formatting (Arrow writes
    ``100`` for the float ``100.0`` and ``true`` for ``True``), and pandas writes the header
    so its quoting rules apply there too.
    """
    if len(frame.columns) and all(
        isinstance(dtype, np.dtype) and dtype.kind in "iu" for dtype in frame.dtypes
    ):
        import pyarrow as pa
        import pyarrow.csv

        # "\n" like Arrow's rows (pandas would use os.linesep, "\r\n" on Windows).
        frame.iloc[:0].to_csv(path, index=False, lineterminator="\n")
        table = pa.Table.from_pandas(frame, preserve_index=False)
        with open(path, "ab") as handle:
            options = pyarrow.csv.WriteOptions(include_header=False, quoting_style="none")
            pyarrow.csv.write_csv(table, handle, write_options=options)
        return
    frame.to_csv(path, index=False)


def write_frame(frame: pd.DataFrame, path: str, suffix: str) -> None:
    """Write a predictions table to ``path`` (not atomically) in the format ``suffix`` names.

    The one table writer: :class:`OutputFile` and each partition of ``predict --engine dask``
    use it, so both write the same bytes for the same rows.
    """
    if suffix == ".csv":
        _write_csv(frame, path)
    elif suffix == ".json":
        frame.to_json(path, orient="records")
    else:
        frame.to_parquet(path, index=False)


def write_output(
    path: str | os.PathLike[str], predictions: Any, output_name: str, n_rows: int | None = None
) -> Path:
    """Write predictions atomically, in input row order, in the format of the extension.

    Args:
        path: The output file.
        predictions: What ``predict()`` returned.
        output_name: Column name for a 1-d result (the notebook's predict output).
        n_rows: The number of input rows, to catch a predict() that drops rows.

    Returns:
        The path written.

    Raises:
        InputError: One line naming the target when it cannot be written.
        PredictionError: If the predictions do not line up with the input rows.
    """
    with OutputFile(path) as output:
        return output.write(predictions, output_name, n_rows)


class OutputFile:
    """An output file being written: checked and reserved first, committed by a rename.

    Opening checks the target and creates the (locked) temporary file beside it, so a target
    that cannot be written fails before the caller loads a model or predicts; leaving the
    ``with`` block without :meth:`write` removes the temporary file.

    Raises:
        InputError: One line naming the target when it cannot be written.
    """

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.target = Path(path)
        self.suffix = self.target.suffix.lower()
        self._check_target()
        directory = self.target.parent
        remove_abandoned((p, p) for p in directory.glob(f".*{PARTIAL_MARKER}*"))
        self._descriptor: int | None
        try:
            self.temp, self._descriptor = create_locked(
                directory, f".{self.target.name}{PARTIAL_MARKER}", self.suffix
            )
        except OSError as error:
            raise InputError(
                f"{self.target}: cannot write to {directory} ({_os_reason(error)}); "
                "choose a writable output directory"
            ) from None

    def __enter__(self) -> OutputFile:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.discard()

    def write(self, predictions: Any, output_name: str, n_rows: int | None = None) -> Path:
        """Write the predictions to the temporary file and rename it over the target.

        Args:
            predictions: What ``predict()`` returned.
            output_name: Column name for a 1-d result (the notebook's predict output).
            n_rows: The number of input rows, to catch a predict() that drops rows.

        Returns:
            The target path.
        """
        try:
            self._write_temp(predictions, output_name, n_rows)
            # Unlocked just before the rename: the file is fresh, so a cleaner still leaves it.
            self._close()
            os.replace(self.temp, self.target)
        except OSError as error:
            raise InputError(
                f"{self.target}: cannot write the output ({_os_reason(error)})"
            ) from None
        return self.target

    def _write_temp(self, predictions: Any, output_name: str, n_rows: int | None) -> None:
        temp = str(self.temp)
        if self.suffix == ".npy":
            array = np.asarray(predictions)
            if n_rows is not None and array.ndim and len(array) != n_rows:
                raise PredictionError(
                    f"predict() returned {len(array)} rows for {n_rows} input rows"
                )
            np.save(temp, array, allow_pickle=False)
        else:
            write_frame(to_frame(predictions, output_name, n_rows), temp, self.suffix)

    def discard(self) -> None:
        """Remove the temporary file if it is still there (nothing was committed)."""
        self._close()
        self.temp.unlink(missing_ok=True)

    def _close(self) -> None:
        if self._descriptor is not None:
            os.close(self._descriptor)
            self._descriptor = None

    def _check_target(self) -> None:
        target = self.target
        if target.is_dir():
            raise InputError(
                f"{target}: is a directory; name the output file, e.g. {target / 'predictions.csv'}"
            )
        if self.suffix not in OUTPUT_FORMATS:
            raise InputError(
                f"{target}: unsupported output format; use {', '.join(OUTPUT_FORMATS)}"
            )
        directory = target.parent
        if not directory.exists():
            raise InputError(f"{directory}: output directory does not exist")
        if not directory.is_dir():
            raise InputError(f"{directory}: is not a directory, so it cannot hold {target.name}")
