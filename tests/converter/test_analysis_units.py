"""Unit tests of the analyser's parts: statement gathering, the definition/use walk, predict
input/output, planning and slicing, helper placement, paths, and problems as values.

The CLI contract tests beside this file check what users see; these pin down each step on
notebooks of a few lines, one behaviour per test.
"""

from __future__ import annotations

from pathlib import PurePath
from typing import Any

import pytest

from jupyter_mlprod import roles
from jupyter_mlprod.analysis import (
    ERROR,
    WARNING,
    Analysis,
    AnalysisOptions,
    Problem,
    StagePlan,
    analyse_notebook,
)
from jupyter_mlprod.analysis.paths import (
    is_absolute,
    param_name_for,
    path_kind,
    portable_default,
    unique,
)
from jupyter_mlprod.analysis.predict_io import infer_input_candidates, model_call_assignments
from jupyter_mlprod.analysis.statements import Statement, is_display_call, parse_cell
from jupyter_mlprod.codegen.placement import place_helpers
from jupyter_mlprod.errors import ConversionError
from jupyter_mlprod.notebook import notebook_from_json

from .helpers import IMPORTS, LOAD, PARAMETERS, PREDICT, TRAIN, code, good_cells, notebook


def analyse(
    *cells: Any,
    mlprod: dict[str, str] | None = None,
    predict_input: str | None = None,
    predict_output: str | None = None,
    lift_paths: bool = False,
    strict: bool = False,
) -> Analysis:
    """Analyse a notebook of these cells."""
    data = notebook(*cells, mlprod=mlprod)
    options = AnalysisOptions(predict_input, predict_output, lift_paths, strict=strict)
    return analyse_notebook(notebook_from_json(data, "nb.ipynb"), options)


def statement(source: str) -> Statement:
    """The one top-level statement of a cell."""
    (only,) = parse_cell(0, source).statements
    return only


def codes(analysis: Analysis) -> list[str]:
    return [problem.code for problem in analysis.problems]


def plan(analysis: Analysis, role: str) -> StagePlan:
    found = analysis.plan(role)
    assert found is not None, f"no {role} plan"
    return found


def sources(stage: StagePlan) -> list[str]:
    return [st.code.strip() for st in stage.statements]


# -- statements ------------------------------------------------------------------------------


def test_an_assignment_defines_its_target_and_reads_its_value() -> None:
    gathered = statement("y = x + offset\n")
    assert (gathered.defines, gathered.reads, gathered.mutates) == ({"y"}, {"x", "offset"}, set())
    assert gathered.kind == "code"


def test_a_name_assigned_earlier_in_the_same_statement_is_not_read_from_outside() -> None:
    gathered = statement("x = 1; y = x\n")
    assert gathered.reads == set()
    assert gathered.defines == {"x", "y"}


def test_a_fit_call_changes_its_receiver() -> None:
    gathered = statement("model.fit(X, y)\n")
    assert gathered.mutates == {"model"}
    assert "model" in gathered.defines
    assert gathered.reads == {"model", "X", "y"}


def test_an_assigned_fit_changes_the_model_as_well_as_binding_the_result() -> None:
    gathered = statement("history = model.fit(X, y)\n")
    assert gathered.defines == {"history", "model"}
    assert gathered.mutates == {"model"}


def test_item_assignment_changes_the_frame_in_place() -> None:
    gathered = statement('df["total"] = df["a"] + df["b"]\n')
    assert gathered.mutates == {"df"}


def test_a_method_returning_a_new_object_changes_nothing() -> None:
    assert statement("df.dropna()\n").mutates == set()


def test_a_function_defines_its_name_and_reads_globals_only_when_called() -> None:
    gathered = statement("def scale(x):\n    return x * factor\n")
    assert gathered.kind == "function"
    assert gathered.defines == {"scale"}
    assert gathered.reads == set()
    assert gathered.deferred_reads == {"factor"}


def test_a_named_lambda_is_a_function() -> None:
    assert statement("clean = lambda frame: frame.dropna()\n").kind == "function"


def test_classes_and_imports_have_their_kinds() -> None:
    assert statement("class Scaler:\n    pass\n").kind == "class"
    assert statement("import numpy as np\n").kind == "import"


def test_import_bindings_render_the_import_of_each_name() -> None:
    gathered = statement("from sklearn.linear_model import LogisticRegression as LR\n")
    (binding,) = gathered.imports
    assert (binding.name, binding.root) == ("LR", "sklearn")
    assert binding.render() == "from sklearn.linear_model import LogisticRegression as LR"


