"""Split CSV and Parquet input files into partitions for ``predict --engine dask``; read one piece.

A partition is a list of *pieces*, each a part of one file, so that one task never has to read
a whole big file:

- **Parquet**: consecutive row groups (the file's own layout; a row group is never split),
  grouped up to the block size, a row group weighing its rows times the bytes a row takes in
  memory (measured by the caller on the first rows read; the metadata's sizes are encoded,
  dictionary-compressed bytes, often a tenth of that or less), or its metadata size without
  a measure.
- **CSV**: a byte range of whole lines. The header is read once here and given to every
  piece. A quoted field may hold a line break, so a line end is a safe cut only outside
  quotes: cuts are placed where the number of quote characters before them is even, which
  is exact for files quoted the usual way (a field is quoted as a whole, a quote inside it is
  doubled); a file with a quote character inside an unquoted field is read as one partition,
  with a one-line note.

``blocksize`` cuts each file into pieces of about that many bytes and never puts two files in
one partition (small files are a partition each); ``partitions`` cuts the whole input into
that many partitions of about equal size, consecutive files sharing one where they are small
(fewer when the input has fewer row groups or lines).

Each piece is read so that, after ``schema.conform``, it equals the same rows of the
single-process read (batch.py ``read_input``): a Parquet piece that is a whole file is read by
that very function, part of one by pyarrow as pandas does (same dtypes) with the row labels
those rows have in the whole file; a CSV piece is parsed with pandas' defaults and the header's
names (its row labels start at 0), the columns the schema records as text read as text. Type
inference sees only the piece's rows, so without that a piece holding only digit strings (zip
codes such as ``01234``) would turn them into numbers where the whole file keeps them text
because other rows are not numbers; columns of other types are inferred per piece and coerced
by ``conform`` to the recorded dtype, which gives the whole file's values. (A text column whose
every value is digits is rejected by the single-process read, which infers numbers; here it is
read as the text it was recorded as.) Errors name the file and, for a piece, its rows (Parquet)
or lines (CSV, counted only when an error needs them).
"""

from __future__ import annotations

import bisect
import io
import json
import math
import re
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from .batch import read_input
from .errors import InputError, first_line
from .schema import Schema, text_dtypes

DEFAULT_BLOCKSIZE = 128 * 2**20
"""Bytes per partition without ``--blocksize``/``--partitions``: Parquet rows in memory, CSV
text (Dask's own readers use sizes of this order)."""

MAX_PARTITIONS = 100_000
"""More partitions than this is a block size typed wrong, not a plan."""

_SCAN_BYTES = 16 * 2**20
"""How much of a CSV file the quote scan holds at a time."""

_QUOTE = ord('"')
_NEWLINE = ord("\n")


@dataclass(frozen=True)
class Piece:
    """One task's share of one input file.

    Attributes:
        path: The file, absolute (a worker has its own working directory).
        label: The file as the user named it, for messages.
        kind: ``csv`` or ``parquet``.
        start: Parquet: the first row group; CSV: the first byte (a line start).
        stop: Parquet: the row group after the last; CSV: the byte after the last line.
        whole: The piece is the whole file, read exactly as the single-process predict does.
        names: CSV: the header's column names; None for an array model's CSV.
        text: CSV: the columns read as text (recorded as text in the schema).
        width: CSV of an array model: values per row (for a piece of blank lines).
        first_row: Parquet: rows of the file before the piece.
        rows: Parquet: rows in the piece.
        row_groups: Parquet: row groups in the file.
        range_index: Parquet: ``(start, step, name)`` of the file's row labels when they are
            a range (as ``pandas.read_parquet`` rebuilds them); None when the file stores them.
    """

    path: str
    label: str
    kind: str
    start: int
    stop: int
    whole: bool
    names: tuple[str, ...] | None = None
    text: tuple[str, ...] = ()
    width: int = 0
    first_row: int = 0
    rows: int = 0
    row_groups: int = 0
    range_index: tuple[int, int, str | None] | None = None


