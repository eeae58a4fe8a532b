"""A server configured with ``ContentsManager.allow_hidden`` may convert into dot-dirs."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from traitlets.config import Config


@pytest.fixture
def jp_server_config() -> Config:
    return Config(
        {
            "ServerApp": {"jpserver_extensions": {"jupyter_mlprod": True}},
            "ContentsManager": {"allow_hidden": True},
        }
    )


async def test_hidden_paths_are_allowed_when_the_server_allows_them(
    call: Any, put_notebook: Any, jp_root_dir: Path
) -> None:
    put_notebook(".work/tiny.ipynb")
    status, body = await call("POST", "analyse", body={"path": ".work/tiny.ipynb"})
    assert status == 200, body
    status, body = await call(
        "POST", "convert", body={"path": ".work/tiny.ipynb", "output_dir": ".work/pkg"}
    )
    assert status == 200, body
    assert (jp_root_dir / ".work" / "pkg" / "pyproject.toml").is_file()