def test_statement_lines_skip_leading_comments() -> None:
    first, second = parse_cell(0, "a = 1\n# why\nb = a\n").statements
    assert (first.line, second.line) == (1, 3)


def test_string_literals_are_gathered_with_their_line() -> None:
    gathered = statement('df = pd.read_csv(\n    "data/sales.csv"\n)\n')
    assert [(value, line) for value, line, _node in gathered.strings] == [("data/sales.csv", 2)]


def test_head_and_print_are_display_calls_and_an_assignment_is_not() -> None:
    assert is_display_call(statement("df.head()\n").node, set())
    assert is_display_call(statement("print(score)\n").node, set())
    assert not is_display_call(statement("df = df.head()\n").node, set())


def test_a_plot_module_call_is_display_but_reading_data_with_it_is_not() -> None:
    assert is_display_call(statement("plt.plot(x)\n").node, {"plt"})
    assert not is_display_call(statement("img = plt.imread('a.png')\n").node, {"plt"})


# -- the definition/use walk -----------------------------------------------------------------


def test_a_name_read_by_train_from_load_becomes_a_flow() -> None:
    analysis = analyse(*good_cells())
    flows = {(flow.name, flow.from_role, flow.to_role) for flow in analysis.flows}
    assert {("X_train", "load", "train"), ("y_train", "load", "train")} <= flows
    assert ("model", "train", "predict") in flows


def test_parameters_are_read_but_never_flows() -> None:
    analysis = analyse(*good_cells())
    assert plan(analysis, roles.TRAIN).params_read == ("C",)
    assert all(flow.from_role != roles.PARAMETERS for flow in analysis.flows)


def test_a_variable_only_an_untagged_cell_defines_joins_the_stage_reading_it() -> None:
    cells = good_cells()
    cells.insert(4, code("threshold = 0.5\n"))
    cells[-1] = code("y_pred = model.predict(X_test) > threshold\n", "predict")
    analysis = analyse(*cells)
    assert analysis.ok, analysis.errors
    (inference,) = analysis.inferred
    assert (inference.cell, inference.line, inference.stage) == (4, 1, roles.PREDICT)
    assert "`threshold`" in inference.because and "cell 6" in inference.because
    assert 4 in plan(analysis, roles.PREDICT).cells


def test_strict_keeps_a_read_of_an_untagged_variable_an_error() -> None:
    cells = good_cells()
    cells.insert(4, code("threshold = 0.5\n"))
    cells[-1] = code("y_pred = model.predict(X_test) > threshold\n", "predict")
    analysis = analyse(*cells, strict=True)
    assert analysis.inferred == ()
    (problem,) = [p for p in analysis.errors if p.code == "untagged-variable"]
    assert problem.cell == 5 and "threshold" in problem.message and "cell 5" in problem.message


def test_an_untagged_cell_changing_a_staged_variable_is_kept_in_order() -> None:
    cells = good_cells()
    cells.insert(4, code("X_test = X_test[:10]\n"))
    analysis = analyse(*cells)
    assert analysis.ok, analysis.errors
    assert [(i.cell, i.stage) for i in analysis.inferred] == [(4, roles.PREDICT)]
    assert "redefined-by-exploration" in [p.code for p in analyse(*cells, strict=True).errors]


def test_a_skipped_cell_changing_a_staged_variable_only_warns() -> None:
    cells = good_cells()
    cells.insert(4, code("X_test = X_test[:10]\n", "skip"))
    analysis = analyse(*cells)
    assert "redefined-by-exploration" in [p.code for p in analysis.warnings]
    assert analysis.ok


def test_reading_from_a_later_stage_is_a_stage_order_error() -> None:
    cells = good_cells()
    cells.insert(4, code("coefficients = model.coef_\n", "load"))
    analysis = analyse(*cells)
    (problem,) = [p for p in analysis.problems if p.code == "stage-order"]
    assert problem.severity == ERROR and problem.cell == 4


def test_an_undefined_name_names_the_later_cell_that_defines_it() -> None:
    cells = good_cells()
    cells[3] = code("model = LogisticRegression(C=C)\nmodel.fit(X_train, weights)\n", "train")
    cells.append(code("weights = None\n", "load"))
    (problem,) = [p for p in analyse(*cells).errors if p.code == "undefined-name"]
    assert "cell 6 defines it later" in problem.hint


