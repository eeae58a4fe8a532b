"""REST handlers of the server extension (contract: docs/ARCHITECTURE.md, "REST API").

Each handler reads and checks its JSON body, confines every path to the server's root
directory, and calls the same Python API as the CLI. Besides authentication (token, XSRF),
each action is authorised like Jupyter's own APIs, so a server with a restrictive authorizer
(e.g. read-only users) keeps its rules: analysing reads contents, converting writes them,
runs and verifications execute code in kernels and write their records.

Blocking work (libcst analysis, code generation, papermill) never runs on the event loop:
analysis and conversion go to a worker thread and are awaited; runs and verifications
become jobs that the browser polls.
"""

from __future__ import annotations

import asyncio
import functools
import json
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from jupyter_server.auth.decorator import authorized
from jupyter_server.base.handlers import APIHandler
from tornado import web

from .. import __version__
from ..errors import (
    CellError,
    ConversionError,
    ForeignOutputError,
    MlprodError,
    NotebookError,
    OutputExistsError,
)
from ..notebook import MAX_JSON_DEPTH
from ..runtime.errors import InputError
from ..runtime.json_input import decode_json
from .jobs import JobOutcome, JobRegistry, Progress
from .paths import confine, is_hidden, relative_to_root, strip_root
from .responses import ApiError

if TYPE_CHECKING:
    from ..notebook import Notebook

#: Where runs go when the request does not say: next to the notebook (runs/record.py).
DEFAULT_RUNS_DIR = "runs"

#: Key of the :class:`JobRegistry` in the tornado application settings.
JOBS_SETTING = "mlprod_jobs"


class MlprodHandler(APIHandler):
    """Shared plumbing: JSON bodies, confined paths, ``{"message"}`` errors."""

    @property
    def root_dir(self) -> Path:
        """The directory every request path is confined to."""
        return Path(self.settings["server_root_dir"]).expanduser().resolve()

    def write_error(self, status_code: int, **kwargs: Any) -> None:
        """Answer our own refusals with their JSON body; defer to Jupyter for the rest."""
        exc_info = kwargs.get("exc_info")
        error = exc_info[1] if exc_info else None
        if isinstance(error, ApiError):
            self.set_header("Content-Type", "application/json")
            self.finish(json.dumps(error.body()))
            return
        super().write_error(status_code, **kwargs)

    def json_body(self) -> dict[str, Any]:
        """The request body as a JSON object, or a 400 saying what is wrong with it.

        Decoded by the runtime's one JSON decoder (stdlib only, light to import), with the
        nesting a notebook may have on disk plus the two levels the body wraps it in.
        """
        try:
            body = decode_json(self.request.body or b"{}", max_depth=MAX_JSON_DEPTH + 2)
        except InputError as error:
            if str(error).startswith("malformed JSON"):
                raise ApiError(400, "the request body is not valid JSON") from None
            raise ApiError(400, f"the request body is not usable: {error}") from None
        if not isinstance(body, dict):
            raise ApiError(400, "the request body must be a JSON object")
        return body

    def confined(self, requested: object, what: str) -> Path:
        """A request path resolved inside the root, refused as Jupyter's file API would.

        Hidden files and directories are refused unless the server allows them
        (``ContentsManager.allow_hidden``), as for Jupyter's own contents API: converting
        with ``force`` into ``.ssh`` must not be possible from a click.
        """
        path = confine(self.root_dir, requested, what=what)
        if is_hidden(self.root_dir, path) and not self.contents_manager.allow_hidden:
            raise ApiError(
                403,
                f"{what} {requested!r} is hidden (a name starts with '.'); "
                "the server is configured not to touch hidden files",
            )
        return path

    def notebook_path(self, body: dict[str, Any], *, must_exist: bool = True) -> Path:
        """The body's ``path``, confined to the root; 404 when it must exist and does not."""
        path = self.confined(body.get("path"), "notebook")
        if must_exist and not path.is_file():
            raise ApiError(404, f"no such notebook: {body['path']}")
        return path

    def refuse(self, status: int, error: MlprodError, **extra: Any) -> ApiError:
        """An :class:`ApiError` carrying a tool error's one line, paths root-relative."""
        return ApiError(status, strip_root(str(error), self.root_dir), **extra)

    def shown(self, path: Path) -> str:
        """How answers name a confined path: relative to the root, POSIX separators."""
        return relative_to_root(self.root_dir, path)

    def runs_dir(self, body: dict[str, Any], notebook: Path) -> Path:
        """The body's ``runs_dir``, confined; default ``runs`` next to the notebook (as the CLI)."""
        requested = body.get("runs_dir") or self.shown(notebook.parent / DEFAULT_RUNS_DIR)
        return self.confined(requested, "runs_dir")

    @property
    def jobs(self) -> JobRegistry:
        """The server's job registry (created when the extension loads)."""
        registry: JobRegistry = self.settings[JOBS_SETTING]
        return registry


