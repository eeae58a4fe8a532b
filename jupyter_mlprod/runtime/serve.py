"""HTTP serving: a Starlette app, run by uvicorn.

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
    GET  /metrics   Prometheus text format
    POST /reload    re-resolve the model references and load new versions without restart
    POST /retrain   run ``train`` in a child process (only with ``serve --allow-retrain``)
    GET  /retrain/<id>  that job's status and the version it produced

Every response carries ``X-Model-Version``. Validation errors are 422 with a body naming
the column; bodies never echo the request payload.
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import hmac
import json
import math
import os
import sys
import threading
import time
import uuid
from bisect import bisect_left
from collections import Counter
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, TypeVar

from .batching import Answer, MicroBatcher, answer_alone, answer_together
from .cli import call_predict
from .compare import compare_predictions
from .errors import (
    InputError,
    MlprodError,
    ModelError,
    ParameterError,
    PredictionError,
    SchemaError,
)
from .retrain import RetrainBusy, Retrainer, token_problem
from .retrain import parse_request as parse_retrain_request
from .schema import conform, from_payload, to_jsonable
from .store import LoadedModel, ModelStore

DEFAULT_MAX_BODY_BYTES = 1 << 20
LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
_T = TypeVar("_T")


@dataclass(frozen=True)
class Canary:
    """Send ``percent`` % of requests (by a stable hash of the request id) to ``ref``."""

    ref: str
    percent: float


def parse_canary(text: str) -> Canary:
    """Parse ``REF:PCT`` (e.g. ``v4:10``).

    Raises:
        ModelError: If the text is not ``REF:PCT`` with 0 <= PCT <= 100.
    """
    ref, sep, percent = text.rpartition(":")
    try:
        value = float(percent)
    except ValueError:
        value = math.nan
    if not sep or not ref or not 0 <= value <= 100:
        raise ModelError(
            f"--canary {text!r}: expected REF:PCT with PCT between 0 and 100, e.g. v4:10"
        )
    return Canary(ref=ref, percent=value)


def canary_bucket(request_id: str) -> float:
    """Map a request id to a stable point in [0, 100): the same id always routes the same way."""
    digest = hashlib.sha256(request_id.encode("utf-8")).digest()
    return int.from_bytes(digest[:8], "big") / 2**64 * 100


@dataclass(frozen=True)
class Serving:
    """What is served right now; replaced as a whole on reload so requests see one state."""

    primary: LoadedModel
    shadow: LoadedModel | None
    canary: LoadedModel | None
    canary_percent: float

    def choose(self, request_id: str) -> LoadedModel:
        """The model for one request: the canary for its share of ids, else the primary."""
        if self.canary is not None and canary_bucket(request_id) < self.canary_percent:
            return self.canary
        return self.primary


class Metrics:
    """Counters and a latency histogram, rendered in the Prometheus text format."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.requests: Counter[tuple[str, int]] = Counter()
        self.by_version: Counter[str] = Counter()
        self.rows_by_version: Counter[str] = Counter()
        self.buckets = [0] * (len(LATENCY_BUCKETS) + 1)
        self.latency_sum = 0.0
        self.shadow_requests: Counter[str] = Counter()
        self.shadow_disagreements: Counter[str] = Counter()
        self.shadow_errors: Counter[str] = Counter()

    def observe(self, path: str, status: int, seconds: float) -> None:
        """Count one request and its latency."""
        with self._lock:
            self.requests[(path, status)] += 1
            if path == "/predict":
                self.buckets[bisect_left(LATENCY_BUCKETS, seconds)] += 1
                self.latency_sum += seconds

    def prediction(self, version: str, rows: int) -> None:
        """Count a successful prediction by the version that served it."""
        with self._lock:
            self.by_version[version] += 1
            self.rows_by_version[version] += rows

    def shadow(self, version: str, disagreements: int, failed: bool) -> None:
        """Count one shadow prediction."""
        with self._lock:
            self.shadow_requests[version] += 1
            self.shadow_disagreements[version] += disagreements
            self.shadow_errors[version] += int(failed)

    def render(self) -> str:
        """The metrics page."""
        with self._lock:
            lines = [
                "# HELP mlprod_requests_total HTTP requests by path and status.",
                "# TYPE mlprod_requests_total counter",
            ]
            for (path, status), count in sorted(self.requests.items()):
                lines.append(f'mlprod_requests_total{{path="{path}",status="{status}"}} {count}')
            lines += [
                "# HELP mlprod_predict_latency_seconds Latency of POST /predict.",
                "# TYPE mlprod_predict_latency_seconds histogram",
            ]
            cumulative = 0
            for bound, count in zip((*LATENCY_BUCKETS, math.inf), self.buckets, strict=True):
                cumulative += count
                label = "+Inf" if bound == math.inf else repr(bound)
                lines.append(f'mlprod_predict_latency_seconds_bucket{{le="{label}"}} {cumulative}')
            lines.append(f"mlprod_predict_latency_seconds_sum {self.latency_sum:.6f}")
            lines.append(f"mlprod_predict_latency_seconds_count {cumulative}")
            for name, help_text, counter in (
                (
                    "mlprod_predictions_total",
                    "Successful predictions by model version.",
                    self.by_version,
                ),
                (
                    "mlprod_prediction_rows_total",
                    "Rows predicted by model version.",
                    self.rows_by_version,
                ),
                (
                    "mlprod_shadow_predictions_total",
                    "Shadow predictions by shadow version.",
                    self.shadow_requests,
                ),
                (
                    "mlprod_shadow_disagreements_total",
                    "Rows where the shadow version disagreed with the served one.",
                    self.shadow_disagreements,
                ),
                (
                    "mlprod_shadow_errors_total",
                    "Shadow predictions that failed.",
                    self.shadow_errors,
                ),
            ):
                lines += [f"# HELP {name} {help_text}", f"# TYPE {name} counter"]
                lines += [f'{name}{{version="{v}"}} {n}' for v, n in sorted(counter.items())]
            return "\n".join(lines) + "\n"


