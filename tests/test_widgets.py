"""The ipywidgets pipeline panel: path resolution, outline rendering, Check and Convert."""

from __future__ import annotations

import html
import os
from pathlib import Path
from typing import Any

import nbformat
import pytest
from notebooks import code, notebook, tiny_pipeline

from jupyter_mlprod.widgets import (
    CANNOT_FIND,
    EXPLICIT_CALL,
    SESSION_ENV,
    VSCODE_GLOBAL,
    PipelinePanel,
    find_notebook,
    outline_html,
    pipeline_panel,
)

REPO = Path(__file__).resolve().parents[1]
CHURN = REPO / "example_notebooks" / "churn.ipynb"


def tiny_notebook(*, skipped_threshold: bool = False) -> nbformat.NotebookNode:
    """Four tagged stages on arrays (see ``notebooks.tiny_pipeline``)."""
    return tiny_pipeline(skipped_threshold=skipped_threshold)


@pytest.fixture
def tiny(tmp_path: Path) -> Path:
    path = tmp_path / "project" / "tiny.ipynb"
    path.parent.mkdir()
    nbformat.write(tiny_notebook(), str(path))
    return path


@pytest.fixture(autouse=True)
def no_session_name(monkeypatch: pytest.MonkeyPatch) -> None:
    """Tests must not see the JPY_SESSION_NAME of a Jupyter terminal they may run in."""
    monkeypatch.delenv(SESSION_ENV, raising=False)


# --- which notebook -------------------------------------------------------------------------


def test_explicit_path_wins_over_everything(tiny: Path, tmp_path: Path) -> None:
    other = tmp_path / "other.ipynb"
    nbformat.write(tiny_notebook(), str(other))
    location = find_notebook(
        "tiny.ipynb",
        user_ns={VSCODE_GLOBAL: str(other)},
        environ={SESSION_ENV: str(other)},
        cwd=tiny.parent,
    )
    assert (location.path, location.source) == (tiny.parent / "tiny.ipynb", "argument")


def test_explicit_path_that_does_not_exist_is_reported_not_replaced(tiny: Path) -> None:
    location = find_notebook("tiny-typo.ipynb", user_ns={VSCODE_GLOBAL: str(tiny)}, cwd=tiny.parent)
    assert location.path is None
    assert "tiny-typo.ipynb" in location.message


def test_vscode_global_comes_before_the_session_variable(tiny: Path, tmp_path: Path) -> None:
    other = tmp_path / "other.ipynb"
    nbformat.write(tiny_notebook(), str(other))
    location = find_notebook(
        user_ns={VSCODE_GLOBAL: str(tiny)}, environ={SESSION_ENV: str(other)}, cwd=tmp_path
    )
    assert (location.path, location.source) == (tiny, "vscode")


def test_session_variable_is_used_and_may_be_relative(tiny: Path, tmp_path: Path) -> None:
    location = find_notebook(user_ns={}, environ={SESSION_ENV: "project/tiny.ipynb"}, cwd=tmp_path)
    assert (location.path, location.source) == (tmp_path / "project" / "tiny.ipynb", "session")


def test_console_session_is_not_a_notebook(tmp_path: Path) -> None:
    console = tmp_path / "console-1"
    console.write_text("")
    location = find_notebook(user_ns={}, environ={SESSION_ENV: str(console)}, cwd=tmp_path)
    assert location.path is None
    assert location.message.startswith(CANNOT_FIND)


def test_nothing_to_go_on_says_exactly_what_to_pass(tmp_path: Path) -> None:
    location = find_notebook(user_ns={}, environ={}, cwd=tmp_path)
    assert location.path is None
    assert location.message == CANNOT_FIND
    assert EXPLICIT_CALL in location.message


def test_stale_session_name_is_explained(tmp_path: Path) -> None:
    location = find_notebook(
        user_ns={}, environ={SESSION_ENV: str(tmp_path / "renamed.ipynb")}, cwd=tmp_path
    )
    assert location.path is None
    assert location.message.startswith(CANNOT_FIND)
    assert SESSION_ENV in location.message and "renamed.ipynb" in location.message


