"""Retraining from the server: ``POST /retrain``, off unless ``serve --allow-retrain``.

A retrain runs the package's own ``train`` command in a child process, in the server's working
directory and against the server's model store. So a failing or slow training never takes the
server down, and the new version lands exactly as a ``train`` from the shell would: immutable,
with its manifest, under the store's lock. What is served does not change by itself: the new
version goes live through ``promote`` and ``/reload`` — the same two steps a person would take —
which a request can ask for with ``"promote": true``. With ``"promote_if_better":
"METRIC[:MIN_DELTA]"`` (and ``"higher_is_better"`` for a metric whose direction is not known)
the child runs ``train --promote-if-better``, which promotes only a version that beats
production on this run's held-out data; the server then reloads, and the job reports the
decision recorded in the new version's manifest.

Parameters are checked against ``Params`` before any process starts (400 naming the parameter),
then handed to ``train --params-file`` as JSON, so they get the command line's own validation.
One retrain runs at a time; jobs are kept in memory for ``GET /retrain/<id>``.
"""

from __future__ import annotations

import dataclasses
import ipaddress
import json
import os
import socket
import subprocess
import sys
import tempfile
import threading
import uuid
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any, Literal, NamedTuple

from .errors import InputError, MlprodError
from .json_input import decode_json
from .promotion import NOT_PROMOTED_EXIT, PromotionError, parse_rule
from .provenance import utc_now

PACKAGE = __package__ or "model"
TOKEN_ENV = "MLPROD_RETRAIN_TOKEN"
KEPT_JOBS = 50
_REQUEST_KEYS = {"params", "seed", "promote", "promote_if_better", "higher_is_better"}

JobStatus = Literal["running", "succeeded", "failed"]


class RetrainBusy(MlprodError):
    """A retrain is already running (one at a time: training is the heaviest thing a host does)."""


class RetrainRequest(NamedTuple):
    """A checked ``POST /retrain`` body, in :meth:`Retrainer.start`'s argument order."""

    params: dict[str, Any]
    seed: int | None
    promote: bool
    promote_if_better: str | None = None
    higher_is_better: bool | None = None


@dataclasses.dataclass
class RetrainJob:
    """One retrain, as ``GET /retrain/<id>`` reports it (``promotion``: the manifest's
    decision when the request asked for ``promote_if_better``)."""

    id: str
    params: dict[str, Any]
    seed: int | None
    promote: bool
    promote_if_better: str | None = None
    higher_is_better: bool | None = None
    status: JobStatus = "running"
    started: str = ""
    finished: str | None = None
    version: str | None = None
    promoted: bool = False
    error: str | None = None
    promotion: dict[str, Any] | None = None

    def describe(self) -> dict[str, Any]:
        """The job as JSON fields."""
        return dataclasses.asdict(self)


def parse_request(body: bytes) -> RetrainRequest:
    """Read a ``POST /retrain`` body: ``{"params": {...}, "seed": N, "promote": false}`` or
    ``"promote_if_better": "METRIC[:MIN_DELTA]"`` (with ``"higher_is_better": true|false``
    for a metric whose direction is not known) instead of ``promote``; all optional, and an
    empty body retrains with the defaults.

    Raises:
        InputError: One line naming what is wrong (never echoing values).
    """
    if not body.strip():
        return RetrainRequest({}, None, False)
    request = decode_json(body)
    if not isinstance(request, dict):
        raise InputError('expected a JSON object: {"params": {...}, "seed": N, "promote": false}')
    unknown = sorted(set(request) - _REQUEST_KEYS)
    if unknown:
        raise InputError(
            f"unknown field {unknown[0]!r}; expected params, seed, promote, promote_if_better, "
            "higher_is_better"
        )
    params = request.get("params", {})
    if not isinstance(params, dict):
        raise InputError('"params" must be an object of parameter names to values')
    seed = request.get("seed")
    if seed is not None and (type(seed) is not int):
        raise InputError('"seed" must be an integer')
    promote = request.get("promote", False)
    if type(promote) is not bool:
        raise InputError('"promote" must be true or false')
    better = request.get("promote_if_better")
    higher = request.get("higher_is_better")
    if higher is not None and type(higher) is not bool:
        raise InputError('"higher_is_better" must be true or false')
    if better is None:
        if higher is not None:
            raise InputError('"higher_is_better" goes with "promote_if_better"')
        return RetrainRequest(params, seed, promote)
    if not isinstance(better, str):
        raise InputError('"promote_if_better" must be a string like "accuracy" or "rmse:0.01"')
    if promote:
        raise InputError('"promote" and "promote_if_better" exclude each other; send one')
    try:
        parse_rule(better, higher)
    except PromotionError as error:
        raise InputError(str(error).replace("--promote-if-better", '"promote_if_better"')) from None
    return RetrainRequest(params, seed, promote, better, higher)


