"""``--lift-paths`` for the path constants carried with helpers (issue 10, build item 3).

A helper reads a module constant in its body, in a default argument or through a class
attribute; with ``--lift-paths`` the constant becomes a parameter named after it, and every
read site takes the run's value: the package trained with ``--param data_path=<other file>``
reads the other file everywhere, and the constants computed from it follow. Without the flag
the constant is reported, with ``--lift-paths`` as the way out; a constant that cannot be
lifted (predict reads it, a lambda's default, a value not known statically, several names) is
reported with the reason.
"""

from __future__ import annotations

import importlib
import json
import os
import subprocess
import sys
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import pytest
from notebooks import from_specs, write

from jupyter_mlprod.cli import main

IMPORTS = (
    "import os\nfrom pathlib import Path\nimport pandas as pd\n"
    "from sklearn.base import BaseEstimator, TransformerMixin\n"
    "from sklearn.linear_model import LogisticRegression\n"
    "from sklearn.pipeline import make_pipeline\n"
    "from sklearn.preprocessing import FunctionTransformer"
)
# ROOT is not path-like and stays a constant; DATA_PATH is, and is lifted; COPY_PATH is
# computed from it and follows it.
CONSTANTS = (
    "ROOT = 'data'\n"
    "DATA_PATH = os.path.join(ROOT, 'rows.csv')\n"
    "# The copy beside it.\n"
    "COPY_PATH = DATA_PATH.replace(\n    '.csv', '.copy.csv'\n)"
)
HELPERS = [
    # A default argument.
    ("def load_data(path=DATA_PATH):\n    return pd.read_csv(path)", None),
    # The body.
    ("def count_rows():\n    return len(pd.read_csv(DATA_PATH))", None),
    # A class attribute, read by a method, and a method's default argument.
    (
        "class Source:\n    path = DATA_PATH\n\n    def frame(self):\n"
        "        return pd.read_csv(self.path)\n\n"
        "    def first(self, *, path=DATA_PATH):\n        return pd.read_csv(path).iloc[:1]",
        None,
    ),
    # A constant computed from the lifted one.
    ("def copy_path():\n    return COPY_PATH", None),
]
LOAD = (
    "df = load_data()\n"
    "src = Source().frame()\n"
    "n = count_rows()\n"
    "extra = pd.read_csv(copy_path())\n"
    "assert len(df) == len(src) == n == len(extra), 'the helpers read different files'\n"
    "assert Source().first()['a'][0] == df['a'][0], 'the method read another file'\n"
    "X, y = df[['a']], src['y']"
)
CELLS: list[tuple[str, str | None]] = [
    (IMPORTS, None),
    (CONSTANTS, None),
    *HELPERS,
    (LOAD, "load"),
    ("model = LogisticRegression().fit(X, y)", "train"),
    ("y_pred = model.predict(X)", "predict"),
]


def rows(count: int, start: int = 0) -> str:
    return "a,y\n" + "".join(f"{i},{i % 2}\n" for i in range(start, start + count))


def notebook_with_data(directory: Path, cells: Sequence[tuple[str, str | None]] = CELLS) -> Path:
    """The notebook, its data (20 rows) and another file of 30 rows with its copy."""
    data = directory / "data"
    data.mkdir(parents=True)
    (data / "rows.csv").write_text(rows(20))
    (data / "rows.copy.csv").write_text(rows(20))
    (directory / "other.csv").write_text(rows(30, start=100))
    (directory / "other.copy.csv").write_text(rows(30))
    return write(from_specs(cells), directory / "nb.ipynb")


def check(
    path: Path, capsys: pytest.CaptureFixture[str], *options: str
) -> tuple[int, dict[str, Any]]:
    """``nb2prod check --json`` in-process: exit code and report."""
    capsys.readouterr()
    code = main(["check", "--json", *options, str(path)])
    return code, json.loads(capsys.readouterr().out)


def convert(path: Path, capsys: pytest.CaptureFixture[str]) -> Path:
    """``nb2prod convert --lift-paths`` in-process into a sibling ``package`` directory."""
    capsys.readouterr()
    out = path.parent / "package"
    assert main(["convert", "--lift-paths", str(path), "-o", str(out)]) == 0, (
        capsys.readouterr().err
    )
    return out


def source_of(package: Path, module: str) -> str:
    (found,) = (package / "src").glob(f"*/{module}.py")
    return found.read_text(encoding="utf-8")


@pytest.fixture
def imported() -> Iterator[Any]:
    """Import a converted package's ``params`` and ``pipeline`` from its ``src``."""
    names: list[str] = []
    paths: list[str] = []

    def load(package_dir: Path) -> tuple[Any, Any]:
        src = package_dir / "src"
        (package,) = (child.name for child in src.iterdir() if child.is_dir())
        names.append(package)
        paths.append(str(src))
        sys.path.insert(0, str(src))
        params = importlib.import_module(f"{package}.params")
        pipeline = importlib.import_module(f"{package}.pipeline")
        return params, pipeline

    cwd = Path.cwd()
    yield load
    os.chdir(cwd)
    for entry in paths:
        sys.path.remove(entry)
    for name in list(sys.modules):
        if any(name == package or name.startswith(f"{package}.") for package in names):
            del sys.modules[name]


