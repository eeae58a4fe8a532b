"""How many examples each fuzz test runs: its CI count, scaled by the loaded profile.

The CI ("default") profile keeps Hypothesis's 100 examples as its base; ``long`` raises the
base, and every test's own count grows in proportion, so one flag deepens the whole suite.
"""

from __future__ import annotations

from hypothesis import settings

_CI_BASE = 100


def examples(ci_count: int) -> settings:
    """Settings running ``ci_count`` examples in CI, proportionally more under ``long``."""
    scale = max(1, settings.default.max_examples // _CI_BASE)
    return settings(max_examples=ci_count * scale)
