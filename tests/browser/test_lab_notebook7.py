"""The role picker also works in Notebook 7's single-document UI."""

from __future__ import annotations

import pytest
from labdriver import LabServer, LabUI, write_notebook

pytestmark = pytest.mark.browser


def test_notebook7_toolbar_picker_tags_cell(lab_ui: LabUI, lab_server: LabServer) -> None:
    name = "nb7_tagging.ipynb"
    write_notebook(lab_server.notebook_path(name), [("code", "x = 1", ["mine"])])
    lab_ui.open_notebook7(name)

    lab_ui.pick_role(0, "predict")
    chip = lab_ui.chip(0)
    chip.wait_for()
    assert chip.inner_text() == "predict"
    lab_ui.save()
    nb = lab_ui.wait_for_disk(
        name, lambda nb: "predict" in nb.cells[0].metadata.get("tags", []), "the predict tag"
    )
    assert nb.cells[0].metadata["tags"] == ["mine", "predict"]


def test_notebook7_opens_pipeline_panel_from_view_menu(
    lab_ui: LabUI, lab_server: LabServer
) -> None:
    name = "nb7_panel.ipynb"
    write_notebook(
        lab_server.notebook_path(name),
        [("code", "n = 3", ["parameters"]), ("code", "data = list(range(n))", ["load"])],
    )
    lab_ui.open_notebook7(name)

    lab_ui.page.get_by_role("menuitem", name="View").click()
    lab_ui.page.locator(".lm-Menu").get_by_text("Pipeline Panel", exact=True).click()
    panel = lab_ui.page.locator("#jp-mlprod-pipeline")
    panel.locator(".jp-mlprod-stage[data-role='load']").wait_for()
    assert panel.locator(".jp-mlprod-notebook").inner_text() == name
