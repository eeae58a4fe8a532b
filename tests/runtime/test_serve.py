"""HTTP serving, in-process through Starlette's TestClient and as a real uvicorn server."""

from __future__ import annotations

import json
import select
import socket
import subprocess
import sys
import warnings
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import httpx
import numpy as np
import pandas as pd
import pytest

from jupyter_mlprod.runtime.compare import compare_predictions

from .conftest import Workspace, free_port, stop, train, wait_until_serving

with warnings.catch_warnings():
    # Starlette 1.x suggests its own httpx fork for TestClient; plain httpx still works.
    warnings.simplefilter("ignore")
    from starlette.testclient import TestClient

SECRET = "SECRET-PAYLOAD-VALUE-4711"


def records(workspace: Workspace, n_rows: int = 5) -> list[dict[str, Any]]:
    frame = pd.read_csv(workspace.root / "data" / "churn.csv").drop(columns="churn")
    return json.loads(frame.head(n_rows).to_json(orient="records"))


def client_for(store: Path, **options: Any) -> TestClient:
    import fakepkg.serve

    return TestClient(fakepkg.serve.create_app(store, **options))


def test_endpoints(churn_store: Path, workspace: Workspace) -> None:
    client = client_for(churn_store)
    health = client.get("/health")
    assert health.status_code == 200 and health.json() == {"status": "ok", "version": "v1"}
    assert health.headers["x-model-version"] == "v1"
    rows = records(workspace)
    by_records = client.post("/predict", json=rows, headers={"X-Request-ID": "abc"})
    assert by_records.status_code == 200
    body = by_records.json()
    assert body["version"] == "v1" and len(body["predictions"]) == 5
    assert set(body["predictions"]) <= {0, 1}
    assert by_records.headers["x-model-version"] == "v1"
    assert by_records.headers["x-request-id"] == "abc"
    columns = list(rows[0])
    split = client.post(
        "/predict", json={"columns": columns, "data": [[r[c] for c in columns] for r in rows]}
    )
    assert split.json()["predictions"] == body["predictions"]
    models = client.get("/models").json()
    assert models["serving"]["model"] == {"ref": "default", "version": "v1"}
    assert [v["version"] for v in models["versions"]] == ["v1"]
    assert "accuracy" in models["versions"][0]["metrics"]
    metrics = client.get("/metrics")
    assert metrics.headers["content-type"].startswith("text/plain")
    text = metrics.text
    assert 'mlprod_requests_total{path="/predict",status="200"} 2' in text
    assert 'mlprod_predictions_total{version="v1"} 2' in text
    assert 'mlprod_prediction_rows_total{version="v1"} 10' in text
    assert 'mlprod_predict_latency_seconds_bucket{le="+Inf"} 2' in text
    assert "mlprod_predict_latency_seconds_count 2" in text


def test_validation_errors_name_the_column_and_never_echo(
    churn_store: Path, workspace: Workspace
) -> None:
    client = client_for(churn_store)
    rows = records(workspace, 2)
    missing = [{k: v for k, v in row.items() if k != "plan"} | {"note": SECRET} for row in rows]
    answer = client.post("/predict", json=missing)
    assert answer.status_code == 422
    assert answer.json()["column"] == "plan" and "missing" in answer.json()["error"]
    assert SECRET not in answer.text
    mistyped = [row | {"age": SECRET} for row in rows]
    answer = client.post("/predict", json=mistyped)
    assert answer.status_code == 422 and answer.json()["column"] == "age"
    assert "expected int64" in answer.json()["error"] and SECRET not in answer.text
    assert answer.headers["x-model-version"] == "v1"
    partial = [rows[0], {k: v for k, v in rows[1].items() if k != "income"}]
    answer = client.post("/predict", json=partial)
    assert answer.status_code == 422 and answer.json()["column"] == "income"
    assert "record 1" in answer.json()["error"]
    # A null the model cannot take: scikit-learn refuses; the body names no value.
    rejected = client.post("/predict", json=[rows[0] | {"income": None, "note": SECRET}])
    assert rejected.status_code == 422 and "rejected this input" in rejected.json()["error"]
    assert SECRET not in rejected.text
    malformed = client.post(
        "/predict",
        content=b'[{"age": "' + SECRET.encode(),
        headers={"content-type": "application/json"},
    )
    assert malformed.status_code == 400 and "malformed JSON" in malformed.json()["error"]
    assert SECRET not in malformed.text
    shapeless = client.post("/predict", json={"rows": [SECRET]})
    assert shapeless.status_code == 400 and SECRET not in shapeless.text
    bare_rows = client.post("/predict", json=[[1, 2.0, "basic"]])
    assert bare_rows.status_code == 400
    metrics = client.get("/metrics").text
    assert 'mlprod_requests_total{path="/predict",status="422"} 4' in metrics
    assert 'mlprod_requests_total{path="/predict",status="400"} 3' in metrics


