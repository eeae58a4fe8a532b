"""A server's own access rules (authorizer, hidden files) hold on the mlprod API too."""

from __future__ import annotations

from typing import Any

import pytest
from jupyter_server.auth import Authorizer
from traitlets.config import Config


class ReadOnlyAuthorizer(Authorizer):
    """Lets users read but never write files or execute code (a "viewer" role)."""

    def is_authorized(self, handler: Any, user: Any, action: str, resource: str) -> bool:
        return action == "read"


@pytest.fixture
def jp_server_config() -> Config:
    return Config(
        {
            "ServerApp": {
                "jpserver_extensions": {"jupyter_mlprod": True},
                "authorizer_class": ReadOnlyAuthorizer,
            }
        }
    )


async def test_read_only_user_may_analyse(call: Any, put_notebook: Any) -> None:
    put_notebook("tiny.ipynb")
    status, body = await call("POST", "analyse", body={"path": "tiny.ipynb"})
    assert status == 200, body
    assert body["notebook"] == "tiny.ipynb"


@pytest.mark.parametrize(
    ("endpoint", "extra"),
    [("convert", {"output_dir": "out"}), ("run", {}), ("verify", {})],
)
async def test_read_only_user_may_not_write_or_execute(
    call: Any, put_notebook: Any, jp_root_dir: Any, endpoint: str, extra: dict[str, Any]
) -> None:
    put_notebook("tiny.ipynb")
    status, body = await call("POST", endpoint, body={"path": "tiny.ipynb", **extra})
    assert status == 403, body
    assert "not authorized" in body["message"]
    assert not (jp_root_dir / "out").exists()
    assert not (jp_root_dir / "runs").exists()
