"""Role suggestions (`nb2prod tag`): one rule per test on notebooks built in code, the example
notebooks re-tagged from scratch, the tag plan (`--write`, `--force`), and the command line
in-process and as a subprocess."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest

from jupyter_mlprod.analysis import analyse_notebook
from jupyter_mlprod.analysis.suggest import plan_tags, suggest_roles
from jupyter_mlprod.cli import main
from jupyter_mlprod.notebook import load_notebook, notebook_from_json
from jupyter_mlprod.roles import ROLE_TAGS, SKIP

from .helpers import IMPORTS, LOAD, PARAMETERS, PREDICT, TRAIN, code, good_cells, notebook, write

EXAMPLES = Path(__file__).resolve().parents[2] / "example_notebooks"
EXAMPLE_NAMES = sorted(path.name for path in EXAMPLES.glob("*.ipynb"))

SPLIT_LOAD = (
    "import pandas as pd\n"
    "from sklearn.model_selection import train_test_split\n"
    "df = pd.read_csv('data.csv')\n"
    "X, y = df[['a', 'b']], df['y']\n"
    "X_train, X_test, y_train, y_test = train_test_split(X, y, random_state=0)\n"
)


def _suggested(*cells: nbformat.NotebookNode) -> dict[int, str | None]:
    nb = notebook_from_json(notebook(*cells), "nb.ipynb")
    return {suggestion.cell: suggestion.role for suggestion in suggest_roles(nb)}


def _reasons(*cells: nbformat.NotebookNode) -> dict[int, str]:
    nb = notebook_from_json(notebook(*cells), "nb.ipynb")
    return {suggestion.cell: suggestion.reason for suggestion in suggest_roles(nb)}


def _stripped(name: str) -> nbformat.NotebookNode:
    nb = nbformat.read(EXAMPLES / name, as_version=4)
    for cell in nb.cells:
        tags = [tag for tag in cell.metadata.get("tags", []) if tag not in ROLE_TAGS]
        cell.metadata["tags"] = tags
    return nb


# --- the example notebooks, tags stripped ---------------------------------------------------


@pytest.mark.parametrize("name", EXAMPLE_NAMES)
def test_tag_reproduces_each_examples_roles(name: str) -> None:
    tagged = load_notebook(EXAMPLES / name)
    expected: dict[int, str | None] = {}
    for cell in tagged.code_cells:
        roles = [tag for tag in cell.tags if tag in ROLE_TAGS]
        # `skip` is the author's word that a cell is exploration; suggestions never propose
        # it: such a cell is suggested untagged, which converts alike (an untagged cell joins
        # a stage only where the stage needs its values, and these need none).
        expected[cell.index] = None if roles == [SKIP] else (roles[0] if roles else None)
    stripped = notebook_from_json(_stripped(name), name)
    suggested = {suggestion.cell: suggestion.role for suggestion in suggest_roles(stripped)}
    assert suggested == expected


@pytest.mark.parametrize("name", EXAMPLE_NAMES)
def test_each_example_tagged_by_tag_write_alone_passes_check(
    name: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = write(_stripped(name), tmp_path / name)
    assert main(["check", str(path)]) == 1  # no predict cell: nothing is tagged
    assert main(["tag", str(path), "--write"]) == 0
    capsys.readouterr()
    assert main(["check", "--json", str(path)]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["ok"], [problem["message"] for problem in report["problems"]]


@pytest.mark.parametrize("name", EXAMPLE_NAMES)
def test_examples_skip_cells_are_suggested_untagged_and_kept_by_write(name: str) -> None:
    tagged = load_notebook(EXAMPLES / name)
    plan = plan_tags(tagged, suggest_roles(tagged))
    assert plan.changes == () and plan.kept == ()


# --- one rule per test ----------------------------------------------------------------------


def test_parameters_is_the_top_literal_only_cell() -> None:
    roles = _suggested(
        code(IMPORTS),
        code("C = 1.0\nn_rows: int = 200"),
        code(SPLIT_LOAD),
        code("threshold = 0.5"),
    )
    assert roles[1] == "parameters" and roles[3] is None


def test_a_cell_computing_values_is_not_parameters() -> None:
    roles = _suggested(code("C = 1.0\nn = len([1, 2])"), code(SPLIT_LOAD))
    assert roles[0] is None


@pytest.mark.parametrize(
    ("source", "shown"),
    [
        ("df = pd.read_csv('a.csv')", "pd.read_csv"),
        ("data = load_iris()", "load_iris"),
        ("houses = fetch_california_housing(as_frame=True)", "fetch_california_housing"),
        ("X = np.load('x.npy')", "np.load"),
    ],
)
def test_load_reads_data_files_or_bundled_datasets(source: str, shown: str) -> None:
    reasons = _reasons(code(source))
    assert reasons[0] == f"reads data ({shown})"
    assert _suggested(code(source))[0] == "load"


def test_load_splits() -> None:
    roles = _suggested(code("X_train, X_test = train_test_split(X, random_state=0)"))
    assert roles[0] == "load"


def test_a_hand_made_split_is_load() -> None:
    assert _reasons(code(LOAD))[0] == "splits the data (X_train, X_test)"


def test_changing_frames_read_earlier_is_not_a_split() -> None:
    roles = _suggested(
        code("train = pd.read_csv('train.csv')\ntest = pd.read_csv('test.csv')"),
        code("train_test_data = [train, test]"),
        code("train['size'] = train['a'] + 1\ntest['size'] = test['a'] + 1"),
        code("train = train.drop(columns=['b'])\ntest = test.drop(columns=['b'])"),
    )
    assert roles == {0: "load", 1: None, 2: None, 3: None}


def test_a_tutorials_own_data_generator_is_load() -> None:
    roles = _suggested(code("from figures import make_dataset\nX, y = make_dataset()"))
    assert roles[0] == "load"


def test_reading_data_after_the_predict_cell_is_not_load() -> None:
    reasons = _reasons(
        code(SPLIT_LOAD),
        code(TRAIN),
        code(PREDICT),
        code("submission = pd.read_csv('submission.csv')"),
    )
    assert reasons[3] == (
        "reads or splits data after the predict cell (cell 3): checks or exploration"
    )


def test_calling_a_function_the_cell_defines_is_not_a_prediction() -> None:
    roles = _suggested(
        code(SPLIT_LOAD),
        code("model = LogisticRegression().fit(X_train, y_train)"),
        code("def model(x, sigma=0.3):\n    return x * sigma\ny_demo = model(x_grid)"),
        code(PREDICT),
    )
    assert roles[2] is None and roles[3] == "predict"


@pytest.mark.parametrize(
    "source",
    [
        "import joblib\nmodel = joblib.load('model.joblib')",
        "model = keras.models.load_model('model.keras')",
        "net.load_state_dict(torch.load('weights.pt'))",
        "load_dotenv()",
    ],
)
def test_loading_a_model_or_settings_is_not_load(source: str) -> None:
    assert _suggested(code(source))[0] is None


def test_a_cell_reading_data_and_the_fitted_model_is_not_load() -> None:
    reasons = _reasons(
        code(SPLIT_LOAD),
        code(TRAIN),
        code("extra = pd.read_csv('b.csv')\nextra['score'] = model.score(X_test, y_test)"),
    )
    assert reasons[2] == "reads data but also the fitted `model`: not a load cell"


def test_a_helper_that_reads_data_makes_its_call_a_load_cell() -> None:
    roles = _suggested(
        code("def get_rentals(path=CSV):\n    return pd.read_csv(path)"),
        code("rentals = get_rentals()"),
    )
    assert roles == {0: None, 1: "load"}


def test_train_fits() -> None:
    roles = _suggested(code(SPLIT_LOAD), code(TRAIN), code(PREDICT))
    assert roles == {0: "load", 1: "train", 2: "predict"}


def test_a_cross_validation_only_cell_is_exploration() -> None:
    reasons = _reasons(
        code(SPLIT_LOAD),
        code("scores = cross_val_score(LogisticRegression(), X_train, y_train, cv=5)"),
        code(TRAIN),
        code(PREDICT),
    )
    assert reasons[1] == "cross-validation only (cross_val_score): exploration"


def test_fitting_a_scaler_is_not_training() -> None:
    roles = _suggested(code("scaler = StandardScaler().fit(X_train)"))
    assert roles[0] is None


def test_a_training_loop_is_train() -> None:
    loop = (
        "model = Net()\n"
        "for epoch in range(10):\n"
        "    loss = loss_fn(model(xb), yb)\n"
        "    loss.backward()\n"
        "    optimizer.step()\n"
    )
    roles = _suggested(code(SPLIT_LOAD), code(loop), code("y_pred = model(X_test)"))
    assert roles == {0: "load", 1: "train", 2: "predict"}


def test_predict_is_on_held_out_data_only() -> None:
    roles = _suggested(
        code(SPLIT_LOAD),
        code(TRAIN),
        code("train_pred = model.predict(X_train)"),
        code(PREDICT),
    )
    assert roles[2] is None and roles[3] == "predict"


def test_only_the_first_held_out_prediction_is_predict() -> None:
    reasons = _reasons(
        code(SPLIT_LOAD),
        code(TRAIN),
        code(PREDICT),
        code("proba = model.predict_proba(X_test)"),
    )
    assert reasons[2].startswith("predicts on held-out data (model.predict(X_test))")
    assert reasons[3] == "predicts again after the predict cell (cell 3): evaluation"


def test_fits_and_reads_the_predict_cell_does_not_use_are_exploration() -> None:
    reasons = _reasons(
        code("X_demo, y_demo = make_blobs(n_samples=50)"),
        code("demo = KNeighborsClassifier().fit(X_demo, y_demo)"),
        code(SPLIT_LOAD),
        code(TRAIN),
        code(PREDICT),
    )
    assert reasons[0] == (
        "reads or splits data the predict cell (cell 5) does not use: exploration"
    )
    assert reasons[1] == "fits a model the predict cell (cell 5) does not use: exploration"
    assert reasons[2].startswith("reads data (pd.read_csv)")
    assert reasons[3] == "fits (model.fit)"


def test_a_fit_after_the_predict_cell_is_exploration() -> None:
    reasons = _reasons(
        code(SPLIT_LOAD),
        code(TRAIN),
        code(PREDICT),
        code("other = RandomForestClassifier().fit(X_train, y_train)"),
    )
    assert reasons[3] == "fits after the predict cell (cell 3): exploration"


def test_plots_and_definitions_stay_untagged() -> None:
    reasons = _reasons(
        code("import matplotlib.pyplot as plt"),
        code("fig, ax = plt.subplots()\nax.plot([1, 2])\nplt.show()"),
        code("def helper(x):\n    return x + 1"),
    )
    assert reasons[0].startswith("definitions only")
    assert reasons[1] == "shows, prints or plots only: exploration"
    assert reasons[2].startswith("definitions only")


def test_every_code_cell_gets_a_suggestion_markdown_none() -> None:
    nb = notebook_from_json(notebook(*good_cells()), "nb.ipynb")
    suggestions = suggest_roles(nb)
    assert [s.cell for s in suggestions] == [cell.index for cell in nb.code_cells]
    assert all(s.reason for s in suggestions)


def test_suggestions_ignore_the_current_tags_but_record_them() -> None:
    cells = good_cells()
    cells[3] = code(TRAIN, "load")  # wrongly tagged
    nb = notebook_from_json(notebook(*cells), "nb.ipynb")
    by_cell = {s.cell: s for s in suggest_roles(nb)}
    assert (by_cell[3].role, by_cell[3].current) == ("train", "load")


# --- the tag plan ---------------------------------------------------------------------------


def _untagged_pipeline(*extra_tags: str) -> nbformat.NotebookNode:
    cells = [
        code(IMPORTS),
        code(PARAMETERS, *extra_tags),
        code(LOAD),
        code(TRAIN),
        code(PREDICT),
    ]
    return notebook(*cells)


def test_plan_adds_roles_and_keeps_unrelated_tags() -> None:
    nb = notebook_from_json(_untagged_pipeline("keep-me"), "nb.ipynb")
    plan = plan_tags(nb, suggest_roles(nb))
    assert {change.cell: change.tags for change in plan.changes} == {
        1: ("keep-me", "parameters"),
        2: ("load",),
        3: ("train",),
        4: ("predict",),
    }


def test_plan_never_replaces_a_role_without_force() -> None:
    cells = good_cells()
    cells[3] = code(TRAIN, "load", "other")
    nb = notebook_from_json(notebook(*cells), "nb.ipynb")
    plan = plan_tags(nb, suggest_roles(nb))
    assert plan.changes == () and [s.cell for s in plan.kept] == [3]
    forced = plan_tags(nb, suggest_roles(nb), force=True)
    assert [(c.cell, c.old_role, c.new_role, c.tags) for c in forced.changes] == [
        (3, "load", "train", ("train", "other"))
    ]


def test_plan_adds_no_second_predict_cell_without_force() -> None:
    cells = good_cells()
    cells[4] = code(PREDICT)
    cells.append(code("proba = model.predict_proba(X_test)", "predict"))
    nb = notebook_from_json(notebook(*cells), "nb.ipynb")
    plan = plan_tags(nb, suggest_roles(nb))
    assert 4 not in {change.cell for change in plan.changes}
    assert 4 in {s.cell for s in plan.kept}
    forced = plan_tags(nb, suggest_roles(nb), force=True)
    moved = {change.cell: change.new_role for change in forced.changes}
    assert moved == {4: "predict", 5: None}


def test_plan_keeps_skip() -> None:
    cells = good_cells()
    cells.append(code("print(y_pred)", "skip"))
    nb = notebook_from_json(notebook(*cells), "nb.ipynb")
    assert plan_tags(nb, suggest_roles(nb), force=True).changes == ()


# --- reports: check --json and the analysis -------------------------------------------------


def test_check_json_carries_suggestions(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = write(_untagged_pipeline(), tmp_path / "nb.ipynb")
    main(["check", "--json", str(path)])
    report = json.loads(capsys.readouterr().out)
    assert report["schema_version"] == 2
    assert [(item["cell"], item["role"]) for item in report["suggestions"]] == [
        (0, None),
        (1, "parameters"),
        (2, "load"),
        (3, "train"),
        (4, "predict"),
    ]
    assert report["suggestions"][3]["reason"] == "fits (model.fit)"
    assert set(report["suggestions"][0]) == {"cell", "cell_number", "role", "reason"}
    assert report["suggestions"][3]["cell_number"] == 4


def test_check_text_lists_differing_suggestions(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = write(_untagged_pipeline(), tmp_path / "nb.ipynb")
    main(["check", str(path)])
    out = capsys.readouterr().out
    assert "Suggested roles (nb2prod tag)" in out
    assert "cell 4: untagged -> train (fits (model.fit))" in out  # 1-based, as the lab shows


def test_analysis_reuses_the_intake_and_agrees_with_tag() -> None:
    nb = notebook_from_json(_untagged_pipeline(), "nb.ipynb")
    assert analyse_notebook(nb).suggestions == suggest_roles(nb)


# --- the command line -----------------------------------------------------------------------


def test_tag_prints_a_role_and_reason_per_cell_and_writes_nothing(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = write(_untagged_pipeline(), tmp_path / "nb.ipynb")
    before = path.read_bytes()
    assert main(["tag", str(path)]) == 0
    out = capsys.readouterr().out
    assert "cell 4   train      fits (model.fit)" in out
    assert "with --write: cell 2 untagged -> parameters" in out
    assert path.read_bytes() == before


def test_tag_write_round_trip(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    nb = _untagged_pipeline("keep-me")
    nb.cells[4].outputs = [nbformat.v4.new_output("stream", name="stdout", text="kept output")]
    nb.metadata["custom"] = {"a": 1}
    path = write(nb, tmp_path / "nb.ipynb")
    assert main(["tag", str(path), "--write"]) == 0
    assert "wrote" in capsys.readouterr().out
    saved = nbformat.read(path, as_version=4)
    nbformat.validate(saved)
    assert [cell.metadata.get("tags", []) for cell in saved.cells] == [
        [],
        ["keep-me", "parameters"],
        ["load"],
        ["train"],
        ["predict"],
    ]
    assert saved.cells[4].outputs[0]["text"] == "kept output"
    assert saved.metadata["custom"] == {"a": 1}
    assert [cell.source for cell in saved.cells] == [cell.source for cell in nb.cells]
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]
    # Written once, the notebook agrees with its suggestions: a second run changes nothing.
    before = path.read_bytes()
    assert main(["tag", str(path), "--write"]) == 0
    assert "nothing to write" in capsys.readouterr().out
    assert path.read_bytes() == before
    assert main(["check", str(path)]) == 0


def test_tag_write_keeps_an_existing_role_unless_forced(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    cells = good_cells()
    cells[3] = code(TRAIN, "load", "reviewed")
    path = write(notebook(*cells), tmp_path / "nb.ipynb")
    assert main(["tag", str(path), "--write"]) == 0
    out = capsys.readouterr().out
    assert "kept cell 4 as load (suggested train); pass --write --force" in out
    assert nbformat.read(path, as_version=4).cells[3].metadata.tags == ["load", "reviewed"]
    assert main(["tag", str(path), "--write", "--force"]) == 0
    assert nbformat.read(path, as_version=4).cells[3].metadata.tags == ["train", "reviewed"]


def test_tag_json(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = write(_untagged_pipeline(), tmp_path / "nb.ipynb")
    assert main(["tag", str(path), "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["written"] is False
    assert [(s["cell"], s["role"], s["current"]) for s in report["suggestions"]] == [
        (0, None, None),
        (1, "parameters", None),
        (2, "load", None),
        (3, "train", None),
        (4, "predict", None),
    ]
    assert [change["cell"] for change in report["changes"]] == [1, 2, 3, 4]
    # Beside each 0-based index, the number JupyterLab's status bar shows.
    assert [s["cell_number"] for s in report["suggestions"]] == [1, 2, 3, 4, 5]
    assert [change["cell_number"] for change in report["changes"]] == [2, 3, 4, 5]


def test_tag_force_without_write_is_a_usage_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = write(_untagged_pipeline(), tmp_path / "nb.ipynb")
    assert main(["tag", str(path), "--force"]) == 2
    assert capsys.readouterr().err.strip() == "nb2prod: error: --force only applies with --write"


def _run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "jupyter_mlprod.cli", *args], capture_output=True, text=True
    )


def test_tag_as_a_subprocess_writes_the_tags(tmp_path: Path) -> None:
    path = write(_untagged_pipeline(), tmp_path / "nb.ipynb")
    result = _run("tag", str(path), "--write")
    assert result.returncode == 0, result.stderr
    assert "cell 5   predict" in result.stdout
    roles = [cell.tags for cell in load_notebook(path).cells]
    assert roles == [(), ("parameters",), ("load",), ("train",), ("predict",)]


@pytest.mark.parametrize(
    ("content", "fragment"),
    [("this is { not json", "not valid JSON"), ({"nbformat": 3, "worksheets": []}, "nbformat 3")],
)
def test_tag_bad_input_is_one_line_and_writes_nothing(
    tmp_path: Path, content: object, fragment: str
) -> None:
    path = tmp_path / "bad.ipynb"
    path.write_text(content if isinstance(content, str) else json.dumps(content))
    before = path.read_bytes()
    result = _run("tag", str(path), "--write")
    assert result.returncode == 1
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and "bad.ipynb" in lines[0] and fragment in lines[0], result.stderr
    assert "Traceback" not in result.stderr
    assert path.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["bad.ipynb"]


def test_tag_missing_notebook(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["tag", str(tmp_path / "nowhere.ipynb")]) == 1
    assert "nowhere.ipynb: no such file" in capsys.readouterr().err


def test_tag_write_failure_is_one_line_and_leaves_the_notebook(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    import jupyter_mlprod.notebook as notebook_module

    def refuse(source: object, target: object) -> None:
        raise PermissionError(13, "Permission denied")

    path = write(_untagged_pipeline(), tmp_path / "nb.ipynb")
    before = path.read_bytes()
    monkeypatch.setattr(notebook_module.os, "replace", refuse)
    assert main(["tag", str(path), "--write"]) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1
    assert "nb.ipynb: cannot write the notebook (Permission denied)" in err
    assert path.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["nb.ipynb"]
