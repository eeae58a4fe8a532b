"""Quality floors: what a fresh ``train`` of the generated package must reach.

A floor is ``METRIC>=VALUE`` (higher is better: accuracy, r2) or ``METRIC<=VALUE`` (lower is
better: mae, loss). They come from ``nb2prod convert --quality`` (repeatable) or the notebook's
``metadata.mlprod.quality`` (one such string or a list of them); a metric given on the command
line replaces the notebook's. The converter records them in the generated ``pyproject.toml``
under ``[tool.<module>.quality]``, which the package's ``tests/test_model.py`` reads.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any, Literal

from .errors import ConversionError, printable

#: ``acc>=0.8``: a metric name as train reports it (letters, digits, ``_ . -``), ``>=`` or
#: ``<=``, a number. Spaces around the operator are allowed.
_SPEC = re.compile(r"^\s*([A-Za-z_][A-Za-z0-9_.\-]*)\s*(>=|<=)\s*(\S+)\s*$")
_EXAMPLE = "acc>=0.8 (higher is better) or mae<=6.5 (lower is better)"

Bound = Literal["min", "max"]


@dataclass(frozen=True)
class QualityFloor:
    """One metric's floor: ``bound`` is ``min`` for ``>=`` and ``max`` for ``<=``."""

    metric: str
    bound: Bound
    value: float

    def describe(self) -> str:
        """The floor as the user writes it: ``acc>=0.8``."""
        return f"{self.metric}{'>=' if self.bound == 'min' else '<='}{self.value:g}"


def parse_floor(text: str, origin: str) -> QualityFloor:
    """Read one ``METRIC>=VALUE`` / ``METRIC<=VALUE``.

    Args:
        text: the floor as written.
        origin: where it came from, for the error (``--quality``, ``metadata.mlprod.quality``).

    Raises:
        ConversionError: one line naming the bad floor and the expected form.
    """
    match = _SPEC.match(text)
    value = _number(match.group(3)) if match else None
    if match is None or value is None:
        shown = printable(text, limit=60)
        raise _bad(f"{origin} {shown!r} is not METRIC>=VALUE or METRIC<=VALUE")
    bound: Bound = "min" if match.group(2) == ">=" else "max"
    return QualityFloor(match.group(1), bound, value)


def floors_from(
    options: Sequence[str], metadata: Any, *, metadata_origin: str = "metadata.mlprod.quality"
) -> tuple[QualityFloor, ...]:
    """The floors of one conversion: the notebook's, with the command line's replacing them
    metric by metric, in the order first given.

    Args:
        options: the ``--quality`` values.
        metadata: the notebook's ``metadata.mlprod.quality`` (None when absent).
        metadata_origin: how to name the metadata in errors.

    Raises:
        ConversionError: a floor that cannot be read, or one metric given twice in one place.
    """
    chosen: dict[str, QualityFloor] = {}
    for floor in _unique(_metadata_floors(metadata, metadata_origin), metadata_origin):
        chosen[floor.metric] = floor
    for floor in _unique((parse_floor(text, "--quality") for text in options), "--quality"):
        chosen[floor.metric] = floor
    return tuple(chosen.values())


def _metadata_floors(metadata: Any, origin: str) -> list[QualityFloor]:
    if metadata is None:
        return []
    items = [metadata] if isinstance(metadata, str) else metadata
    if not isinstance(items, list) or not all(isinstance(item, str) for item in items):
        raise _bad(f"{origin} must be a string or a list of strings like {_EXAMPLE}")
    return [parse_floor(item, origin) for item in items]


def _unique(floors: Iterable[QualityFloor], origin: str) -> list[QualityFloor]:
    seen: set[str] = set()
    result = []
    for floor in floors:
        if floor.metric in seen:
            raise _bad(f"{origin} gives metric {printable(floor.metric)!r} twice")
        seen.add(floor.metric)
        result.append(floor)
    return result


def _number(text: str) -> float | None:
    try:
        value = float(text)
    except ValueError:
        return None
    return value if math.isfinite(value) else None


def _bad(message: str) -> ConversionError:
    # Imported here: the analysis package imports jupyter_mlprod.errors, which this module
    # also needs, and Problem lives in the analysis.
    from .analysis.types import ERROR, Problem

    hint = f"write it as {_EXAMPLE}"
    return ConversionError([Problem(ERROR, "bad-quality", message, hint=hint)], None)