def test_panel_without_a_notebook_shows_the_call_to_make(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    panel = pipeline_panel()
    assert isinstance(panel, PipelinePanel)
    assert panel.message == CANNOT_FIND
    assert len(panel.children) == 1
    assert html.escape(EXPLICIT_CALL) in panel.children[0].value


# --- outline rendering (pure) ---------------------------------------------------------------

REPORT: dict[str, Any] = {
    "schema": "jupyter-mlprod/check",
    "schema_version": 1,
    "notebook": "tiny.ipynb",
    "ok": False,
    "stages": [
        {"role": "parameters", "cells": [{"index": 1}], "reads": [], "provides": ["seed"]},
        {
            "role": "load",
            "cells": [{"index": 2}, {"index": 3}],
            "reads": ["seed"],
            "provides": ["X_train"],
        },
        {"role": "train", "cells": [{"index": 4}], "reads": ["X_train"], "provides": ["model"]},
        {"role": "predict", "cells": [{"index": 6}], "reads": ["model"], "provides": ["y_pred"]},
    ],
    "parameters": [
        {
            "name": "seed",
            "type": "int",
            "default": 0,
            "default_repr": "0",
            "comment": "random seed",
            "cell": 1,
            "line": 1,
        }
    ],
    "flows": [
        {"name": "X_train", "from_role": "load", "from_cell": 3, "to_role": "train", "to_cell": 4}
    ],
    "artifacts": ["model"],
    "predict": {
        "input": None,
        "output": "y_pred",
        "output_source": "inferred",
        "input_candidates": ["X_test", "X_new"],
        "output_candidates": ["y_pred"],
    },
    "problems": [
        {
            "severity": "warning",
            "code": "display-only",
            "message": "df.head() is left out",
            "cell": 2,
            "line": 4,
        },
        {
            "severity": "error",
            "code": "undefined-name",
            "message": "predict reads <threshold> defined only in untagged cell 5",
            "cell": 6,
            "line": 1,
            "hint": "tag cell 5 load",
        },
    ],
}


def test_outline_lists_stages_in_report_order_with_their_cells() -> None:
    text = outline_html(REPORT)
    positions = [
        text.index(f">{role}</span>") for role in ("parameters", "load", "train", "predict")
    ]
    assert positions == sorted(positions)
    assert "cells 3, 4" in text
    assert "<code>X_train</code>: load (cell 4) → train (cell 5)" in text
    assert "Artifacts" in text and "<code>model</code>" in text
    assert "<code>seed</code>: int = <code>0</code> — random seed" in text


def test_outline_counts_errors_and_lists_errors_before_warnings() -> None:
    text = outline_html(REPORT)
    assert "1 error" in text
    assert text.index("threshold") < text.index("df.head()")
    assert "[cell 7, line 1]" in text
    assert "tag cell 5 load" in text


def test_outline_escapes_notebook_text() -> None:
    text = outline_html(REPORT)
    assert "<threshold>" not in text
    assert "&lt;threshold&gt;" in text


def test_outline_shows_predict_candidates_when_input_is_not_chosen() -> None:
    text = outline_html(REPORT)
    assert "input <i>not chosen</i> (candidates: <code>X_test</code>, <code>X_new</code>)" in text
    assert "output <code>y_pred</code> (inferred)" in text


def test_outline_of_a_clean_report_says_ready() -> None:
    text = outline_html({**REPORT, "ok": True, "problems": []})
    assert "Ready to convert" in text
    assert "Problems" not in text


def test_outline_of_an_untagged_notebook_says_what_to_do() -> None:
    assert "no tagged cells yet" in outline_html({"stages": [], "problems": []})


# --- the panel with the real analysis ------------------------------------------------------


def stage_roles(panel: PipelinePanel) -> list[str]:
    assert panel.report is not None, panel.outline.value
    return [stage["role"] for stage in panel.report["stages"]]


def test_panel_for_a_small_tagged_notebook_lists_its_stages(tiny: Path) -> None:
    panel = pipeline_panel(str(tiny))
    roles = stage_roles(panel)
    assert {"load", "train", "predict"} <= set(roles)
    assert roles.index("load") < roles.index("train") < roles.index("predict")
    assert panel.report is not None and panel.report["ok"] is True
    assert "Ready to convert" in panel.outline.value
    assert panel.output_dir.value == "tiny_package"


def test_panel_for_the_churn_example_lists_its_stages() -> None:
    panel = pipeline_panel(CHURN)
    roles = stage_roles(panel)
    assert {"load", "train", "predict"} <= set(roles)
    assert roles.index("load") < roles.index("train") < roles.index("predict")
    for role in ("load", "train", "predict"):
        assert f">{role}</span>" in panel.outline.value


def test_check_button_rereads_the_notebook_from_disk(tiny: Path) -> None:
    panel = pipeline_panel(str(tiny))
    assert panel.report is not None and panel.report["ok"] is True
    nbformat.write(tiny_notebook(skipped_threshold=True), str(tiny))
    panel.check_button.click()
    assert panel.report is not None and panel.report["ok"] is False
    assert "threshold" in panel.outline.value


def test_check_shows_an_unreadable_notebook_as_one_line(tiny: Path) -> None:
    panel = pipeline_panel(str(tiny))
    tiny.write_text("{ not json")
    assert panel.check() is None
    assert "not valid JSON" in panel.outline.value


def test_convert_button_writes_the_package_and_respects_force(tiny: Path) -> None:
    panel = pipeline_panel(str(tiny))
    panel.output_dir.value = "out_pkg"
    panel.convert_button.click()
    out = tiny.parent / "out_pkg"
    assert (out / "pyproject.toml").is_file(), panel.result.value
    assert "Converted" in panel.result.value and "pyproject.toml" in panel.result.value

    panel.convert_button.click()
    assert "exists" in panel.result.value

    panel.force.value = True
    panel.convert_button.click()
    assert "Converted" in panel.result.value


def test_buttons_are_disabled_while_an_action_runs(
    tiny: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    panel = pipeline_panel(str(tiny))
    seen: list[tuple[bool, bool, str]] = []

    def record() -> None:
        state = (panel.check_button.disabled, panel.convert_button.disabled, panel.result.value)
        seen.append(state)

    monkeypatch.setattr(panel, "convert", record)
    panel.convert_button.click()
    assert seen == [(True, True, "<i>working…</i>")]
    assert not panel.check_button.disabled and not panel.convert_button.disabled


def test_convert_stops_on_errors_and_lists_them(tiny: Path) -> None:
    nbformat.write(tiny_notebook(skipped_threshold=True), str(tiny))
    panel = pipeline_panel(str(tiny))
    assert panel.convert() is None
    assert "Conversion stopped" in panel.result.value
    assert "threshold" in panel.result.value
    assert not (tiny.parent / "tiny_package").exists()


# --- inside a real kernel ------------------------------------------------------------------


@pytest.mark.slow
@pytest.mark.parametrize("how", ["session", "vscode"])
def test_panel_finds_its_notebook_inside_a_kernel(
    tiny: Path, monkeypatch: pytest.MonkeyPatch, how: str
) -> None:
    """The kernel sees JPY_SESSION_NAME / __vsc_ipynb_file__ the way real front ends set them."""
    from nbclient import NotebookClient

    monkeypatch.setenv("PYTHONPATH", os.pathsep.join([str(REPO), os.environ.get("PYTHONPATH", "")]))
    if how == "session":
        monkeypatch.setenv(SESSION_ENV, str(tiny))
    cells = []
    if how == "vscode":
        cells.append(code(f"{VSCODE_GLOBAL} = {str(tiny)!r}"))
    cells.append(
        code(
            "from jupyter_mlprod.widgets import pipeline_panel\n"
            "panel = pipeline_panel()\n"
            "print(panel.location.source, [s['role'] for s in panel.report['stages']])\n"
            "panel"
        )
    )
    executed = notebook(*cells)
    NotebookClient(
        executed,
        kernel_name="python3",
        timeout=300,
        resources={"metadata": {"path": str(tiny.parent)}},
    ).execute()
    outputs = executed.cells[-1].outputs
    printed = "".join(out.get("text", "") for out in outputs if out["output_type"] == "stream")
    assert printed.startswith(how), printed
    assert "'predict'" in printed
    widget_views = [
        out
        for out in outputs
        if out["output_type"] == "execute_result"
        and "application/vnd.jupyter.widget-view+json" in out["data"]
    ]
    assert widget_views, outputs