class CapabilitiesHandler(MlprodHandler):
    """``GET mlprod/capabilities``: what this server can do, so the UI hides the rest."""

    @web.authenticated
    async def get(self) -> None:
        """Answer the version and which optional features import."""
        # The first import of papermill takes seconds: keep it off the event loop.
        run = await asyncio.to_thread(runs_available, "execute")
        verify = await asyncio.to_thread(runs_available, "verify")
        self.finish({"version": __version__, "convert": True, "run": run, "verify": verify})


class AnalyseHandler(MlprodHandler):
    """``POST mlprod/analyse``: the ``check`` report for the notebook as edited."""

    @web.authenticated
    @authorized("read", "contents")
    async def post(self) -> None:
        """Analyse the posted notebook JSON (or the file on disk when none is posted)."""
        from ..notebook import load_notebook, notebook_from_json

        body = self.json_body()
        posted = body.get("notebook")
        path = self.notebook_path(body, must_exist=posted is None)
        shown = self.shown(path)
        try:
            if posted is None:
                notebook = await asyncio.to_thread(load_notebook, path)
            else:
                notebook = notebook_from_json(posted, shown)
            # Messages name the notebook as the browser does, not by its absolute path.
            report = await asyncio.to_thread(analyse_report, replace(notebook, path=shown))
        except MlprodError as error:
            # One line, never the notebook: the browser already has it.
            raise self.refuse(400, error, **problems_of(error)) from None
        report["notebook"] = shown
        self.finish(report)


class ConvertHandler(MlprodHandler):
    """``POST mlprod/convert``: generate the package for the notebook on disk."""

    @web.authenticated
    @authorized("write", "contents")
    async def post(self) -> None:
        """Convert; 409 when the output exists, 422 with problems when conversion fails."""
        body = self.json_body()
        path = self.notebook_path(body)
        out_dir = self.confined(body.get("output_dir"), "output_dir")
        if out_dir == path or out_dir in path.parents:
            raise ApiError(
                400,
                f"output_dir {body['output_dir']!r} would replace the notebook's own directory; "
                "choose a new directory such as "
                f"{self.shown(path.parent / (path.stem + '_package'))!r}",
            )
        name, lift_paths, force = (
            optional_str(body, "name"),
            flag(body, "lift_paths"),
            flag(body, "force"),
        )
        from ..convert import ConvertOptions, convert_notebook

        # predict input/output come from the notebook's metadata, which the UI saves first.
        options = ConvertOptions(
            name=name, predict_input=None, predict_output=None, lift_paths=lift_paths, force=force
        )
        try:
            result = await asyncio.to_thread(convert_notebook, path, out_dir, options)
        except ForeignOutputError:
            raise ApiError(
                409,
                f"{self.shown(out_dir)} exists and was not generated by nb2prod; force only "
                "replaces nb2prod's own packages: choose another output directory",
            ) from None
        except OutputExistsError:
            raise ApiError(
                409,
                f"{self.shown(out_dir)} exists; choose another output directory or "
                "convert with force to replace it",
            ) from None
        except ConversionError as error:
            problems = [problem.to_json() for problem in error.problems]
            raise self.refuse(422, error, problems=problems) from None
        except CellError as error:
            raise self.refuse(422, error, **problems_of(error)) from None
        except NotebookError as error:
            raise self.refuse(400, error) from None
        except MlprodError as error:
            raise self.refuse(422, error) from None
        self.finish(
            {
                "output_dir": self.shown(Path(result.out_dir).resolve()),
                "files": sorted(str(name) for name in result.files),
                "warnings": list(result.warnings),
            }
        )


class RunHandler(MlprodHandler):
    """``POST mlprod/run``: start a headless papermill run as a job."""

    @web.authenticated
    @authorized("execute", "kernels")
    @authorized("write", "contents")
    async def post(self) -> None:
        """Check the request, submit the job, answer 202 with its id."""
        body = self.json_body()
        path = self.notebook_path(body)
        parameters = parameters_of(body)
        runs_dir = self.runs_dir(body, path)
        if not await asyncio.to_thread(runs_available, "execute"):
            raise ApiError(501, RUN_EXTRA_MESSAGE)
        root = self.root_dir

        def work(progress: Progress) -> JobOutcome:
            return run_job(path, parameters, runs_dir, progress, root)

        self.set_status(202)
        self.finish({"job_id": self.jobs.submit("run", work)})


class VerifyHandler(MlprodHandler):
    """``POST mlprod/verify``: start a notebook-versus-package verification as a job."""

    @web.authenticated
    @authorized("execute", "kernels")
    @authorized("write", "contents")
    async def post(self) -> None:
        """Check the request, submit the job, answer 202 with its id."""
        body = self.json_body()
        path = self.notebook_path(body)
        parameters = parameters_of(body)
        rtol = body.get("rtol", 1e-9)
        if isinstance(rtol, bool) or not isinstance(rtol, int | float) or rtol < 0:
            raise ApiError(400, "`rtol` must be a non-negative number")
        runs_dir = self.runs_dir(body, path)
        if not await asyncio.to_thread(runs_available, "verify"):
            raise ApiError(501, RUN_EXTRA_MESSAGE)
        root = self.root_dir

        def work(progress: Progress) -> JobOutcome:
            return verify_job(path, parameters, float(rtol), runs_dir, progress, root)

        self.set_status(202)
        self.finish({"job_id": self.jobs.submit("verify", work)})