def test_body_limit_on_header_and_stream(churn_store: Path, workspace: Workspace) -> None:
    client = client_for(churn_store, max_body_bytes=300)
    small = records(workspace, 1)
    assert client.post("/predict", json=small).status_code == 200
    big = records(workspace, 20)
    declared = client.post("/predict", json=big)
    assert declared.status_code == 413 and "300 bytes" in declared.json()["error"]
    payload = json.dumps(big).encode()

    def chunks() -> Iterator[bytes]:
        for start in range(0, len(payload), 64):
            yield payload[start : start + 64]

    streamed = client.post(
        "/predict", content=chunks(), headers={"content-type": "application/json"}
    )
    assert "content-length" not in streamed.request.headers
    assert streamed.status_code == 413


@pytest.fixture
def array_store(
    fakearr_cli: ModuleType, workspace: Workspace, capsys: pytest.CaptureFixture[str]
) -> Path:
    assert train(fakearr_cli, capsys) == "v1"
    # Same data and seed, shifted bias: v2 disagrees with v1 on every row.
    assert train(fakearr_cli, capsys, "--param", "shift=[1.0, 0.0]") == "v2"
    return workspace.models


def test_instances_and_shadow(array_store: Path, workspace: Workspace) -> None:
    import fakearr.serve

    shadow_log = workspace.root / "shadow.jsonl"
    client = TestClient(
        fakearr.serve.create_app(
            array_store, model_ref="v1", shadow_ref="v2", shadow_log=shadow_log
        )
    )
    instances = np.arange(8.0).reshape(2, 4).tolist()
    answers = [client.post("/predict", json={"instances": instances}) for _ in range(3)]
    assert {a.headers["x-model-version"] for a in answers} == {"v1"}
    assert all(a.json()["version"] == "v1" for a in answers)
    served = answers[0].json()["predictions"]
    lines = [json.loads(line) for line in shadow_log.read_text().splitlines()]
    assert len(lines) == 3
    assert lines[0]["served_version"] == "v1" and lines[0]["shadow_version"] == "v2"
    assert lines[0]["disagreements"] == 2 and lines[0]["served"] == served
    assert np.allclose(np.array(lines[0]["shadow"]) - np.array(served), 1.0)
    assert "request_id" in lines[0] and len(lines[0]["input_sha256"]) == 64
    metrics = client.get("/metrics").text
    assert 'mlprod_shadow_predictions_total{version="v2"} 3' in metrics
    assert 'mlprod_shadow_disagreements_total{version="v2"} 6' in metrics
    assert client.get("/models").json()["serving"]["shadow"] == {"ref": "v2", "version": "v2"}
    wrong = client.post("/predict", json={"instances": [[1.0, 2.0]]})
    assert wrong.status_code == 422 and wrong.json()["column"] == "shape"


def test_shadow_log_defaults_to_the_store(array_store: Path) -> None:
    client = client_for_array(array_store, model_ref="v1", shadow_ref="v2")
    client.post("/predict", json={"instances": [[0.0, 0.0, 0.0, 0.0]]})
    assert (array_store / "shadow.jsonl").is_file()


def client_for_array(store: Path, **options: Any) -> TestClient:
    import fakearr.serve

    return TestClient(fakearr.serve.create_app(store, **options))


def test_canary_split_is_stable_and_near_the_share(array_store: Path) -> None:
    import fakearr.routing

    client = client_for_array(array_store, model_ref="v1", canary=fakearr.routing.Canary("v2", 20))
    row = {"instances": [[0.0, 1.0, 2.0, 3.0]]}
    served = Counter(
        client.post("/predict", json=row, headers={"X-Request-ID": f"req-{i}"}).headers[
            "x-model-version"
        ]
        for i in range(1000)
    )
    assert served["v1"] + served["v2"] == 1000
    # 20% of 1000 with a binomial standard deviation of about 13.
    assert 150 <= served["v2"] <= 250
    repeats = {
        client.post("/predict", json=row, headers={"X-Request-ID": "req-7"}).headers[
            "x-model-version"
        ]
        for _ in range(5)
    }
    assert len(repeats) == 1
    metrics = client.get("/metrics").text
    assert (
        f'mlprod_predictions_total{{version="v2"}} {served["v2"] + 5 * (repeats == {"v2"})}'
        in metrics
    )
    assert client.get("/models").json()["serving"]["canary"] == {
        "ref": "v2",
        "version": "v2",
        "percent": 20.0,
    }


