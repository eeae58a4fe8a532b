"""Routing between model versions: what is served, the canary split and shadow comparison.

A canary receives a stable share of requests, chosen by a hash of the request id, so a
caller that resends the same ``X-Request-ID`` always meets the same version. A shadow version
predicts every request off the response path; how its predictions compare with the served
ones (:func:`compare_shadow`) is logged and counted, never returned.
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from .compare import compare_predictions
from .errors import MlprodError, ModelError
from .schema import conform, from_payload, to_jsonable
from .store import LoadedModel


@dataclass(frozen=True)
class Canary:
    """Send ``percent`` % of requests (by a stable hash of the request id) to ``ref``."""

    ref: str
    percent: float


def parse_canary(text: str) -> Canary:
    """Parse ``REF:PCT`` (e.g. ``v4:10``).

    Raises:
        ModelError: If the text is not ``REF:PCT`` with 0 <= PCT <= 100.
    """
    ref, sep, percent = text.rpartition(":")
    try:
        value = float(percent)
    except ValueError:
        value = math.nan
    if not sep or not ref or not 0 <= value <= 100:
        raise ModelError(
            f"--canary {text!r}: expected REF:PCT with PCT between 0 and 100, e.g. v4:10"
        )
    return Canary(ref=ref, percent=value)


def canary_bucket(request_id: str) -> float:
    """Map a request id to a stable point in [0, 100): the same id always routes the same way."""
    digest = hashlib.sha256(request_id.encode("utf-8")).digest()
    return int.from_bytes(digest[:8], "big") / 2**64 * 100


@dataclass(frozen=True)
class Serving:
    """What is served right now; replaced as a whole on reload so requests see one state."""

    primary: LoadedModel
    shadow: LoadedModel | None
    canary: LoadedModel | None
    canary_percent: float

    def choose(self, request_id: str) -> LoadedModel:
        """The model for one request: the canary for its share of ids, else the primary."""
        if self.canary is not None and canary_bucket(request_id) < self.canary_percent:
            return self.canary
        return self.primary

    def versions(self) -> tuple[str, str | None, str | None]:
        """``(primary, canary, shadow)`` version ids, to tell whether a reload changed any."""
        return (
            self.primary.version,
            self.canary.version if self.canary else None,
            self.shadow.version if self.shadow else None,
        )


def compare_shadow(
    shadow: LoadedModel, payload: Any, served: list[Any], predict: Callable[[Any], Any]
) -> dict[str, Any]:
    """Predict a request's payload with the shadow version and compare with what was served.

    Args:
        shadow: The shadow version.
        payload: The request's decoded JSON payload.
        served: The served predictions, as JSON values.
        predict: ``predict()`` bound to the shadow version's artifacts.

    Returns:
        The shadow log's fields: ``n_rows``, ``disagreements`` (rows on which the two
        differ), ``served`` and ``shadow``; or ``error`` when the shadow version could not
        predict the payload.
    """
    try:
        data = conform(from_payload(payload, shadow.schema), shadow.schema)
        predicted = to_jsonable(predict(data))
    except MlprodError as error:
        return {"error": str(error)}
    return {
        "n_rows": len(served),
        "disagreements": compare_predictions(served, predicted).mismatches,
        "served": served,
        "shadow": predicted,
    }
