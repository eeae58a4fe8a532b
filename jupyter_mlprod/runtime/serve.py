"""The HTTP app: a Starlette application over a :class:`ModelServer`, run by uvicorn.

Why Starlette and uvicorn: both are small, typed, well maintained and built on ASGI, the
standard interface of Python async servers, so the app can also be mounted in another ASGI
app or run under gunicorn/hypercorn unchanged. Starlette gives routing, streaming request
bodies (needed to enforce the body limit without buffering an oversized upload) and
background tasks (shadow predictions run after the response is sent) with no framework
magic; uvicorn is the reference ASGI server. Prediction itself is CPU work, so it runs in
Starlette's thread pool and never blocks the event loop.

Endpoints::

    POST /predict   JSON records, {"columns": [...], "data": [[...]]} or {"instances": [...]}
    GET  /health    {"status": "ok", "version": "v3"}
    GET  /models    versions, aliases and what is being served
    GET  /metrics   Prometheus text format (with the live monitor's drift gauges)
    GET  /monitor   drift of each served version's window of rows (live_monitor.py)
    GET  /alerts    the alert rules of ``--alerts`` and their states (alerts.py)
    POST /reload    re-resolve the model references and load new versions without restart
                    (off loopback, or with a token set: ``Authorization: Bearer <token>``)
    POST /retrain   run ``train`` in a child process (only with ``serve --allow-retrain``)
    GET  /retrain/<id>  that job's status and the version it produced

Every response carries ``X-Model-Version``. Validation errors are 422 with a body naming
the column; bodies never echo the request payload. What a connection may cost (head size,
read and idle timeouts, connection count) is http_limits.py's.

The endpoints are module-level functions that find their state in ``request.app.state``
(``server``: the :class:`ModelServer`; ``retrainer``, ``retrain_token`` and ``loopback``), so
:func:`create_app` only builds that state and wires the routes. Metrics are metrics.py's,
canary and shadow routing routing.py's, the window of served rows and its drift
live_monitor.py's, alert rules alerts.py's (which call back into :class:`ModelServer` to stop
a canary or roll production back).
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import functools
import hashlib
import hmac
import json
import os
import random
import sys
import threading
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, TypeVar

from starlette.applications import Starlette
from starlette.background import BackgroundTasks
from starlette.concurrency import run_in_threadpool
from starlette.requests import ClientDisconnect, Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import Route

from .alerts import AlertConfig, AlertEngine, load_alerts
from .batching import Answer, MicroBatcher, answer_alone, answer_together
from .drift import DriftReport
from .errors import InputError, ModelError, ParameterError, PredictionError, SchemaError
from .http_limits import ConnectionLimits
from .live_monitor import DEFAULT_INTERVAL, DEFAULT_WINDOW, LiveMonitor
from .metrics import PREDICT_PATH, Metrics
from .predicting import call_predict
from .provenance import utc_now
from .retrain import TOKEN_ENV, RetrainBusy, Retrainer, is_loopback, token_problem
from .retrain import parse_request as parse_retrain_request
from .routing import Canary, Serving, compare_shadow
from .store import DEFAULT_ALIAS, LoadedModel, ModelStore
from .store_follower import StoreFollower

DEFAULT_MAX_BODY_BYTES = 1 << 20
_T = TypeVar("_T")
Endpoint = Callable[[Request], Awaitable[Response]]


class JsonLog:
    """An append-only JSON-lines file shared by request threads."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._lock = threading.Lock()

    def write(self, record: dict[str, Any]) -> None:
        """Append one record as one line."""
        line = json.dumps(record, default=str) + "\n"
        with self._lock, open(self.path, "a", encoding="utf-8") as handle:
            handle.write(line)


class _BodyTooLarge(Exception):
    """The request body is over the server's ``max_body_bytes`` (answered with 413)."""


class _BodyCut(Exception):
    """The client went away (or was cut off by a read timeout) before its body arrived."""


