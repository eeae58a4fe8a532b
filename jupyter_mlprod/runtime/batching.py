"""Micro-batching: one ``predict()`` call for the requests that arrive while another runs.

scikit-learn pipelines pay a fixed cost per ``predict()`` call (input validation, one pass per
step) that dwarfs the cost per row, so when several requests wait, predicting them together
answers all of them for little more than the price of one. Building a DataFrame has the same
shape of cost, so waiting request bodies are decoded together too: records whose values
already have their column's recorded type are joined as plain lists and become one DataFrame.
Nothing waits on purpose: a lone request is answered at once; requests batch up only while
the previous batch is running.

This is only correct when ``predict()`` treats rows independently. ``train`` checks that on the
held-out sample (predicting it in two parts must give the same result as in one) and records
``row_independent`` in the version's manifest; the server batches only such versions. Every
request keeps its own answer: one with a bad value or a failing prediction gets its own error
(its batch is answered one request at a time), never its neighbours'.
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from .compare import compare_predictions
from .errors import MlprodError
from .json_input import decode_json
from .schema import Schema, conform, from_payload, n_rows, to_jsonable

# Stop adding requests to a batch past this many body bytes (rows are only known once the
# bodies are decoded, which happens in the batch): big batches only add latency.
MAX_BATCH_BYTES = 256 * 1024

# The Python types a JSON value must already have to join a column of each recorded dtype
# unchanged. ``type(v) in ...`` is exact, so True never passes for an integer.
# Narrower integer and float dtypes are coerced (with their range checks) by ``conform`` in
# the batch just as for one request; a failure there sends the batch down the one-by-one path.
_NATURAL_TYPES: dict[str, tuple[type, ...]] = {
    **{f"int{bits}": (int,) for bits in (8, 16, 32, 64)},
    **{f"uint{bits}": (int,) for bits in (8, 16, 32, 64)},
    **{f"float{bits}": (float, int) for bits in (16, 32, 64)},
    "bool": (bool,),
    "str": (str,),
    "string": (str,),
    "object": (str,),
}

Predict = Callable[[Any], Any]
"""``predict()`` bound to a version's artifacts: input data → predictions (raises
:class:`PredictionError`)."""


@dataclass(frozen=True)
class Answer:
    """What one request gets back."""

    payload: Any
    """The decoded body (a shadow version validates it against its own schema)."""
    predictions: Any
    """JSON-able predictions, one per row."""
    rows: int


def answer_alone(body: bytes, schema: Schema, predict: Predict) -> Answer:
    """Decode, validate and predict one request body on its own."""
    return _answer_payload(decode_json(body), schema, predict)


def _answer_payload(payload: Any, schema: Schema, predict: Predict) -> Answer:
    data = conform(from_payload(payload, schema), schema)
    return Answer(payload, to_jsonable(predict(data)), n_rows(data))


def record_columns(payload: Any, schema: Schema) -> dict[str, list[Any]] | None:
    """A list of records as one list per schema column, when every value already has the
    Python type of its column's recorded dtype (so joining requests cannot change what
    validation would decide for each). None sends the request down the one-by-one path."""
    if schema.get("kind") != "dataframe" or type(payload) is not list or not payload:
        return None
    wanted: list[tuple[str, tuple[type, ...], list[Any]]] = []
    for column in schema["columns"]:
        types = _NATURAL_TYPES.get(str(column["dtype"]))
        if types is None:
            return None
        wanted.append((column["name"], types, []))
    for record in payload:
        if type(record) is not dict:
            return None
        for name, types, values in wanted:
            value = record.get(name, None)
            if type(value) not in types:
                return None
            values.append(value)
    return {name: values for name, _, values in wanted}


@dataclass
class _Unit:
    """Requests whose inputs are validated together: one, or the records joined as lists."""

    indices: list[int]
    payloads: list[Any]
    data: Any
    counts: list[int]


def answer_together(
    bodies: Sequence[bytes], schema: Schema, predict: Predict
) -> list[Answer | Exception]:
    """Answer several request bodies for one row-independent version with as few DataFrame
    constructions and ``predict()`` calls as possible; each body gets its own answer or error.
    """
    answers: list[Answer | Exception | None] = [None] * len(bodies)
    units: list[_Unit] = []
    joinable: list[tuple[int, Any, dict[str, list[Any]]]] = []
    for index, body in enumerate(bodies):
        try:
            payload = decode_json(body)
            columns = record_columns(payload, schema)
            if columns is not None:
                joinable.append((index, payload, columns))
                continue
            data = conform(from_payload(payload, schema), schema)
            if n_rows(data) == 0:
                # Alone, so an empty request gets what predict() makes of no rows, batched
                # with others or not.
                answers[index] = Answer(payload, to_jsonable(predict(data)), 0)
            else:
                units.append(_Unit([index], [payload], data, [n_rows(data)]))
        except Exception as error:  # noqa: BLE001 - this request's own failure
            answers[index] = error
    if joinable:
        merged = {
            name: [value for _, _, columns in joinable for value in columns[name]]
            for name in joinable[0][2]
        }
        indices = [index for index, _, _ in joinable]
        payloads = [payload for _, payload, _ in joinable]
        try:
            data = conform(frame_of(merged, schema), schema)
        except (MlprodError, ValueError, TypeError, OverflowError):
            # e.g. an integer too large for int64: each of them is answered alone.
            for index, payload in zip(indices, payloads, strict=True):
                answers[index] = _answer_alone_or_error(payload, schema, predict)
        else:
            units.append(_Unit(indices, payloads, data, [len(p) for p in payloads]))
    if not _predict_jointly(units, predict, answers):
        for unit in units:
            if len(unit.indices) == 1:  # its input is validated already
                (index,), (payload,) = unit.indices, unit.payloads
                try:
                    answers[index] = Answer(
                        payload, to_jsonable(predict(unit.data)), unit.counts[0]
                    )
                except Exception as error:  # noqa: BLE001 - this request's own failure
                    answers[index] = error
            else:
                for index, payload in zip(unit.indices, unit.payloads, strict=True):
                    answers[index] = _answer_alone_or_error(payload, schema, predict)
    # Every index was answered by exactly one of the paths above.
    return [answer for answer in answers if answer is not None]


def frame_of(columns: dict[str, list[Any]], schema: Schema) -> pd.DataFrame:
    """The DataFrame of joined record columns, numbers and booleans as typed arrays.

    The values already have their column's Python type (:func:`record_columns`), so a numeric
    or boolean column can skip pandas' type inference, which costs more than the rest of a
    100-row request's validation; ``conform`` then checks and casts as for any frame. An
    integer past 64 bits raises OverflowError here, which the caller sends one by one.
    """
    typed: dict[str, Any] = {}
    for column in schema["columns"]:
        name = column["name"]
        kind = _ARRAY_KINDS.get(str(column["dtype"]))
        typed[name] = columns[name] if kind is None else np.array(columns[name], dtype=kind)
    return pd.DataFrame(typed, copy=False)


# Recorded dtype → the array type its natural JSON values are gathered in (then cast by
# conform, with its range checks, to a narrower recorded dtype).
_ARRAY_KINDS: dict[str, type] = {
    **{f"int{bits}": np.int64 for bits in (8, 16, 32, 64)},
    **{f"float{bits}": np.float64 for bits in (16, 32, 64)},
    "bool": np.bool_,
}


def _answer_alone_or_error(payload: Any, schema: Schema, predict: Predict) -> Answer | Exception:
    try:
        return _answer_payload(payload, schema, predict)
    except Exception as error:  # noqa: BLE001 - this request's own failure
        return error


def _predict_jointly(
    units: list[_Unit], predict: Predict, answers: list[Answer | Exception | None]
) -> bool:
    """One ``predict()`` for all units; False (nothing answered) when that is not possible."""
    if not units:
        return False
    if len(units) == 1 and len(units[0].indices) == 1:
        return False
    joined = units[0].data if len(units) == 1 else concat_rows([unit.data for unit in units])
    if joined is None:
        return False
    counts = [count for unit in units for count in unit.counts]
    try:
        predictions = predict(joined)
    except MlprodError:
        return False  # answered one by one, so only the request that fails gets the error
    parts = slice_rows(predictions, counts)
    if parts is None:
        return False
    flat = [(i, p) for unit in units for i, p in zip(unit.indices, unit.payloads, strict=True)]
    for (index, payload), part, count in zip(flat, parts, counts, strict=True):
        answers[index] = Answer(payload, to_jsonable(part), count)
    return True


def concat_rows(parts: list[Any]) -> Any | None:
    """Join inputs of the same kind row-wise, or None when they cannot be joined."""
    if all(isinstance(part, pd.DataFrame) for part in parts):
        return pd.concat(parts, ignore_index=True)
    if all(isinstance(part, np.ndarray) and part.ndim >= 1 for part in parts):
        if len({part.shape[1:] for part in parts}) == 1:
            return np.concatenate(parts)
    return None


def slice_rows(predictions: Any, counts: list[int]) -> list[Any] | None:
    """Split a batch's predictions back into one result per request, or None if unsure."""
    whole: Any
    rows: Any  # what slices by row position: a pandas object's .iloc, else the value itself
    if isinstance(predictions, pd.DataFrame | pd.Series):
        whole = predictions.reset_index(drop=True)
        rows = whole.iloc
    elif (isinstance(predictions, np.ndarray) and predictions.ndim >= 1) or isinstance(
        predictions, list
    ):
        whole = rows = predictions
    else:
        return None
    if len(whole) != sum(counts):
        return None
    results, start = [], 0
    for count in counts:
        results.append(rows[start : start + count])
        start += count
    return results