def test_parse_canary(package_src: Path) -> None:
    import fakepkg.errors
    import fakepkg.routing

    parsed = fakepkg.routing.parse_canary("production:12.5")
    assert parsed == fakepkg.routing.Canary("production", 12.5)
    for bad in ("v2", "v2:abc", "v2:150", ":5"):
        with pytest.raises(fakepkg.errors.ModelError, match="REF:PCT"):
            fakepkg.routing.parse_canary(bad)


def test_rollback_then_reload(
    array_store: Path, fakearr_cli: ModuleType, capsys: pytest.CaptureFixture[str]
) -> None:
    assert fakearr_cli.main(["models", "promote", "v1"]) == 0
    assert fakearr_cli.main(["models", "promote", "v2"]) == 0
    client = client_for_array(array_store)
    row = {"instances": [[0.0, 0.0, 0.0, 0.0]]}
    assert client.post("/predict", json=row).headers["x-model-version"] == "v2"
    assert fakearr_cli.main(["models", "rollback"]) == 0
    # Without a reload the server keeps what it loaded.
    assert client.post("/predict", json=row).headers["x-model-version"] == "v2"
    reloaded = client.post("/reload")
    assert reloaded.status_code == 200
    assert reloaded.json()["changed"] is True and reloaded.json()["model"]["version"] == "v1"
    assert client.post("/predict", json=row).headers["x-model-version"] == "v1"
    assert client.post("/reload").json()["changed"] is False


def test_tampered_artifact_refused_at_start_and_reload(
    array_store: Path, fakearr_cli: ModuleType, capsys: pytest.CaptureFixture[str]
) -> None:
    import fakearr.errors

    client = client_for_array(array_store, model_ref="latest")
    weights = array_store / "v2" / "artifacts" / "weights.npy"
    weights.write_bytes(weights.read_bytes()[:-8])
    with pytest.raises(fakearr.errors.ModelError, match=r"weights\.npy: SHA-256"):
        client_for_array(array_store, model_ref="v2")
    train(fakearr_cli, capsys)  # v3 is fine; tamper with it too before reloading
    (array_store / "v3" / "artifacts" / "bias.json").write_text("42.0")
    answer = client.post("/reload")
    assert answer.status_code == 500 and "bias.json" in answer.json()["error"]
    assert client.get("/health").json()["version"] == "v2"


def test_prediction_log(array_store: Path, workspace: Workspace) -> None:
    log = workspace.root / "predictions.jsonl"
    client = client_for_array(array_store, prediction_log=log)
    body = {"instances": [[0.0, 1.0, 2.0, 3.0], [1.0, 1.0, 1.0, 1.0]]}
    client.post("/predict", json=body)
    [entry] = [json.loads(line) for line in log.read_text().splitlines()]
    assert entry["version"] == "v2" and entry["n_rows"] == 2
    assert entry["latency_ms"] >= 0 and len(entry["input_sha256"]) == 64
    assert set(entry) == {"time", "request_id", "version", "latency_ms", "input_sha256", "n_rows"}