class ModelServer:
    """The state behind the app: the store, what is served, metrics and logs."""

    def __init__(
        self,
        store: ModelStore,
        predict_function: Callable[[Any, Any], Any],
        *,
        model_ref: str | None,
        shadow_ref: str | None,
        canary: Canary | None,
        max_body_bytes: int,
        prediction_log: Path | None,
        shadow_log: Path | None,
        predict_threads: int = 2,
        micro_batch: bool = True,
        monitor: LiveMonitor | None = None,
        alerts: AlertConfig | None = None,
        follow_interval: float = 0.0,
    ) -> None:
        self.store = store
        self.predict_function = predict_function
        self.model_ref = model_ref
        self.shadow_ref = shadow_ref
        self.canary_spec = canary
        self.max_body_bytes = max_body_bytes
        self.metrics = Metrics()
        self.prediction_log = JsonLog(prediction_log) if prediction_log else None
        self.shadow_log = JsonLog(shadow_log or store.root / "shadow.jsonl") if shadow_ref else None
        self._cache: dict[str, LoadedModel] = {}
        self._reload_lock = threading.Lock()
        self.predict_threads = predict_threads
        self.pool = ThreadPoolExecutor(predict_threads, thread_name_prefix="mlprod-predict")
        self.micro_batch = micro_batch
        self._batcher: MicroBatcher | None = None
        self.serving = self._resolve()
        self.monitor = monitor
        self.alerts = AlertEngine(alerts, self) if alerts is not None else None
        self.follower = StoreFollower(self.follow, follow_interval) if follow_interval else None
        # Request IDs come from a generator seeded once from the OS, not from uuid4(): that
        # reads os.urandom, which releases the GIL, and on the event loop, with prediction
        # threads busy, taking it back waits for a thread switch (up to 5 ms; py-spy showed
        # two thirds of the loop's busy time there under load). Each process (and each
        # forked worker) builds its own server, so each has its own seed.
        self._request_ids = random.Random()

    def new_request_id(self) -> str:
        """A fresh request ID: 32 hex digits, as a UUID's."""
        return f"{self._request_ids.getrandbits(128):032x}"

    async def in_pool(self, function: Callable[..., _T], *args: Any) -> _T:
        """Run blocking work in the prediction thread pool.

        The pool is small on purpose: scikit-learn and pandas hold the GIL for much of a
        prediction, so many threads only add contention; a few still overlap the parts
        that release it. A plain executor rather than anyio's thread runner: its cancel
        scopes and capacity limiter were a third of the event loop's time per request
        (cProfile), and the pool's size already bounds how many predictions run at once.
        """
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self.pool, functools.partial(function, *args))

    def batches(self, model: LoadedModel) -> bool:
        """Whether requests for this version may share a predict() call (see batching.py)."""
        return self.micro_batch and bool(model.manifest.get("row_independent"))

    def bound_predict(self, model: LoadedModel) -> Callable[[Any], Any]:
        """The package's ``predict()`` with this version's artifacts, failures as one line."""
        return functools.partial(call_predict, self.predict_function, model.artifacts)

    async def answer(self, model: LoadedModel, body: bytes) -> Answer:
        """Decode, validate and predict one request body, off the event loop: together with
        concurrent requests for a version that allows it, else on its own.

        Raises:
            InputError, SchemaError, PredictionError: this request's own error.
        """
        if not self.batches(model):
            return await self.in_pool(answer_alone, body, model.schema, self.bound_predict(model))
        if self._batcher is None:
            self._batcher = MicroBatcher(self.in_pool)
        answer_batch = functools.partial(
            answer_together, schema=model.schema, predict=self.bound_predict(model)
        )
        return await self._batcher.submit(model.version, answer_batch, body)

    def _load(self, ref: str | None) -> LoadedModel:
        version = self.store.resolve(ref)
        # Versions are immutable, so a loaded one can be reused across reloads.
        if version not in self._cache:
            self._cache[version] = self.store.load(version)
        return self._cache[version]

    def _resolve(self) -> Serving:
        primary = self._load(self.model_ref)
        shadow = self._load(self.shadow_ref) if self.shadow_ref else None
        canary = self._load(self.canary_spec.ref) if self.canary_spec else None
        self._cache = {m.version: m for m in (primary, shadow, canary) if m is not None}
        return Serving(
            primary, shadow, canary, self.canary_spec.percent if self.canary_spec else 0.0
        )

    def reload(self) -> tuple[Serving, Serving]:
        """Re-resolve the references; returns ``(before, after)``."""
        with self._reload_lock:
            before = self.serving
            self.serving = self._resolve()
            return before, self.serving

    def follow(self) -> bool:
        """Reload when a reference now resolves to another version than the one served (an
        alias moved); returns whether it reloaded. Cheap when nothing moved: the alias table
        is read, no model."""
        serving = self.serving
        wanted = (
            self.store.resolve(self.model_ref),
            self.store.resolve(self.canary_spec.ref) if self.canary_spec else None,
            self.store.resolve(self.shadow_ref) if self.shadow_ref else None,
        )
        if wanted == serving.versions():
            return False
        before, after = self.reload()
        return before.versions() != after.versions()

    def describe(self) -> dict[str, Any]:
        """What is served, for /models and /reload."""
        serving = self.serving
        return {
            "model": {"ref": self.model_ref or "default", "version": serving.primary.version},
            "shadow": (
                {"ref": self.shadow_ref, "version": serving.shadow.version}
                if serving.shadow
                else None
            ),
            "canary": (
                {
                    "ref": self.canary_spec.ref,
                    "version": serving.canary.version,
                    "percent": serving.canary_percent,
                }
                if serving.canary and self.canary_spec
                else None
            ),
        }

    def list_models(self) -> dict[str, Any]:
        """Versions with their metrics, aliases and what is served, for ``GET /models``."""
        versions = []
        # A broken version is listed with its problem; the others stay listed.
        for stored in self.store.stored_versions():
            manifest = stored.manifest or {}
            versions.append(
                {
                    "version": stored.version,
                    "created": manifest.get("created"),
                    "metrics": manifest.get("metrics", {}),
                    **({"problem": stored.problem} if stored.problem else {}),
                }
            )
        aliases = {name: entry.get("version") for name, entry in self.store.aliases().items()}
        return {"serving": self.describe(), "versions": versions, "aliases": aliases}

    def after_response(
        self,
        body: bytes,
        record: dict[str, Any],
        shadow: LoadedModel | None,
        answer: Answer,
    ) -> None:
        """The logging of one answered request, after its response is sent: the prediction
        log's line (``record`` plus the body's hash) and the shadow comparison, if any.

        The hash is taken here, in the background task's thread: hashing more than 2 KiB
        releases the GIL, which on the event loop costs a thread switch (see new_request_id).
        """
        input_sha256 = hashlib.sha256(body).hexdigest()
        if self.prediction_log is not None:
            self.prediction_log.write({**record, "input_sha256": input_sha256})
        if shadow is not None:
            self.run_shadow(
                shadow,
                answer.payload,
                record["version"],
                answer.predictions,
                record["request_id"],
                input_sha256,
            )

    def run_shadow(
        self,
        shadow: LoadedModel,
        payload: Any,
        served_version: str,
        served: list[Any],
        request_id: str,
        input_sha256: str,
    ) -> None:
        """Predict with the shadow version and log how it compares; never raises."""
        record: dict[str, Any] = {
            "time": utc_now(),
            "request_id": request_id,
            "input_sha256": input_sha256,
            "served_version": served_version,
            "shadow_version": shadow.version,
        }
        started = time.perf_counter()
        outcome = compare_shadow(shadow, payload, served, self.bound_predict(shadow))
        record.update(outcome)
        self.metrics.shadow(
            shadow.version, int(outcome.get("disagreements", 0)), failed="error" in outcome
        )
        record["latency_ms"] = round((time.perf_counter() - started) * 1000, 3)
        if self.alerts is not None and "error" not in outcome:
            self.alerts.windows.record_shadow(
                shadow.version, int(outcome["n_rows"]), int(outcome["disagreements"])
            )
        if self.shadow_log is not None:
            self.shadow_log.write(record)

    # ------------------------------------------- what alert rules read and do (alerts.Server)

    def arm_version(self, arm: str) -> str | None:
        """The version an arm serves: ``production`` the primary, ``canary`` the canary while
        it gets traffic."""
        serving = self.serving
        if arm == "canary":
            live = serving.canary is not None and serving.canary_percent > 0
            return serving.canary.version if live and serving.canary else None
        return serving.primary.version

    def shadow_version(self) -> str | None:
        """The shadow version, if any."""
        return self.serving.shadow.version if self.serving.shadow else None

    def drift_report(self, version: str) -> DriftReport | None:
        """The live monitor's latest drift report of a version's window."""
        return self.monitor.drifted(version)[1] if self.monitor is not None else None

    def stop_canary(self, reason: Mapping[str, Any]) -> str:
        """Send the canary no more traffic, now, and record it in the store's history.

        The canary stays at 0 % across reloads; restart the server to give it traffic again.
        """
        with self._reload_lock:
            serving = self.serving
            if serving.canary is None or self.canary_spec is None:
                return "no canary to stop"
            was = serving.canary_percent
            self.canary_spec = Canary(self.canary_spec.ref, 0.0)
            self.serving = dataclasses.replace(serving, canary_percent=0.0)
        self.store.record("canary_stopped", serving.canary.version, {**reason, "percent": was})
        return f"canary {serving.canary.version} traffic set to 0% (was {was:g}%)"

    def rollback_production(self, reason: Mapping[str, Any]) -> str:
        """Move the ``production`` alias back one version (recorded with ``reason``) and
        reload, so the previous version is served without a restart.

        Raises:
            ModelError: The alias has no earlier version, or the reload failed.
        """
        restored, rolled_from = self.store.rollback(DEFAULT_ALIAS, reason)
        _, after = self.reload()
        return (
            f"{DEFAULT_ALIAS} rolled back from {rolled_from} to {restored}; "
            f"serving {after.primary.version}"
        )


