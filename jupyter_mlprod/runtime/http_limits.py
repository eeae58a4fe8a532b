"""What one HTTP connection may cost the server, and the uvicorn protocol that enforces it.

uvicorn's own settings cover part of it: ``timeout_keep_alive`` closes a connection idle after
a response, ``limit_concurrency`` answers 503 past a number of connections, and
``h11_max_incomplete_event_size`` bounds a request head under h11. They leave the rest open
under httptools (the faster parser, which uvicorn prefers when it is installed, as in every
generated package): a head of any size is buffered, a connection that never sends a request
stays open, and a client that sends its head or body a byte at a time holds a connection for
ever. So the protocol class uvicorn runs is its own, with four limits added:

- a connection that sends nothing is closed after the keep-alive timeout, as after a response;
- a request head (request line and headers) larger than ``max_head_bytes`` gets 431;
- a head must arrive within ``read_timeout`` seconds of its first byte, and the body within
  ``read_timeout`` seconds of the head's end, else 408 (slow clients, slow-loris);
- the time a request spends being answered is not limited: predictions may be slow.

Only the standard library, and uvicorn once :func:`uvicorn_options` is called.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import Any, Literal

DEFAULT_MAX_HEAD_BYTES = 32 * 1024
"""What nginx accepts by default (four 8 KiB buffers): far more than any client sends."""
DEFAULT_READ_TIMEOUT = 10.0
DEFAULT_KEEP_ALIVE_TIMEOUT = 5
DEFAULT_MAX_CONNECTIONS = 1000

Phase = Literal["idle", "head", "body", "answering"]
"""Where a connection is: waiting for a request, receiving its head or body, or answering it."""


@dataclass(frozen=True)
class ConnectionLimits:
    """The bounds on one connection (see the module docstring).

    Attributes:
        max_head_bytes: A request head larger than this gets 431.
        read_timeout: Seconds a head may take from its first byte, and a body from the head's
            end; a slower one gets 408.
        keep_alive_timeout: Seconds a connection may wait for a request, before the first and
            after each response.
        max_connections: Open connections past which requests get 503.
    """

    max_head_bytes: int = DEFAULT_MAX_HEAD_BYTES
    read_timeout: float = DEFAULT_READ_TIMEOUT
    keep_alive_timeout: int = DEFAULT_KEEP_ALIVE_TIMEOUT
    max_connections: int = DEFAULT_MAX_CONNECTIONS

    def uvicorn_options(self) -> dict[str, Any]:
        """The keyword arguments of ``uvicorn.run`` that apply these limits."""
        return {
            "http": protocol_class(self),
            "h11_max_incomplete_event_size": self.max_head_bytes,
            "timeout_keep_alive": self.keep_alive_timeout,
            "limit_concurrency": self.max_connections,
        }


class _LimitedConnection(asyncio.Protocol):
    """Mixed in before one of uvicorn's HTTP protocol classes; the subclass reports phases."""

    limits: ConnectionLimits
    transport: asyncio.Transport
    _phase: Phase = "idle"
    _head_bytes = 0
    _deadline: asyncio.TimerHandle | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        super().connection_made(transport)
        self._phase = "answering"  # so that entering "idle" arms its timer
        self._enter("idle")

    def connection_lost(self, exc: Exception | None) -> None:
        self._cancel_deadline()
        super().connection_lost(exc)

    def data_received(self, data: bytes) -> None:
        super().data_received(data)
        self._observe()
        if self._phase != "head" or self.transport.is_closing():
            return
        # The parser has taken this chunk and the head is still incomplete, so what it buffers
        # is at most the limit plus one chunk.
        self._head_bytes += len(data)
        if self._head_bytes > self.limits.max_head_bytes:
            limit = self.limits.max_head_bytes
            self._refuse(431, "Request Header Fields Too Large", f"request head over {limit} bytes")

    def _observe(self) -> None:
        """Enter the phase the parser is in, for parsers that report none by callbacks."""

    def _enter(self, phase: Phase) -> None:
        if phase == self._phase:
            return
        self._cancel_deadline()
        self._phase = phase
        if phase == "head":
            self._head_bytes = 0
        delay = {
            "idle": float(self.limits.keep_alive_timeout),
            "head": self.limits.read_timeout,
            "body": self.limits.read_timeout,
        }.get(phase)
        if delay is not None:
            loop = asyncio.get_running_loop()
            self._deadline = loop.call_later(delay, self._expire, phase)

    def _cancel_deadline(self) -> None:
        if self._deadline is not None:
            self._deadline.cancel()
            self._deadline = None

    def _expire(self, phase: Phase) -> None:
        self._deadline = None
        if self._phase != phase or self.transport.is_closing():
            return
        if phase == "idle":
            self.transport.close()
        else:
            self._refuse(408, "Request Timeout", f"request {phase} not received in time")

    def _refuse(self, status: int, reason: str, message: str) -> None:
        """Answer with ``status`` unless a response has begun, then close the connection."""
        cycle = getattr(self, "cycle", None)
        answering = self._phase == "body" and getattr(cycle, "response_started", False)
        if not answering:
            body = message.encode("ascii")
            self.transport.write(
                f"HTTP/1.1 {status} {reason}\r\ncontent-type: text/plain; charset=utf-8\r\n"
                f"content-length: {len(body)}\r\nconnection: close\r\n\r\n".encode("ascii")
                + body
            )
        self._phase = "answering"
        self._cancel_deadline()
        self.transport.close()


def protocol_class(limits: ConnectionLimits) -> type[asyncio.Protocol]:
    """uvicorn's HTTP protocol (httptools when installed, else h11) with ``limits`` applied."""
    try:
        from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol
    except ImportError:
        return _h11_protocol(limits)

    class LimitedHttpToolsProtocol(_LimitedConnection, HttpToolsProtocol):
        """httptools reports where a request is by its parser callbacks."""

        def on_message_begin(self) -> None:
            super().on_message_begin()
            self._enter("head")

        def on_headers_complete(self) -> None:
            super().on_headers_complete()
            self._enter("body")

        def on_message_complete(self) -> None:
            super().on_message_complete()
            self._enter("answering")

    LimitedHttpToolsProtocol.limits = limits
    return LimitedHttpToolsProtocol


def _h11_protocol(limits: ConnectionLimits) -> type[asyncio.Protocol]:
    from uvicorn.protocols.http.h11_impl import H11Protocol

    class LimitedH11Protocol(_LimitedConnection, H11Protocol):
        """h11 reports where a request is by the client's state after each chunk."""

        def _observe(self) -> None:
            # h11's states are sentinel classes; their names are its documented API.
            state = getattr(self.conn.their_state, "__name__", "")
            phases: dict[str, Phase] = {"IDLE": "head", "SEND_BODY": "body"}
            self._enter(phases.get(state, "answering"))

    LimitedH11Protocol.limits = limits
    return LimitedH11Protocol
