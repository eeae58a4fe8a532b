"""The Pipeline panel's second round in a real JupyterLab: the role menu from the chip and
"＋ role" when the cell toolbar hides, 1-based cell numbers, every predict candidate in the
pickers, the Convert dialog's lift-paths checkbox, inferred chips, Suggest roles, the graph."""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path
from typing import Any

import pytest
from labdriver import LabServer, LabUI, read_notebook, write_notebook

from jupyter_mlprod.analysis.suggest import plan_tags, suggest_roles
from jupyter_mlprod.notebook import load_notebook

pytestmark = pytest.mark.browser

ROOT = Path(__file__).resolve().parents[2]
LONG_LINE = "X_train = [[1.0], [2.0], [3.0]]  # " + "a long first line " * 12
PREDICT = "y_pred = model.predict([[v[0] * scale] for v in X_test])\nproba = y_pred * 0.5"
# Cell 4 (untagged) changes X_train before train reads it: slicing pulls it into train.
# The predict cell binds y_pred and proba; the analysis infers only proba as the output.
CELLS = [
    ("markdown", "# Demo", []),
    ("code", "alpha = 1.0", ["parameters"]),
    ("code", "from sklearn.linear_model import Ridge", []),
    ("code", f"{LONG_LINE}\ny_train = [2.0, 4.0, 6.0]\nX_test = [[4.0], [5.0]]", ["load"]),
    ("code", "scale = 2.0\nX_train = [[v[0] * scale] for v in X_train]", []),
    ("code", "model = Ridge(alpha=alpha).fit(X_train, y_train)", ["train"]),
    ("code", PREDICT, ["predict"]),
]  # fmt: skip
INFERRED_CELL = 4
LOAD_CELL = 3
IMPORT_CELL = 2


def open_demo(lab_ui: LabUI, lab_server: LabServer, name: str, cells: Any = None) -> Any:
    write_notebook(lab_server.notebook_path(name), cells or CELLS)
    lab_ui.open_lab(name)
    panel = lab_ui.open_pipeline_panel()
    panel.locator(".jp-mlprod-stage").first.wait_for()
    return panel


def tags_on_disk(lab_server: LabServer, name: str) -> list[list[str]]:
    return [
        list(cell.metadata.get("tags", []))
        for cell in read_notebook(lab_server.notebook_path(name)).cells
    ]


def choose_in_role_menu(lab_ui: LabUI, role: str) -> None:
    menu = lab_ui.page.locator(".lm-Menu.jp-mlprod-role-menu")
    menu.wait_for()
    menu.locator(".lm-Menu-item", has_text=re.compile(rf"^{role}$")).click()
    menu.wait_for(state="detached")


def test_the_role_menu_opens_from_the_chip_and_from_plus_role_in_a_narrow_notebook(
    lab_ui: LabUI, lab_server: LabServer, artifacts_dir: Path
) -> None:
    lab_ui.page.set_viewport_size({"width": 900, "height": 800})
    name = "v2_chip_menu.ipynb"
    open_demo(lab_ui, lab_server, name)
    load = lab_ui.cell(LOAD_CELL)
    lab_ui.activate(LOAD_CELL)
    lab_ui.cell(LOAD_CELL).screenshot(path=str(artifacts_dir / "v2-narrow-cell.png"))

    # The chip of a tagged cell opens the role menu, toolbar shown or not.
    load.locator(".jp-mlprod-chip").click()
    choose_in_role_menu(lab_ui, "skip")
    load.locator(".jp-mlprod-chip[data-role='skip']").wait_for()

    # An untagged code cell has "＋ role" in its prompt area, which opens the same menu.
    imports = lab_ui.cell(IMPORT_CELL)
    add = imports.locator(".jp-mlprod-add-role")
    assert add.is_visible()
    add.click()
    choose_in_role_menu(lab_ui, "load")
    imports.locator(".jp-mlprod-chip[data-role='load']").wait_for()
    assert imports.locator(".jp-mlprod-add-role").count() == 0
    assert lab_ui.cell(0).locator(".jp-mlprod-add-role").count() == 0  # markdown

    lab_ui.save()
    lab_ui.wait_for_disk(
        name,
        lambda nb: (
            nb.cells[LOAD_CELL].metadata.get("tags") == ["skip"]
            and nb.cells[IMPORT_CELL].metadata.get("tags") == ["load"]
        ),
        "skip on the load cell and load on the import cell",
    )