def test_the_constant_becomes_a_parameter_named_after_it(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = notebook_with_data(tmp_path)
    code, report = check(path, capsys, "--lift-paths")
    assert code == 0, report["problems"]
    lifted = {item["value"]: item["lifted_to"] for item in report["paths"]}
    # The derived constant's literal is reported, and follows the parameter.
    assert lifted == {"rows.csv": "data_path", ".copy.csv": None}
    (param,) = [p for p in report["parameters"] if p["name"] == "data_path"]
    assert param["default"] == "data/rows.csv"
    assert not [p for p in report["problems"] if "path" in p["code"]]


def test_without_lift_paths_the_report_says_to_pass_it(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = notebook_with_data(tmp_path)
    code, report = check(path, capsys)
    assert code == 0
    problems = [p for p in report["problems"] if p["code"] == "hard-coded-path"]
    # DATA_PATH's literal and COPY_PATH's.
    assert [("`DATA_PATH`" in p["message"], "`COPY_PATH`" in p["message"]) for p in problems] == [
        (True, False),
        (False, True),
    ]
    for problem in problems:
        assert "which a helper reads" in problem["message"]
        assert problem["hint"] == "pass --lift-paths to turn it into a parameter"
    assert all(item["lifted_to"] is None for item in report["paths"])


def test_every_read_site_takes_the_run_value(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], imported: Any
) -> None:
    package = convert(notebook_with_data(tmp_path), capsys)
    features = source_of(package, "features")
    assert "def load_data(path=None):\n    if path is None:\n        path = DATA_PATH" in features
    assert "DATA_PATH = params.data_path" in features
    assert (
        '    # The copy beside it.\n    COPY_PATH = DATA_PATH.replace(".csv", ".copy.csv")'
        in features
    )
    assert "def first(self, *, path=None):" in features
    assert "Source.path = DATA_PATH" in features
    assert "features.use_params(params)" in source_of(package, "data")
    predict = source_of(package, "predict")
    assert not [
        line
        for line in predict.splitlines()
        if line.startswith(("from .data", "from .train", "from .pipeline", "from . import"))
    ]
    params, pipeline = imported(package)
    os.chdir(tmp_path)
    assert len(pipeline.run(params.Params()).predictions) == 20
    other = pipeline.run(params.Params(data_path=str(tmp_path / "other.csv")))
    assert len(other.predictions) == 30
    assert other.input_files == [str(tmp_path / "other.csv")]
    # The next run with the default reads the notebook's file again.
    assert len(pipeline.run(params.Params()).predictions) == 20


def test_the_package_cli_trains_on_the_file_given_with_param(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = notebook_with_data(tmp_path)
    converted = subprocess.run(
        [sys.executable, "-m", "jupyter_mlprod.cli", "convert", "--lift-paths", str(path)]
        + ["-o", str(tmp_path / "package")],
        capture_output=True,
        text=True,
    )
    assert converted.returncode == 0, converted.stderr
    package = tmp_path / "package"
    (module,) = (child.name for child in (package / "src").iterdir() if child.is_dir())
    env = {**os.environ, "PYTHONPATH": str(package / "src")}

    def train(models: Path, *options: str) -> dict[str, Any]:
        done = subprocess.run(
            [sys.executable, "-m", module, "train", "--model-dir", str(models), *options],
            capture_output=True,
            text=True,
            env=env,
            cwd=tmp_path,
        )
        assert done.returncode == 0, done.stderr
        (manifest,) = models.glob("v*/manifest.json")
        return dict(json.loads(manifest.read_text()))

    default = train(tmp_path / "default")
    assert default["profile"]["rows"] == 20
    assert [item["path"] for item in default["input_files"]] == ["data/rows.csv"]
    other = train(tmp_path / "other", "--param", "data_path=other.csv")
    # Every helper read other.csv (the load stage asserts they agree), the derived copy too.
    assert other["profile"]["rows"] == 30
    assert other["params"]["data_path"] == "other.csv"
    assert [item["path"] for item in other["input_files"]] == ["other.csv"]


def test_a_path_constant_stays_a_path(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], imported: Any
) -> None:
    cells = [
        (IMPORTS, None),
        ("ROOT = Path('data')\nTRAIN_FILE = ROOT / 'rows.csv'", None),
        (
            "def load_data(path=TRAIN_FILE):\n"
            "    assert isinstance(path, Path), type(path)\n"
            "    return pd.read_csv(path)",
            None,
        ),
        ("df = load_data()\nX, y = df[['a']], df['y']", "load"),
        ("model = LogisticRegression().fit(X, y)", "train"),
        ("y_pred = model.predict(X)", "predict"),
    ]
    package = convert(notebook_with_data(tmp_path, cells), capsys)
    assert "TRAIN_FILE = Path(params.train_file)" in source_of(package, "features")
    params, pipeline = imported(package)
    os.chdir(tmp_path)
    assert len(pipeline.run(params.Params()).predictions) == 20
    assert len(pipeline.run(params.Params(train_file="other.csv")).predictions) == 30


def test_a_predict_input_read_through_a_helper_is_lifted(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], imported: Any
) -> None:
    """The held-out input is read by a helper in the load stage: predict gets new inputs
    from its caller, so the constant is lifted."""
    cells = [
        (IMPORTS, None),
        ("TEST_PATH = 'data/rows.copy.csv'", None),
        ("def load_test():\n    return pd.read_csv(TEST_PATH)[['a']]", None),
        ("df = pd.read_csv('data/rows.csv')\nX, y = df[['a']], df['y']", "load"),
        ("X_test = load_test()", "load"),
        ("model = LogisticRegression().fit(X, y)", "train"),
        ("y_pred = model.predict(X_test)", "predict"),
    ]
    path = notebook_with_data(tmp_path, cells)
    code, report = check(path, capsys, "--lift-paths")
    assert code == 0, report["problems"]
    assert {item["value"]: item["lifted_to"] for item in report["paths"]}["data/rows.copy.csv"] == (
        "test_path"
    )
    params, pipeline = imported(convert(path, capsys))
    os.chdir(tmp_path)
    run = pipeline.run(params.Params(test_path="other.copy.csv"))
    assert len(run.predictions) == 30