class _JsonLog:
    """An append-only JSON-lines file shared by request threads."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._lock = threading.Lock()

    def write(self, record: dict[str, Any]) -> None:
        line = json.dumps(record, default=str) + "\n"
        with self._lock, open(self.path, "a", encoding="utf-8") as handle:
            handle.write(line)


class _BodyTooLarge(Exception):
    pass


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
    ) -> None:
        self.store = store
        self.predict_function = predict_function
        self.model_ref = model_ref
        self.shadow_ref = shadow_ref
        self.canary_spec = canary
        self.max_body_bytes = max_body_bytes
        self.metrics = Metrics()
        self.prediction_log = _JsonLog(prediction_log) if prediction_log else None
        self.shadow_log = (
            _JsonLog(shadow_log or store.root / "shadow.jsonl") if shadow_ref else None
        )
        self._cache: dict[str, LoadedModel] = {}
        self._reload_lock = threading.Lock()
        self.predict_threads = predict_threads
        self._limiter: Any = None
        self.micro_batch = micro_batch
        self._batcher: MicroBatcher | None = None
        self.serving = self._resolve()

    async def in_pool(self, function: Callable[..., _T], *args: Any) -> _T:
        """Run blocking work in the prediction thread pool.

        The pool is small on purpose: scikit-learn and pandas hold the GIL for much of a
        prediction, so many threads only add contention; a few still overlap the parts
        that release it. The limiter is created lazily because it belongs to the event loop.
        """
        import anyio.to_thread

        if self._limiter is None:
            self._limiter = anyio.CapacityLimiter(self.predict_threads)
        return await anyio.to_thread.run_sync(
            functools.partial(function, *args), limiter=self._limiter
        )

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

    def run_shadow(
        self,
        shadow: LoadedModel,
        payload: Any,
        served_version: str,
        served: Any,
        request_id: str,
        input_sha256: str,
    ) -> None:
        """Predict with the shadow version and log how it compares; never raises."""
        record: dict[str, Any] = {
            "time": _now(),
            "request_id": request_id,
            "input_sha256": input_sha256,
            "served_version": served_version,
            "shadow_version": shadow.version,
        }
        started = time.perf_counter()
        try:
            data = conform(from_payload(payload, shadow.schema), shadow.schema)
            predicted = to_jsonable(self.bound_predict(shadow)(data))
        except MlprodError as error:
            record.update(error=str(error))
            self.metrics.shadow(shadow.version, 0, failed=True)
        else:
            disagreements = compare_predictions(served, predicted).mismatches
            record.update(
                n_rows=len(served),
                disagreements=disagreements,
                served=served,
                shadow=predicted,
            )
            self.metrics.shadow(shadow.version, disagreements, failed=False)
        record["latency_ms"] = round((time.perf_counter() - started) * 1000, 3)
        if self.shadow_log is not None:
            self.shadow_log.write(record)


def _now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="milliseconds")


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
) -> Any:
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
        retrain_token: If set, ``/retrain`` requires ``Authorization: Bearer <token>``.

    Returns:
        A Starlette application; ``app.state.server`` is the :class:`ModelServer`.

    Raises:
        ModelError: If a reference cannot be resolved or a model cannot be loaded.
    """
    from starlette.applications import Starlette
    from starlette.background import BackgroundTasks
    from starlette.concurrency import run_in_threadpool
    from starlette.requests import Request
    from starlette.responses import JSONResponse, PlainTextResponse, Response
    from starlette.routing import Route

    from . import predict as predict_module

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
    )

    def reply(
        body: Any, status: int = 200, version: str | None = None, **headers: str
    ) -> JSONResponse:
        headers["X-Model-Version"] = version or server.serving.primary.version
        return JSONResponse(body, status_code=status, headers=headers)

    def instrumented(
        path: str, handler: Callable[[Request], Awaitable[Response]]
    ) -> Callable[[Request], Awaitable[Response]]:
        async def endpoint(request: Request) -> Response:
            started = time.perf_counter()
            response = await handler(request)
            server.metrics.observe(path, response.status_code, time.perf_counter() - started)
            return response

        return endpoint

    async def read_body(request: Request) -> bytes:
        declared = request.headers.get("content-length")
        if declared is not None and declared.isdigit() and int(declared) > server.max_body_bytes:
            raise _BodyTooLarge
        # Content-Length can be absent (chunked) or wrong, so count the streamed bytes too.
        chunks, size = [], 0
        async for chunk in request.stream():
            size += len(chunk)
            if size > server.max_body_bytes:
                raise _BodyTooLarge
            chunks.append(chunk)
        return b"".join(chunks)

    async def predict(request: Request) -> Response:
        started = time.perf_counter()
        request_id = request.headers.get("x-request-id") or uuid.uuid4().hex
        serving = server.serving
        model = serving.choose(request_id)
        version = model.version
        try:
            body = await read_body(request)
        except _BodyTooLarge:
            limit = server.max_body_bytes
            return reply({"error": f"request body larger than {limit} bytes"}, 413, version)
        try:
            # JSON decoding, validation and prediction are CPU work: off the event loop, in
            # a small pool (see ModelServer.predict_threads).
            answer = await server.answer(model, body)
        except InputError as error:
            return reply({"error": str(error)}, 400, version)
        except SchemaError as error:
            return reply(
                {"error": str(error), "column": error.column, "problem": error.problem},
                422,
                version,
            )
        except PredictionError as error:
            # The model's own message may quote input values: log it, do not return it.
            print(f"{__package__}: {error}", file=sys.stderr)
            if error.cause in ("ValueError", "TypeError"):
                problem = f"the model rejected this input ({error.cause}); see the server log"
                return reply({"error": problem}, 422, version)
            return reply({"error": "prediction failed; see the server log"}, 500, version)
        server.metrics.prediction(version, answer.rows)
        tasks = BackgroundTasks()
        input_sha256 = hashlib.sha256(body).hexdigest()
        # A canary request already served by the shadow version has nothing to compare.
        shadowed = serving.shadow is not None and serving.shadow.version != version
        if shadowed and serving.shadow is not None and server.shadow_log is not None:
            tasks.add_task(
                server.run_shadow,
                serving.shadow,
                answer.payload,
                version,
                answer.predictions,
                request_id,
                input_sha256,
            )
        if server.prediction_log is not None:
            tasks.add_task(
                server.prediction_log.write,
                {
                    "time": _now(),
                    "request_id": request_id,
                    "version": version,
                    "latency_ms": round((time.perf_counter() - started) * 1000, 3),
                    "input_sha256": input_sha256,
                    "n_rows": answer.rows,
                },
            )
        response = reply({"predictions": answer.predictions, "version": version}, 200, version)
        response.headers["X-Request-ID"] = request_id
        response.background = tasks
        return response

    async def health(request: Request) -> Response:
        return reply({"status": "ok", "version": server.serving.primary.version})

    async def models(request: Request) -> Response:
        def listing() -> dict[str, Any]:
            store = server.store
            versions = []
            for version in store.versions():
                manifest = store.manifest(version)
                versions.append(
                    {
                        "version": version,
                        "created": manifest.get("created"),
                        "metrics": manifest.get("metrics", {}),
                    }
                )
            aliases = {name: entry.get("version") for name, entry in store.aliases().items()}
            return {"serving": server.describe(), "versions": versions, "aliases": aliases}

        try:
            return reply(await run_in_threadpool(listing))
        except ModelError as error:
            return reply({"error": str(error)}, 500)

    async def metrics(request: Request) -> Response:
        return PlainTextResponse(
            server.metrics.render(),
            media_type="text/plain; version=0.0.4",
            headers={"X-Model-Version": server.serving.primary.version},
        )

    async def reload(request: Request) -> Response:
        try:
            before, after = await run_in_threadpool(server.reload)
        except ModelError as error:
            return reply({"error": f"reload failed, still serving the old models: {error}"}, 500)
        changed = (
            before.primary.version,
            getattr(before.canary, "version", None),
            getattr(before.shadow, "version", None),
        ) != (
            after.primary.version,
            getattr(after.canary, "version", None),
            getattr(after.shadow, "version", None),
        )
        return reply({"reloaded": True, "changed": changed, **server.describe()})

    retrainer = _retrainer(server) if allow_retrain else None

    def retrainer_for(request: Request) -> Retrainer | Response:
        """The retrainer, or the refusal to answer with (off, or the token does not match)."""
        if retrainer is None:
            return reply({"error": "retraining is off; start the server with --allow-retrain"}, 403)
        if retrain_token is not None:
            given = request.headers.get("authorization", "")
            if not hmac.compare_digest(given.encode(), f"Bearer {retrain_token}".encode()):
                return reply({"error": "retraining needs Authorization: Bearer <token>"}, 401)
        return retrainer

    async def retrain(request: Request) -> Response:
        allowed = retrainer_for(request)
        if isinstance(allowed, Response):
            return allowed
        try:
            params, seed, promote = parse_retrain_request(await read_body(request))
            job = await run_in_threadpool(allowed.start, params, seed, promote)
        except _BodyTooLarge:
            return reply({"error": f"request body larger than {server.max_body_bytes} bytes"}, 413)
        except (InputError, ParameterError) as error:
            return reply({"error": str(error)}, 400)
        except RetrainBusy as error:
            return reply({"error": str(error)}, 409)
        return reply(job.describe(), 202, Location=f"/retrain/{job.id}")

    async def retrain_status(request: Request) -> Response:
        allowed = retrainer_for(request)
        if isinstance(allowed, Response):
            return allowed
        job = allowed.jobs.get(request.path_params["job"])
        if job is None:
            return reply({"error": "no such retrain job"}, 404)
        return reply(job.describe())

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        yield
        if retrainer is not None:
            retrainer.stop()  # a training child must not outlive the server

    routes = [
        Route("/predict", instrumented("/predict", predict), methods=["POST"]),
        Route("/health", instrumented("/health", health), methods=["GET"]),
        Route("/models", instrumented("/models", models), methods=["GET"]),
        Route("/metrics", metrics, methods=["GET"]),
        Route("/reload", instrumented("/reload", reload), methods=["POST"]),
        Route("/retrain", instrumented("/retrain", retrain), methods=["POST"]),
        Route("/retrain/{job}", instrumented("/retrain", retrain_status), methods=["GET"]),
    ]
    app = Starlette(routes=routes, lifespan=lifespan)
    app.state.server = server
    app.state.retrainer = retrainer
    return app


