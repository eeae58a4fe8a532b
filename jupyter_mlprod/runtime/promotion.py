"""Whether a newly trained version beats production (`train --promote-if-better METRIC[:DELTA]`).

Both versions are scored by the same evaluation on the same held-out input of this run (the
pipeline's ``TrainingRun.score``); the new one is promoted only when it is strictly better by
at least ``MIN_DELTA``. Whether higher is better is known for common metric names (the name's
``_``-separated words are matched, so ``test_accuracy`` and ``val_rmse`` count) and otherwise
given with ``--higher-is-better`` / ``--lower-is-better``. The decision, both scores and the
reason are recorded in the new version's manifest under ``promotion``. A leaf module.
"""

from __future__ import annotations

import dataclasses
import math
import re
from typing import Any

from .errors import MlprodError


class PromotionError(MlprodError):
    """``--promote-if-better`` cannot be applied as written (a usage error: exit 2)."""

    exit_code = 2


NOT_PROMOTED_EXIT = 3
"""``train --promote-if-better`` exit code when the version was saved but not promoted."""

HIGHER_IS_BETTER = frozenset(
    {
        "accuracy",
        "acc",
        "balanced_accuracy",
        "f1",
        "roc_auc",
        "auc",
        "pr_auc",
        "average_precision",
        "r2",
        "precision",
        "recall",
    }
)
LOWER_IS_BETTER = frozenset(
    {"mse", "rmse", "mae", "mape", "log_loss", "logloss", "loss", "error", "brier"}
)
_WORD = re.compile(r"[a-z0-9]+")


@dataclasses.dataclass(frozen=True)
class PromotionRule:
    """What ``--promote-if-better`` asked for."""

    metric: str
    min_delta: float
    higher_is_better: bool


@dataclasses.dataclass(frozen=True)
class Decision:
    """The outcome of comparing a new version with production, as recorded in the manifest."""

    rule: PromotionRule
    new: float
    production: float | None
    production_version: str | None
    promote: bool
    reason: str

    def record(self) -> dict[str, Any]:
        """The manifest's ``promotion`` entry (JSON: a NaN score is written as null)."""
        return {
            "metric": self.rule.metric,
            "higher_is_better": self.rule.higher_is_better,
            "min_delta": self.rule.min_delta,
            "new": _json_number(self.new),
            "production": None if self.production is None else _json_number(self.production),
            "production_version": self.production_version,
            "promoted": self.promote,
            "reason": self.reason,
        }


def known_direction(metric: str) -> bool | None:
    """True if higher values of ``metric`` are better, False if lower, None when unknown.

    The whole name is looked up first, then runs of its words (``val_roc_auc`` → ``roc_auc``);
    names whose words point both ways (``accuracy_loss``) are unknown.
    """
    words = _WORD.findall(metric.lower())
    found: set[bool] = set()
    for length in range(len(words), 0, -1):
        for start in range(len(words) - length + 1):
            phrase = "_".join(words[start : start + length])
            if phrase in HIGHER_IS_BETTER:
                found.add(True)
            elif phrase in LOWER_IS_BETTER:
                found.add(False)
        if found:
            break
    return found.pop() if len(found) == 1 else None


def parse_rule(text: str, higher_is_better: bool | None = None) -> PromotionRule:
    """Read ``METRIC[:MIN_DELTA]``; ``higher_is_better`` overrides the known direction.

    Raises:
        PromotionError: One line naming what is wrong and what to write instead.
    """
    metric, _, delta_text = text.partition(":")
    metric = metric.strip()
    if not metric:
        raise PromotionError("--promote-if-better needs a metric name, like accuracy or rmse:0.01")
    min_delta = 0.0
    if delta_text:
        try:
            min_delta = float(delta_text)
        except ValueError:
            min_delta = math.nan
        if not math.isfinite(min_delta) or min_delta < 0:
            raise PromotionError(
                f"--promote-if-better {metric}:{delta_text[:20]}: MIN_DELTA must be a number "
                "≥ 0, like accuracy:0.01"
            )
    direction = known_direction(metric) if higher_is_better is None else higher_is_better
    if direction is None:
        raise PromotionError(
            f"--promote-if-better: whether a higher {metric} is better is not known; "
            "add --higher-is-better or --lower-is-better"
        )
    return PromotionRule(metric, min_delta, direction)


def metric_value(rule: PromotionRule, metrics: dict[str, float], whose: str) -> float:
    """The rule's metric from an evaluation's results.

    Raises:
        PromotionError: The evaluation has no such metric (the line lists the ones it has).
    """
    if rule.metric not in metrics:
        have = ", ".join(sorted(metrics)) or "none"
        raise PromotionError(
            f"--promote-if-better {rule.metric}: the evaluation of {whose} has no metric "
            f"{rule.metric!r} (it has: {have})"
        )
    return float(metrics[rule.metric])


def decide(
    rule: PromotionRule, new: float, production: float | None, production_version: str | None
) -> Decision:
    """Compare the new score with production's under ``rule``.

    No production version: promoted (the first version). A new score that is not a number is
    never promoted; a production score that is not a number is beaten by any number.
    """

    def made(promote: bool, reason: str) -> Decision:
        return Decision(rule, new, production, production_version, promote, reason)

    if production is None or production_version is None:
        return made(True, "no production version yet")
    if math.isnan(new):
        return made(False, f"the new {rule.metric} is not a number")
    if math.isnan(production):
        return made(True, f"production {production_version}'s {rule.metric} is not a number")
    gain = new - production if rule.higher_is_better else production - new
    comparison = f"{rule.metric} {new:.6g} vs {production:.6g} for {production_version}"
    if gain > 0 and gain >= rule.min_delta:
        return made(True, f"{comparison}: better by {gain:.6g}")
    needed = f" (needs {rule.min_delta:.6g})" if rule.min_delta else ""
    verdict = "not better" if gain <= 0 else f"better by only {gain:.6g}"
    return made(False, f"{comparison}: {verdict}{needed}")


def _json_number(value: float) -> float | None:
    return value if math.isfinite(value) else None