# ------------------------------------------------------------------- endpoints


def _server(request: Request) -> ModelServer:
    server: ModelServer = request.app.state.server
    return server


def _reply(
    request: Request, body: Any, status: int = 200, version: str | None = None, **headers: str
) -> JSONResponse:
    """A JSON response carrying ``X-Model-Version`` (the primary version unless given)."""
    headers["X-Model-Version"] = version or _server(request).serving.primary.version
    # Which process answered: with serve --workers N, or several replicas, each follows the
    # store on its own (store_follower.py).
    headers["X-Server-PID"] = str(os.getpid())
    return JSONResponse(body, status_code=status, headers=headers)


def _instrumented(path: str, endpoint: Endpoint) -> Endpoint:
    """The endpoint, counted and timed in the metrics under ``path``."""

    @functools.wraps(endpoint)
    async def counted(request: Request) -> Response:
        started = time.perf_counter()
        response = await endpoint(request)
        seconds = time.perf_counter() - started
        server = _server(request)
        server.metrics.observe(path, response.status_code, seconds)
        if server.alerts is not None and path == PREDICT_PATH:
            version = response.headers.get("x-model-version", "")
            server.alerts.windows.record(version, response.status_code, seconds)
        return response

    return counted


async def _read_body(request: Request) -> bytes:
    """The request body, refused past the server's limit without buffering more of it.

    Raises:
        _BodyTooLarge: The body (declared or streamed) is over ``max_body_bytes``.
        _BodyCut: The connection closed before the whole body arrived.
    """
    limit = _server(request).max_body_bytes
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > limit:
        raise _BodyTooLarge
    # Content-Length can be absent (chunked) or wrong, so count the streamed bytes too.
    chunks, size = [], 0
    try:
        async for chunk in request.stream():
            size += len(chunk)
            if size > limit:
                raise _BodyTooLarge
            chunks.append(chunk)
    except ClientDisconnect:
        raise _BodyCut from None
    return b"".join(chunks)