class Retrainer:
    """Starts ``train`` in a child process and tracks its jobs.

    Args:
        store_root: The model store the server reads (the child writes its version there).
        check_params: Raises :class:`ParameterError` for parameters ``train`` would refuse.
        promote_and_reload: Called with a new version when a job asked for promotion; returns
            nothing, raises :class:`MlprodError` if the version cannot go live.
        reload: Called when a ``promote_if_better`` child promoted its version itself.
    """

    def __init__(
        self,
        store_root: Path,
        check_params: Callable[[Mapping[str, Any]], None],
        promote_and_reload: Callable[[str], None],
        reload: Callable[[], object] | None = None,
    ) -> None:
        self.store_root = store_root
        self.check_params = check_params
        self.promote_and_reload = promote_and_reload
        self.reload = reload
        self.jobs: dict[str, RetrainJob] = {}
        self._lock = threading.Lock()
        self._running: subprocess.Popen[str] | None = None
        self._busy = False
        self._stopped = False

    def start(
        self,
        params: dict[str, Any],
        seed: int | None,
        promote: bool,
        promote_if_better: str | None = None,
        higher_is_better: bool | None = None,
    ) -> RetrainJob:
        """Check the parameters and start a retrain in the background (arguments as in
        :class:`RetrainRequest`).

        Raises:
            ParameterError: A parameter ``train`` would refuse (nothing is started).
            RetrainBusy: Another retrain is still running.
        """
        self.check_params(params)
        with self._lock:
            if self._stopped:
                raise RetrainBusy("the server is stopping")
            if self._busy:
                raise RetrainBusy("a retrain is already running; poll GET /retrain/<id>")
            self._busy = True
            job = RetrainJob(
                uuid.uuid4().hex[:12],
                params,
                seed,
                promote,
                promote_if_better,
                higher_is_better,
                started=utc_now(),
            )
            self.jobs[job.id] = job
            while len(self.jobs) > KEPT_JOBS:
                self.jobs.pop(next(iter(self.jobs)))
        threading.Thread(
            target=self._run, args=(job,), name=f"retrain-{job.id}", daemon=True
        ).start()
        return job

    def stop(self) -> None:
        """Terminate a running child (server shutdown); its job ends as failed."""
        with self._lock:
            self._stopped = True
            process = self._running
        if process is not None and process.poll() is None:
            process.terminate()

    def _run(self, job: RetrainJob) -> None:
        handle, params_file = tempfile.mkstemp(prefix="retrain-", suffix=".json")
        try:
            with os.fdopen(handle, "w", encoding="utf-8") as stream:
                json.dump(job.params, stream)
            command = [sys.executable, "-m", PACKAGE, "train", "--model-dir", str(self.store_root)]
            command += ["--params-file", params_file]
            if job.seed is not None:
                command += ["--seed", str(job.seed)]
            if job.promote_if_better is not None:
                command += ["--promote-if-better", job.promote_if_better]
                if job.higher_is_better is not None:
                    command.append(
                        "--higher-is-better" if job.higher_is_better else "--lower-is-better"
                    )
            # The child must find this package even when it is not installed (run from a
            # source tree); appended, so the environment's own search order is unchanged.
            here = str(Path(__file__).resolve().parent.parent)
            path = os.pathsep.join(p for p in (os.environ.get("PYTHONPATH"), here) if p)
            with self._lock:
                # Under the lock, so a stop() either sees this child or prevents it.
                if self._stopped:
                    raise RetrainBusy("the server stopped before the retrain started")
                process = subprocess.Popen(
                    command,
                    stdout=subprocess.PIPE,
                    stderr=subprocess.PIPE,
                    text=True,
                    env={**os.environ, "PYTHONPATH": path},
                )
                self._running = process
            out, err = process.communicate()
            if self._stopped and process.returncode != 0:
                job.status = "failed"
                job.error = "stopped with the server"
            elif process.returncode in (0, NOT_PROMOTED_EXIT) and out.strip():
                job.version = out.strip().splitlines()[-1]
                if job.promote_if_better is not None:
                    # The child decided and, if better, promoted; the manifest says which.
                    job.promotion = self._promotion_of(job.version)
                    job.promoted = bool(job.promotion and job.promotion.get("promoted"))
                    if job.promoted and self.reload is not None:
                        self.reload()
                elif job.promote:
                    self.promote_and_reload(job.version)
                    job.promoted = True
                job.status = "succeeded"
            else:
                job.status = "failed"
                job.error = _last_line(err) or f"train exited with code {process.returncode}"
        except MlprodError as error:
            job.status = "failed"
            job.error = str(error)
        except OSError as error:
            job.status = "failed"
            job.error = f"cannot start train ({error.strerror})"
        finally:
            Path(params_file).unlink(missing_ok=True)
            job.finished = utc_now()
            with self._lock:
                self._running = None
                self._busy = False

    def _promotion_of(self, version: str) -> dict[str, Any] | None:
        """The ``promotion`` entry of a version's manifest (None if it cannot be read)."""
        from .store import ModelStore

        try:
            promotion = ModelStore(self.store_root).manifest(version).get("promotion")
        except MlprodError:
            return None
        return dict(promotion) if isinstance(promotion, dict) else None


def token_problem(host: str, token: str | None) -> str | None:
    """Why retraining must not be switched on as asked, or None.

    Anyone who reaches ``/retrain`` can spend the host's CPU and, with ``promote``, change what
    is served; on a loopback address only local users can, elsewhere a token is required.
    """
    if not token and not is_loopback(host):
        return f"--allow-retrain on {host} needs a token: set {TOKEN_ENV}"
    return None


def is_loopback(host: str) -> bool:
    """Whether every address ``host`` resolves to is a loopback address.

    A name counts only by what it resolves to (``localhost`` does; ``127.attacker.example``
    does only if its DNS says so), and a name that does not resolve is not loopback: the
    server would bind whatever it resolves to later.
    """
    try:
        resolved = socket.getaddrinfo(host, None, type=socket.SOCK_STREAM)
    except (OSError, UnicodeError):
        return False
    addresses = {str(sockaddr[0]).partition("%")[0] for *_, sockaddr in resolved}
    try:
        return bool(addresses) and all(
            ipaddress.ip_address(address).is_loopback for address in addresses
        )
    except ValueError:
        return False


def _last_line(text: str) -> str:
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    return lines[-1] if lines else ""