def test_cell_numbers_in_the_panel_are_the_status_bar_numbers(
    lab_ui: LabUI, lab_server: LabServer
) -> None:
    panel = open_demo(lab_ui, lab_server, "v2_numbers.ipynb")
    link = panel.locator(".jp-mlprod-stage[data-role='train'] .jp-mlprod-cell-link").first
    assert link.inner_text().startswith("cell 6:")
    link.click()
    lab_ui.page.wait_for_function(
        "() => window.jupyterapp.shell.currentWidget.content.activeCellIndex === 5"
    )
    status = lab_ui.page.locator(".jp-StatusBar-Item", has_text=re.compile(r"Cell \d+/\d+"))
    if status.count():
        assert re.search(r"Cell 6/7", status.first.inner_text()), status.first.inner_text()
    # Problems name cells the same way.
    labels = panel.locator(".jp-mlprod-problem .jp-mlprod-cell-link")
    for i in range(labels.count()):
        number = int(labels.nth(i).get_attribute("data-cell-number") or "0")
        index = int(labels.nth(i).get_attribute("data-cell") or "0")
        assert number == index + 1
        assert labels.nth(i).inner_text().startswith(f"cell {number}")


def test_pickers_offer_every_candidate_and_a_non_inferred_choice_reaches_the_metadata(
    lab_ui: LabUI, lab_server: LabServer
) -> None:
    name = "v2_pickers.ipynb"
    panel = open_demo(lab_ui, lab_server, name)
    output = panel.locator("select.jp-mlprod-predict-output")
    output.locator("option[value='proba']").wait_for(state="attached")
    options = output.locator("option").evaluate_all("nodes => nodes.map(n => n.value)")
    assert {"proba", "y_pred"} <= set(options), options
    inputs = panel.locator("select.jp-mlprod-predict-input option").evaluate_all(
        "nodes => nodes.map(n => n.value)"
    )
    assert "X_test" in inputs and "model" not in inputs, inputs

    output.select_option("y_pred")
    panel.locator("select.jp-mlprod-predict-input").select_option("X_test")
    lab_ui.save()
    nb = lab_ui.wait_for_disk(
        name,
        lambda nb: nb.metadata.get("mlprod", {}).get("predict_output") == "y_pred",
        "metadata.mlprod.predict_output = y_pred",
    )
    assert dict(nb.metadata["mlprod"]) == {"predict_output": "y_pred", "predict_input": "X_test"}
    # The analysis now uses the choice: it comes from the metadata.
    panel.locator(".jp-mlprod-status[data-state='ok']").wait_for()


def test_the_convert_checkbox_lifts_hard_coded_paths_into_parameters(
    lab_ui: LabUI, lab_server: LabServer
) -> None:
    data = lab_server.root / "data"
    data.mkdir(exist_ok=True)
    (data / "values.txt").write_text("1 2 3\n")
    cells = [
        ("code", "alpha = 1.0", ["parameters"]),
        ("code", "from sklearn.linear_model import Ridge", []),
        (
            "code",
            'with open("data/values.txt") as handle:\n'
            "    values = [float(v) for v in handle.read().split()]\n"
            "X_train = [[v] for v in values]\ny_train = [2 * v for v in values]\nX_test = [[4.0]]",
            ["load"],
        ),
        ("code", "model = Ridge(alpha=alpha).fit(X_train, y_train)", ["train"]),
        ("code", "y_pred = model.predict(X_test)", ["predict"]),
    ]
    name = "v2_lift.ipynb"
    panel = open_demo(lab_ui, lab_server, name, cells)
    hint = panel.locator(".jp-mlprod-problem[data-code='hard-coded-path'] .jp-mlprod-hint")
    hint.wait_for()
    assert "Lift hard-coded paths into parameters" in hint.inner_text()
    assert "--lift-paths" not in hint.inner_text()

    panel.locator("button[data-action='convert']").click()
    dialog = lab_ui.page.locator(".jp-Dialog")
    box = dialog.locator("input[name='lift_paths']")
    assert not box.is_checked()
    assert "Lift hard-coded paths into parameters" in dialog.inner_text()
    box.check()
    dialog.locator(".jp-Dialog-button.jp-mod-accept").click()
    lab_ui.page.locator(".jp-Dialog .jp-mlprod-convert-result").wait_for()
    lab_ui.page.locator(".jp-Dialog .jp-Dialog-button.jp-mod-accept").click()

    (params,) = (lab_server.root / "v2_lift_package").glob("src/*/params.py")
    text = params.read_text()
    assert "data/values.txt" in text, text
    (data_module,) = (lab_server.root / "v2_lift_package").glob("src/*/data.py")
    assert '"data/values.txt"' not in data_module.read_text()


def test_an_inferred_chip_tags_its_cell_with_one_click(
    lab_ui: LabUI, lab_server: LabServer, artifacts_dir: Path
) -> None:
    name = "v2_inferred.ipynb"
    open_demo(lab_ui, lab_server, name)
    cell = lab_ui.cell(INFERRED_CELL)
    chip = cell.locator(".jp-mlprod-chip.jp-mlprod-chip-inferred[data-role='train']")
    chip.wait_for()
    assert "train · inferred" in chip.inner_text()
    assert cell.locator(".jp-mlprod-add-role").count() == 0
    cell.screenshot(path=str(artifacts_dir / "v2-inferred-chip.png"))
    chip.locator(".jp-mlprod-tag-it").click()
    cell.locator(".jp-mlprod-chip[data-role='train']:not(.jp-mlprod-chip-inferred)").wait_for()
    lab_ui.save()
    lab_ui.wait_for_disk(
        name,
        lambda nb: nb.cells[INFERRED_CELL].metadata.get("tags") == ["train"],
        "train on the inferred cell",
    )


