"""``serve --workers N``: N server processes answering on one listening socket.

The parent checks the address by binding it, forks the workers (each builds its own app, loads
the models and runs uvicorn on its own listening socket bound with ``SO_REUSEPORT``, so the
kernel spreads new connections evenly over the workers; one shared socket would let whichever
worker is idle take them all) and then only watches: SIGTERM or Ctrl-C stops every worker,
and a worker that dies stops the others, so a supervisor (systemd, Kubernetes) sees one
failed service rather than a half-sized one.
Fork rather than spawn: the workers start from the parent's imported modules in a fraction of
the time, and nothing runs in the parent's threads yet when they are forked.

Each worker keeps its own metrics, live-monitor window and alert states; all of them follow the
model store (store_follower.py), so an alias moved by ``models promote``, a retrain or any
worker's automatic rollback reaches every worker within the follow interval.
"""

from __future__ import annotations

import multiprocessing
import signal
import socket
from collections.abc import Callable
from multiprocessing.connection import wait
from typing import Any

from .alert_actions import log_line
from .errors import ModelError


def run_workers(count: int, host: str, port: int, serve: Callable[[socket.socket], None]) -> int:
    """Run ``serve(sock)`` on ``host:port`` in ``count`` forked processes until stopped.

    Returns:
        0 when stopped by a signal, 1 when a worker died on its own.

    Raises:
        ModelError: The address cannot be bound.
    """
    # Bound, not listening: it keeps the port while the workers start and gets no connections.
    spread = hasattr(socket, "SO_REUSEPORT")
    try:
        reserved = _bind(host, port, listen=not spread)
    except OSError as error:
        raise ModelError(
            f"cannot listen on {host}:{port} ({error.strerror or error}); choose another --port"
        ) from None

    def worker() -> None:
        serve(_bind(host, port, listen=True) if spread else reserved)

    context = multiprocessing.get_context("fork")
    processes = [context.Process(target=worker) for _ in range(count)]
    for process in processes:
        process.start()

    def stop(signum: int, frame: Any) -> None:
        raise SystemExit(0)

    previous = signal.signal(signal.SIGTERM, stop)
    status = 0
    try:
        wait([process.sentinel for process in processes])
        died = [p for p in processes if p.exitcode is not None]
        log_line(f"worker {died[0].pid} exited with {died[0].exitcode}; stopping the other workers")
        status = 1
    except (SystemExit, KeyboardInterrupt):
        status = 0
    finally:
        signal.signal(signal.SIGTERM, previous)
        for process in processes:
            if process.is_alive():
                process.terminate()
        for process in processes:
            process.join(30)
            if process.is_alive():
                process.kill()
                process.join()
        reserved.close()
    return status


def _bind(host: str, port: int, listen: bool) -> socket.socket:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    if hasattr(socket, "SO_REUSEPORT"):
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
    sock.bind((host, port))
    if listen:
        sock.listen(2048)
    return sock
