"""Fixtures for the server-extension tests: a real in-process Jupyter server with the
extension enabled (pytest-jupyter), and small tagged notebooks written into its root."""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import nbformat
import pytest
from notebooks import tiny_pipeline

# pytest-jupyter is not an auto-loading plugin; importing it here gives this directory its
# fixtures (jp_fetch, jp_serverapp, jp_root_dir, ...) and its async-test hooks only.
from pytest_jupyter.jupyter_server import *  # noqa: F403
from traitlets.config import Config

Call = Callable[..., Awaitable[tuple[int, dict[str, Any]]]]


@pytest.fixture
def jp_server_config() -> Config:
    """Enable the extension the way the installed config file does."""
    return Config({"ServerApp": {"jpserver_extensions": {"jupyter_mlprod": True}}})


def _tagged_notebook(*, skipped_threshold: bool = False) -> nbformat.NotebookNode:
    """The shared tiny pipeline on a DataFrame (see ``notebooks.tiny_pipeline``)."""
    return tiny_pipeline(skipped_threshold=skipped_threshold, frame=True, title="# Tiny pipeline")


@pytest.fixture
def make_notebook() -> Callable[..., nbformat.NotebookNode]:
    """The tagged-notebook builder (see ``_tagged_notebook``)."""
    return _tagged_notebook


@pytest.fixture
def put_notebook(jp_root_dir: Path) -> Callable[..., Path]:
    """``put_notebook("dir/nb.ipynb", skipped_threshold=False)`` writes into the server root."""

    def _put(relative: str, **options: bool) -> Path:
        path = jp_root_dir / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        nbformat.write(_tagged_notebook(**options), str(path))
        return path

    return _put


@pytest.fixture
def call(jp_fetch: Any) -> Call:
    """``await call("POST", "analyse", body={...})`` → ``(status, json body)``, never raising."""

    async def _call(
        method: str, *parts: str, body: Any = None, headers: dict[str, str] | None = None
    ) -> tuple[int, dict[str, Any]]:
        kwargs: dict[str, Any] = {"method": method, "raise_error": False}
        if body is not None:
            kwargs["body"] = body if isinstance(body, str) else json.dumps(body)
        elif method == "POST":
            kwargs["body"] = "{}"
        response = await jp_fetch("mlprod", *parts, headers=headers, **kwargs)
        text = response.body.decode() if response.body else "{}"
        return response.code, json.loads(text)

    return _call