def test_suggest_roles_tags_an_untagged_example_as_nb2prod_tag_would(
    lab_ui: LabUI, lab_server: LabServer
) -> None:
    name = "v2_suggest.ipynb"
    source = json.loads((ROOT / "example_notebooks" / "churn.ipynb").read_text())
    for cell in source["cells"]:
        cell.get("metadata", {}).pop("tags", None)
    source["metadata"].pop("mlprod", None)
    target = lab_server.notebook_path(name)
    target.write_text(json.dumps(source))
    untagged = load_notebook(target)
    plan = plan_tags(untagged, suggest_roles(untagged))
    expected = {change.cell: change.new_role for change in plan.changes}
    assert expected, "the example should get suggestions"
    shutil.copytree(
        ROOT / "example_notebooks" / "data", lab_server.root / "data", dirs_exist_ok=True
    )

    lab_ui.open_lab(name)
    panel = lab_ui.open_pipeline_panel()
    panel.locator("button[data-action='suggest']").click()
    dialog = lab_ui.page.locator(".jp-Dialog", has_text="Suggest roles")
    items = dialog.locator(".jp-mlprod-suggestion:not(.jp-mod-split)")
    items.first.wait_for()
    listed = {
        int(items.nth(i).get_attribute("data-cell") or "-1"): items.nth(i).get_attribute(
            "data-role"
        )
        for i in range(items.count())
    }
    assert listed == expected
    assert "(" in items.first.inner_text()  # the reason, e.g. "fits (model.fit)"
    dialog.locator(".jp-Dialog-button.jp-mod-accept").click()
    lab_ui.save()
    nb = lab_ui.wait_for_disk(
        name,
        lambda nb: all(
            nb.cells[index].metadata.get("tags") == [role] for index, role in expected.items()
        ),
        f"the suggested roles {expected}",
    )
    others = [i for i, cell in enumerate(nb.cells) if i not in expected]
    assert all(not nb.cells[i].metadata.get("tags") for i in others)
    # One undo takes every suggested role back: they were applied as one change.
    tags = lab_ui.page.evaluate(
        """() => {
            const notebook = window.jupyterapp.shell.currentWidget.content;
            notebook.model.sharedModel.undo();
            return notebook.widgets.map(cell => cell.model.getMetadata('tags') ?? []);
        }"""
    )
    assert all(not tags[index] for index in expected), tags


def test_the_graph_has_one_node_per_stage_and_a_node_jumps_to_its_first_cell(
    lab_ui: LabUI, lab_server: LabServer, artifacts_dir: Path
) -> None:
    panel = open_demo(lab_ui, lab_server, "v2_graph.ipynb")
    graph = panel.locator("svg.jp-mlprod-graph")
    graph.wait_for()
    stages = panel.locator(".jp-mlprod-stage")
    nodes = graph.locator(".jp-mlprod-graph-node")
    assert nodes.count() == stages.count() == 4
    roles = [nodes.nth(i).get_attribute("data-role") for i in range(nodes.count())]
    assert roles == ["parameters", "load", "train", "predict"]
    edge = graph.locator(".jp-mlprod-graph-edge[data-from='train'][data-to='predict']")
    assert "model" in (edge.text_content() or "")
    # The Flows list says what the graph draws.
    flow = panel.locator(".jp-mlprod-flow[data-from='train'][data-to='predict']")
    assert "model" in flow.inner_text()

    nodes.nth(2).click()
    lab_ui.page.wait_for_function(
        "() => window.jupyterapp.shell.currentWidget.content.activeCellIndex === 5"
    )
    for theme, label in (("JupyterLab Light", "light"), ("JupyterLab Dark", "dark")):
        lab_ui.page.evaluate(
            "(theme) => window.jupyterapp.commands.execute('apputils:change-theme', {theme})",
            theme,
        )
        lab_ui.page.wait_for_function(
            "(light) => document.body.dataset.jpThemeLight === light",
            arg="true" if label == "light" else "false",
        )
        lab_ui.page.wait_for_timeout(300)  # the theme's stylesheet applies
        panel.screenshot(path=str(artifacts_dir / f"v2-pipeline-panel-{label}.png"))
        graph.screenshot(path=str(artifacts_dir / f"v2-pipeline-graph-{label}.png"))
    lab_ui.page.evaluate(
        "() => window.jupyterapp.commands.execute('apputils:change-theme', "
        "{theme: 'JupyterLab Light'})"
    )
