"""Fuzzing a generated package's ``POST /predict`` with hostile request bodies, in-process.

Invariants: no body gets a 500 (bad input is the client's error: 400, 413 or 422; a valid one
gets 200 naming the version that answered), no answer echoes the request, and the server keeps
answering ``/health`` afterwards.
"""

from __future__ import annotations

import json
import warnings
from pathlib import Path

import pytest
from hypothesis import event, example, given

from .budget import examples
from .strategies import Shown, deep_array, request_body

with warnings.catch_warnings():
    # Starlette suggests its own httpx fork for TestClient; plain httpx works.
    warnings.simplefilter("ignore")
    from starlette.testclient import TestClient

CLIENT_ERRORS = {400, 413, 422}
VALID_ROWS = [{"age": 40, "income": 50_000.0, "plan": "basic"}]


@pytest.fixture
def client(churn_store: Path) -> TestClient:
    """The fake churn package's app over a store holding v1, with a small body limit."""
    import fakepkg.serve

    return TestClient(fakepkg.serve.create_app(churn_store, max_body_bytes=64 * 1024))


@given(body=request_body)
@examples(200)
# Issue 11, item 3: 990 nested arrays (about 2 KB) gave a 500 with a traceback in the log.
@example(body=Shown(deep_array(990)))
@example(body=Shown(json.dumps(VALID_ROWS).encode()))
def test_predict_never_answers_500(client: TestClient, body: Shown[bytes]) -> None:
    response = client.post(
        "/predict", content=body.content, headers={"Content-Type": "application/json"}
    )
    event(f"status {response.status_code}")
    assert response.status_code == 200 or response.status_code in CLIENT_ERRORS, (
        response.status_code,
        response.text[:300],
    )
    assert response.headers["x-model-version"] == "v1"
    answer = response.json()
    if response.status_code == 200:
        assert answer["version"] == "v1"
        assert isinstance(answer["predictions"], list)
    else:
        assert isinstance(answer["error"], str) and answer["error"]
        if len(body.content) >= 16:
            assert body.content.decode("utf-8", "replace") not in response.text
    assert client.get("/health").status_code == 200
