"""The notebook's run history for the lab: ``GET mlprod/runs``.

Summaries come from run_summary.py; the run directories on disk are the record, nothing
here is kept in memory.
"""

from __future__ import annotations

import asyncio

from jupyter_server.auth.decorator import authorized
from tornado import web

from .handlers import DEFAULT_RUNS_DIR, MlprodHandler
from .responses import ApiError
from .run_summary import list_runs


class RunsHandler(MlprodHandler):
    """``GET mlprod/runs?path=<notebook>[&runs_dir=<dir>]``: the notebook's runs, newest first."""

    @web.authenticated
    @authorized("read", "contents")
    async def get(self) -> None:
        """Answer ``{"notebook", "runs_dir", "runs": [summary, ...]}``."""
        notebook = self.notebook_path({"path": self.get_query_argument("path", "")})
        requested = self.get_query_argument("runs_dir", "") or self.shown(
            notebook.parent / DEFAULT_RUNS_DIR
        )
        runs_dir = self.confined(requested, "runs_dir")
        if runs_dir.exists() and not runs_dir.is_dir():
            raise ApiError(400, f"runs_dir {requested!r} is a file; choose a directory")
        runs = await asyncio.to_thread(list_runs, runs_dir, self.root_dir, notebook)
        self.finish(
            {"notebook": self.shown(notebook), "runs_dir": self.shown(runs_dir), "runs": runs}
        )
