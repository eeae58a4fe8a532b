"""The one JSON decoder for untrusted bodies: a nesting limit, one line for every failure."""

from __future__ import annotations

import subprocess
import sys
import warnings
from pathlib import Path

import pytest

from jupyter_mlprod.runtime.errors import InputError
from jupyter_mlprod.runtime.json_input import MAX_DEPTH, decode_json, nesting_exceeds

with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    from starlette.testclient import TestClient


def nested(depth: int) -> bytes:
    return b"[" * depth + b"]" * depth


def test_shallow_documents_decode_as_json_loads_does() -> None:
    assert decode_json(b'[{"a": 1, "b": "[[[[x"}]') == [{"a": 1, "b": "[[[[x"}]
    assert decode_json('{"instances": [[1, 2], [3, 4]]}') == {"instances": [[1, 2], [3, 4]]}
    assert decode_json(nested(MAX_DEPTH)) is not None
    # Many brackets, little depth: the walk runs and accepts it.
    assert len(decode_json(b"[" + b",".join([b"[1]"] * 500) + b"]")) == 500


@pytest.mark.parametrize("depth", [MAX_DEPTH + 1, 990, 100_000])
def test_deep_documents_are_one_input_error(depth: int) -> None:
    with pytest.raises(InputError, match=f"^JSON nested deeper than {MAX_DEPTH} levels"):
        decode_json(nested(depth))
    with pytest.raises(InputError, match="nested deeper than 3 levels"):
        decode_json(b'{"a": [{"b": [1]}]}', max_depth=3)


def test_malformed_json_names_the_error_kind_only() -> None:
    with pytest.raises(InputError, match="^malformed JSON: JSONDecodeError$"):
        decode_json(b'[{"secret": "abc')
    with pytest.raises(InputError, match="^malformed JSON: UnicodeDecodeError$"):
        decode_json(b'["\xff\xfe"]')


def test_nesting_exceeds_counts_lists_and_objects() -> None:
    assert not nesting_exceeds(1, 0)
    assert not nesting_exceeds([{"a": [1]}], 3)
    assert nesting_exceeds([{"a": [1]}], 2)


def test_importing_the_decoder_loads_only_the_standard_library() -> None:
    code = (
        "import sys, jupyter_mlprod.runtime.json_input as m; "
        "print(sorted({'numpy', 'pandas', 'starlette'} & set(sys.modules)))"
    )
    shown = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert shown.stdout.strip() == "[]"


def test_deeply_nested_predict_and_retrain_bodies_get_400_without_a_traceback(
    churn_store: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    import fakepkg.serve

    with TestClient(fakepkg.serve.create_app(churn_store, allow_retrain=True)) as client:
        for path in ("/predict", "/retrain"):
            answer = client.post(
                path, content=nested(990), headers={"content-type": "application/json"}
            )
            assert answer.status_code == 400, (path, answer.text)
            assert answer.json()["error"].startswith(f"JSON nested deeper than {MAX_DEPTH}")
        records = b'[{"age": 30, "income": 50000.0, "plan": "basic"}]'
        assert client.post("/predict", content=records).status_code == 200
    assert "Traceback" not in capsys.readouterr().err


def test_records_walk_every_value_for_nesting() -> None:
    records = [{"a": i, "b": "x"} for i in range(200)]
    assert not nesting_exceeds(records, 2) and nesting_exceeds(records, 1)
    hidden = [*records, {"a": nested_value(MAX_DEPTH)}]  # deep inside the last record only
    assert nesting_exceeds(hidden, MAX_DEPTH)


def nested_value(depth: int) -> list[object]:
    value: list[object] = []
    for _ in range(depth - 1):
        value = [value]
    return value