# Nobody reads the answer to a request whose client has gone; it only keeps the log clean.
_CUT = {"error": "the connection closed before the request body arrived"}


async def predict(request: Request) -> Response:
    """``POST /predict``: predictions for the request's rows, by the version routed to."""
    server = _server(request)
    started = time.perf_counter()
    request_id = request.headers.get("x-request-id") or server.new_request_id()
    serving = server.serving
    model = serving.choose(request_id)
    version = model.version
    try:
        body = await _read_body(request)
    except _BodyTooLarge:
        limit = server.max_body_bytes
        return _reply(request, {"error": f"request body larger than {limit} bytes"}, 413, version)
    except _BodyCut:
        return _reply(request, _CUT, 400, version)
    try:
        # JSON decoding, validation and prediction are CPU work: off the event loop, in
        # a small pool (see ModelServer.predict_threads).
        answer = await server.answer(model, body)
    except InputError as error:
        return _reply(request, {"error": str(error)}, 400, version)
    except SchemaError as error:
        return _reply(
            request,
            {"error": str(error), "column": error.column, "problem": error.problem},
            422,
            version,
        )
    except PredictionError as error:
        # The model's own message may quote input values: log it, do not return it.
        print(f"{__package__}: {error}", file=sys.stderr)
        if error.cause in ("ValueError", "TypeError"):
            problem = f"the model rejected this input ({error.cause}); see the server log"
            return _reply(request, {"error": problem}, 422, version)
        return _reply(request, {"error": "prediction failed; see the server log"}, 500, version)
    server.metrics.prediction(version, answer.rows)
    if server.monitor is not None:
        # References only: the window is tested later, in live_monitor.py's thread.
        server.monitor.add(model, answer.payload, answer.predictions, answer.rows)
    # A canary request already served by the shadow version has nothing to compare.
    shadow = serving.shadow
    if shadow is None or shadow.version == version or server.shadow_log is None:
        shadow = None
    tasks = None
    if shadow is not None or server.prediction_log is not None:
        record = {
            "time": utc_now(),
            "request_id": request_id,
            "version": version,
            "latency_ms": round((time.perf_counter() - started) * 1000, 3),
            "n_rows": answer.rows,
        }
        tasks = BackgroundTasks()
        tasks.add_task(server.after_response, body, record, shadow, answer)
    response = _reply(
        request, {"predictions": answer.predictions, "version": version}, 200, version
    )
    response.headers["X-Request-ID"] = request_id
    if tasks is not None:
        response.background = tasks
    return response