def rows_independent(
    predict: Callable[[Any, Any], Any], artifacts: Any, sample: Any, expected: Any
) -> bool:
    """Whether predicting ``sample`` in two parts gives what predicting it whole gave."""
    rows = n_rows(sample)
    if rows < 2:
        return False
    middle = rows // 2
    if isinstance(sample, pd.DataFrame):
        halves = [sample.iloc[:middle], sample.iloc[middle:]]
    elif isinstance(sample, np.ndarray) and sample.ndim >= 1:
        halves = [sample[:middle], sample[middle:]]
    else:
        return False
    try:
        parts = [predict(artifacts, half) for half in halves]
    except Exception:  # noqa: BLE001 - any failure just means "do not batch"
        return False
    joined = concat_rows([_as_rows(part) for part in parts])
    if joined is None:
        return False
    whole = _as_rows(expected)
    if isinstance(whole, pd.DataFrame) != isinstance(joined, pd.DataFrame):
        return False
    if isinstance(whole, pd.DataFrame):
        whole = whole.reset_index(drop=True)
    return compare_predictions(whole, joined).equivalent


def _as_rows(predictions: Any) -> Any:
    if isinstance(predictions, pd.Series):
        return predictions.to_numpy()
    if isinstance(predictions, list):
        return np.asarray(predictions)
    return predictions


