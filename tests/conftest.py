"""Suite-wide ordering: the browser tier runs last.

Playwright's sync API keeps an event loop running in the main thread for the rest of the
session once a browser test has started it, and the in-process Jupyter server tests
(pytest-jupyter) cannot run their own loop after that. Running the browser tier last keeps
both in one `python -m pytest` invocation.
"""

from __future__ import annotations

import pytest


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--update-golden",
        action="store_true",
        help="rewrite the golden snapshots of generated packages (tests/golden/) from today's "
        "output instead of comparing against them",
    )


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    items.sort(key=lambda item: item.get_closest_marker("browser") is not None)
