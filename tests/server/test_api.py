"""The REST API against a real in-process Jupyter server with the extension enabled."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pytest

import jupyter_mlprod
from jupyter_mlprod.server.handlers import runs_available

ROLES_IN_ORDER = ["parameters", "load", "train", "predict"]


async def test_capabilities(call: Any) -> None:
    status, body = await call("GET", "capabilities")
    assert status == 200
    assert body == {
        "version": jupyter_mlprod.__version__,
        "convert": True,
        "run": runs_available("execute"),
        "verify": runs_available("verify"),
    }


async def test_analyse_posted_notebook_lists_stages_in_order(call: Any, make_notebook: Any) -> None:
    notebook = make_notebook()
    # An output only the browser has: the answer must not carry the notebook back.
    notebook.cells[2].outputs = [
        {"output_type": "stream", "name": "stdout", "text": "ECHO-MARKER-7f3a"}
    ]
    status, body = await call(
        "POST", "analyse", body={"path": "unsaved/tiny.ipynb", "notebook": notebook}
    )
    assert status == 200, body
    assert body["schema"] == "jupyter-mlprod/check"
    assert body["notebook"] == "unsaved/tiny.ipynb"
    assert body["ok"] is True
    roles = [stage["role"] for stage in body["stages"]]
    assert [role for role in ROLES_IN_ORDER if role in roles] == [
        role for role in roles if role in ROLES_IN_ORDER
    ]
    assert {"load", "train", "predict"} <= set(roles)
    assert "ECHO-MARKER-7f3a" not in json.dumps(body)
    assert "cells" not in body


async def test_analyse_returns_role_suggestions_for_an_untagged_notebook(
    call: Any, make_notebook: Any
) -> None:
    notebook = make_notebook()
    for cell in notebook.cells:
        cell.metadata.pop("tags", None)
    status, body = await call("POST", "analyse", body={"path": "nb.ipynb", "notebook": notebook})
    assert status == 200, body
    assert body["schema_version"] == 2
    suggested = [(item["cell"], item["role"]) for item in body["suggestions"]]
    assert suggested == [(1, "parameters"), (2, "load"), (3, "train"), (4, "predict")]
    assert all(item["reason"] for item in body["suggestions"])


async def test_analyse_reports_predict_reading_a_skipped_variable(
    call: Any, make_notebook: Any
) -> None:
    notebook = make_notebook(skipped_threshold=True)
    predict_index = len(notebook.cells) - 1
    status, body = await call("POST", "analyse", body={"path": "nb.ipynb", "notebook": notebook})
    assert status == 200, body
    assert body["ok"] is False
    errors = [p for p in body["problems"] if p["severity"] == "error"]
    assert any(p["cell"] == predict_index and "threshold" in p["message"] for p in errors), errors


async def test_analyse_reads_the_notebook_on_disk_when_none_is_posted(
    call: Any, put_notebook: Any
) -> None:
    put_notebook("work/tiny.ipynb")
    status, body = await call("POST", "analyse", body={"path": "work/tiny.ipynb"})
    assert status == 200, body
    assert body["notebook"] == "work/tiny.ipynb"
    assert "predict" in [stage["role"] for stage in body["stages"]]


@pytest.mark.parametrize(
    "notebook",
    [
        {"nbformat": 3, "nbformat_minor": 0, "worksheets": [], "metadata": {}},
        {"hello": "world"},
        {"nbformat": 4, "nbformat_minor": 5, "metadata": {}, "cells": "not a list"},
    ],
)
async def test_analyse_unusable_notebook_is_one_line_400(call: Any, notebook: Any) -> None:
    status, body = await call("POST", "analyse", body={"path": "nb.ipynb", "notebook": notebook})
    assert status == 400
    assert body["message"] and "\n" not in body["message"]
    assert "nb.ipynb" in body["message"]
    assert "hello" not in json.dumps(body)


async def test_analyse_missing_notebook_is_404(call: Any) -> None:
    status, body = await call("POST", "analyse", body={"path": "nowhere.ipynb"})
    assert status == 404
    assert "nowhere.ipynb" in body["message"]


async def test_body_that_is_not_json_is_400(call: Any) -> None:
    status, body = await call("POST", "analyse", body="{not json")
    assert status == 400
    assert body["message"] == "the request body is not valid JSON"


async def test_convert_writes_a_package_and_lists_its_files(
    call: Any, put_notebook: Any, jp_root_dir: Path
) -> None:
    put_notebook("work/tiny.ipynb")
    status, body = await call(
        "POST", "convert", body={"path": "work/tiny.ipynb", "output_dir": "work/tiny_pkg"}
    )
    assert status == 200, body
    assert body["output_dir"] == "work/tiny_pkg"
    files = body["files"]
    assert "pyproject.toml" in files
    assert any(name.startswith("src/") and name.endswith("/predict.py") for name in files)
    for name in files:
        assert (jp_root_dir / "work" / "tiny_pkg" / name).is_file(), name
    assert isinstance(body["warnings"], list)


async def test_convert_into_existing_dir_is_409_unless_forced(
    call: Any, put_notebook: Any, jp_root_dir: Path
) -> None:
    put_notebook("tiny.ipynb")
    (jp_root_dir / "taken").mkdir()
    (jp_root_dir / "taken" / "keep.txt").write_text("mine")
    request = {"path": "tiny.ipynb", "output_dir": "taken"}
    status, body = await call("POST", "convert", body=request)
    assert status == 409
    assert "taken" in body["message"]
    assert (jp_root_dir / "taken" / "keep.txt").read_text() == "mine"

    # force replaces only a package nb2prod generated (issue 11), never this directory.
    status, body = await call("POST", "convert", body={**request, "force": True})
    assert status == 409, body
    assert "not generated by nb2prod" in body["message"]
    assert (jp_root_dir / "taken" / "keep.txt").read_text() == "mine"


async def test_convert_with_errors_is_422_with_problems(call: Any, put_notebook: Any) -> None:
    put_notebook("bad.ipynb", skipped_threshold=True)
    status, body = await call("POST", "convert", body={"path": "bad.ipynb", "output_dir": "out"})
    assert status == 422
    assert "threshold" in body["message"]
    # Files are named as the browser knows them, not by the server's absolute paths.
    assert body["message"].startswith("bad.ipynb: cell ")
    assert body["problems"] and all(p["severity"] == "error" for p in body["problems"])


async def test_convert_refuses_to_replace_the_notebooks_own_directory(
    call: Any, put_notebook: Any, jp_root_dir: Path
) -> None:
    put_notebook("work/tiny.ipynb")
    for out in [".", "work", "work/tiny.ipynb"]:
        status, body = await call(
            "POST", "convert", body={"path": "work/tiny.ipynb", "output_dir": out, "force": True}
        )
        assert status == 400, (out, body)
    assert (jp_root_dir / "work" / "tiny.ipynb").is_file()


@pytest.mark.parametrize("field", ["force", "lift_paths"])
async def test_convert_flags_must_be_booleans(call: Any, put_notebook: Any, field: str) -> None:
    put_notebook("tiny.ipynb")
    status, body = await call(
        "POST", "convert", body={"path": "tiny.ipynb", "output_dir": "o", field: "yes"}
    )
    assert status == 400
    assert field in body["message"]


@pytest.mark.parametrize("endpoint", ["analyse", "convert", "run", "verify"])
@pytest.mark.parametrize("escape", ["../x.ipynb", "/etc/passwd", "a/../../x.ipynb"])
async def test_notebook_paths_outside_the_root_are_403(
    call: Any, endpoint: str, escape: str, tmp_path: Path
) -> None:
    (tmp_path / "x.ipynb").write_text("{}")
    status, body = await call("POST", endpoint, body={"path": escape, "output_dir": "o"})
    assert status == 403, body
    assert "outside the server's root directory" in body["message"]


async def test_symlink_escaping_the_root_is_403(
    call: Any, jp_root_dir: Path, tmp_path: Path, make_notebook: Any
) -> None:
    outside = tmp_path / "elsewhere"
    outside.mkdir()
    (outside / "nb.ipynb").write_text(json.dumps(make_notebook()))
    os.symlink(outside, jp_root_dir / "link")
    status, body = await call("POST", "analyse", body={"path": "link/nb.ipynb"})
    assert status == 403, body


@pytest.mark.parametrize("out", ["../outside_pkg", "/tmp/mlprod-outside-pkg"])
async def test_output_dir_outside_the_root_is_403(
    call: Any, put_notebook: Any, jp_root_dir: Path, out: str
) -> None:
    put_notebook("tiny.ipynb")
    status, body = await call("POST", "convert", body={"path": "tiny.ipynb", "output_dir": out})
    assert status == 403, body
    assert "output_dir" in body["message"]
    assert not (jp_root_dir.parent / "outside_pkg").exists()


async def test_hidden_output_dir_and_notebook_are_403(
    call: Any, put_notebook: Any, jp_root_dir: Path
) -> None:
    put_notebook("tiny.ipynb")
    put_notebook(".secret/tiny.ipynb")
    (jp_root_dir / ".ssh").mkdir()
    (jp_root_dir / ".ssh" / "id_ed25519").write_text("key")
    status, body = await call(
        "POST", "convert", body={"path": "tiny.ipynb", "output_dir": ".ssh", "force": True}
    )
    assert status == 403, body
    assert "hidden" in body["message"]
    assert (jp_root_dir / ".ssh" / "id_ed25519").read_text() == "key"
    status, body = await call("POST", "analyse", body={"path": ".secret/tiny.ipynb"})
    assert status == 403, body


async def test_requests_without_token_are_refused(
    http_server_client: Any, jp_base_url: str
) -> None:
    base = f"{jp_base_url}mlprod/"
    requests: list[tuple[str, dict[str, Any]]] = [
        ("capabilities", {"method": "GET"}),
        ("analyse", {"method": "POST", "body": json.dumps({"path": "nb.ipynb"})}),
        ("jobs/abc", {"method": "GET"}),
    ]
    for path, options in requests:
        response = await http_server_client.fetch(base + path, raise_error=False, **options)
        assert response.code in {401, 403}, (path, response.code)


async def test_unknown_job_is_404(call: Any) -> None:
    status, body = await call("GET", "jobs", "0123456789abcdef0123456789abcdef")
    assert status == 404
    assert "no such job" in body["message"]


async def test_run_parameters_must_be_an_object(call: Any, put_notebook: Any) -> None:
    put_notebook("tiny.ipynb")
    status, body = await call("POST", "run", body={"path": "tiny.ipynb", "parameters": [1]})
    assert status == 400
    assert "parameters" in body["message"]
