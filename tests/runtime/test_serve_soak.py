"""Soak test: a real server under bounded load while versions are promoted, rolled back and
reloaded underneath it.

Loopback only, bounded by a request count and a time limit. Every request must succeed, and
every answer must name (in its body and its ``X-Model-Version`` header) a version that was
being served at some instant between the request's start and its answer: the version before
a reload may still answer requests that started before the reload returned, never later.
"""

from __future__ import annotations

import itertools
import subprocess
import sys
import threading
import time
from dataclasses import dataclass
from types import ModuleType

import httpx
import pytest

from .conftest import Workspace, free_port, stop, train, wait_until_serving

CLIENTS = 4
REQUESTS_PER_CLIENT = 150
TIME_LIMIT_SECONDS = 45.0
ROWS = [
    {"age": 30, "income": 41_000.0, "plan": "basic"},
    {"age": 61, "income": 72_500.5, "plan": "pro"},
]
# What the controller does, in a loop, each step followed by POST /reload.
STEPS = [("promote", "v2"), ("promote", "v3"), ("rollback", None), ("rollback", None)]


@dataclass(frozen=True)
class Answer:
    """One request as a client saw it."""

    started: float
    finished: float
    status: int
    body_version: str | None
    header_version: str | None


@dataclass(frozen=True)
class Epoch:
    """A version being served: from the start of the reload that brought it in (it may answer
    from then on) to the end of the reload that replaced it (it may answer until then)."""

    version: str
    since: float
    until: float = float("inf")


def _client(base: str, stop_at: float, answers: list[Answer]) -> None:
    with httpx.Client(base_url=base, timeout=30) as client:
        for _ in range(REQUESTS_PER_CLIENT):
            if time.monotonic() > stop_at:
                return
            started = time.monotonic()
            response = client.post("/predict", json=ROWS)
            finished = time.monotonic()
            body = response.json() if response.status_code == 200 else {}
            answers.append(
                Answer(
                    started,
                    finished,
                    response.status_code,
                    body.get("version"),
                    response.headers.get("x-model-version"),
                )
            )


def _served_at(epochs: list[Epoch], started: float, finished: float) -> set[str]:
    return {e.version for e in epochs if e.since <= finished and e.until >= started}


@pytest.mark.slow
def test_promote_rollback_and_reload_under_load(
    fakepkg_cli: ModuleType, workspace: Workspace, capsys: pytest.CaptureFixture[str]
) -> None:
    for _ in range(3):
        train(fakepkg_cli, capsys)
    assert fakepkg_cli.main(["models", "promote", "v1"]) == 0
    port = free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "fakepkg", "serve", "--host", "127.0.0.1", "--port", str(port)],
        cwd=workspace.root,
        env=workspace.env(),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    base = f"http://127.0.0.1:{port}"
    epochs = [Epoch("v1", float("-inf"))]
    reload_failures: list[str] = []
    try:
        wait_until_serving(process, f"{base}/health")
        stop_at = time.monotonic() + TIME_LIMIT_SECONDS
        answers: list[list[Answer]] = [[] for _ in range(CLIENTS)]
        clients = [threading.Thread(target=_client, args=(base, stop_at, mine)) for mine in answers]
        for thread in clients:
            thread.start()
        with httpx.Client(base_url=base, timeout=30) as control:
            for action, ref in itertools.cycle(STEPS):
                if not any(thread.is_alive() for thread in clients):
                    break
                argv = ["models", action] + ([ref] if ref else [])
                assert fakepkg_cli.main(argv) == 0, argv
                started = time.monotonic()
                reloaded = control.post("/reload")
                finished = time.monotonic()
                if reloaded.status_code != 200:
                    reload_failures.append(f"{reloaded.status_code} {reloaded.text[:200]}")
                    continue
                version = reloaded.json()["model"]["version"]
                epochs[-1] = Epoch(epochs[-1].version, epochs[-1].since, finished)
                epochs.append(Epoch(version, started))
                time.sleep(0.05)
        for thread in clients:
            thread.join(timeout=60)
        assert not any(thread.is_alive() for thread in clients)
    finally:
        stop(process)
    capsys.readouterr()

    assert not reload_failures
    assert len(epochs) > len(STEPS), "the load ended before a full promote/rollback cycle"
    assert {e.version for e in epochs} == {"v1", "v2", "v3"}
    done = [answer for mine in answers for answer in mine]
    assert all(mine for mine in answers), "a client made no request"
    errors = [a for a in done if a.status != 200]
    assert not errors, f"{len(errors)} of {len(done)} requests failed: {errors[:3]}"
    answered_by = {answer.body_version for answer in done}
    assert len(answered_by) > 1, (
        f"every request was answered by {answered_by}: no reload overlapped"
    )
    for answer in done:
        assert answer.body_version == answer.header_version, answer
        allowed = _served_at(epochs, answer.started, answer.finished)
        assert answer.body_version in allowed, (answer, allowed)