async def health(request: Request) -> Response:
    """``GET /health``: the server is up, and the version it serves."""
    return _reply(request, {"status": "ok", "version": _server(request).serving.primary.version})


async def models(request: Request) -> Response:
    """``GET /models``: versions, aliases and what is served."""
    try:
        return _reply(request, await run_in_threadpool(_server(request).list_models))
    except ModelError as error:
        return _reply(request, {"error": str(error)}, 500)


async def metrics(request: Request) -> Response:
    """``GET /metrics``: the Prometheus text page (not itself counted)."""
    server = _server(request)
    page = server.metrics.render()
    if server.monitor is not None:
        page += server.monitor.render()
    return PlainTextResponse(
        page,
        media_type="text/plain; version=0.0.4",
        headers={"X-Model-Version": server.serving.primary.version},
    )


async def monitor(request: Request) -> Response:
    """``GET /monitor``: the latest drift test of every served version's window of rows."""
    live: LiveMonitor | None = _server(request).monitor
    if live is None:
        return _reply(request, {"error": "monitoring is off (serve --monitor-window 0)"}, 404)
    return _reply(request, live.describe())


async def alerts(request: Request) -> Response:
    """``GET /alerts``: every alert rule with its state, value and last firing."""
    engine: AlertEngine | None = _server(request).alerts
    if engine is None:
        return _reply(request, {"rules": [], "file": None})
    return _reply(request, await run_in_threadpool(engine.describe))


