"""Static checks of the example notebooks and their data (no kernel is started).

The examples are the product's showcase and the fixtures of the golden and slow tests, so
they must stay valid, tagged by the conventions the converter supports, in step with the
script that builds them, and small enough to keep in the repository.
"""

from __future__ import annotations

import ast
import importlib.util
import io
import json
import re
import sys
from pathlib import Path
from types import ModuleType

import nbformat
import pytest

from jupyter_mlprod.notebook import load_notebook
from jupyter_mlprod.params_cell import parse_parameters_cell
from jupyter_mlprod.roles import MLPROD_FIELDS, MLPROD_KEY, PARAMETERS, PREDICT, ROLE_TAGS

EXAMPLES = Path(__file__).resolve().parent.parent / "example_notebooks"
NOTEBOOK_NAMES = (
    "churn.ipynb",
    "house_prices.ipynb",
    "digits.ipynb",
    "messy_sales.ipynb",
    "sparse_tags.ipynb",
    "torch_tabular.ipynb",  # built by _build_torch.py
)
# Notebooks that name their predict input/output; the rest leave it to inference.
WITH_PREDICT_METADATA = (
    "churn.ipynb",
    "house_prices.ipynb",
    "digits.ipynb",
    "sparse_tags.ipynb",
    "torch_tabular.ipynb",
)
MAX_DATA_BYTES = 200 * 1024
# Files a notebook writes rather than reads (they are not in the repository).
WRITTEN_FILES = {"sparse_tags.ipynb": {"rental_predictions.csv"}}
DATA_FILE = re.compile(r"""["']([\w./-]+\.(?:csv|parquet|json|npy|xlsx))["']""")


