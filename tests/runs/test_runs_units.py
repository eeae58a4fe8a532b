"""Fast tests of the run machinery that need no kernel: records, parameters, comparison,
and the bookkeeping cells' code executed in-process."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from param_cases import PARAMETERS_CELL, TEXT_CASES, TEXT_ERRORS, VALUE_CASES, VALUE_ERRORS
from runs_helpers import tagged, write_notebook

from jupyter_mlprod.errors import ParameterError
from jupyter_mlprod.notebook import load_notebook
from jupyter_mlprod.runs import kernel_cells, record
from jupyter_mlprod.runs.commands import collect_parameters, format_table
from jupyter_mlprod.runs.execute import find_predict_names, resolve_parameters
from jupyter_mlprod.runs.verify import (
    describe_mismatch,
    first_differences,
    format_param,
    load_value,
)
from jupyter_mlprod.runtime.compare import compare_predictions
from jupyter_mlprod.runtime.provenance import sha256_file


def test_run_ids_sort_chronologically_and_differ() -> None:
    import datetime as dt

    early = dt.datetime(2026, 1, 2, 3, 4, 5, 6000, tzinfo=dt.timezone.utc)
    late = early + dt.timedelta(milliseconds=1)
    first, second = record.new_run_id(early), record.new_run_id(late)
    assert first.startswith("20260102T030405006Z-")
    assert sorted([second, first]) == [first, second]
    assert record.new_run_id(early) != record.new_run_id(early)


def test_find_input_files_hashes_existing_literals_and_parameter_paths(tmp_path: Path) -> None:
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "a.csv").write_text("x\n1\n")
    (tmp_path / "b.csv").write_text("y\n2\n")
    sources = ['df = pd.read_csv("data/a.csv")\nother = "missing.csv"', "%time x = 'b.csv'"]
    found = record.find_input_files(sources, ["b.csv", 3, ["data/a.csv"]], tmp_path)
    assert [entry["path"] for entry in found] == ["data/a.csv", "b.csv"]
    assert found[0]["sha256"] == sha256_file(tmp_path / "data" / "a.csv")


def test_changed_inputs_reports_edited_and_missing_files(tmp_path: Path) -> None:
    (tmp_path / "a.csv").write_text("1")
    (tmp_path / "b.csv").write_text("2")
    entries = record.find_input_files(["x = 'a.csv', 'b.csv'"], [], tmp_path)
    (tmp_path / "a.csv").write_text("changed")
    (tmp_path / "b.csv").unlink()
    assert record.changed_inputs({"input_files": entries}, tmp_path) == [
        "a.csv",
        "b.csv (missing)",
    ]


@pytest.mark.skipif(sys.platform == "win32", reason="a POSIX shell script stands in")
def test_package_versions_of_another_interpreter_come_from_the_same_listing(
    tmp_path: Path,
) -> None:
    from jupyter_mlprod.runtime.provenance import installed_distributions

    # A different executable (a kernel's): the listing runs there, as a script.
    other = tmp_path / "python"
    other.write_text(f'#!/bin/sh\nexec "{sys.executable}" "$@"\n')
    other.chmod(0o755)
    here = installed_distributions()
    assert record.package_versions(str(other)) == here == record.package_versions(None)
    assert "numpy" in here and list(here) == sorted(here)


def test_list_records_newest_first_and_skips_foreign_dirs(tmp_path: Path) -> None:
    for run_id in ("20260101T000000000Z-aaaaaa", "20260301T000000000Z-bbbbbb"):
        (tmp_path / run_id).mkdir()
        record.write_record(tmp_path / run_id, {"run_id": run_id, "status": "succeeded"})
    (tmp_path / "not-a-run").mkdir()
    ids = [item["run_id"] for item in record.list_records(tmp_path)]
    assert ids == ["20260301T000000000Z-bbbbbb", "20260101T000000000Z-aaaaaa"]


def test_json_safe_turns_tuples_and_sets_into_lists() -> None:
    assert record.json_safe({"t": (1, 2), "s": {3, 1}, "f": float("inf")}) == {
        "t": [1, 2],
        "s": [1, 3],
        "f": "inf",
    }


def test_runs_list_prints_a_table_newest_first(tmp_path: Path, cli) -> None:  # noqa: ANN001
    for run_id, start, status in (
        ("20260101T000000000Z-aaaaaa", "2026-01-01T00:00:00+00:00", "failed"),
        ("20260301T000000000Z-bbbbbb", "2026-03-01T00:00:00+00:00", "succeeded"),
    ):
        (tmp_path / run_id).mkdir()
        record.write_record(
            tmp_path / run_id,
            {
                "run_id": run_id,
                "start": start,
                "status": status,
                "duration": 75.2,
                "parameters": {"C": 0.5, "name": "x"},
                "notebook": {"path": "nb/churn.ipynb"},
            },
        )
    result = cli("runs", "list", tmp_path)
    assert result.code == 0
    lines = result.out.splitlines()
    assert lines[0].split() == [
        "RUN",
        "ID",
        "DATE",
        "(UTC)",
        "STATUS",
        "DURATION",
        "NOTEBOOK",
        "PARAMETERS",
    ]
    assert lines[1].startswith("20260301T000000000Z-bbbbbb  2026-03-01 00:00:00  succeeded")
    assert "1m15s" in lines[1] and "churn.ipynb" in lines[1] and 'C=0.5 name="x"' in lines[1]
    assert "failed" in lines[2]
    as_json = cli("runs", "list", tmp_path, "--json")
    assert [item["run_id"] for item in json.loads(as_json.out)][0].endswith("bbbbbb")


def test_runs_list_of_an_empty_directory(tmp_path: Path, cli) -> None:  # noqa: ANN001
    result = cli("runs", "list", tmp_path / "nothing")
    assert result.code == 0 and "no runs" in result.out


def test_format_table_aligns_columns() -> None:
    table = format_table(["A", "LONGER"], [["xxx", "1"], ["y", "22"]])
    assert table.splitlines() == ["A    LONGER", "xxx  1", "y    22"]


@pytest.fixture
def typed_notebook(tmp_path: Path) -> Path:
    source = (
        "lr: float = 0.1\n"
        "epochs = 3\n"
        "layers: list[int] = [64, 32]\n"
        "name = 'model'\n"
        "use_bias: bool = True\n"
        "shape: tuple = (2, 2)\n"
        "limit: int | None = None\n"
    )
    return write_notebook(tmp_path / "typed.ipynb", [tagged(source, "parameters")])


@pytest.mark.parametrize(
    ("name", "given", "expected"),
    [
        ("lr", "1", 1.0),
        ("lr", 1, 1.0),
        ("epochs", "7", 7),
        ("layers", "[3,4]", [3, 4]),
        ("layers", [5], [5]),
        ("name", "7", "7"),
        ("use_bias", "false", False),
        ("shape", "[1, 2]", (1, 2)),
        ("limit", "None", None),
        ("limit", "5", 5),
    ],
)
def test_parameters_are_typed_by_the_parameters_cell(
    typed_notebook: Path, name: str, given: object, expected: object
) -> None:
    typed = resolve_parameters(load_notebook(typed_notebook), {name: given})
    assert typed == {name: expected}
    assert type(typed[name]) is type(expected)


@pytest.mark.parametrize(
    ("name", "given", "fragment"),
    [
        ("lr", "fast", "'lr' expects float"),
        ("epochs", "2.5", "'epochs' expects int"),
        ("layers", "3", "'layers' expects list[int]"),
        ("name", 7, "'name' expects str"),
        ("use_bias", "maybe", "'use_bias' expects bool"),
        ("nope", "1", "unknown parameter 'nope'"),
    ],
)
def test_impossible_parameters_are_rejected_with_one_line(
    typed_notebook: Path, name: str, given: object, fragment: str
) -> None:
    with pytest.raises(ParameterError) as caught:
        resolve_parameters(load_notebook(typed_notebook), {name: given})
    assert fragment in str(caught.value)
    assert "\n" not in str(caught.value)


@pytest.fixture
def table_notebook(tmp_path: Path) -> Path:
    return write_notebook(tmp_path / "table.ipynb", [tagged(PARAMETERS_CELL, "parameters")])


@pytest.mark.parametrize(("name", "text", "expected"), TEXT_CASES)
def test_run_reads_text_by_the_shared_rules(
    table_notebook: Path, name: str, text: str, expected: object
) -> None:
    # The same table tests/runtime/test_params.py feeds a generated package's `train --param`.
    typed = resolve_parameters(load_notebook(table_notebook), {name: text})
    assert repr(typed[name]) == repr(expected)


@pytest.mark.parametrize(("name", "text"), TEXT_ERRORS)
def test_run_refuses_text_by_the_shared_rules(table_notebook: Path, name: str, text: str) -> None:
    with pytest.raises(ParameterError, match=f"parameter {name!r} expects"):
        resolve_parameters(load_notebook(table_notebook), {name: text})


@pytest.mark.parametrize(("name", "value", "expected"), VALUE_CASES)
def test_run_checks_typed_values_by_the_shared_rules(
    table_notebook: Path, name: str, value: object, expected: object
) -> None:
    typed = resolve_parameters(load_notebook(table_notebook), {name: value})
    assert repr(typed[name]) == repr(expected)


@pytest.mark.parametrize(("name", "value"), VALUE_ERRORS)
def test_run_refuses_typed_values_by_the_shared_rules(
    table_notebook: Path, name: str, value: object
) -> None:
    with pytest.raises(ParameterError, match=f"parameter {name!r} expects"):
        resolve_parameters(load_notebook(table_notebook), {name: value})


def test_parameters_without_a_parameters_cell_are_rejected(tmp_path: Path) -> None:
    path = write_notebook(tmp_path / "plain.ipynb", [tagged("x = 1")])
    with pytest.raises(ParameterError, match="no cell tagged `parameters`"):
        resolve_parameters(load_notebook(path), {"x": "2"})


def test_collect_parameters_merges_yaml_and_command_line(tmp_path: Path) -> None:
    params_file = tmp_path / "p.yaml"
    params_file.write_text("lr: 1\nlayers: [3, 4]\nname: first\n")
    merged = collect_parameters(str(params_file), [["name", "second"]])
    assert merged == {"lr": 1, "layers": [3, 4], "name": "second"}


@pytest.mark.parametrize("content", ["- a\n- b\n", "a: [unclosed\n"])
def test_collect_parameters_rejects_bad_yaml(tmp_path: Path, content: str) -> None:
    params_file = tmp_path / "p.yaml"
    params_file.write_text(content)
    with pytest.raises(ParameterError, match="p.yaml"):
        collect_parameters(str(params_file), None)


def test_bad_parameter_exits_2_before_any_run(typed_notebook: Path, cli) -> None:  # noqa: ANN001
    runs_dir = typed_notebook.parent / "runs"
    result = cli("run", typed_notebook, "-p", "lr", "fast", "-o", runs_dir)
    assert result.code == 2
    assert result.err.strip() == "nb2prod: error: parameter 'lr' expects float; cannot use 'fast'"
    assert not runs_dir.exists()


def test_predict_names_come_from_metadata(tmp_path: Path) -> None:
    path = write_notebook(
        tmp_path / "m.ipynb",
        [tagged("y = x", "predict")],
        mlprod={"predict_input": "x", "predict_output": "y"},
    )
    names = find_predict_names(load_notebook(path))
    assert (names.input, names.output) == ("x", "y")


def test_predict_names_are_none_without_a_predict_cell(tmp_path: Path) -> None:
    names = find_predict_names(load_notebook(write_notebook(tmp_path / "n.ipynb", [])))
    assert (names.input, names.output) == (None, None)


def _run_dump_cell(tmp_path: Path, namespace: dict[str, object]) -> dict[str, dict[str, str]]:
    cell = kernel_cells.dump_cell(str(tmp_path), {"output": "y", "input": "x"})
    exec(compile(cell.source, "<dump>", "exec"), namespace)  # noqa: S102 - our own cell
    assert not any(name.startswith("__mlprod") for name in namespace)
    return json.loads((tmp_path / kernel_cells.VALUES_NAME).read_text())


def test_dump_cell_saves_arrays_and_frames_with_stable_hashes(tmp_path: Path) -> None:
    frame = pd.DataFrame({"a": [1.5, 2.5], "b": ["u", "v"]}, index=[7, 3])
    values = _run_dump_cell(tmp_path, {"x": frame, "y": np.array([1, 0, 1])})
    assert values["output"]["kind"] == "ndarray" and values["output"]["file"].endswith(".npy")
    assert values["input"]["kind"] == "dataframe"
    np.testing.assert_array_equal(load_value(tmp_path / values["output"]["file"]), [1, 0, 1])
    pd.testing.assert_frame_equal(load_value(tmp_path / values["input"]["file"]), frame)
    again = _run_dump_cell(tmp_path, {"x": frame.copy(), "y": np.array([1, 0, 1])})
    assert again["output"]["sha256"] == values["output"]["sha256"]
    assert again["input"]["sha256"] == values["input"]["sha256"]
    changed = _run_dump_cell(tmp_path, {"x": frame, "y": np.array([1, 1, 1])})
    assert changed["output"]["sha256"] != values["output"]["sha256"]


def test_dump_cell_reports_undefined_names_and_pickles_the_rest(tmp_path: Path) -> None:
    values = _run_dump_cell(tmp_path, {"y": {"label": 1}})
    assert values["input"] == {"name": "x", "error": "not defined after the run"}
    assert values["output"]["file"].endswith(".pkl")


def test_prelude_cell_records_the_interpreter_and_seeds(tmp_path: Path) -> None:
    import random
    import sys

    cell = kernel_cells.prelude_cell(str(tmp_path), 0)
    exec(compile(cell.source, "<prelude>", "exec"), {})  # noqa: S102 - our own cell
    first = (random.random(), np.random.random())
    random.seed(0)
    np.random.seed(0)
    assert first == (random.random(), np.random.random())
    info = json.loads((tmp_path / kernel_cells.KERNEL_INFO_NAME).read_text())
    assert info["executable"] == sys.executable
    assert info["seeded"][:2] == ["random", "numpy"]


def _generator_states() -> tuple[object, ...]:
    import random
    import sys

    name, keys, *rest = np.random.get_state()
    torch = sys.modules.get("torch")
    return (
        random.getstate(),
        (name, keys.tolist(), *rest),
        torch.random.get_rng_state().tolist() if torch is not None else None,
    )


def test_prelude_seeds_exactly_what_seed_everything_seeds(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import importlib.util
    import os

    from jupyter_mlprod.runtime import read_file, seeding

    cell = kernel_cells.prelude_cell(str(tmp_path), 7)
    # Generated from the package's seeding.py, so the two cannot drift apart.
    assert repr(read_file("seeding.py")) in cell.source
    monkeypatch.delenv("PYTHONHASHSEED", raising=False)
    namespace: dict[str, object] = {}
    exec(compile(cell.source, "<prelude>", "exec"), namespace)  # noqa: S102 - our own cell
    assert set(namespace) == {"__builtins__"}  # nothing left in the user's namespace
    after_prelude = _generator_states()
    hash_seed = os.environ.get("PYTHONHASHSEED")
    recorded = json.loads((tmp_path / kernel_cells.KERNEL_INFO_NAME).read_text())["seeded"]

    monkeypatch.delenv("PYTHONHASHSEED", raising=False)
    seeded = seeding.seed_everything(7)
    assert recorded == seeded  # the same libraries, in the same order
    assert _generator_states() == after_prelude  # seeded to the same states
    assert hash_seed == os.environ.get("PYTHONHASHSEED") == "7"  # the same environment
    if importlib.util.find_spec("torch") is not None:
        assert seeded == ["random", "numpy", "torch"]


def test_prelude_without_a_seed_seeds_nothing(tmp_path: Path) -> None:
    exec(compile(kernel_cells.prelude_cell(str(tmp_path), None).source, "<p>", "exec"), {})  # noqa: S102
    assert "seeded" not in json.loads((tmp_path / kernel_cells.KERNEL_INFO_NAME).read_text())


def test_compare_predictions_exact_labels_and_float_tolerance() -> None:
    same = compare_predictions(np.array([1, 2, 3]), pd.DataFrame({"y_pred": [1, 2, 3]}))
    assert same.ok and same.rows == 3 and same.mismatches == 0
    labels = compare_predictions(np.array(["a", "b", "c"]), np.array(["a", "x", "c"]))
    assert not labels.ok and labels.mismatches == 1
    assert first_differences(labels) == [
        {"row": 1, "column": "prediction", "notebook": "'b'", "package": "'x'"}
    ]
    close = compare_predictions(np.array([1.0, 2.0]), np.array([1.0, 2.0 * (1 + 1e-12)]))
    assert close.ok
    far = compare_predictions(np.array([1.0, 2.0]), np.array([1.0, 2.0 * (1 + 1e-6)]))
    assert not far.ok and far.mismatches == 1
    assert compare_predictions(np.array([1.0, 2.0]), np.array([1.0, 2.000002]), rtol=1e-3).ok
    nan = compare_predictions(np.array([np.nan, 1.0]), np.array([np.nan, 1.0]))
    assert nan.ok


def test_compare_predictions_reports_shape_differences() -> None:
    rows = compare_predictions(np.array([1, 2, 3]), np.array([1, 2]))
    assert not rows.ok and "3 rows" in describe_mismatch(rows) and rows.mismatches == 1
    columns = compare_predictions(np.zeros((2, 2)), np.zeros(2))
    assert not columns.ok and "2 column(s)" in describe_mismatch(columns)


def test_format_param_keeps_strings_and_writes_literals() -> None:
    assert format_param("data/x.csv") == "data/x.csv"
    assert format_param(1.0) == "1.0"
    assert format_param([3, 4]) == "[3, 4]"
    assert format_param(None) == "None"


def test_nb2prod_cli_has_the_run_commands(
    typed_notebook: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from jupyter_mlprod.cli import main

    runs_dir = typed_notebook.parent / "runs"
    assert main(["run", str(typed_notebook), "-p", "nope", "1", "-o", str(runs_dir)]) == 2
    assert "unknown parameter 'nope'" in capsys.readouterr().err
    assert main(["runs", "list", str(runs_dir)]) == 0
    assert "no runs" in capsys.readouterr().out
    assert not runs_dir.exists()


def test_runs_dir_that_is_a_file_is_one_line(typed_notebook: Path, cli) -> None:  # noqa: ANN001
    blocker = typed_notebook.parent / "runs"
    blocker.write_text("not a directory")
    result = cli("run", typed_notebook, "-o", blocker)
    assert result.code == 1
    assert "cannot create a run directory there" in result.err
    assert len(result.err.strip().splitlines()) == 1
