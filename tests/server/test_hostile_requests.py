"""Hostile request bodies (issue 11): the extension answers 400 (or the report, for a cell
problem) with one message, never a 500 — and the Jupyter server keeps answering."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest


async def assert_server_answers(call: Any) -> None:
    status, body = await call("GET", "capabilities")
    assert status == 200 and body["convert"] is True


def with_train_line(notebook: Any, line: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads(json.dumps(notebook))
    train = next(cell for cell in data["cells"] if "train" in cell["metadata"].get("tags", []))
    train["source"] = "".join(train["source"]) + "\n" + line
    return data


@pytest.mark.parametrize(
    ("line", "fragment"),
    [
        ("z = " + "(" * 2000 + "1" + ")" * 2000, "too many nested parentheses"),
        ("z = " + "+".join(["1"] * 400), "too deeply nested"),
        ("z = " + "lambda: " * 5000 + "1", "too deeply nested"),
        ("q = 'a\0b'", "NUL"),
    ],
    ids=["parentheses-2000", "plus-400", "lambdas-5000", "nul"],
)
async def test_analyse_a_cell_libcst_cannot_take(
    line: str, fragment: str, call: Any, make_notebook: Any
) -> None:
    notebook = with_train_line(make_notebook(), line)
    status, body = await call("POST", "analyse", body={"path": "nb.ipynb", "notebook": notebook})
    assert status == 200, body
    assert body["ok"] is False
    messages = [problem["message"] for problem in body["problems"]]
    assert any(fragment in message for message in messages), messages
    await assert_server_answers(call)


@pytest.mark.parametrize("depth", [990, 100_000])
async def test_deeply_nested_body(depth: int, call: Any) -> None:
    status, body = await call("POST", "analyse", body="[" * depth + "]" * depth)
    assert status == 400, body
    assert "nested deeper than" in body["message"]
    await assert_server_answers(call)


@pytest.mark.parametrize("endpoint", ["convert", "run", "verify"])
async def test_deeply_nested_body_on_every_endpoint(endpoint: str, call: Any) -> None:
    deep = "[" * 5000 + "]" * 5000
    status, body = await call(
        "POST", endpoint, body=f'{{"path": "nb.ipynb", "parameters": {deep}}}'
    )
    assert status == 400, body
    assert "nested deeper than" in body["message"]
    await assert_server_answers(call)


async def test_deeply_nested_notebook_metadata(call: Any, make_notebook: Any) -> None:
    deep = '{"a": ' * 100_000 + "1" + "}" * 100_000
    notebook = json.dumps(json.loads(json.dumps(make_notebook())))
    text = notebook[: notebook.rindex("}")] + f', "extra": {deep}}}'
    status, body = await call("POST", "analyse", body=f'{{"path": "nb.ipynb", "notebook": {text}}}')
    assert status == 400, body
    await assert_server_answers(call)


async def test_deeply_nested_notebook_on_disk(
    call: Any, make_notebook: Any, jp_root_dir: Path
) -> None:
    text = json.dumps(json.loads(json.dumps(make_notebook())))
    deep = "[" * 50_000 + "]" * 50_000
    (jp_root_dir / "deep.ipynb").write_text(text[: text.rindex("}")] + f', "x": {deep}}}')
    status, body = await call("POST", "analyse", body={"path": "deep.ipynb"})
    assert status == 400, body
    assert body["message"].startswith("deep.ipynb: JSON nested deeper than")
    await assert_server_answers(call)


async def test_lone_surrogate_and_null_metadata(call: Any, make_notebook: Any) -> None:
    notebook = with_train_line(make_notebook(), "q = '\ud800'")
    status, body = await call("POST", "analyse", body={"path": "nb.ipynb", "notebook": notebook})
    assert status == 400, body
    assert "surrogate" in body["message"] and "\n" not in body["message"]
    notebook = json.loads(json.dumps(make_notebook()))
    notebook["metadata"] = None
    status, body = await call("POST", "analyse", body={"path": "nb.ipynb", "notebook": notebook})
    assert status == 400, body
    assert "`metadata` must be an object" in body["message"]
    await assert_server_answers(call)


async def test_cell_id_with_escapes_is_one_line(
    call: Any, make_notebook: Any, jp_root_dir: Path
) -> None:
    notebook = with_train_line(make_notebook(), "x = (")
    train = next(cell for cell in notebook["cells"] if "train" in cell["metadata"].get("tags", []))
    train["id"] = "a\n\x1b[2Jb"
    (jp_root_dir / "nb.ipynb").write_text(json.dumps(notebook))
    status, body = await call("POST", "convert", body={"path": "nb.ipynb", "output_dir": "out"})
    assert status == 422, body
    assert "(id a\\n\\x1b[2Jb)" in body["message"]
    assert "\x1b" not in body["message"] and "\n" not in body["message"]


async def test_forced_convert_leaves_a_foreign_directory_alone(
    call: Any, put_notebook: Any, jp_root_dir: Path
) -> None:
    put_notebook("tiny.ipynb")
    victim = jp_root_dir / "victim"
    victim.mkdir()
    (victim / "keep.txt").write_text("precious")
    status, body = await call(
        "POST", "convert", body={"path": "tiny.ipynb", "output_dir": "victim", "force": True}
    )
    assert status == 409, body
    assert "not generated by nb2prod" in body["message"]
    assert (victim / "keep.txt").read_text() == "precious"
    assert sorted(p.name for p in jp_root_dir.iterdir() if p.name.startswith(".victim")) == []
    await assert_server_answers(call)


async def test_forced_convert_replaces_its_own_package(
    call: Any, put_notebook: Any, jp_root_dir: Path
) -> None:
    put_notebook("tiny.ipynb")
    request = {"path": "tiny.ipynb", "output_dir": "pkg"}
    status, body = await call("POST", "convert", body=request)
    assert status == 200, body
    (jp_root_dir / "pkg" / "stale.txt").write_text("old")
    status, body = await call("POST", "convert", body={**request, "force": True})
    assert status == 200, body
    assert not (jp_root_dir / "pkg" / "stale.txt").exists()


async def test_bad_package_name_is_one_message(call: Any, put_notebook: Any) -> None:
    put_notebook("tiny.ipynb")
    for name in ["sys", "class", "café"]:
        status, body = await call(
            "POST", "convert", body={"path": "tiny.ipynb", "output_dir": "out", "name": name}
        )
        assert status == 422, body
        assert "--name" in body["message"] and "\n" not in body["message"]
