"""The Models view in a real JupyterLab: a converted package's store, Promote and Rollback.

The store is written on disk as a package's ``train`` writes it (``ModelStore.save``); the
view is opened from the Pipeline panel's Runs section, and every promotion and rollback is
checked in the store's ``aliases.json`` on disk.
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import pytest
from labdriver import LabServer, LabUI, write_notebook

from jupyter_mlprod.runtime.store import ModelStore

pytestmark = pytest.mark.browser

CELLS = [("code", "alpha = 1.0", ["parameters"])]
DISK_TIMEOUT_S = 60  # a readiness bound, not a performance assertion


def alias_on_disk(store_dir: Path, alias: str, expected: str) -> None:
    """Poll aliases.json until ``alias`` points at ``expected``."""
    deadline = time.monotonic() + DISK_TIMEOUT_S
    found = None
    while time.monotonic() < deadline:
        try:
            found = json.loads((store_dir / "aliases.json").read_text())[alias]["version"]
        except (OSError, ValueError, KeyError):
            found = None
        if found == expected:
            return
        time.sleep(0.2)
    raise AssertionError(f"{alias} on disk is {found}, expected {expected}")


def confirm(lab_ui: LabUI, title: str) -> None:
    dialog = lab_ui.page.locator(".jp-Dialog")
    dialog.wait_for()
    assert title in dialog.inner_text()
    dialog.locator(".jp-Dialog-button.jp-mod-accept").click()
    dialog.wait_for(state="detached")


def test_models_view_promotes_and_rolls_back(
    lab_ui: LabUI, lab_server: LabServer, artifacts_dir: Path
) -> None:
    write_notebook(lab_server.notebook_path("models_nb.ipynb"), CELLS)
    store_dir = lab_server.root / "models_nb_package" / "models"
    store = ModelStore(store_dir)
    for number in (1, 2):
        store.save(
            {"weights": [number, number + 1]},
            {"params": {"alpha": number / 2}, "metrics": {"accuracy": 0.8 + number / 100}},
        )
    drift = {"version": "v2", "time": "2026-12-01T11:00:00Z", "drifted": True, "alert": "x drifted"}
    (store_dir / "drift.jsonl").write_text(json.dumps(drift) + "\n", encoding="utf-8")

    lab_ui.open_lab("models_nb.ipynb")
    panel = lab_ui.open_pipeline_panel()
    panel.locator("button[data-action='open-models']").click()
    view = lab_ui.page.locator(".jp-mlprod-models")
    view.locator(".jp-mlprod-version[data-version='v2']").wait_for()
    assert view.locator(".jp-mlprod-models-store").input_value() == "models_nb_package/models"
    v2 = view.locator(".jp-mlprod-version[data-version='v2']")
    assert "accuracy 0.82" in v2.inner_text()
    assert "alpha=1" in v2.inner_text()
    assert "drifted (1 check)" in v2.inner_text() and "x drifted" in v2.inner_text()
    assert (
        "no monitoring data" in view.locator(".jp-mlprod-version[data-version='v1']").inner_text()
    )
    assert view.locator("button[data-action='rollback']").is_disabled()

    view.locator("button[data-action='promote'][data-version='v1']").click()
    confirm(lab_ui, "Promote v1?")
    alias_on_disk(store_dir, "production", "v1")
    view.locator(".jp-mlprod-version[data-version='v1'] .jp-mlprod-alias").wait_for()

    view.locator("button[data-action='promote'][data-version='v2']").click()
    confirm(lab_ui, "Promote v2?")
    alias_on_disk(store_dir, "production", "v2")
    view.locator(".jp-mlprod-models-alias-list li[data-version='v2']").wait_for()

    for theme, label in (("JupyterLab Light", "light"), ("JupyterLab Dark", "dark")):
        set_theme(lab_ui, theme, label == "light")
        view.screenshot(path=str(artifacts_dir / f"models-view-{label}.png"))
    set_theme(lab_ui, "JupyterLab Light", True)

    # Cancelling the confirmation changes nothing.
    view.locator("button[data-action='rollback']").click()
    lab_ui.page.locator(".jp-Dialog .jp-Dialog-button.jp-mod-reject").click()
    alias_on_disk(store_dir, "production", "v2")

    view.locator("button[data-action='rollback']").click()
    confirm(lab_ui, "Roll back production?")
    alias_on_disk(store_dir, "production", "v1")
    history = view.locator(".jp-mlprod-models-history li")
    history.first.wait_for()
    lab_ui.page.wait_for_function(
        "() => document.querySelectorAll('.jp-mlprod-models-history li').length === 3"
    )
    assert "rollback production → v1 (was v2)" in history.first.inner_text()
    table = json.loads((store_dir / "aliases.json").read_text())
    assert [event["action"] for event in table["production"]["history"]] == [
        "promote",
        "promote",
        "rollback",
    ]


def set_theme(lab_ui: LabUI, theme: str, light: bool) -> Any:
    lab_ui.page.evaluate(
        "(theme) => window.jupyterapp.commands.execute('apputils:change-theme', {theme})", theme
    )
    lab_ui.page.wait_for_function(
        "(light) => document.body.dataset.jpThemeLight === light", arg="true" if light else "false"
    )
    lab_ui.page.wait_for_timeout(300)  # the theme's stylesheet applies
