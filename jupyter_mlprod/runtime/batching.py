"""Micro-batching: one ``predict()`` call for the requests that arrive while another runs.

scikit-learn pipelines pay a fixed cost per ``predict()`` call (input validation, one pass per
step) that dwarfs the cost per row, so when several requests wait, predicting them together
answers all of them for little more than the price of one. Nothing waits on purpose: a lone
request is predicted at once; requests batch up only while the previous batch is running.

This is only correct when ``predict()`` treats rows independently. ``train`` checks that on the
held-out sample (predicting it in two parts must give the same result as in one) and records
``row_independent`` in the version's manifest; the server batches only such versions.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from .schema import n_rows, same_predictions

# Stop adding requests to a batch past this many rows: big batches only add latency.
MAX_BATCH_ROWS = 4096


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
    if isinstance(predictions, pd.DataFrame | pd.Series):
        sliceable: Any = predictions.reset_index(drop=True)
        total = len(sliceable)
        take = lambda start, stop: sliceable.iloc[start:stop]  # noqa: E731
    elif isinstance(predictions, np.ndarray) and predictions.ndim >= 1:
        total = len(predictions)
        take = lambda start, stop: predictions[start:stop]  # noqa: E731
    elif isinstance(predictions, list):
        total = len(predictions)
        take = lambda start, stop: predictions[start:stop]  # noqa: E731
    else:
        return None
    if total != sum(counts):
        return None
    results, start = [], 0
    for count in counts:
        results.append(take(start, start + count))
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
    return same_predictions(joined, whole)


def _as_rows(predictions: Any) -> Any:
    if isinstance(predictions, pd.Series):
        return predictions.to_numpy()
    if isinstance(predictions, list):
        return np.asarray(predictions)
    return predictions


@dataclass
class _Waiting:
    data: Any
    future: asyncio.Future[Any]
    rows: int


@dataclass
class _Lane:
    queue: asyncio.Queue[_Waiting] = field(default_factory=asyncio.Queue)
    worker: asyncio.Task[None] | None = None


class MicroBatcher:
    """Coalesces the waiting requests of one model version into one ``predict()`` call.

    Args:
        run_predict: runs ``predict(artifacts, data)`` off the event loop (the server's pool)
            and returns its result; raises the server's ``PredictionError`` on failure.
    """

    def __init__(self, run_predict: Callable[[Any, Any], Awaitable[Any]]) -> None:
        self.run_predict = run_predict
        self._lanes: dict[str, _Lane] = {}
        self.batches = 0
        self.batched_requests = 0

    async def predict(self, version: str, artifacts: Any, data: Any) -> Any:
        """Predict ``data`` with the version's artifacts, batched with concurrent requests."""
        lane = self._lanes.setdefault(version, _Lane())
        future: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        lane.queue.put_nowait(_Waiting(data, future, n_rows(data)))
        if lane.worker is None or lane.worker.done():
            lane.worker = asyncio.get_running_loop().create_task(self._drain(lane, artifacts))
        return await future

    async def _drain(self, lane: _Lane, artifacts: Any) -> None:
        while not lane.queue.empty():
            batch = [lane.queue.get_nowait()]
            rows = batch[0].rows
            while not lane.queue.empty() and rows < MAX_BATCH_ROWS:
                batch.append(lane.queue.get_nowait())
                rows += batch[-1].rows
            await self._predict_batch(batch, artifacts)

    async def _predict_batch(self, batch: list[_Waiting], artifacts: Any) -> None:
        if len(batch) > 1:
            joined = concat_rows([item.data for item in batch])
            if joined is not None:
                try:
                    predictions = await self.run_predict(artifacts, joined)
                except Exception:  # noqa: BLE001 - retried one by one for per-request errors
                    predictions = None
                parts = (
                    slice_rows(predictions, [item.rows for item in batch])
                    if predictions is not None
                    else None
                )
                if parts is not None:
                    self.batches += 1
                    self.batched_requests += len(batch)
                    for item, part in zip(batch, parts, strict=True):
                        if not item.future.done():
                            item.future.set_result(part)
                    return
        for item in batch:
            try:
                result = await self.run_predict(artifacts, item.data)
            except Exception as error:  # noqa: BLE001 - handed to the request that caused it
                if not item.future.done():
                    item.future.set_exception(error)
            else:
                if not item.future.done():
                    item.future.set_result(result)
