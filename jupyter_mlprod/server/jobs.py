"""Long-running work (headless runs, verification) kept off the server's event loop.

papermill blocks until the notebook has run, so each job runs in a worker thread of a small
pool; the handlers only submit work and read snapshots. Jobs live in memory, by id, for the
life of the server: a restarted server forgets them, and the run directories on disk remain
the durable record.

The workers are daemon threads rather than a ``concurrent.futures`` pool, whose threads are
joined at interpreter exit: stopping the server must not wait for a long training run (its
kernel notices that its parent has gone and exits by itself).
"""

from __future__ import annotations

import logging
import queue
import threading
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from ..errors import MlprodError

#: ``on_cell(done, total)``: the progress callback handed to the work function.
ProgressCallback = Callable[[int, int], None]


class Progress:
    """What a work function reports as it goes: called as ``progress(done, total)`` for
    cells (so it is a :data:`ProgressCallback`), and ``progress.phase(name)`` as each phase
    of the work starts (``"executing notebook"``, ``"training package"``, ...)."""

    def __init__(self, update: Callable[..., None]) -> None:
        self._update = update

    def __call__(self, done: int, total: int) -> None:
        self._update(done=done, total=total)

    def phase(self, name: str) -> None:
        """Say which phase the work is in; the job's snapshot shows it until the next."""
        self._update(phase=name)


RUNNING = "running"
SUCCEEDED = "succeeded"
FAILED = "failed"

# Finished jobs beyond this many are forgotten, oldest first, so a long-lived server's
# memory does not grow with every click on "Run".
KEEP_FINISHED = 100

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class JobOutcome:
    """What a work function reports when it returns (rather than raises)."""

    succeeded: bool
    result: dict[str, Any] | None
    message: str = ""


#: A job's body: called in a worker thread with its :class:`Progress`.
Work = Callable[[Progress], JobOutcome]


@dataclass
class Job:
    """The mutable state of one job; read it only through :meth:`JobRegistry.snapshot`."""

    job_id: str
    kind: str
    status: str = RUNNING
    done: int = 0
    total: int = 0
    phase: str = ""
    result: dict[str, Any] | None = None
    message: str = ""
    sequence: int = field(default=0, repr=False)

    def to_json(self) -> dict[str, Any]:
        """The ``GET mlprod/jobs/<id>`` body."""
        return {
            "job_id": self.job_id,
            "kind": self.kind,
            "status": self.status,
            "progress": {"done": self.done, "total": self.total},
            "phase": self.phase,
            "result": self.result,
            "message": self.message,
        }


class JobRegistry:
    """Runs work functions in a small pool of worker threads; keeps their state by job id."""

    def __init__(self, max_workers: int = 2) -> None:
        self._max_workers = max_workers
        self._pending: queue.SimpleQueue[tuple[str, Work] | None] = queue.SimpleQueue()
        self._workers: list[threading.Thread] = []
        self._changed = threading.Condition()
        self._jobs: dict[str, Job] = {}
        self._counter = 0

    def submit(self, kind: str, work: Work) -> str:
        """Queue ``work(progress)`` for a worker thread and return the new job's id.

        ``work`` either returns a :class:`JobOutcome` or raises: a
        :class:`~jupyter_mlprod.errors.MlprodError` fails the job with its one-line message;
        any other exception fails it with the exception's type and text (and is logged with
        its traceback, since it is a bug).
        """
        with self._changed:
            self._counter += 1
            job = Job(job_id=uuid.uuid4().hex, kind=kind, sequence=self._counter)
            self._jobs[job.job_id] = job
            self._forget_old_jobs()
            if len(self._workers) < self._max_workers:
                worker = threading.Thread(
                    target=self._work_loop, name=f"mlprod-job-{len(self._workers)}", daemon=True
                )
                self._workers.append(worker)
                worker.start()
        self._pending.put((job.job_id, work))
        return job.job_id

    def snapshot(self, job_id: str) -> dict[str, Any] | None:
        """The job's current JSON view, or None for an unknown id."""
        with self._changed:
            job = self._jobs.get(job_id)
            return None if job is None else job.to_json()

    def wait(self, job_id: str, timeout: float | None = None) -> dict[str, Any] | None:
        """Block until the job has finished (or ``timeout`` passed); return its snapshot."""
        with self._changed:
            self._changed.wait_for(
                lambda: self._jobs.get(job_id) is None or self._jobs[job_id].status != RUNNING,
                timeout,
            )
        return self.snapshot(job_id)

    def shutdown(self) -> None:
        """Let the workers exit once the jobs already queued are done."""
        for _ in self._workers:
            self._pending.put(None)

    def _work_loop(self) -> None:
        while (item := self._pending.get()) is not None:
            self._run(*item)

    def _run(self, job_id: str, work: Work) -> None:
        progress = Progress(lambda **changes: self._update(job_id, **changes))
        try:
            outcome = work(progress)
        except MlprodError as error:
            self._update(job_id, status=FAILED, message=str(error))
        except Exception as error:  # a bug in the work function: keep the server alive
            log.exception("mlprod job %s crashed", job_id)
            self._update(job_id, status=FAILED, message=f"{type(error).__name__}: {error}")
        else:
            self._update(
                job_id,
                status=SUCCEEDED if outcome.succeeded else FAILED,
                result=outcome.result,
                message=outcome.message,
            )

    def _update(self, job_id: str, **changes: Any) -> None:
        with self._changed:
            job = self._jobs.get(job_id)
            if job is None:
                return
            for name, value in changes.items():
                setattr(job, name, value)
            if job.status != RUNNING:
                job.phase = ""
            if job.status == SUCCEEDED and job.total:
                # papermill may skip reporting the last cell; a finished job is complete.
                job.done = job.total
            self._changed.notify_all()

    def _forget_old_jobs(self) -> None:
        finished = sorted(
            (job for job in self._jobs.values() if job.status != RUNNING),
            key=lambda job: job.sequence,
        )
        for job in finished[: max(0, len(finished) - KEEP_FINISHED)]:
            del self._jobs[job.job_id]