@dataclass(frozen=True)
class Plan:
    """The partitions of an input, in input order, and notes for the user.

    Attributes:
        partitions: Each partition's pieces, in row order.
        notes: One line each, e.g. a CSV file that could not be split.
    """

    partitions: tuple[tuple[Piece, ...], ...]
    notes: tuple[str, ...]


@dataclass(frozen=True)
class _Layout:
    """A file's possible cut positions: row group boundaries, or a CSV's data bytes."""

    whole: Piece
    # Parquet: the uncompressed bytes before each row group boundary (row groups + 1 of them);
    # CSV: the first and the last data byte positions.
    bounds: tuple[int, ...]
    # Parquet: the rows before each row group boundary.
    row_bounds: tuple[int, ...] = ()

    @property
    def start(self) -> int:
        return self.whole.start

    @property
    def end(self) -> int:
        return self.whole.stop

    @property
    def weight(self) -> int:
        return self.bounds[-1] - self.bounds[0]

    def piece(self, start: int, stop: int) -> Piece:
        whole = start == self.start and stop == self.end
        if self.whole.kind == "csv":
            return replace(self.whole, start=start, stop=stop, whole=whole)
        first = self.row_bounds[start]
        return replace(
            self.whole,
            start=start,
            stop=stop,
            whole=whole,
            first_row=first,
            rows=self.row_bounds[stop] - first,
        )


def plan(
    files: list[Path],
    labels: list[str],
    schema: Schema,
    *,
    blocksize: int | None = None,
    partitions: int | None = None,
    row_bytes: float | None = None,
) -> Plan:
    """Cut the input files into partitions (see the module docstring).

    Args:
        files: The input files, in input order, all CSV or all Parquet.
        labels: The files as the user named them.
        schema: The recorded input schema (text columns, array or table).
        blocksize: Bytes per partition, per file; None means :data:`DEFAULT_BLOCKSIZE`.
        partitions: Cut the whole input into this many instead (wins over ``blocksize``).
        row_bytes: Memory a Parquet row takes once read (None: the metadata's sizes).

    Returns:
        The partitions and any notes.

    Raises:
        InputError: Naming a file whose header or metadata cannot be read, or that the block
            size would cut into more than :data:`MAX_PARTITIONS` partitions.
    """
    layouts = [
        _layout(path, label, schema, row_bytes) for path, label in zip(files, labels, strict=True)
    ]
    cutter = _Cutter(layouts)
    if partitions is None:
        cuts = cutter.per_file(blocksize or DEFAULT_BLOCKSIZE)
    else:
        cuts = cutter.overall(partitions)
    return Plan(partitions=_assemble(layouts, cuts), notes=tuple(cutter.notes))


