"""Suite-wide ordering: the browser tier runs last.

Playwright's sync API keeps an event loop running in the main thread for the rest of the
session once a browser test has started it, and the in-process Jupyter server tests
(pytest-jupyter) cannot run their own loop after that. Running the browser tier last keeps
both in one `python -m pytest` invocation.
"""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, settings

# The fuzz suite's Hypothesis profiles (tests/fuzz/). Registered here, in the root conftest,
# because Hypothesis loads `--hypothesis-profile=NAME` before conftest files below the root are
# read. "default" is the CI profile: bounded example counts (each fuzz test sets its own
# max_examples, scaled by the profile's), derandomized so a run is reproducible, no per-example
# deadline (a subprocess or a conversion may take a second on a busy machine), no example
# database written into the working tree. `--hypothesis-profile=long` runs 20 times as many
# random examples, with the database, for deeper searches by hand.
_FUZZ_HEALTH_CHECKS = [
    HealthCheck.function_scoped_fixture,
    HealthCheck.too_slow,
    HealthCheck.data_too_large,
    HealthCheck.large_base_example,
]
# Also under "ci": Hypothesis loads its own "ci" profile whenever the CI variable is set (as
# .ci/run sets it), and that one does not suppress the health checks the fuzz fixtures need;
# registering the name again replaces it (and reloads it when it is the active profile).
for _name in ("default", "ci"):
    settings.register_profile(
        _name,
        derandomize=True,
        deadline=None,
        database=None,
        print_blob=True,
        suppress_health_check=_FUZZ_HEALTH_CHECKS,
    )
settings.register_profile(
    "long",
    max_examples=2_000,
    derandomize=False,
    deadline=None,
    print_blob=True,
    suppress_health_check=_FUZZ_HEALTH_CHECKS,
)


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--update-golden",
        action="store_true",
        help="rewrite the golden snapshots of generated packages (tests/golden/) from today's "
        "output instead of comparing against them",
    )


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    items.sort(key=lambda item: item.get_closest_marker("browser") is not None)