def test_stage_code_reading_the_constant_reads_the_parameter(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], imported: Any
) -> None:
    """The load cell also reads `DATA_PATH` itself: its copy of the constant is the
    parameter, so helper and stage read the same file."""
    cells = [
        *CELLS[:-3],
        (LOAD + "\nagain = pd.read_csv(DATA_PATH)\nassert len(again) == n", "load"),
        *CELLS[-2:],
    ]
    package = convert(notebook_with_data(tmp_path, cells), capsys)
    params, pipeline = imported(package)
    os.chdir(tmp_path)
    assert len(pipeline.run(params.Params(data_path="other.csv")).predictions) == 30


@pytest.mark.parametrize(
    ("constant", "helper", "use", "reason"),
    [
        (
            "DATA_PATH = 'data/rows.csv'",
            "def frame(rows):\n    return rows[pd.read_csv(DATA_PATH).columns]",
            ("y_pred = model.predict(frame(X))", "predict"),
            "predict reads it",
        ),
        (
            "VOCABULARY_PATH = 'data/rows.csv'",
            "class Columns(BaseEstimator, TransformerMixin):\n"
            "    def fit(self, X, y=None):\n        return self\n\n"
            "    def transform(self, X):\n"
            "        return X[pd.read_csv(VOCABULARY_PATH).columns[:1]]",
            ("n = len(Columns().fit_transform(X))", "load"),
            "a helper or class the trained model may hold",
        ),
        (
            "LOOKUP_PATH = 'data/rows.csv'",
            "def lookup(X):\n    return X + len(pd.read_csv(LOOKUP_PATH)) * 0",
            (
                "model = make_pipeline(FunctionTransformer(lookup), LogisticRegression())\n"
                "model.fit(X, y)",
                "train",
            ),
            "a helper or class the trained model may hold",
        ),
        (
            "DATA_PATH = 'data/rows.csv'",
            "read = lambda path=DATA_PATH: pd.read_csv(path)",
            ("n = len(read())", "load"),
            "`read` reads `DATA_PATH` in a lambda's default",
        ),
        (
            "DATA_PATH = os.path.abspath('data/rows.csv')",
            "def size():\n    return len(pd.read_csv(DATA_PATH))",
            ("n = size()", "load"),
            "not computed only from literals",
        ),
        (
            "TRAIN_PATH, TEST_PATH = 'data/rows.csv', 'data/rows.copy.csv'",
            "def size():\n    return len(pd.read_csv(TRAIN_PATH))",
            ("n = size()", "load"),
            "assigns several names",
        ),
    ],
)
def test_a_constant_that_cannot_be_lifted_says_why(
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    constant: str,
    helper: str,
    use: tuple[str, str],
    reason: str,
) -> None:
    predict = use if use[1] == "predict" else ("y_pred = model.predict(X)", "predict")
    path = notebook_with_data(
        tmp_path,
        [
            (IMPORTS, None),
            (constant, None),
            (helper, None),
            ("df = pd.read_csv('data/rows.csv')\nX, y = df[['a']], df['y']", "load"),
            *([use] if use[1] == "load" else []),
            use if use[1] == "train" else ("model = LogisticRegression().fit(X, y)", "train"),
            predict,
        ],
    )
    code, report = check(path, capsys, "--lift-paths")
    assert code == 0, report["problems"]
    problems = [p for p in report["problems"] if p["code"] == "hard-coded-path"]
    assert problems, report["problems"]
    for problem in problems:
        assert "is not lifted: " in problem["message"] and reason in problem["message"]
        assert "as an argument" in problem["hint"]
    # The load cell's own literal is lifted as usual; the constant's is not.
    assert [item["lifted_to"] for item in report["paths"] if item["cell"] == 1] == [None] * len(
        problems
    )
