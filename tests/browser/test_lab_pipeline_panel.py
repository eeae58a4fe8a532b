"""The Pipeline side panel in a real JupyterLab: stages, problems, pickers, Convert."""

from __future__ import annotations

import json
import urllib.request
from pathlib import Path

import pytest
from labdriver import LabServer, LabUI, write_notebook

pytestmark = pytest.mark.browser

# A small notebook whose predict cell reads `offset`, defined only by cell 4, tagged `skip` (an
# untagged cell would join the predict stage by stage completion).
PIPELINE_CELLS = [
    ("markdown", "# Demo", []),
    ("code", "alpha = 1.0", ["parameters"]),
    ("code", "from sklearn.linear_model import Ridge", []),
    (
        "code",
        "X_train = [[1.0], [2.0], [3.0]]\ny_train = [2.0, 4.0, 6.0]\nX_test = [[4.0], [5.0]]",
        ["load"],
    ),
    ("code", "offset = 0.5", ["skip"]),
    ("code", "model = Ridge(alpha=alpha).fit(X_train, y_train)", ["train"]),
    ("code", "y_pred = model.predict(X_test) + offset", ["predict"]),
]
SKIPPED_CELL = 4


def pipeline_notebook(server: LabServer, name: str, *, offset_tagged: bool = False) -> str:
    cells = list(PIPELINE_CELLS)
    if offset_tagged:
        cells[SKIPPED_CELL] = ("code", "offset = 0.5", ["load"])
    write_notebook(server.notebook_path(name), cells)
    return name


def test_panel_shows_stages_and_untagged_problem_until_cell_is_tagged(
    lab_ui: LabUI, lab_server: LabServer, artifacts_dir: Path
) -> None:
    name = pipeline_notebook(lab_server, "panel_stages.ipynb")
    lab_ui.open_lab(name)
    panel = lab_ui.open_pipeline_panel()

    problem = panel.locator(".jp-mlprod-problem[data-code='untagged-variable']")
    problem.wait_for()
    assert "offset" in problem.inner_text()
    stages = panel.locator(".jp-mlprod-stage")
    roles = [stages.nth(i).get_attribute("data-role") for i in range(stages.count())]
    assert roles == ["parameters", "load", "train", "predict"]
    flow = panel.locator(".jp-mlprod-flow[data-from='train'][data-to='predict']")
    assert "model" in flow.inner_text()
    panel.screenshot(path=str(artifacts_dir / "pipeline-panel.png"))

    # Clicking a problem or a stage cell jumps to that cell.
    problem.locator(".jp-mlprod-cell-link").click()
    lab_ui.page.wait_for_function(
        "() => window.jupyterapp.shell.currentWidget.content.activeCellIndex === 6"
    )
    panel.locator(".jp-mlprod-stage[data-role='load'] .jp-mlprod-cell-link[data-cell='3']").click()
    lab_ui.page.wait_for_function(
        "() => window.jupyterapp.shell.currentWidget.content.activeCellIndex === 3"
    )

    # Tagging the cell (unsaved) re-analyses the edited notebook: the problem goes away.
    lab_ui.pick_role(SKIPPED_CELL, "load")
    problem.wait_for(state="detached")
    load_cells = panel.locator(".jp-mlprod-stage[data-role='load'] .jp-mlprod-cell-link")
    assert [load_cells.nth(i).get_attribute("data-cell") for i in range(load_cells.count())] == [
        "3",
        "4",
    ]
    assert panel.locator(".jp-mlprod-status").get_attribute("data-state") == "ok"


def test_predict_input_picker_writes_notebook_metadata(
    lab_ui: LabUI, lab_server: LabServer
) -> None:
    name = pipeline_notebook(lab_server, "panel_picker.ipynb", offset_tagged=True)
    lab_ui.open_lab(name)
    panel = lab_ui.open_pipeline_panel()

    picker = panel.locator("select.jp-mlprod-predict-input")
    panel.locator("select.jp-mlprod-predict-input option[value='X_test']").wait_for(
        state="attached"
    )
    picker.select_option("X_test")
    lab_ui.save()

    nb = lab_ui.wait_for_disk(
        name, lambda nb: "mlprod" in nb.metadata, "metadata.mlprod after choosing X_test"
    )
    assert dict(nb.metadata["mlprod"]) == {"predict_input": "X_test"}
    # The panel re-analyses and now reports the choice as coming from the metadata.
    panel.locator("select.jp-mlprod-predict-input").and_(
        lab_ui.page.locator("select:has(option[value='X_test']:checked)")
    ).wait_for()