async def reload(request: Request) -> Response:
    """``POST /reload``: re-resolve the references; on failure keep serving the old models.

    It changes what is served, so it takes the retrain token when one is set, and off
    loopback it is refused without one.
    """
    refused = _refusal(request)
    if refused is not None:
        return refused
    if request.app.state.retrain_token is None and not request.app.state.loopback:
        problem = f"/reload off loopback needs a token: start the server with {TOKEN_ENV} set"
        return _reply(request, {"error": problem}, 403)
    server = _server(request)
    try:
        before, after = await run_in_threadpool(server.reload)
    except ModelError as error:
        problem = f"reload failed, still serving the old models: {error}"
        return _reply(request, {"error": problem}, 500)
    changed = before.versions() != after.versions()
    return _reply(request, {"reloaded": True, "changed": changed, **server.describe()})


def _refusal(request: Request) -> Response | None:
    """401 when a token is set and the request does not carry it, else None."""
    token: str | None = request.app.state.retrain_token
    if token is None:
        return None
    given = request.headers.get("authorization", "")
    if hmac.compare_digest(given.encode(), f"Bearer {token}".encode()):
        return None
    problem = f"{request.url.path} needs Authorization: Bearer <token>"
    return _reply(request, {"error": problem}, 401)


def _retrainer_for(request: Request) -> Retrainer | Response:
    """The retrainer, or the refusal to answer with (off, or the token does not match)."""
    retrainer: Retrainer | None = request.app.state.retrainer
    if retrainer is None:
        problem = "retraining is off; start the server with --allow-retrain"
        return _reply(request, {"error": problem}, 403)
    refused = _refusal(request)
    return refused if refused is not None else retrainer


async def retrain(request: Request) -> Response:
    """``POST /retrain``: start ``train`` in a child process (202 with the job)."""
    allowed = _retrainer_for(request)
    if isinstance(allowed, Response):
        return allowed
    try:
        wanted = parse_retrain_request(await _read_body(request))
        job = await run_in_threadpool(allowed.start, *wanted)
    except _BodyTooLarge:
        limit = _server(request).max_body_bytes
        return _reply(request, {"error": f"request body larger than {limit} bytes"}, 413)
    except _BodyCut:
        return _reply(request, _CUT, 400)
    except (InputError, ParameterError) as error:
        return _reply(request, {"error": str(error)}, 400)
    except RetrainBusy as error:
        return _reply(request, {"error": str(error)}, 409)
    return _reply(request, job.describe(), 202, Location=f"/retrain/{job.id}")


async def retrain_status(request: Request) -> Response:
    """``GET /retrain/<id>``: that job's status and the version it produced."""
    allowed = _retrainer_for(request)
    if isinstance(allowed, Response):
        return allowed
    job = allowed.jobs.get(request.path_params["job"])
    if job is None:
        return _reply(request, {"error": "no such retrain job"}, 404)
    return _reply(request, job.describe())


@contextlib.asynccontextmanager
async def _lifespan(app: Starlette) -> AsyncIterator[None]:
    server: ModelServer = app.state.server
    background = [
        job for job in (server.monitor, server.alerts, server.follower) if job is not None
    ]
    for job in background:
        job.start()
    try:
        yield
    finally:
        for job in background:
            job.stop()
    retrainer: Retrainer | None = app.state.retrainer
    if retrainer is not None:
        retrainer.stop()  # a training child must not outlive the server