class _Cutter:
    """Chooses cut positions ``(file, position)``; a cut starts a new partition there."""

    def __init__(self, layouts: list[_Layout]) -> None:
        self.layouts = layouts
        self.notes: list[str] = []
        self._quotes: dict[int, _Quotes] = {}

    def per_file(self, blocksize: int) -> set[tuple[int, int]]:
        cuts = {(number, layout.start) for number, layout in enumerate(self.layouts)}
        for number, layout in enumerate(self.layouts):
            if layout.whole.kind == "parquet":
                cuts |= {(number, b) for b in _group_row_groups(layout.bounds, blocksize)}
                continue
            count = math.ceil(layout.weight / blocksize)
            if count > MAX_PARTITIONS:
                # Checked before any cut is looked for: a few bytes a partition would take
                # hours to plan.
                raise InputError(
                    f"{layout.whole.label}: that block size makes {count} partitions of this "
                    f"file (at most {MAX_PARTITIONS}); give a larger --blocksize"
                )
            if count > 1 and self._can_split(number):
                targets = (layout.start + layout.weight * k // count for k in range(1, count))
                cuts |= {(number, self._csv_cut(number, t)) for t in targets}
        return cuts

    def overall(self, count: int) -> set[tuple[int, int]]:
        cuts = {(0, self.layouts[0].start)}
        offsets = [0]
        for layout in self.layouts:
            offsets.append(offsets[-1] + layout.weight)
        total = offsets[-1]
        for k in range(1, count):
            target = total * k // count
            number = bisect.bisect_right(offsets, target) - 1
            if number >= len(self.layouts):
                break
            layout = self.layouts[number]
            local = target - offsets[number]
            if layout.whole.kind == "parquet":
                position = _nearest(layout.bounds, local)
            elif self._can_split(number):
                position = self._csv_cut(number, layout.start + local)
            else:
                position = layout.start if local * 2 < layout.weight else layout.end
            cuts.add(self._normal(number, position))
        return cuts

    def _normal(self, number: int, position: int) -> tuple[int, int]:
        # The end of a file is the start of the next one (or no cut after the last).
        if position >= self.layouts[number].end and number + 1 < len(self.layouts):
            return number + 1, self.layouts[number + 1].start
        return number, position

    def _csv_cut(self, number: int, target: int) -> int:
        path = self.layouts[number].whole.path
        return _line_start_outside_quotes(path, self._quotes[number], target)

    def _can_split(self, number: int) -> bool:
        if number not in self._quotes:
            piece = self.layouts[number].whole
            self._quotes[number] = quotes = _scan_quotes(piece.path)
            if quotes.stray is not None:
                self.notes.append(
                    f"{piece.label}: a quote character inside an unquoted field on line "
                    f"{_line_of(piece.path, quotes.stray)}; the file is read as one partition "
                    "(quote such fields whole, with inner quotes doubled, to let it be split)"
                )
        return self._quotes[number].stray is None


def _group_row_groups(bounds: tuple[int, ...], blocksize: int) -> list[int]:
    """Row group boundaries that start a new partition: consecutive groups up to blocksize."""
    cuts = []
    begun = 0
    for group in range(1, len(bounds) - 1):
        if bounds[group + 1] - bounds[begun] > blocksize:
            cuts.append(group)
            begun = group
    return cuts


def _nearest(bounds: tuple[int, ...], target: int) -> int:
    index = bisect.bisect_left(bounds, target)
    if index >= len(bounds):
        return len(bounds) - 1
    if index and target - bounds[index - 1] <= bounds[index] - target:
        return index - 1
    return index


def _assemble(layouts: list[_Layout], cuts: set[tuple[int, int]]) -> tuple[tuple[Piece, ...], ...]:
    partitions: list[tuple[Piece, ...]] = []
    current: list[Piece] = []
    for number, layout in enumerate(layouts):
        inner = sorted(p for f, p in cuts if f == number and layout.start < p < layout.end)
        if (number, layout.start) in cuts and current:
            partitions.append(tuple(current))
            current = []
        edges = [layout.start, *inner, layout.end]
        for index in range(len(edges) - 1):
            if index:
                partitions.append(tuple(current))
                current = []
            current.append(layout.piece(edges[index], edges[index + 1]))
    if current:
        partitions.append(tuple(current))
    return tuple(partitions)


# --- a file's layout ------------------------------------------------------------------------


def _layout(path: Path, label: str, schema: Schema, row_bytes: float | None) -> _Layout:
    if path.suffix.lower() == ".csv":
        return _csv_layout(path, label, schema)
    return _parquet_layout(path, label, row_bytes)


def _parquet_layout(path: Path, label: str, row_bytes: float | None = None) -> _Layout:
    import pyarrow.parquet as pq

    try:
        file = pq.ParquetFile(path)
    except (OSError, ValueError) as error:
        raise InputError(f"{label}: cannot read parquet input ({first_line(error)})") from None
    metadata = file.metadata
    rows = [metadata.row_group(i).num_rows for i in range(metadata.num_row_groups)]
    if row_bytes:
        sizes = [math.ceil(count * row_bytes) for count in rows]
    else:
        sizes = [metadata.row_group(i).total_byte_size for i in range(metadata.num_row_groups)]
    whole = Piece(
        path=str(path.resolve()),
        label=label,
        kind="parquet",
        start=0,
        stop=len(sizes),
        whole=True,
        rows=sum(rows),
        row_groups=len(sizes),
        range_index=_range_index(file.schema_arrow.pandas_metadata),
    )
    return _Layout(whole, tuple(_running(sizes)), tuple(_running(rows)))


def _range_index(pandas_metadata: dict[str, Any] | None) -> tuple[int, int, str | None] | None:
    """Row labels ``pandas.read_parquet`` gives the whole file, when they are a range."""
    if not pandas_metadata or not pandas_metadata.get("index_columns"):
        return 0, 1, None
    columns = pandas_metadata["index_columns"]
    if len(columns) == 1 and isinstance(columns[0], dict) and columns[0].get("kind") == "range":
        return int(columns[0]["start"]), int(columns[0]["step"]), columns[0].get("name")
    return None


def _running(values: list[int]) -> list[int]:
    totals = [0]
    for value in values:
        totals.append(totals[-1] + value)
    return totals


def _csv_layout(path: Path, label: str, schema: Schema) -> _Layout:
    size = path.stat().st_size
    try:
        with open(path, "rb") as handle:
            header = handle.readline()
        if schema.get("kind") == "ndarray":
            names = None
            head = pd.read_csv(path, header=None, nrows=1)
            width = head.shape[1]
            data_start = len(header) if _is_header(head) else 0
            text: tuple[str, ...] = ()
        else:
            names = tuple(str(c) for c in pd.read_csv(path, nrows=0).columns)
            width = len(names)
            data_start = len(header)
            text = tuple(text_dtypes(schema, names) or ())
    except (OSError, ValueError) as error:
        raise InputError(f"{label}: cannot read csv input ({first_line(error)})") from None
    whole = Piece(
        path=str(path.resolve()),
        label=label,
        kind="csv",
        start=data_start,
        stop=size,
        whole=True,
        names=names,
        text=text,
        width=width,
    )
    return _Layout(whole, (data_start, size))


def _is_header(head: pd.DataFrame) -> bool:
    """As batch.py reads an array model's CSV: a first row of only non-numbers is a header."""
    if not len(head):
        return False
    first = head.iloc[0]
    return bool(first.notna().all() and pd.to_numeric(first, errors="coerce").isna().all())


# --- CSV cuts: line starts outside quoted fields ----------------------------------------------


@dataclass(frozen=True)
class _Quotes:
    """Where a CSV file's quote characters are, coarsely: enough to tell a row end.

    Attributes:
        stray: The byte of the first quote that neither opens nor closes a whole field.
        before_block: Quotes before each :data:`_SCAN_BYTES` block (and after the last).
    """

    stray: int | None
    before_block: tuple[int, ...]


def _scan_quotes(path: str) -> _Quotes:
    """One pass over the file; a file without any quote costs one ``bytes.count`` per block.

    With every quote at a field's edge (or doubled inside a quoted field), the parity of the
    quotes before a line end says whether it ends a row.
    """
    counts = [0]
    previous = _NEWLINE  # the byte before the first block: a row starts the file
    offset = 0
    with open(path, "rb") as handle:
        while block := handle.read(_SCAN_BYTES):
            found = block.count(b'"')
            if found:
                stray = _stray_in_block(block, previous, counts[-1])
                if stray is not None:
                    return _Quotes(offset + stray, ())
            counts.append(counts[-1] + found)
            previous = block[-1]
            offset += len(block)
    return _Quotes(None, tuple(counts))


_EDGES = np.frombuffer(b',\n\r"', dtype=np.uint8)


def _stray_in_block(block: bytes, previous: int, count: int) -> int | None:
    data = np.frombuffer(block, dtype=np.uint8)
    quotes = np.flatnonzero(data == _QUOTE)
    before = np.where(quotes > 0, data[np.maximum(quotes - 1, 0)], previous)
    # The byte after the block's last quote is in the next block: taken as an edge there,
    # so at most one quote per 16 MiB goes unchecked.
    after = np.where(quotes + 1 < len(data), data[np.minimum(quotes + 1, len(data) - 1)], _NEWLINE)
    opening = (np.arange(len(quotes)) + count) % 2 == 0
    # An opening quote follows a delimiter, a line end or the closing half of a doubled
    # quote; a closing quote is followed by one of them or by the other half.
    bad = np.flatnonzero(np.where(opening, ~np.isin(before, _EDGES), ~np.isin(after, _EDGES)))
    return int(quotes[bad[0]]) if len(bad) else None


def _line_start_outside_quotes(path: str, quotes: _Quotes, target: int) -> int:
    """The first row start at or after byte ``target`` (a line start outside quotes)."""
    with open(path, "rb") as handle:
        count = _quotes_before(handle, quotes, target)
        handle.seek(target - 1)
        if handle.read(1) == b"\n" and count % 2 == 0:
            return target
        position = target
        while block := handle.read(1 << 16):
            end = _first_row_end(block, count)
            if end is not None:
                return position + end + 1
            count += block.count(b'"')
            position += len(block)
    return position


def _quotes_before(handle: io.BufferedReader, quotes: _Quotes, position: int) -> int:
    if not quotes.before_block[-1]:
        return 0
    block = min(position // _SCAN_BYTES, len(quotes.before_block) - 1)
    handle.seek(block * _SCAN_BYTES)
    return quotes.before_block[block] + handle.read(position - block * _SCAN_BYTES).count(b'"')


def _first_row_end(block: bytes, quotes_before: int) -> int | None:
    data = np.frombuffer(block, dtype=np.uint8)
    newlines = np.flatnonzero(data == _NEWLINE)
    if not quotes_before and block.find(b'"') < 0:
        return int(newlines[0]) if len(newlines) else None
    parity = (quotes_before + np.searchsorted(np.flatnonzero(data == _QUOTE), newlines)) % 2
    outside = newlines[parity == 0]
    return int(outside[0]) if len(outside) else None


# --- reading one piece ------------------------------------------------------------------------


def read_piece(piece: Piece, schema: Schema) -> pd.DataFrame:
    """Read one piece as the single-process reader would read those rows, unconformed.

    Raises:
        InputError: Naming the file (and the piece's rows or lines) when it cannot be read.
    """
    if piece.kind == "parquet":
        return _read_parquet(piece, schema)
    return _read_csv(piece, schema)


def _read_parquet(piece: Piece, schema: Schema) -> pd.DataFrame:
    if piece.whole:
        return _as_frame(_read_whole(piece, schema), piece)
    import pyarrow.parquet as pq

    try:
        table = pq.ParquetFile(piece.path).read_row_groups(
            range(piece.start, piece.stop), use_pandas_metadata=True
        )
        frame: pd.DataFrame = table.to_pandas()
    except (OSError, ValueError) as error:
        raise InputError(
            f"{describe(piece)}: cannot read parquet input ({first_line(error)})"
        ) from None
    if piece.range_index is not None:
        start, step, name = piece.range_index
        first = start + piece.first_row * step
        frame.index = pd.RangeIndex(first, first + len(frame) * step, step, name=name)
    attrs = (table.schema.metadata or {}).get(b"PANDAS_ATTRS")
    if attrs is not None:
        frame.attrs = json.loads(attrs)
    return frame


def _read_csv(piece: Piece, schema: Schema) -> pd.DataFrame:
    if piece.whole:
        # A file read whole is read by the single-process predict's own reader (batch.py).
        return _as_frame(_read_whole(piece, schema), piece)
    dtype = dict.fromkeys(piece.text, str) or None
    try:
        with open(piece.path, "rb") as handle:
            handle.seek(piece.start)
            data = handle.read(piece.stop - piece.start)
        names = list(piece.names) if piece.names is not None else list(range(piece.width))
        if not data.strip():
            return pd.DataFrame(columns=names)
        return pd.read_csv(io.BytesIO(data), header=None, names=names, dtype=dtype)
    except (OSError, ValueError) as error:
        first = _line_of(piece.path, piece.start)
        reason = re.sub(
            r"\bline (\d+)", lambda m: f"line {int(m[1]) + first - 1}", first_line(error)
        )
        raise InputError(f"{describe(piece)}: cannot read csv input ({reason})") from None


def _read_whole(piece: Piece, schema: Schema) -> Any:
    try:
        return read_input(piece.path, schema)
    except InputError as error:
        # Named as the user wrote it, as the single-process predict names its file.
        raise InputError(str(error).replace(piece.path, piece.label, 1)) from None


def _as_frame(data: Any, piece: Piece) -> pd.DataFrame:
    if isinstance(data, pd.DataFrame):
        return data
    if getattr(data, "ndim", 0) != 2:
        raise InputError(f"{piece.label}: --engine dask takes rows of a table")
    # An array model's CSV rows: a frame for Dask, turned back into the array by conform().
    return pd.DataFrame(data)


def describe(piece: Piece) -> str:
    """The file, and where in it the piece lies when it is not the whole file."""
    if piece.whole:
        return piece.label
    if piece.kind == "parquet":
        groups = (
            f"row group {piece.start + 1}"
            if piece.stop - piece.start == 1
            else f"row groups {piece.start + 1}-{piece.stop}"
        )
        return (
            f"{piece.label} rows {piece.first_row + 1}-{piece.first_row + piece.rows} "
            f"({groups} of {piece.row_groups})"
        )
    first = _line_of(piece.path, piece.start)
    with open(piece.path, "rb") as handle:
        handle.seek(piece.start)
        lines = _count_newlines(handle, piece.stop - piece.start)
        # A last line without a line break (the end of the file) is a line too.
        handle.seek(piece.stop - 1)
        lines += handle.read(1) != b"\n"
    return f"{piece.label} lines {first}-{first + lines - 1}"


def _line_of(path: str, position: int) -> int:
    """The line number (from 1) of the line starting at byte ``position``."""
    with open(path, "rb") as handle:
        return _count_newlines(handle, position) + 1


def _count_newlines(handle: io.BufferedReader, length: int) -> int:
    count = 0
    while length > 0:
        block = handle.read(min(_SCAN_BYTES, length))
        if not block:
            break
        count += block.count(b"\n")
        length -= len(block)
    return count


def read_head(path: Path, schema: Schema, rows: int) -> pd.DataFrame:
    """The first ``rows`` rows of a file, read as its pieces are (for Dask's ``meta``).

    Raises:
        InputError: When the file cannot be read.
    """
    if path.suffix.lower() != ".csv":
        return _parquet_head(path, rows)
    try:
        if schema.get("kind") != "ndarray":
            names = pd.read_csv(path, nrows=0).columns
            return pd.read_csv(path, nrows=rows, dtype=text_dtypes(schema, names))
        head = pd.read_csv(path, header=None, nrows=rows + 1)
        if _is_header(head):
            head = head.iloc[1:].apply(pd.to_numeric).reset_index(drop=True)
        head.columns = range(head.shape[1])
        return head
    except (OSError, ValueError) as error:
        raise InputError(f"{path}: cannot read csv input ({first_line(error)})") from None


def _parquet_head(path: Path, rows: int) -> pd.DataFrame:
    import pyarrow.parquet as pq

    try:
        batch = next(pq.ParquetFile(path).iter_batches(batch_size=rows), None)
    except (OSError, ValueError) as error:
        raise InputError(f"{path}: cannot read parquet input ({first_line(error)})") from None
    if batch is None:
        return pd.read_parquet(path)
    frame: pd.DataFrame = batch.to_pandas()
    return frame