def test_convert_from_panel_writes_package(lab_ui: LabUI, lab_server: LabServer) -> None:
    name = pipeline_notebook(lab_server, "panel_convert.ipynb", offset_tagged=True)
    lab_ui.open_lab(name)
    panel = lab_ui.open_pipeline_panel()
    panel.locator(".jp-mlprod-status[data-state='ok']").wait_for()

    panel.locator("button[data-action='convert']").click()
    dialog = lab_ui.page.locator(".jp-Dialog")
    field = dialog.locator("input[name='output_dir']")
    assert field.input_value() == "panel_convert_package"
    dialog.locator(".jp-Dialog-button.jp-mod-accept").click()

    result = lab_ui.page.locator(".jp-Dialog .jp-mlprod-convert-result")
    result.wait_for()
    out = lab_server.root / "panel_convert_package"
    assert (out / "pyproject.toml").is_file()
    predict_modules = list(out.glob("src/*/predict.py"))
    assert len(predict_modules) == 1
    assert "pyproject.toml" in result.inner_text()
    lab_ui.page.locator(".jp-Dialog .jp-Dialog-button.jp-mod-accept").click()
    assert panel.locator(".jp-mlprod-converted-section").is_visible()

    # Converting again into the same directory asks before replacing it.
    (out / "stale.txt").write_text("left over")
    panel.locator("button[data-action='convert']").click()
    lab_ui.page.locator(".jp-Dialog .jp-Dialog-button.jp-mod-accept").click()
    replace = lab_ui.page.locator(".jp-Dialog", has_text="already exists")
    replace.locator(".jp-Dialog-button.jp-mod-accept").click()
    lab_ui.page.locator(".jp-Dialog .jp-mlprod-convert-result").wait_for()
    lab_ui.page.locator(".jp-Dialog .jp-Dialog-button.jp-mod-accept").click()
    assert not (out / "stale.txt").exists()
    assert (out / "pyproject.toml").is_file()


def test_convert_shows_problems_when_notebook_cannot_convert(
    lab_ui: LabUI, lab_server: LabServer
) -> None:
    name = pipeline_notebook(lab_server, "panel_convert_fails.ipynb")
    lab_ui.open_lab(name)
    panel = lab_ui.open_pipeline_panel()
    panel.locator(".jp-mlprod-status[data-state='errors']").wait_for()

    panel.locator("button[data-action='convert']").click()
    lab_ui.page.locator(".jp-Dialog .jp-Dialog-button.jp-mod-accept").click()
    failure = lab_ui.page.locator(".jp-Dialog .jp-mlprod-failure")
    failure.wait_for()
    assert "offset" in failure.inner_text()
    lab_ui.page.locator(".jp-Dialog .jp-Dialog-button.jp-mod-accept").click()
    assert not (lab_server.root / "panel_convert_fails_package").exists()


def test_verify_and_run_buttons_follow_server_capabilities(
    lab_ui: LabUI, lab_server: LabServer
) -> None:
    name = pipeline_notebook(lab_server, "panel_caps.ipynb", offset_tagged=True)
    with urllib.request.urlopen(f"{lab_server.url}mlprod/capabilities") as answer:
        capabilities = json.load(answer)
    lab_ui.open_lab(name)
    panel = lab_ui.open_pipeline_panel()
    panel.locator("button[data-action='convert']").wait_for()
    panel.locator(".jp-mlprod-status[data-state='ok']").wait_for()

    assert panel.locator("button[data-action='verify']").count() == int(capabilities["verify"])
    assert panel.locator("button[data-action='run']").count() == int(capabilities["run"])


@pytest.mark.slow
def test_run_headless_from_panel_with_edited_parameter(
    lab_ui: LabUI, lab_server: LabServer
) -> None:
    with urllib.request.urlopen(f"{lab_server.url}mlprod/capabilities") as answer:
        assert json.load(answer)["run"], "the server says it cannot run notebooks"
    name = pipeline_notebook(lab_server, "panel_run.ipynb", offset_tagged=True)
    lab_ui.open_lab(name)
    panel = lab_ui.open_pipeline_panel()
    panel.locator(".jp-mlprod-status[data-state='ok']").wait_for()

    panel.locator("button[data-action='run']").click()
    field = lab_ui.page.locator(".jp-Dialog input[name='alpha']")
    assert field.input_value() == "1.0"
    field.fill("2.5")
    lab_ui.page.locator(".jp-Dialog .jp-Dialog-button.jp-mod-accept").click()

    status = panel.locator(".jp-mlprod-job-status[data-status='succeeded']")
    failed = panel.locator(".jp-mlprod-job-status[data-status='failed']")
    status.or_(failed).wait_for(timeout=180_000)
    assert status.is_visible(), failed.inner_text()
    record = panel.locator(".jp-mlprod-job-result").inner_text()
    assert "2.5" in record


@pytest.mark.slow
def test_verify_from_panel_reports_agreement(lab_ui: LabUI, lab_server: LabServer) -> None:
    with urllib.request.urlopen(f"{lab_server.url}mlprod/capabilities") as answer:
        assert json.load(answer)["verify"], "the server says it cannot verify notebooks"
    name = pipeline_notebook(lab_server, "panel_verify.ipynb", offset_tagged=True)
    lab_ui.open_lab(name)
    panel = lab_ui.open_pipeline_panel()
    panel.locator(".jp-mlprod-status[data-state='ok']").wait_for()

    panel.locator("button[data-action='verify']").click()
    status = panel.locator(".jp-mlprod-job-status[data-status='succeeded']")
    failed = panel.locator(".jp-mlprod-job-status[data-status='failed']")
    status.or_(failed).wait_for(timeout=300_000)
    assert status.is_visible(), failed.inner_text()
    assert status.inner_text().startswith("verify: succeeded")
    assert panel.locator(".jp-mlprod-job-result").is_visible()