ROUTES = [
    Route(PREDICT_PATH, _instrumented(PREDICT_PATH, predict), methods=["POST"]),
    Route("/health", _instrumented("/health", health), methods=["GET"]),
    Route("/models", _instrumented("/models", models), methods=["GET"]),
    Route("/metrics", metrics, methods=["GET"]),
    Route("/monitor", _instrumented("/monitor", monitor), methods=["GET"]),
    Route("/alerts", _instrumented("/alerts", alerts), methods=["GET"]),
    Route("/reload", _instrumented("/reload", reload), methods=["POST"]),
    Route("/retrain", _instrumented("/retrain", retrain), methods=["POST"]),
    Route("/retrain/{job}", _instrumented("/retrain", retrain_status), methods=["GET"]),
]
"""Every endpoint; ``/retrain/<id>`` is counted under ``/retrain``."""


# ------------------------------------------------------------------------- app


def create_app(
    store_dir: str | os.PathLike[str],
    *,
    model_ref: str | None = None,
    shadow_ref: str | None = None,
    canary: Canary | None = None,
    max_body_bytes: int = DEFAULT_MAX_BODY_BYTES,
    prediction_log: str | os.PathLike[str] | None = None,
    shadow_log: str | os.PathLike[str] | None = None,
    predict_threads: int = 2,
    micro_batch: bool = True,
    allow_retrain: bool = False,
    retrain_token: str | None = None,
    loopback: bool = True,
    monitor_window: int = DEFAULT_WINDOW,
    monitor_interval: float = DEFAULT_INTERVAL,
    alerts: AlertConfig | str | os.PathLike[str] | None = None,
    follow_interval: float = 0.0,
) -> Starlette:
    """Build the Starlette app (used by ``serve`` and, in-process, by tests).

    Args:
        store_dir: The model store directory.
        model_ref: The served model (``vN``, alias, ``latest``); None means ``production``
            when that alias exists, else the latest version.
        shadow_ref: A version predicted on every request off the response path.
        canary: A version that receives a stable share of requests.
        max_body_bytes: Larger request bodies get 413.
        prediction_log: Append one JSON line per prediction request (opt-in).
        shadow_log: Where shadow results go (default ``shadow.jsonl`` in the store).
        predict_threads: How many predictions may run at once (threads).
        micro_batch: Let concurrent requests share one predict() call for versions whose
            predict() treats rows independently (see batching.py).
        allow_retrain: Serve ``POST /retrain`` (see retrain.py); otherwise it answers 403.
        retrain_token: If set, ``/retrain`` and ``/reload`` require
            ``Authorization: Bearer <token>``.
        loopback: Whether the server listens on loopback addresses only; otherwise
            ``/reload`` is refused unless ``retrain_token`` is set.
        monitor_window: Rows of each served version kept for live drift tests
            (live_monitor.py); 0 turns monitoring off.
        monitor_interval: Seconds between two drift tests of a window.
        alerts: Alert rules (alerts.py): a checked :class:`AlertConfig` or the path of
            an alerts file.
        follow_interval: Seconds between two checks of the aliases: when one served moves,
            reload without ``/reload`` (store_follower.py; ``serve`` uses 2); 0: never.

    Returns:
        A Starlette application; ``app.state.server`` is the :class:`ModelServer`,
        ``app.state.retrainer`` the :class:`Retrainer` (None unless ``allow_retrain``).

    Raises:
        ModelError: If a reference cannot be resolved or a model cannot be loaded.
        AlertsError: If ``alerts`` is a file with mistakes (one line each).
    """
    from . import predict as predict_module

    rules = alerts if isinstance(alerts, AlertConfig) or alerts is None else load_alerts(alerts)

    server = ModelServer(
        ModelStore(store_dir),
        predict_module.predict,
        model_ref=model_ref,
        shadow_ref=shadow_ref,
        canary=canary,
        max_body_bytes=max_body_bytes,
        prediction_log=Path(prediction_log) if prediction_log else None,
        shadow_log=Path(shadow_log) if shadow_log else None,
        predict_threads=predict_threads,
        micro_batch=micro_batch,
        monitor=LiveMonitor(monitor_window, monitor_interval) if monitor_window > 0 else None,
        alerts=rules,
        follow_interval=follow_interval,
    )
    app = Starlette(routes=ROUTES, lifespan=_lifespan)
    app.state.server = server
    app.state.retrainer = _retrainer(server) if allow_retrain else None
    app.state.retrain_token = retrain_token
    app.state.loopback = loopback
    return app


