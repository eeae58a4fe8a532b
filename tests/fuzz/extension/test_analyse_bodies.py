"""Fuzzing the server extension's ``POST mlprod/analyse`` with hostile bodies.

Invariants: no body gets a 500 or kills the server (which is the user's Jupyter server):
every answer is 200 with a report, or a 4xx with a one-line ``{"message"}``; the server still
answers ``GET mlprod/capabilities`` afterwards; no answer echoes the posted notebook.
"""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

from hypothesis import event, example, given
from notebooks import tiny_pipeline, write

from ..budget import examples
from ..strategies import IN_PROCESS_MAX_DEPTH, Shown, analyse_body, deep_json, operator_chain

ANSWERS = {200, 400, 403, 404}


def _posted(source: str) -> Shown[bytes]:
    """An analyse body posting the tiny pipeline with one more cell of ``source``."""
    notebook = tiny_pipeline()
    notebook.cells.append({"cell_type": "code", "source": source, "metadata": {}, "outputs": []})
    return Shown(json.dumps({"path": "nb.ipynb", "notebook": notebook}).encode())


@given(body=analyse_body())
@examples(80)
# Issue 11, items 2 and 3: a long operator chain and a deeply nested body answered 500.
@example(body=_posted(operator_chain(400)))
@example(body=Shown(b'{"path": "nb.ipynb", "notebook": ' + deep_json(100_000).encode() + b"}"))
@example(body=_posted("x = " + "(" * IN_PROCESS_MAX_DEPTH + "1" + ")" * IN_PROCESS_MAX_DEPTH))
# Found by this suite: the posted path is echoed raw in the message, newline and all.
@example(body=Shown(b'{"path": "0\\n", "notebook": {"nbformat": 4, "cells": [null]}}'))
def test_analyse_never_answers_500(
    jp_fetch: Any, jp_root_dir: Path, jp_asyncio_loop: asyncio.AbstractEventLoop, body: Shown[bytes]
) -> None:
    write(tiny_pipeline(), jp_root_dir / "nb.ipynb")

    async def exchange() -> tuple[int, str, int]:
        response = await jp_fetch(
            "mlprod", "analyse", method="POST", body=body.content, raise_error=False
        )
        alive = await jp_fetch("mlprod", "capabilities", raise_error=False)
        return response.code, response.body.decode("utf-8", "replace"), alive.code

    status, text, alive = jp_asyncio_loop.run_until_complete(exchange())
    event(f"status {status}")
    assert status in ANSWERS, (status, text[:300])
    assert alive == 200, "the server stopped answering"
    answer = json.loads(text)
    if status == 200:
        assert answer["schema"] == "jupyter-mlprod/check"
    else:
        message = answer["message"]
        assert isinstance(message, str) and message and "\n" not in message, message
        assert "Traceback" not in text
