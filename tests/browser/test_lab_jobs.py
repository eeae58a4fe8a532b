"""The job section in a real JupyterLab: summary cards, run folders, the Runs view, and the
reset when the panel follows another notebook. Run folders are read back from disk."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from labdriver import LabServer, LabUI, write_notebook

pytestmark = [pytest.mark.browser, pytest.mark.slow]

JOB_TIMEOUT_MS = 300_000  # a readiness bound for a kernel run, not a performance assertion

CELLS = [
    ("markdown", "# Demo", []),
    ("code", "alpha = 1.0", ["parameters"]),
    ("code", "from sklearn.linear_model import Ridge", []),
    (
        "code",
        "X_train = [[1.0], [2.0], [3.0]]\ny_train = [2.0, 4.0, 6.0]\nX_test = [[4.0], [5.0]]",
        ["load"],
    ),
    ("code", "model = Ridge(alpha=alpha).fit(X_train, y_train)", ["train"]),
    ("code", "y_pred = model.predict(X_test)", ["predict"]),
]


def open_by_command(lab_ui: LabUI, path: str) -> None:
    """Open a file in the running JupyterLab (no page reload) and wait until it is current."""
    lab_ui.page.evaluate(
        "(path) => window.jupyterapp.commands.execute('docmanager:open', {path})", path
    )
    lab_ui.page.wait_for_function(
        "(path) => window.jupyterapp.shell.currentWidget?.context?.path === path", arg=path
    )


def finished_status(panel: object) -> object:
    status = panel.locator(".jp-mlprod-job-status[data-status='succeeded']")  # type: ignore[attr-defined]
    failed = panel.locator(".jp-mlprod-job-status[data-status='failed']")  # type: ignore[attr-defined]
    status.or_(failed).wait_for(timeout=JOB_TIMEOUT_MS)
    return status, failed


def test_run_card_runs_view_and_reset_per_notebook(
    lab_ui: LabUI, lab_server: LabServer, artifacts_dir: Path
) -> None:
    (lab_server.root / "jobs").mkdir(exist_ok=True)
    write_notebook(lab_server.notebook_path("jobs/first.ipynb"), CELLS)
    write_notebook(lab_server.notebook_path("jobs/second.ipynb"), CELLS)
    lab_ui.open_lab("jobs/first.ipynb")
    panel = lab_ui.open_pipeline_panel()
    panel.locator(".jp-mlprod-status[data-state='ok']").wait_for()

    panel.locator("button[data-action='run']").click()
    lab_ui.page.locator(".jp-Dialog input[name='alpha']").fill("2.5")
    lab_ui.page.locator(".jp-Dialog .jp-Dialog-button.jp-mod-accept").click()
    status, failed = finished_status(panel)
    assert status.is_visible(), failed.inner_text()  # type: ignore[attr-defined]

    card = panel.locator(".jp-mlprod-card")
    assert "alpha" in card.locator(".jp-mlprod-card-parameters").inner_text()
    assert "2.5" in card.locator(".jp-mlprod-card-parameters").inner_text()
    assert panel.locator(".jp-mlprod-job-notebook").first.inner_text() == "jobs/first.ipynb"
    card.screenshot(path=str(artifacts_dir / "run-summary-card.png"))

    # The run folder is under runs/ next to the notebook, and on disk.
    folder = card.locator("button[data-action='show-run-folder']").get_attribute("data-path")
    assert folder is not None and folder.startswith("jobs/runs/")
    run_dir = lab_server.root / folder
    record = json.loads((run_dir / "run.json").read_text())
    assert record["parameters"]["alpha"] == 2.5

    # The Runs view lists that run.
    row = panel.locator(f".jp-mlprod-run[data-run-id='{record['run_id']}']")
    row.wait_for()
    assert "alpha=2.5" in row.inner_text()

    # "Open executed notebook" opens the executed copy in JupyterLab.
    executed = card.locator("button[data-action='open-executed']")
    executed_path = executed.get_attribute("data-path")
    assert executed_path == f"{folder}/first.ipynb"
    assert (lab_server.root / executed_path).is_file()
    executed.click()
    lab_ui.page.wait_for_function(
        "(path) => window.jupyterapp.shell.currentWidget?.context?.path === path",
        arg=executed_path,
    )

    # Another notebook: the job section forgets the first one's job and names the second.
    open_by_command(lab_ui, "jobs/second.ipynb")
    panel.locator(".jp-mlprod-run-list[data-runs-dir='jobs/runs']").wait_for()
    assert panel.locator(".jp-mlprod-card").count() == 0
    assert panel.locator(".jp-mlprod-job-status").count() == 0
    assert panel.locator(".jp-mlprod-run").count() == 0  # second.ipynb has no runs yet

    # Back on the first: its history is there, and a row opens its summary again.
    open_by_command(lab_ui, "jobs/first.ipynb")
    row.wait_for()
    assert panel.locator(".jp-mlprod-card").count() == 0
    row.locator(".jp-mlprod-run-open").click()
    panel.locator(".jp-mlprod-card[data-status='succeeded']").wait_for()
    assert panel.locator(".jp-mlprod-job-notebook").first.inner_text() == "jobs/first.ipynb"

    # Rerun from the history: a second run with the same parameters, listed newest first.
    row.locator("button[data-action='rerun']").click()
    lab_ui.page.locator(".jp-Dialog .jp-Dialog-button.jp-mod-accept").click()
    rows = panel.locator(".jp-mlprod-run")
    lab_ui.page.wait_for_function(
        "() => document.querySelectorAll('#jp-mlprod-pipeline .jp-mlprod-run').length === 2",
        timeout=JOB_TIMEOUT_MS,
    )
    newest = rows.first.get_attribute("data-run-id")
    assert newest is not None and newest > record["run_id"]
    rerun = json.loads((lab_server.root / "jobs" / "runs" / newest / "run.json").read_text())
    assert rerun["parameters"]["alpha"] == 2.5


def test_failing_verify_points_at_a_run_folder_that_exists_and_opens(
    lab_ui: LabUI, lab_server: LabServer
) -> None:
    cells = list(CELLS)
    cells[-1] = ("code", "y_pred = model.predict(X_test)\nraise ValueError('broken')", ["predict"])
    write_notebook(lab_server.notebook_path("verify_broken.ipynb"), cells)
    lab_ui.open_lab("verify_broken.ipynb")
    panel = lab_ui.open_pipeline_panel()
    panel.locator(".jp-mlprod-status[data-state='ok']").wait_for()

    panel.locator("button[data-action='verify']").click()
    status, failed = finished_status(panel)
    assert failed.is_visible()  # type: ignore[attr-defined]
    card = panel.locator(".jp-mlprod-card[data-status='failed']")
    assert "ValueError: broken" in card.inner_text()
    assert "cell 6" in card.inner_text()  # 1-based, as JupyterLab's status bar counts

    show = card.locator("button[data-action='show-run-folder']")
    folder = show.get_attribute("data-path")
    assert folder is not None and folder.startswith("runs/")
    run_dir = lab_server.root / folder
    assert run_dir.is_dir()
    record = json.loads((run_dir / "run.json").read_text())
    assert record["kind"] == "verify" and record["status"] == "failed"

    show.click()
    listing = lab_ui.page.locator(".jp-FileBrowser .jp-DirListing-item[title*='run.json']")
    listing.or_(
        lab_ui.page.locator(".jp-FileBrowser .jp-DirListing-itemText", has_text="run.json")
    ).first.wait_for()
    crumbs = lab_ui.page.locator(".jp-FileBrowser .jp-BreadCrumbs").inner_text()
    assert run_dir.name in crumbs or "runs" in crumbs