def test_a_function_from_an_untagged_cell_is_carried_with_its_imports() -> None:
    cells = good_cells()
    cells.insert(2, code("import numpy\ndef noisy(values):\n    return values + numpy.e\n"))
    cells[3] = code(LOAD + "X_train = noisy(X_train)\n", "load")
    analysis = analyse(*cells)
    assert analysis.ok
    assert [st.defines for st in analysis.carried] == [{"noisy"}]
    assert "numpy" in {binding.name for binding in analysis.imports}


def test_a_helper_reading_a_global_variable_is_an_error() -> None:
    cells = good_cells()
    cells.insert(2, code("def shrink(values):\n    return values * factor\n"))
    # Runtime state (computed from the data), not a constant: the helper must be given it.
    cells[3] = code(LOAD + "factor = X.std()\nX_train = shrink(X_train)\n", "load")
    (problem,) = [p for p in analyse(*cells).errors if p.code == "helper-reads-global"]
    assert "`factor`" in problem.message and problem.cell == 2


def test_two_versions_of_a_carried_helper_are_an_error() -> None:
    helper = "def f(x):\n    return x\n"
    cells = [
        code(IMPORTS),
        code(PARAMETERS, "parameters"),
        code(helper),
        code(LOAD + "X = f(X)\n", "load"),
        code(helper.replace("x\n", "x + 1\n")),
        code(TRAIN + "X_train = f(X_train)\n", "train"),
        code(PREDICT, "predict"),
    ]
    (problem,) = [p for p in analyse(*cells).errors if p.code == "helper-redefined"]
    assert problem.cell == 4


def test_display_only_statements_of_stage_cells_are_left_out() -> None:
    cells = good_cells()
    cells[2] = code(LOAD + "X_train[:3]\n", "load")
    analysis = analyse(*cells)
    assert [st.code.strip() for st in analysis.display_only] == ["X_train[:3]"]
    assert "X_train[:3]" not in sources(plan(analysis, roles.LOAD))


# -- predict input and output ----------------------------------------------------------------


def test_output_and_input_are_inferred_from_the_model_call() -> None:
    io = analyse(*good_cells()).predict_io
    assert (io.input, io.output) == ("X_test", "y_pred")
    assert (io.input_source, io.output_source) == ("inferred", "inferred")


def test_an_option_wins_over_the_notebook_metadata() -> None:
    cells = good_cells()
    cells[-1] = code(
        "scores = model.predict_proba(X_test)\ny_pred = model.predict(X_test)\n", "predict"
    )
    analysis = analyse(*cells, predict_output="scores", mlprod={"predict_output": "y_pred"})
    assert (analysis.predict_io.output, analysis.predict_io.output_source) == ("scores", "option")


def test_the_metadata_names_the_output_when_no_option_does() -> None:
    analysis = analyse(*good_cells(), mlprod={"predict_output": "y_pred"})
    assert analysis.predict_io.output_source == "metadata"


def test_two_models_make_the_output_ambiguous() -> None:
    cells = good_cells()
    cells[3] = code(TRAIN + "other = LogisticRegression().fit(X_train, y_train)\n", "train")
    cells[-1] = code("a = model.predict(X_test)\nb = other.predict(X_test)\n", "predict")
    analysis = analyse(*cells)
    assert analysis.predict_io.output_candidates == ("a", "b")
    assert "ambiguous-output" in codes(analysis)


def test_the_output_follows_post_processing_but_not_evaluation() -> None:
    cells = good_cells()
    cells[-1] = code(
        "raw = model.predict(X_test)\nlabels = raw * 2\naccuracy = (labels == y_test).mean()\n",
        "predict",
    )
    assert analyse(*cells).predict_io.output == "labels"


def test_the_input_is_traced_back_through_a_transform() -> None:
    cell = parse_cell(0, "X_scaled = scaler.transform(X_new)\ny = model.predict(X_scaled)\n")
    assert infer_input_candidates(list(cell.statements)) == ("X_new",)


def test_model_call_assignments_name_target_model_and_method() -> None:
    assert model_call_assignments(statement("p = clf.predict_proba(X)\n")) == [
        ("p", "clf", "predict_proba")
    ]


def test_bad_metadata_is_reported_not_raised() -> None:
    analysis = analyse(*good_cells(), mlprod={"predict_output": "not a name"})
    assert "bad-metadata" in [p.code for p in analysis.errors]


