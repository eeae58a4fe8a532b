"""The Jupyter server extension: REST handlers under ``<base_url>mlprod/`` for the lab front end.

Enabled by ``jupyter-config/server-config/jupyter_mlprod.json`` (installed into
``etc/jupyter/jupyter_server_config.d/``); ``jupyter server extension list`` shows it. The
API is documented in docs/ARCHITECTURE.md ("REST API of the server extension").
"""

from __future__ import annotations

from typing import Any

from jupyter_server.utils import url_path_join

from .handlers import (
    JOBS_SETTING,
    AnalyseHandler,
    CapabilitiesHandler,
    ConvertHandler,
    JobHandler,
    RunHandler,
    VerifyHandler,
)
from .jobs import JobRegistry
from .models import ModelsHandler, PromoteHandler, RollbackHandler
from .runs_index import RunsHandler


def _jupyter_server_extension_points() -> list[dict[str, str]]:
    return [{"module": "jupyter_mlprod.server"}]


def _load_jupyter_server_extension(server_app: Any) -> None:
    """Register the ``mlprod/`` handlers with the server's web application."""
    web_app = server_app.web_app
    base_url = web_app.settings["base_url"]
    web_app.settings[JOBS_SETTING] = JobRegistry()
    routes: list[tuple[str, type]] = [
        ("capabilities", CapabilitiesHandler),
        ("analyse", AnalyseHandler),
        ("convert", ConvertHandler),
        ("run", RunHandler),
        ("verify", VerifyHandler),
        (r"jobs/(?P<job_id>[^/]+)", JobHandler),
        ("runs", RunsHandler),
        ("models", ModelsHandler),
        ("models/promote", PromoteHandler),
        ("models/rollback", RollbackHandler),
    ]
    web_app.add_handlers(
        ".*$", [(url_path_join(base_url, "mlprod", route), handler) for route, handler in routes]
    )
    server_app.log.info("jupyter-mlprod: REST API at %s", url_path_join(base_url, "mlprod/"))