def _import_from(path: Path) -> ModuleType:
    spec = importlib.util.spec_from_file_location(f"_example_{path.stem}", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _read(name: str) -> nbformat.NotebookNode:
    return nbformat.read(EXAMPLES / name, as_version=nbformat.NO_CONVERT)


def _cells_with(nb: nbformat.NotebookNode, tag: str) -> list[tuple[int, nbformat.NotebookNode]]:
    return [
        (index, cell)
        for index, cell in enumerate(nb.cells)
        if tag in cell.get("metadata", {}).get("tags", [])
    ]


def _python_of(source: str) -> str:
    """Cell source with IPython-only lines blanked, so ``ast`` can read the rest."""
    lines = source.splitlines()
    if lines and lines[0].startswith("%%"):
        lines = lines[1:]
    return "\n".join("" if line.lstrip().startswith(("%", "!")) else line for line in lines)


def test_every_example_is_listed() -> None:
    assert sorted(path.name for path in EXAMPLES.glob("*.ipynb")) == sorted(NOTEBOOK_NAMES)


@pytest.mark.parametrize("name", NOTEBOOK_NAMES)
def test_notebook_is_valid_nbformat_45_with_cleared_outputs(name: str) -> None:
    nb = _read(name)
    nbformat.validate(nb)
    assert (nb.nbformat, nb.nbformat_minor) == (4, 5)
    assert nb.metadata["kernelspec"]["name"] == "python3"
    ids = [cell.id for cell in nb.cells]
    assert len(set(ids)) == len(ids), "cell ids must be unique"
    for cell in nb.cells:
        if cell.cell_type == "code":
            assert cell.outputs == [], f"{name}: commit examples with outputs cleared"
            assert cell.execution_count is None


@pytest.mark.parametrize("name", NOTEBOOK_NAMES)
def test_notebook_loads_with_the_tools_reader(name: str) -> None:
    notebook = load_notebook(EXAMPLES / name)
    assert len(notebook.cells) == len(_read(name).cells)
    assert notebook.code_cells


@pytest.mark.parametrize("name", NOTEBOOK_NAMES)
def test_tags_are_known_roles_one_per_cell(name: str) -> None:
    for index, cell in enumerate(_read(name).cells):
        roles = [tag for tag in cell.get("metadata", {}).get("tags", []) if tag in ROLE_TAGS]
        unknown = set(cell.get("metadata", {}).get("tags", [])) - ROLE_TAGS
        assert not unknown, f"{name} cell {index}: unknown tags {unknown}"
        assert len(roles) <= 1, f"{name} cell {index}: more than one role {roles}"
        if roles:
            assert cell.cell_type == "code", f"{name} cell {index}: role on a non-code cell"


@pytest.mark.parametrize("name", NOTEBOOK_NAMES)
def test_exactly_one_parameters_and_one_predict_cell(name: str) -> None:
    nb = _read(name)
    assert len(_cells_with(nb, PARAMETERS)) == 1
    assert len(_cells_with(nb, PREDICT)) == 1
    for role in ("load", "train"):
        assert _cells_with(nb, role), f"{name}: no {role} cell"


@pytest.mark.parametrize("name", NOTEBOOK_NAMES)
def test_parameters_cell_parses_to_typed_specs(name: str) -> None:
    ((index, cell),) = _cells_with(_read(name), PARAMETERS)
    specs = parse_parameters_cell(cell.source, path=name, cell_index=index)
    names = [spec.name for spec in specs]
    assert "random_state" in names
    assert len(set(names)) == len(names)


def test_churn_parameters_carry_types_and_comments() -> None:
    ((index, cell),) = _cells_with(_read("churn.ipynb"), PARAMETERS)
    specs = {spec.name: spec for spec in parse_parameters_cell(cell.source, path="", cell_index=0)}
    assert specs["C"].type_name == "float" and specs["C"].default == 0.5
    assert specs["C"].comment == "inverse regularisation strength"
    assert specs["data_path"].default == "data/churn.csv"
    assert specs["random_state"].type_name == "int"


def test_digits_has_an_optional_parameter() -> None:
    ((_, cell),) = _cells_with(_read("digits.ipynb"), PARAMETERS)
    specs = {spec.name: spec for spec in parse_parameters_cell(cell.source, path="", cell_index=0)}
    assert specs["max_depth"].nullable and specs["max_depth"].default is None


@pytest.mark.parametrize("name", NOTEBOOK_NAMES)
def test_predict_metadata(name: str) -> None:
    nb = _read(name)
    if name not in WITH_PREDICT_METADATA:
        assert MLPROD_KEY not in nb.metadata, f"{name} must leave predict input/output to inference"
        return
    mlprod = nb.metadata[MLPROD_KEY]
    assert set(mlprod) <= MLPROD_FIELDS
    ((_, cell),) = _cells_with(nb, PREDICT)
    tree = ast.parse(_python_of(cell.source))
    assigned = {
        target.id
        for node in ast.walk(tree)
        if isinstance(node, ast.Assign)
        for target in node.targets
        if isinstance(target, ast.Name)
    }
    read = {node.id for node in ast.walk(tree) if isinstance(node, ast.Name)}
    assert mlprod["predict_output"] in assigned
    assert mlprod["predict_input"] in read


@pytest.mark.parametrize("name", NOTEBOOK_NAMES)
def test_predict_input_comes_from_a_load_or_train_cell(name: str) -> None:
    nb = _read(name)
    given = nb.metadata.get(MLPROD_KEY, {}).get("predict_input", "X_test")
    sources = [cell.source for role in ("load", "train") for _, cell in _cells_with(nb, role)]
    assert any(re.search(rf"\b{given}\b", source) for source in sources)


@pytest.mark.parametrize("name", NOTEBOOK_NAMES)
def test_data_files_named_by_a_notebook_exist_and_are_small(name: str) -> None:
    named = {
        match
        for cell in _read(name).cells
        if cell.cell_type == "code"
        for match in DATA_FILE.findall(cell.source)
    }
    for relative in named - WRITTEN_FILES.get(name, set()):
        path = EXAMPLES / relative
        if "/" not in relative and not path.exists():
            # A bare file name joined onto a data-directory constant (`os.path.join(DATA_DIR,
            # "bike_rentals.csv")`).
            path = EXAMPLES / "data" / relative
        assert path.is_file(), f"{name} reads {relative}, which is not in the repository"
        assert path.stat().st_size < MAX_DATA_BYTES


def test_messy_notebook_keeps_its_awkward_cases() -> None:
    sources = [cell.source for cell in _read("messy_sales.ipynb").cells]
    text = "\n".join(sources)
    assert "%matplotlib inline" in text
    assert any(source.startswith("!pip install") for source in sources)
    ((_, train),) = _cells_with(_read("messy_sales.ipynb"), "train")
    assert train.source.startswith("%%time")
    assert "display(df.head())" in text
    assert 'pd.read_csv("data/sales.csv")' in text
    assert "class LogTransformer(BaseEstimator, TransformerMixin)" in text


def test_sparse_notebook_tags_only_its_stage_cells() -> None:
    """`sparse_tags.ipynb` is tagged as people tag: parameters, the read, the split, the fit and
    the prediction; what those need from untagged cells is left to stage completion."""
    nb = _read("sparse_tags.ipynb")
    tagged = {
        index: cell.metadata["tags"]
        for index, cell in enumerate(nb.cells)
        if cell.get("metadata", {}).get("tags")
    }
    assert sorted(tag for tags in tagged.values() for tag in tags) == [
        "load",
        "load",
        "parameters",
        "predict",
        "train",
    ]
    untagged = [
        cell.source
        for index, cell in enumerate(nb.cells)
        if cell.cell_type == "code" and index not in tagged
    ]
    text = "\n".join(untagged)
    # A constants cell with a side effect, helpers reading the constants through a default
    # argument, a display-only helper, feature engineering, a slow cross-validation.
    assert 'RENTALS_CSV = os.path.join(DATA_DIR, "bike_rentals.csv")' in text
    assert "os.makedirs(OUTPUT_DIR, exist_ok=True)" in text
    assert "def load_rentals(path=RENTALS_CSV):" in text
    assert "def plot_predictions(" in text
    assert 'rentals["feels_like"] =' in text
    assert "cross_val_score(" in text
    ((_, predict),) = _cells_with(nb, PREDICT)
    assert "plot_predictions(y_test, y_pred)" in predict.source
    assert ".to_csv(PREDICTIONS_CSV)" in predict.source
    assert "print(" in predict.source


def test_notebooks_match_their_build_script() -> None:
    build = _import_from(EXAMPLES / "_build.py")
    for name, (cells, mlprod) in build.NOTEBOOKS.items():
        built = nbformat.writes(build.build_notebook(name, cells, mlprod)) + "\n"
        committed = (EXAMPLES / name).read_text(encoding="utf-8")
        assert json.loads(built) == json.loads(committed), f"rebuild {name} with _build.py"


def test_torch_notebook_matches_its_build_script() -> None:
    saved_path = list(sys.path)
    try:  # _build_torch.py puts its directory on sys.path to reuse _build.py
        build = _import_from(EXAMPLES / "_build_torch.py")
    finally:
        sys.path[:] = saved_path
    built = build.build_notebook(build.NAME, build.TORCH_TABULAR, build.PREDICT_IO)
    committed = (EXAMPLES / build.NAME).read_text(encoding="utf-8")
    assert json.loads(nbformat.writes(built)) == json.loads(committed), "rerun _build_torch.py"


def test_data_matches_its_generator() -> None:
    import pandas as pd

    make_data = _import_from(EXAMPLES / "data" / "make_data.py")
    generated = make_data.generate()
    assert set(generated) == {"churn.csv", "houses.csv", "sales.csv", "bike_rentals.csv"}
    for file_name, frame in generated.items():
        # Compare values, not bytes: a pandas release may format floats differently.
        buffer = io.StringIO()
        frame.to_csv(buffer, index=False)
        buffer.seek(0)
        pd.testing.assert_frame_equal(
            pd.read_csv(buffer),
            pd.read_csv(EXAMPLES / "data" / file_name),
            obj=f"{file_name} (rerun make_data.py)",
        )


@pytest.mark.parametrize("name", NOTEBOOK_NAMES)
def test_nb2prod_check_passes(name: str, capsys: pytest.CaptureFixture[str]) -> None:
    from jupyter_mlprod.cli import main

    code = main(["check", "--json", str(EXAMPLES / name)])
    report = json.loads(capsys.readouterr().out)
    assert code == 0, [problem["message"] for problem in report["problems"]]
    assert report["ok"]
    assert [stage["role"] for stage in report["stages"]] == [
        "parameters",
        "load",
        "train",
        "predict",
    ]
    assert report["artifacts"] == ["model"]


def test_messy_notebook_predict_io_is_inferred(capsys: pytest.CaptureFixture[str]) -> None:
    from jupyter_mlprod.cli import main

    main(["check", "--json", str(EXAMPLES / "messy_sales.ipynb")])
    report = json.loads(capsys.readouterr().out)
    predict = report["predict"]
    assert (predict["input"], predict["output"]) == ("X_test", "preds")
    assert predict["input_source"] == predict["output_source"] == "inferred"
    actions = {magic["code"]: magic["action"] for magic in report["magics"]}
    assert actions["!pip install -q scikit-learn"] == "requirement"
    assert actions["%matplotlib inline"] == "dropped"
    assert report["requirements_from_pip"] == ["scikit-learn"]


def test_churn_demo_input_has_the_model_columns() -> None:
    """`data/churn_new_customers.csv` (the README's batch-predict demo) fits `X_test`."""
    import pandas as pd

    ((_, split),) = [
        (index, cell)
        for index, cell in _cells_with(_read("churn.ipynb"), "load")
        if "train_test_split" in cell.source
    ]
    tree = ast.parse(split.source)
    lists = {
        node.targets[0].id: ast.literal_eval(node.value)
        for node in tree.body
        if isinstance(node, ast.Assign)
        and isinstance(node.targets[0], ast.Name)
        and isinstance(node.value, ast.List)
    }
    features = set(lists["numeric_features"]) | set(lists["categorical_features"])
    demo = pd.read_csv(EXAMPLES / "data" / "churn_new_customers.csv")
    assert set(demo.columns) == features
    assert len(demo) > 0