# -- planning and slicing --------------------------------------------------------------------


def test_each_stage_plan_has_the_statements_of_its_cells() -> None:
    analysis = analyse(*good_cells())
    assert [stage.role for stage in analysis.plans] == [roles.LOAD, roles.TRAIN, roles.PREDICT]
    assert sources(plan(analysis, roles.PREDICT)) == ["y_pred = model.predict(X_test)"]
    assert plan(analysis, roles.TRAIN).cells == (3,)


def test_load_outputs_what_later_stages_read() -> None:
    analysis = analyse(*good_cells())
    assert set(plan(analysis, roles.LOAD).outputs) == {"X_train", "y_train", "X_test"}
    assert plan(analysis, roles.TRAIN).inputs == ("X_train", "y_train")


def test_the_model_is_the_artifact_and_train_is_its_source() -> None:
    analysis = analyse(*good_cells())
    assert analysis.artifacts == ("model",)
    assert analysis.artifact_sources == (("model", roles.TRAIN),)
    assert plan(analysis, roles.PREDICT).inputs == ("X_test",)


def test_the_predict_slice_splits_prepare_predict_and_evaluate() -> None:
    cells = good_cells()
    cells[-1] = code(
        "X_in = X_test[:20]\n"
        "y_pred = model.predict(X_in)\n"
        "accuracy = (y_pred == y_test[:20]).mean()\n",
        "predict",
    )
    analysis = analyse(*cells, predict_input="X_in")
    assert sources(plan(analysis, roles.PREPARE)) == ["X_in = X_test[:20]"]
    assert sources(plan(analysis, roles.PREDICT)) == ["y_pred = model.predict(X_in)"]
    assert sources(plan(analysis, roles.EVALUATE)) == ["accuracy = (y_pred == y_test[:20]).mean()"]
    assert set(plan(analysis, roles.EVALUATE).inputs) == {"y_test", "y_pred"}


def test_evaluation_reading_predict_intermediates_is_dropped_with_a_warning() -> None:
    cells = good_cells()
    cells[-1] = code(
        "scores = model.predict_proba(X_test)[:, 1]\ny_pred = scores > 0.5\ntop = scores.max()\n",
        "predict",
    )
    analysis = analyse(*cells, predict_output="y_pred")
    assert "evaluation-dropped" in [p.code for p in analysis.warnings]
    assert analysis.plan(roles.EVALUATE) is None


def test_an_output_that_ignores_the_input_is_an_error() -> None:
    cells = good_cells()
    cells[-1] = code("y_pred = model.predict(X_train)\n", "predict")
    analysis = analyse(*cells, predict_input="X_test")
    assert "output-ignores-input" in [p.code for p in analysis.errors]


def test_an_output_not_assigned_in_predict_is_an_error() -> None:
    analysis = analyse(*good_cells(), predict_output="missing")
    assert "unknown-output" in [p.code for p in analysis.errors]


def test_no_predict_cell_is_an_error_without_a_cell() -> None:
    analysis = analyse(*good_cells()[:-1])
    (problem,) = [p for p in analysis.errors if p.code == "no-predict-cell"]
    assert problem.cell is None


# -- helper placement ------------------------------------------------------------------------


def _placed(*cells: Any) -> dict[str, str]:
    analysis = analyse(*cells)
    assert analysis.ok, analysis.problems
    helpers = place_helpers(analysis.carried, analysis.plans)
    return {name: h.module for h in helpers for name in h.statement.defines}


def _with_helper(helper: str, load_extra: str = "", predict_extra: str = "") -> list[Any]:
    cells = good_cells()
    cells.insert(2, code(helper))
    cells[3] = code(LOAD + load_extra, "load")
    cells[-1] = code(PREDICT + predict_extra, "predict")
    return cells


def test_a_function_only_load_uses_lands_in_data() -> None:
    placed = _placed(*_with_helper("def twice(v):\n    return v * 2\n", "X_test = twice(X_test)\n"))
    assert placed == {"twice": "data"}


def test_a_function_predict_uses_lands_in_features() -> None:
    helper = "def clip(v):\n    return v.clip(0, 1)\n"
    placed = _placed(*_with_helper(helper, predict_extra="y_pred = clip(y_pred)\n"))
    assert placed == {"clip": "features"}


def test_a_class_always_lands_in_features() -> None:
    helper = "class Box:\n    def __init__(self, v):\n        self.v = v\n"
    assert _placed(*_with_helper(helper, "box = Box(X_test)\n")) == {"Box": "features"}


