"""The server extension in a real in-process Jupyter server (pytest-jupyter), for the fuzz
tests of its endpoints; as tests/server/conftest.py does, importing pytest-jupyter here gives
only this directory its fixtures and its async-test hooks."""

from __future__ import annotations

import pytest
from pytest_jupyter.jupyter_server import *  # noqa: F403
from traitlets.config import Config


@pytest.fixture
def jp_server_config() -> Config:
    """Enable the extension the way the installed config file does."""
    return Config({"ServerApp": {"jpserver_extensions": {"jupyter_mlprod": True}}})
