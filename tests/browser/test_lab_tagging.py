"""Tagging cells through the real JupyterLab UI, checked on the saved .ipynb."""

from __future__ import annotations

import pytest
from labdriver import LabServer, LabUI, write_notebook
from playwright.sync_api import expect

pytestmark = pytest.mark.browser


def tags_of(nb, index: int) -> list[str]:
    return list(nb.cells[index].metadata.get("tags", []))


@pytest.fixture
def tagging_notebook(lab_server: LabServer, request: pytest.FixtureRequest) -> str:
    """A fresh notebook per test: a tagged cell with an unrelated tag, a plain cell, markdown."""
    name = f"tagging_{request.node.name}.ipynb"
    write_notebook(
        lab_server.notebook_path(name),
        [
            ("code", "a = 1", ["keep-me"]),
            ("code", "b = a + 1", []),
            ("markdown", "Notes", []),
        ],
    )
    return name


def test_toolbar_picker_tags_cell_and_replaces_role(lab_ui: LabUI, tagging_notebook: str) -> None:
    lab_ui.open_lab(tagging_notebook)

    lab_ui.pick_role(0, "load")
    chip = lab_ui.chip(0)
    chip.wait_for()
    assert chip.inner_text() == "load"
    assert "jp-mlprod-role-load" in (lab_ui.cell(0).get_attribute("class") or "")
    lab_ui.save()
    nb = lab_ui.wait_for_disk(tagging_notebook, lambda nb: "load" in tags_of(nb, 0), "the load tag")
    assert tags_of(nb, 0) == ["keep-me", "load"]
    assert tags_of(nb, 1) == []

    lab_ui.pick_role(0, "train")
    expect(lab_ui.chip(0)).to_have_text("train")
    lab_ui.save()
    nb = lab_ui.wait_for_disk(tagging_notebook, lambda nb: "train" in tags_of(nb, 0), "train")
    assert tags_of(nb, 0) == ["keep-me", "train"]

    lab_ui.pick_role(0, "none")
    lab_ui.chip(0).wait_for(state="detached")
    lab_ui.save()
    nb = lab_ui.wait_for_disk(tagging_notebook, lambda nb: "train" not in tags_of(nb, 0), "no role")
    assert tags_of(nb, 0) == ["keep-me"]


def test_keyboard_shortcuts_set_and_clear_role(lab_ui: LabUI, tagging_notebook: str) -> None:
    lab_ui.open_lab(tagging_notebook)
    lab_ui.activate(1)

    lab_ui.page.keyboard.press("Alt+3")
    lab_ui.chip(1).wait_for()
    assert lab_ui.chip(1).inner_text() == "train"
    lab_ui.page.keyboard.press("Alt+4")
    expect(lab_ui.chip(1)).to_have_text("predict")
    lab_ui.save()
    nb = lab_ui.wait_for_disk(tagging_notebook, lambda nb: tags_of(nb, 1) == ["predict"], "predict")
    assert tags_of(nb, 0) == ["keep-me"]

    lab_ui.page.keyboard.press("Alt+0")
    lab_ui.chip(1).wait_for(state="detached")
    lab_ui.save()
    lab_ui.wait_for_disk(tagging_notebook, lambda nb: tags_of(nb, 1) == [], "no tags on cell 1")


def test_context_menu_sets_role(lab_ui: LabUI, tagging_notebook: str) -> None:
    lab_ui.open_lab(tagging_notebook)
    cell = lab_ui.activate(1)

    cell.locator(".jp-InputPrompt").click(button="right")
    menu = lab_ui.page.locator(".lm-Menu")
    menu.get_by_text("Pipeline Role", exact=True).hover()
    menu.get_by_text("Role: skip", exact=True).click()
    lab_ui.chip(1).wait_for()
    assert lab_ui.chip(1).inner_text() == "skip"
    lab_ui.save()
    lab_ui.wait_for_disk(tagging_notebook, lambda nb: tags_of(nb, 1) == ["skip"], "skip")


def test_markdown_cells_get_no_picker(lab_ui: LabUI, tagging_notebook: str) -> None:
    lab_ui.open_lab(tagging_notebook)
    cell = lab_ui.activate(2)
    # The toolbar is there, the role picker inside it is hidden for markdown.
    cell.locator(".jp-cell-toolbar").wait_for()
    assert not cell.locator(".jp-mlprod-role-picker").is_visible()


def test_colours_setting_turns_role_colours_off(lab_ui: LabUI, tagging_notebook: str) -> None:
    lab_ui.open_lab(tagging_notebook)
    body = lab_ui.page.locator("body")
    assert "jp-mlprod-no-colours" not in (body.get_attribute("class") or "")

    set_colours = """async (value) => {
        const registry = window.jupyterapp.serviceManager.settings;
        const settings = await registry.fetch('jupyter-mlprod:plugin');
        const raw = JSON.stringify({...JSON.parse(settings.raw || '{}'), colours: value});
        await registry.save('jupyter-mlprod:plugin', raw);
    }"""
    lab_ui.page.evaluate(set_colours, False)
    try:
        # The settings change reaches the extension through the setting registry's signal.
        lab_ui.page.reload()
        lab_ui.open_lab(tagging_notebook)
        lab_ui.page.locator("body.jp-mlprod-no-colours").wait_for(state="attached")
    finally:
        lab_ui.page.evaluate(set_colours, True)