def _retrainer(server: ModelServer) -> Retrainer:
    """The retrain jobs of one server: parameters checked against ``Params``; a promoted
    version goes live through the alias and a reload, as ``models promote`` + ``/reload``."""
    from . import params as params_module
    from .cli import check_params

    def check(values: Mapping[str, Any]) -> None:
        check_params(params_module.Params, values, "params")

    def promote_and_reload(version: str) -> None:
        server.store.promote(version)
        server.reload()

    return Retrainer(server.store.root, check, promote_and_reload)


def run_server(
    store_dir: str | os.PathLike[str],
    *,
    host: str = "127.0.0.1",
    port: int = 8000,
    **options: Any,
) -> None:
    """Load the models and serve until interrupted (``serve`` command).

    ``options`` are :func:`create_app`'s keyword arguments, passed on as they are, so the two
    never drift apart.
    """
    try:
        import uvicorn
    except ImportError:
        raise ModelError(
            "serving needs uvicorn and starlette: pip install uvicorn starlette"
        ) from None
    if options.get("allow_retrain"):
        problem = token_problem(host, options.get("retrain_token"))
        if problem:
            raise ModelError(problem)
    app = create_app(store_dir, **options)
    described = app.state.server.describe()
    print(
        f"{__package__}: serving {described['model']['version']} on http://{host}:{port} "
        f"(shadow: {(described['shadow'] or {}).get('version', '-')}, "
        f"canary: {(described['canary'] or {}).get('version', '-')})",
        file=sys.stderr,
        flush=True,
    )
    # The access log is off: it costs a log line per request; use --prediction-log instead.
    uvicorn.run(app, host=host, port=port, access_log=False, log_level="warning")
