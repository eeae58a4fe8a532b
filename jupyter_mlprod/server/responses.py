"""The one way the server extension refuses a request: :class:`ApiError`.

It derives from tornado's ``HTTPError`` (so the web layer treats it like any HTTP error) and
carries the JSON body the REST API promises: ``{"message": ...}`` plus optional fields
such as ``"problems"``. The tool's own errors (:mod:`jupyter_mlprod.errors`) are translated
into it at the handler boundary.
"""

from __future__ import annotations

from typing import Any

from tornado import web


class ApiError(web.HTTPError):
    """An HTTP error whose body is ``{"message": message, **extra}``."""

    def __init__(self, status: int, message: str, **extra: Any) -> None:
        # tornado %-formats log_message when it logs; escape so paths with "%" stay intact.
        super().__init__(status, message.replace("%", "%%"))
        self.message = message
        self.extra = extra

    def body(self) -> dict[str, Any]:
        """The JSON body of the error answer."""
        return {"message": self.message, **self.extra}