class JobHandler(MlprodHandler):
    """``GET mlprod/jobs/<job_id>``: a job's status, progress and result."""

    @web.authenticated
    @authorized("read", "kernels")
    def get(self, job_id: str) -> None:
        """Answer the job's snapshot, or 404 for an id this server does not know."""
        snapshot = self.jobs.snapshot(job_id)
        if snapshot is None:
            raise ApiError(
                404, f"no such job: {job_id} (jobs are forgotten when the server restarts)"
            )
        # Every message (a job's, its tool error's, a crash's) names files relative to the
        # root, as the other endpoints' errors do.
        if isinstance(snapshot["message"], str):
            snapshot["message"] = strip_root(snapshot["message"], self.root_dir)
        self.finish(snapshot)


RUN_EXTRA_MESSAGE = (
    "headless runs need papermill and a kernel: pip install 'jupyter-mlprod[run]' "
    "and restart the server"
)


@functools.cache
def runs_available(module: str) -> bool:
    """Whether ``jupyter_mlprod.runs.<module>`` and papermill import on this server.

    Cached: installing the ``run`` extra takes a server restart anyway.
    """
    try:
        import papermill  # noqa: F401

        __import__(f"jupyter_mlprod.runs.{module}")
    except ImportError:
        return False
    return True


def analyse_report(notebook: Notebook) -> dict[str, Any]:
    """The ``check`` report (schema ``jupyter-mlprod/check``) of an already-read notebook."""
    from ..analysis import AnalysisOptions, analyse_notebook
    from ..report import report_json

    return dict(report_json(analyse_notebook(notebook, AnalysisOptions())))


def problems_of(error: MlprodError) -> dict[str, Any]:
    """``{"problems": [...]}`` locating a cell error for the UI's jump-to-cell; else ``{}``."""
    if not isinstance(error, CellError):
        return {}
    from ..analysis import ERROR, Problem

    problem = Problem(
        ERROR,
        "notebook",
        error.problem,
        error.cell_index,
        error.cell_id,
        error.line,
        error.column,
        error.hint,
    )
    return {"problems": [problem.to_json()]}


def run_job(
    path: Path, parameters: dict[str, Any], runs_dir: Path, progress: Progress, root: Path
) -> JobOutcome:
    """Run the notebook with papermill; a failing cell still yields its run's summary."""
    from ..errors import ExecutionError
    from ..runs.execute import run_notebook
    from .run_summary import run_summary

    progress.phase("executing notebook")
    try:
        record = run_notebook(path, parameters, runs_dir, on_cell=progress)
    except ExecutionError as error:
        return JobOutcome(False, run_summary(Path(error.executed_path).parent, root), str(error))
    # run_notebook raises on a failing cell, so returning means the run went through.
    summary = run_summary(Path(record["run_dir"]), root)
    return JobOutcome(True, summary, f"run {record.get('run_id', '')} finished".strip())


def verify_job(
    path: Path,
    parameters: dict[str, Any],
    rtol: float,
    runs_dir: Path,
    progress: Progress,
    root: Path,
) -> JobOutcome:
    """Verify that the generated package reproduces the notebook's predictions."""
    from ..errors import ExecutionError
    from ..runs.verify import VerifyFailure, verify_notebook
    from .run_summary import run_summary

    try:
        outcome = verify_notebook(
            path,
            parameters,
            rtol=rtol,
            runs_dir=runs_dir,
            on_cell=progress,
            on_phase=progress.phase,
        )
    except ExecutionError as error:
        return JobOutcome(False, run_summary(Path(error.executed_path).parent, root), str(error))
    except VerifyFailure as error:
        return JobOutcome(False, run_summary(error.run_dir, root), str(error))
    if outcome.ok:
        default = f"predictions agree on {outcome.rows} rows"
    else:
        default = f"predictions differ in {outcome.mismatches} of {outcome.rows} rows"
    summary = run_summary(Path(outcome.run_dir), root)
    return JobOutcome(outcome.ok, summary, outcome.message or default)


def parameters_of(body: dict[str, Any]) -> dict[str, Any]:
    """The body's ``parameters`` object (default empty), or a 400."""
    parameters = body.get("parameters", {})
    if not isinstance(parameters, dict):
        raise ApiError(400, "`parameters` must be an object of {name: value}")
    return parameters


def optional_str(body: dict[str, Any], key: str) -> str | None:
    """The body's string field ``key``, None when absent, empty or null; else a 400."""
    value = body.get(key)
    if value is None or value == "":
        return None
    if not isinstance(value, str):
        raise ApiError(400, f"`{key}` must be a string")
    return value


def flag(body: dict[str, Any], key: str) -> bool:
    """The body's boolean field ``key`` (default false); a 400 for anything but a bool."""
    value = body.get(key, False)
    if not isinstance(value, bool):
        raise ApiError(400, f"`{key}` must be true or false")
    return value