def _retrainer(server: ModelServer) -> Retrainer:
    """The retrain jobs of one server: parameters checked against ``Params``; a promoted
    version goes live through the alias and a reload, as ``models promote`` + ``/reload``."""
    from . import params as params_module
    from .param_types import check_params

    def check(values: Mapping[str, Any]) -> None:
        check_params(params_module.Params, values, "params")

    def promote_and_reload(version: str) -> None:
        server.store.promote(version)
        server.reload()

    return Retrainer(server.store.root, check, promote_and_reload, server.reload)


def run_server(
    store_dir: str | os.PathLike[str],
    *,
    host: str = "127.0.0.1",
    port: int = 8000,
    limits: ConnectionLimits | None = None,
    workers: int = 1,
    **options: Any,
) -> int:
    """Load the models and serve until interrupted (``serve`` command).

    ``options`` are :func:`create_app`'s keyword arguments, passed on as they are, so the two
    never drift apart; ``loopback`` is decided here, from what ``host`` resolves to.
    ``limits`` bound what each connection may cost (http_limits.py's defaults if None).
    ``workers`` > 1 runs that many processes on one socket (workers.py).

    Returns:
        The exit status.
    """
    try:
        import uvicorn  # noqa: F401 - checked here so the hint comes before any work
    except ImportError:
        raise ModelError(
            "serving needs uvicorn and starlette: pip install uvicorn starlette"
        ) from None
    if options.get("allow_retrain"):
        problem = token_problem(host, options.get("retrain_token"))
        if problem:
            raise ModelError(problem)
        if workers > 1:
            raise ModelError(
                "--allow-retrain runs retrain jobs in one server process; use --workers 1"
            )
    options["loopback"] = is_loopback(host)
    if workers <= 1:
        _serve_app(store_dir, host, port, limits, options, None)
        return 0
    from .workers import run_workers

    # A store that cannot be served is one line from the parent, not one per worker.
    create_app(store_dir, **options)
    print(f"{__package__}: {workers} workers on http://{host}:{port}", file=sys.stderr, flush=True)
    return run_workers(
        workers,
        host,
        port,
        functools.partial(_serve_app, store_dir, host, port, limits, options),
    )


def _serve_app(
    store_dir: str | os.PathLike[str],
    host: str,
    port: int,
    limits: ConnectionLimits | None,
    options: Mapping[str, Any],
    listener: Any,
) -> None:
    """Build the app and run uvicorn, on ``host:port`` or on an inherited socket."""
    import uvicorn

    app = create_app(store_dir, **options)
    described = app.state.server.describe()
    print(
        f"{__package__}: serving {described['model']['version']} on http://{host}:{port} "
        f"(shadow: {(described['shadow'] or {}).get('version', '-')}, "
        f"canary: {(described['canary'] or {}).get('version', '-')}"
        + (f", pid {os.getpid()})" if listener is not None else ")"),
        file=sys.stderr,
        flush=True,
    )
    engine: AlertEngine | None = app.state.server.alerts
    if engine is not None:
        for warning in engine.config.warnings:
            print(f"{__package__}: warning: {warning}", file=sys.stderr, flush=True)
        print(
            f"{__package__}: {len(engine.config.rules)} alert rule(s) from {engine.config.path}",
            file=sys.stderr,
            flush=True,
        )
    where: dict[str, Any] = (
        {"fd": listener.fileno()} if listener is not None else {"host": host, "port": port}
    )
    # The access log is off: it costs a log line per request; use --prediction-log instead.
    uvicorn.run(
        app,
        **where,
        access_log=False,
        log_level="warning",
        **(limits or ConnectionLimits()).uvicorn_options(),
    )