@pytest.mark.slow
def test_real_server(
    fakepkg_cli: ModuleType, workspace: Workspace, capsys: pytest.CaptureFixture[str]
) -> None:
    for _ in range(2):
        train(fakepkg_cli, capsys)
    assert fakepkg_cli.main(["models", "promote", "v1"]) == 0
    port = free_port()
    process = subprocess.Popen(
        [
            sys.executable, "-m", "fakepkg", "serve", "--port", str(port),
            "--shadow", "v2", "--canary", "v2:50", "--max-body-bytes", "2000",
            "--prediction-log", "predictions.jsonl",
        ],
        cwd=workspace.root,
        env=workspace.env(),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )  # fmt: skip
    base = f"http://127.0.0.1:{port}"
    try:
        wait_until_serving(process, f"{base}/health")
        with httpx.Client(base_url=base) as client:
            assert client.get("/health").json() == {"status": "ok", "version": "v1"}
            rows = records(workspace, 3)
            versions = Counter()
            for i in range(40):
                answer = client.post("/predict", json=rows, headers={"X-Request-ID": f"id-{i}"})
                assert answer.status_code == 200
                versions[answer.headers["x-model-version"]] += 1
                assert answer.json()["version"] == answer.headers["x-model-version"]
            assert set(versions) == {"v1", "v2"}
            bad = client.post("/predict", json=[{"age": 1, "income": 2.0}])
            assert bad.status_code == 422 and bad.json()["column"] == "plan"
            malformed = client.post(
                "/predict", content=b"{", headers={"content-type": "application/json"}
            )
            assert malformed.status_code == 400
            big = client.post("/predict", json=records(workspace, 50))
            assert big.status_code == 413
            models = client.get("/models").json()
            assert models["serving"]["canary"]["version"] == "v2"
            assert models["aliases"] == {"production": "v1"}
            metrics = client.get("/metrics").text
            assert 'mlprod_requests_total{path="/predict",status="200"} 40' in metrics
            assert 'mlprod_shadow_predictions_total{version="v2"}' in metrics
            assert fakepkg_cli.main(["models", "promote", "v2"]) == 0
            reloaded = client.post("/reload").json()
            assert reloaded["model"]["version"] == "v2" and reloaded["changed"] is True
            assert client.get("/health").headers["x-model-version"] == "v2"
        log_lines = (workspace.root / "predictions.jsonl").read_text().splitlines()
        assert len(log_lines) == 40
        shadow_lines = (workspace.models / "shadow.jsonl").read_text().splitlines()
        # Requests served by v2 itself (the canary) are not shadowed by v2.
        assert len(shadow_lines) == versions["v1"]
    finally:
        stop(process)


def test_concurrent_requests_share_predict_calls_with_the_same_answers(
    churn_store: Path, workspace: Workspace
) -> None:
    import asyncio

    import fakepkg.serve

    manifest = json.loads((churn_store / "v1" / "manifest.json").read_text())
    assert manifest["row_independent"] is True  # checked by `train` on the held-out sample
    rows = records(workspace, n_rows=40)
    bodies = [rows[i : i + 1 + i % 3] for i in range(30)]
    with client_for(churn_store, micro_batch=False) as plain:
        expected = [plain.post("/predict", json=body).json()["predictions"] for body in bodies]

    app = fakepkg.serve.create_app(churn_store)

    async def send_all() -> list[Any]:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
            answers = await asyncio.gather(*(client.post("/predict", json=b) for b in bodies))
        return [answer.json()["predictions"] for answer in answers]

    assert asyncio.run(send_all()) == expected
    batcher = app.state.server._batcher
    assert batcher is not None and batcher.batches >= 1 and batcher.batched_requests >= 2


def _outcome(answer: Any) -> Any:
    """An answer or error as comparable plain data."""
    if isinstance(answer, Exception):
        return (type(answer).__name__, str(answer))
    return (answer.payload, answer.predictions, answer.rows)