def test_a_helper_named_like_its_stage_function_lands_in_features() -> None:
    helper = "def load(v):\n    return v\n"
    assert _placed(*_with_helper(helper, "X_test = load(X_test)\n")) == {"load": "features"}


def test_a_helper_called_by_a_predict_helper_follows_it_to_features() -> None:
    helper = "def inner(v):\n    return v\n\ndef outer(v):\n    return inner(v)\n"
    cells = _with_helper(helper, predict_extra="y_pred = outer(y_pred)\n")
    assert _placed(*cells) == {"inner": "features", "outer": "features"}


def test_placement_reads_only_its_arguments() -> None:
    assert place_helpers((), ()) == ()


# -- paths -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "kind"),
    [
        ("data/sales.csv", "path"),
        ("/srv/data", "path"),
        ("https://example.org/a.csv", "url"),
        ("hello world", None),
        ("report_{}.csv", None),
    ],
)
def test_path_kind(value: str, kind: str | None) -> None:
    assert path_kind(value) == kind


def test_absolute_paths_of_any_machine_are_absolute() -> None:
    assert all(is_absolute(v) for v in ("/data/a.csv", "~/a.csv", "C:\\data\\a.csv"))
    assert not is_absolute("data/a.csv")


def test_lifted_path_parameter_names_and_defaults() -> None:
    assert param_name_for("data/sales.csv", "path") == "sales_path"
    assert param_name_for("https://x.org/2024.csv?raw=1", "url") == "f_2024_url"
    assert unique("sales_path", {"sales_path", "sales_path_2"}) == "sales_path_3"
    assert portable_default("/elsewhere/a.csv", PurePath("/nowhere")) == "a.csv"
    assert portable_default("data/a.csv", PurePath("/nowhere")) == "data/a.csv"


def test_a_relative_path_in_load_warns_and_is_an_input_file() -> None:
    cells = good_cells()
    cells[2] = code(LOAD + 'extra = open("data/extra.csv")\n', "load")
    analysis = analyse(*cells)
    assert [(p.code, p.severity) for p in analysis.problems] == [("hard-coded-path", WARNING)]
    assert analysis.input_files == ("'data/extra.csv'",)


def test_an_absolute_path_is_an_error_unless_lifted() -> None:
    cells = good_cells()
    cells[2] = code(LOAD + 'extra = open("/home/alice/extra.csv")\n', "load")
    assert "absolute-path" in [p.code for p in analyse(*cells).errors]
    lifted = analyse(*cells, lift_paths=True)
    assert [spec.name for spec in lifted.lifted_params] == ["extra_path"]
    assert lifted.paths[0].lifted_to == "extra_path"
    assert lifted.input_files == ("params.extra_path",)


# -- problems as values ----------------------------------------------------------------------


def test_a_problem_renders_its_location_and_hint() -> None:
    problem = Problem(ERROR, "x", "bad thing", cell=3, cell_id="ab", line=2, hint="fix it")
    assert problem.render("nb.ipynb") == "nb.ipynb: cell 4 (id ab), line 2: bad thing; fix it"
    assert problem.render(None) == "bad thing; fix it"


def test_a_problem_serialises_every_field() -> None:
    problem = Problem(WARNING, "hard-coded-path", "m", cell=1, line=4, column=2, hint="h")
    assert problem.to_json() == {
        "severity": "warning",
        "code": "hard-coded-path",
        "message": "m",
        "cell": 1,
        "cell_id": None,
        "line": 4,
        "column": 2,
        "hint": "h",
    }


def test_conversion_error_carries_its_problems_and_one_line_per_problem() -> None:
    problems = [Problem(ERROR, "a", "first", cell=1), Problem(ERROR, "b", "second")]
    error = ConversionError(problems, "nb.ipynb")
    assert error.problems == tuple(problems)
    assert error.messages == ("nb.ipynb: cell 2: first", "nb.ipynb: second")
    assert str(error) == "nb.ipynb: cell 2: first (and 1 more problem: run `nb2prod check`)"


def test_problems_come_in_notebook_order() -> None:
    cells = good_cells()
    cells[2] = code(LOAD + 'a = open("/abs/a.csv")\n', "load")
    cells[3] = code(TRAIN + 'b = open("/abs/b.csv")\n', "train")
    analysis = analyse(*cells)
    assert [p.cell for p in analysis.problems] == [2, 3]