@dataclass
class _Waiting:
    body: bytes
    future: asyncio.Future[Answer]


@dataclass
class _Lane:
    # A deque, not an asyncio.Queue: only the event loop's thread touches it and nothing
    # awaits it, so the queue's waiters and futures would be paid per request for nothing.
    waiting: deque[_Waiting] = field(default_factory=deque)
    worker: asyncio.Task[None] | None = None


AnswerBatch = Callable[[Sequence[bytes]], list[Answer | Exception]]


class MicroBatcher:
    """Answers the waiting requests of one model version together.

    Args:
        run: runs a blocking function off the event loop (the server's pool) and returns
            its result.
    """

    def __init__(self, run: Callable[[AnswerBatch, list[bytes]], Awaitable[Any]]) -> None:
        self.run = run
        self._lanes: dict[str, _Lane] = {}
        self.batches = 0
        self.batched_requests = 0

    async def submit(self, version: str, answer_batch: AnswerBatch, body: bytes) -> Answer:
        """Answer one request body, together with the requests waiting for the same version.

        Raises:
            MlprodError: This request's own error (malformed, invalid, prediction failed).
        """
        lane = self._lanes.setdefault(version, _Lane())
        future: asyncio.Future[Answer] = asyncio.get_running_loop().create_future()
        lane.waiting.append(_Waiting(body, future))
        if lane.worker is None or lane.worker.done():
            lane.worker = asyncio.get_running_loop().create_task(self._drain(lane, answer_batch))
        return await future

    async def _drain(self, lane: _Lane, answer_batch: AnswerBatch) -> None:
        waiting = lane.waiting
        while waiting:
            batch = [waiting.popleft()]
            size = len(batch[0].body)
            while waiting and size < MAX_BATCH_BYTES:
                batch.append(waiting.popleft())
                size += len(batch[-1].body)
            results: list[Any]
            try:
                results = await self.run(answer_batch, [item.body for item in batch])
            except Exception as error:  # noqa: BLE001 - handed to every waiting request
                results = [error] * len(batch)
            if len(batch) > 1:
                self.batches += 1
                self.batched_requests += len(batch)
            for item, result in zip(batch, results, strict=True):
                if item.future.done():
                    continue
                if isinstance(result, Exception):
                    item.future.set_exception(result)
                else:
                    item.future.set_result(result)