def test_batched_bodies_get_exactly_their_own_answers_and_errors(
    churn_store: Path, workspace: Workspace
) -> None:
    from fakepkg.batching import answer_alone, answer_together
    from fakepkg.predict import predict
    from fakepkg.predicting import call_predict
    from fakepkg.store import ModelStore

    model = ModelStore(churn_store).load("v1")

    def bound(data: Any) -> Any:
        return call_predict(predict, model.artifacts, data)

    rows = records(workspace, n_rows=6)
    good = [rows[0:1], rows[1:4], [{**rows[4], "extra": "ignored"}]]
    as_floats = [{**rows[0], "age": float(rows[0]["age"])}]  # 30.0 for an int64 column
    ints_for_floats = [{**rows[1], "income": int(rows[1]["income"])}]
    odd = [
        b"{",  # malformed
        json.dumps([{"age": 1, "income": 2.0}]).encode(),  # missing column
        json.dumps([{**rows[0], "age": "old"}]).encode(),  # wrong type
        json.dumps([{**rows[0], "age": True}]).encode(),  # a bool is not an age
        json.dumps([{**rows[0], "plan": None}]).encode(),  # null in a non-nullable column
        json.dumps([{**rows[0], "age": 2**70}]).encode(),  # too large for int64
        json.dumps({"columns": list(rows[5]), "data": [list(rows[5].values())]}).encode(),
        json.dumps(as_floats).encode(),
        json.dumps(ints_for_floats).encode(),
        json.dumps([]).encode(),
    ]
    bodies = [json.dumps(body).encode() for body in good] + odd
    alone = [_outcome(_safely(answer_alone, body, model.schema, bound)) for body in bodies]
    together = [_outcome(a) for a in answer_together(bodies, model.schema, bound)]
    assert together == alone
    kinds = [outcome[0] if isinstance(outcome[0], str) else "ok" for outcome in alone]
    assert kinds[:6] == ["ok", "ok", "ok", "InputError", "SchemaError", "SchemaError"]
    assert kinds[6] == "SchemaError" and kinds[-1] == "PredictionError"  # bool age; no rows

    # A prediction that fails on one request's rows fails that request only.
    def picky(artifacts: Any, data: Any) -> Any:
        if (data["age"] == 99).any():
            raise ValueError("no 99-year-olds")
        return predict(artifacts, data)

    mixed = [json.dumps(body).encode() for body in (rows[0:2], [{**rows[0], "age": 99}], rows[2:3])]
    answers = answer_together(
        mixed, model.schema, lambda data: call_predict(picky, model.artifacts, data)
    )
    assert isinstance(answers[1], Exception) and "no 99-year-olds" in str(answers[1])
    assert [_outcome(answers[0]), _outcome(answers[2])] == [
        _outcome(answer_alone(mixed[0], model.schema, bound)),
        _outcome(answer_alone(mixed[2], model.schema, bound)),
    ]


def test_batched_array_requests_match_one_by_one(array_store: Path) -> None:
    from fakearr.batching import answer_alone, answer_together
    from fakearr.predict import predict
    from fakearr.predicting import call_predict
    from fakearr.store import ModelStore

    model = ModelStore(array_store).load("v1")

    def bound(data: Any) -> Any:
        return call_predict(predict, model.artifacts, data)

    bodies = [
        json.dumps({"instances": np.arange(4.0 * n).reshape(n, 4).tolist()}).encode()
        for n in (1, 3, 2)
    ] + [json.dumps([[1.0, 2.0]]).encode(), json.dumps([[1, 2, 3, 4]]).encode()]
    alone = [_outcome(_safely(answer_alone, body, model.schema, bound)) for body in bodies]
    together = [_outcome(a) for a in answer_together(bodies, model.schema, bound)]
    assert alone[3][0] == "SchemaError" and together[3] == alone[3]
    for joined, single in zip(together[:3] + together[4:], alone[:3] + alone[4:], strict=True):
        assert joined[0] == single[0] and joined[2] == single[2]
        # A matrix product over more rows may round the last bit differently (BLAS blocking).
        same = compare_predictions(single[1], joined[1], rtol=1e-12, atol=0.0)
        assert same.ok, same.first_differences


def _safely(function: Any, *args: Any) -> Any:
    try:
        return function(*args)
    except Exception as error:  # noqa: BLE001 - compared as data
        return error


def test_batching_helpers(package_src: Path) -> None:
    from fakepkg.batching import concat_rows, rows_independent, slice_rows

    frames = [pd.DataFrame({"a": [1, 2]}), pd.DataFrame({"a": [3]})]
    joined = concat_rows(frames)
    assert list(joined["a"]) == [1, 2, 3]
    parts = slice_rows(np.array([10, 20, 30]), [2, 1])
    assert parts is not None and [list(p) for p in parts] == [[10, 20], [30]]
    assert slice_rows(np.array([1, 2]), [2, 1]) is None  # row counts must add up
    assert concat_rows([pd.DataFrame({"a": [1]}), np.array([[1]])]) is None

    def per_row(artifacts: Any, data: pd.DataFrame) -> np.ndarray:
        return data["a"].to_numpy() * 2

    def batch_dependent(artifacts: Any, data: pd.DataFrame) -> np.ndarray:
        return (data["a"] - data["a"].mean()).to_numpy()  # depends on the other rows

    sample = pd.DataFrame({"a": [1.0, 2.0, 3.0, 4.0]})
    assert rows_independent(per_row, {}, sample, per_row({}, sample))
    assert not rows_independent(batch_dependent, {}, sample, batch_dependent({}, sample))


def test_reload_takes_the_token_and_is_refused_off_loopback_without_one(
    array_store: Path,
) -> None:
    public = client_for_array(array_store, loopback=False)
    refused = public.post("/reload")
    assert refused.status_code == 403
    assert refused.json()["error"] == (
        "/reload off loopback needs a token: start the server with MLPROD_RETRAIN_TOKEN set"
    )
    for loopback in (True, False):
        guarded = client_for_array(array_store, loopback=loopback, retrain_token="t0ken")
        assert guarded.post("/reload").status_code == 401
        wrong = guarded.post("/reload", headers={"Authorization": "Bearer nope"})
        assert wrong.status_code == 401 and "Bearer <token>" in wrong.json()["error"]
        right = guarded.post("/reload", headers={"Authorization": "Bearer t0ken"})
        assert right.status_code == 200 and right.json()["reloaded"] is True
    assert client_for_array(array_store).post("/reload").status_code == 200


def _connect(port: int) -> socket.socket:
    connection = socket.create_connection(("127.0.0.1", port), timeout=30)
    connection.settimeout(30)
    return connection


def _closed_by_server(connection: socket.socket) -> bytes:
    """Read until the server closes the connection; what it sent before closing."""
    received = b""
    try:
        while chunk := connection.recv(65536):
            received += chunk
    except ConnectionResetError:
        pass
    return received


@pytest.mark.slow
def test_real_server_limits_heads_timeouts_and_connections(
    churn_store: Path, workspace: Workspace
) -> None:
    port = free_port()
    process = subprocess.Popen(
        [
            sys.executable, "-m", "fakepkg", "serve", "--port", str(port),
            "--read-timeout", "1", "--keep-alive-timeout", "1", "--max-connections", "8",
        ],
        cwd=workspace.root,
        env=workspace.env(),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )  # fmt: skip
    try:
        wait_until_serving(process, f"http://127.0.0.1:{port}/health")
        # A 32 MB header: refused after the limit, not buffered.
        with _connect(port) as big:
            sent = 0
            try:
                big.sendall(b"GET /health HTTP/1.1\r\nHost: x\r\nX-Big: ")
                while sent < 32 << 20:
                    big.sendall(b"a" * 65536)
                    sent += 65536
            except OSError:
                pass
            assert sent < 16 << 20, "the server kept reading a 32 MB header"
            answer = _closed_by_server(big)
            assert answer == b"" or answer.startswith(b"HTTP/1.1 431 ")
        # Idle connections, with no request or after one, are closed after the keep-alive timeout.
        idle = [_connect(port) for _ in range(3)]
        used = _connect(port)
        used.sendall(b"GET /health HTTP/1.1\r\nHost: x\r\n\r\n")
        for connection in idle:
            with connection:
                assert _closed_by_server(connection) == b""
        with used:
            answer = _closed_by_server(used)
            assert answer.startswith(b"HTTP/1.1 200 ") and answer.endswith(b'"version":"v1"}')
        # Slow-loris: a head, or a body, sent a byte at a time is cut off with 408.
        for request in (
            b"GET /health HTTP/1.1\r\nHost: x\r\nX-Slow: " + b"s" * 200,
            b"POST /predict HTTP/1.1\r\nHost: x\r\nContent-Length: 500\r\n\r\n" + b" " * 200,
        ):
            with _connect(port) as slow:
                for byte in request:
                    if select.select([slow], [], [], 0.05)[0]:
                        break  # the server answered: stop sending
                    slow.sendall(bytes([byte]))
                answer = _closed_by_server(slow)
                assert answer.startswith(b"HTTP/1.1 408 "), answer[:80]
        # Past --max-connections, requests get 503; the server keeps answering afterwards.
        held = [_connect(port) for _ in range(8)]
        try:
            with _connect(port) as extra:
                extra.sendall(b"GET /health HTTP/1.1\r\nHost: x\r\n\r\n")
                assert extra.recv(65536).startswith(b"HTTP/1.1 503 ")
        finally:
            for connection in held:
                connection.close()
        deep = b"[" * 990 + b"]" * 990
        answered = httpx.post(f"http://127.0.0.1:{port}/predict", content=deep)
        assert answered.status_code == 400 and "nested deeper" in answered.json()["error"]
        assert httpx.get(f"http://127.0.0.1:{port}/health").status_code == 200
    finally:
        stop(process)
    _, log = process.communicate()
    assert "Traceback" not in log, log
