"""Parameter overrides: coerced by the Params field types, one clear error otherwise."""

from __future__ import annotations

import importlib
import json
import os
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType

import pytest
from param_cases import PARAMETERS_CELL, TEXT_CASES, TEXT_ERRORS, VALUE_CASES, VALUE_ERRORS


@pytest.fixture
def param_types(fakepkg_cli: ModuleType) -> ModuleType:
    import fakepkg.param_types

    return fakepkg.param_types


@pytest.fixture
def params_class(fakepkg_cli: ModuleType) -> type:
    import fakepkg.params

    return fakepkg.params.Params


def test_overrides_are_coerced_by_field_type(param_types: ModuleType, params_class: type) -> None:
    params = param_types.build_params(
        params_class,
        ["C=0.25", "max_iter=50", "scale=false", "features=age,income", "class_weight=balanced"],
        None,
    )
    assert params.C == 0.25 and isinstance(params.C, float)
    assert params.max_iter == 50
    assert params.scale is False
    assert params.features == ["age", "income"]
    assert params.class_weight == "balanced"


def test_optional_accepts_none_and_json_lists(param_types: ModuleType, params_class: type) -> None:
    params = param_types.build_params(
        params_class, ["class_weight=none", 'features=["plan"]'], None
    )
    assert params.class_weight is None
    assert params.features == ["plan"]


@pytest.mark.parametrize(
    ("override", "message"),
    [
        ("C=abc", "--param C=abc: expected float"),
        ("max_iter=1.5", "--param max_iter=1.5: expected int"),
        ("scale=maybe", "--param scale=maybe: expected bool"),
        ("nope=1", "unknown parameter 'nope'"),
        ("C", "expected NAME=VALUE"),
    ],
)
def test_bad_overrides_raise_parameter_error(
    param_types: ModuleType, params_class: type, override: str, message: str
) -> None:
    import fakepkg.errors

    with pytest.raises(fakepkg.errors.ParameterError, match=message.replace("[", r"\[")):
        param_types.build_params(params_class, [override], None)


def test_tuple_and_dict_fields(fakearr_cli: ModuleType) -> None:
    import fakearr.errors
    import fakearr.param_types
    import fakearr.params

    params = fakearr.param_types.build_params(
        fakearr.params.Params, ["shift=[1, 2.5]", 'tags={"a": 1}'], None
    )
    assert params.shift == (1.0, 2.5)
    assert params.tags == {"a": 1}
    with pytest.raises(fakearr.errors.ParameterError, match="shift"):
        fakearr.param_types.build_params(fakearr.params.Params, ["shift=[1, 2, 3]"], None)
    with pytest.raises(fakearr.errors.ParameterError, match="tags"):
        fakearr.param_types.build_params(fakearr.params.Params, ['tags={"a": "x"}'], None)


def test_params_file_yaml_and_json_then_overrides_win(
    param_types: ModuleType, params_class: type, tmp_path: Path
) -> None:
    yaml_file = tmp_path / "p.yaml"
    yaml_file.write_text("C: 2\nfeatures: [age]\n", encoding="utf-8")
    params = param_types.build_params(params_class, ["max_iter=7"], str(yaml_file))
    assert params.C == 2.0 and isinstance(params.C, float)
    assert params.features == ["age"] and params.max_iter == 7
    json_file = tmp_path / "p.json"
    json_file.write_text(json.dumps({"C": 3.0}), encoding="utf-8")
    assert param_types.build_params(params_class, ["C=4"], str(json_file)).C == 4.0


def test_params_file_with_wrong_type_or_unknown_name(
    param_types: ModuleType, params_class: type, tmp_path: Path
) -> None:
    import fakepkg.errors

    bad_type = tmp_path / "bad.yaml"
    bad_type.write_text("max_iter: ten\n", encoding="utf-8")
    with pytest.raises(fakepkg.errors.ParameterError, match="max_iter: expected int, got str"):
        param_types.build_params(params_class, [], str(bad_type))
    unknown = tmp_path / "unknown.json"
    unknown.write_text('{"gamma": 1}', encoding="utf-8")
    with pytest.raises(fakepkg.errors.ParameterError, match="unknown parameter 'gamma'"):
        param_types.build_params(params_class, [], str(unknown))
    with pytest.raises(fakepkg.errors.ParameterError, match="cannot read"):
        param_types.build_params(params_class, [], str(tmp_path / "missing.yaml"))


# ---------------------------------------------------- the table both command lines share


@pytest.fixture(scope="module")
def generated(tmp_path_factory: pytest.TempPathFactory) -> Iterator[GeneratedPackage]:
    """A package converted from a notebook whose parameters cell is the shared table's."""
    from notebooks import code, notebook, write

    from jupyter_mlprod.convert import ConvertOptions, convert_notebook

    root = tmp_path_factory.mktemp("param_table")
    path = write(
        notebook(
            code(PARAMETERS_CELL, "parameters"),
            code(
                "import numpy as np\nX_train = np.arange(8.0).reshape(4, 2)\nX_test = X_train[:2]",
                "load",
            ),
            code("weights = X_train.mean(axis=0) * rate * count", "train"),
            code("y_pred = X_test @ weights", "predict"),
            mlprod={"predict_input": "X_test", "predict_output": "y_pred"},
        ),
        root / "param_table.ipynb",
    )
    options = ConvertOptions(
        name=None, predict_input=None, predict_output=None, lift_paths=False, force=False
    )
    out_dir = Path(convert_notebook(path, root / "package", options).out_dir)
    (module,) = [p.parent.name for p in (out_dir / "src").glob("*/__main__.py")]
    sys.path.insert(0, str(out_dir / "src"))
    try:
        yield GeneratedPackage(
            out_dir=out_dir,
            module=module,
            params=importlib.import_module(f"{module}.params"),
            param_types=importlib.import_module(f"{module}.param_types"),
            errors=importlib.import_module(f"{module}.errors"),
        )
    finally:
        sys.path.remove(str(out_dir / "src"))


@dataclass
class GeneratedPackage:
    """A converted package and its modules imported in-process."""

    out_dir: Path
    module: str
    params: ModuleType
    param_types: ModuleType
    errors: ModuleType


@pytest.mark.parametrize(("name", "text", "expected"), TEXT_CASES)
def test_train_param_reads_text_by_the_shared_rules(
    generated: GeneratedPackage, name: str, text: str, expected: object
) -> None:
    # The same table tests/runs feeds `nb2prod run -p`.
    params = generated.param_types.build_params(generated.params.Params, [f"{name}={text}"], None)
    assert repr(getattr(params, name)) == repr(expected)


@pytest.mark.parametrize(("name", "text"), TEXT_ERRORS)
def test_train_param_refuses_text_by_the_shared_rules(
    generated: GeneratedPackage, name: str, text: str
) -> None:
    with pytest.raises(generated.errors.ParameterError, match=f"--param {name}="):
        generated.param_types.build_params(generated.params.Params, [f"{name}={text}"], None)


@pytest.mark.parametrize(("name", "value", "expected"), VALUE_CASES)
def test_params_file_values_are_checked_by_the_shared_rules(
    generated: GeneratedPackage, name: str, value: object, expected: object
) -> None:
    checked = generated.param_types.check_params(generated.params.Params, {name: value}, "f")
    assert repr(checked[name]) == repr(expected)


@pytest.mark.parametrize(("name", "value"), VALUE_ERRORS)
def test_params_file_values_are_refused_by_the_shared_rules(
    generated: GeneratedPackage, name: str, value: object
) -> None:
    with pytest.raises(generated.errors.ParameterError, match=f"parameter {name}: expected"):
        generated.param_types.check_params(generated.params.Params, {name: value}, "f")


def test_train_command_line_takes_the_shared_spellings(
    generated: GeneratedPackage, tmp_path: Path
) -> None:
    """`train --param flag=y` (refused before the rule sets were one) through the real CLI."""
    env = dict(os.environ, PYTHONPATH=str(generated.out_dir / "src"))
    args = ["--param", "flag=y", "--param", "words=age,income", "--param", "maybe=none"]
    models = tmp_path / "models"
    command = [sys.executable, "-m", generated.module, "train", "--model-dir", str(models)]
    done = subprocess.run(
        [*command, *args], cwd=tmp_path, env=env, capture_output=True, text=True, check=False
    )
    assert done.returncode == 0, done.stderr
    (manifest,) = models.glob("*/manifest.json")
    recorded = json.loads(manifest.read_text())["params"]
    assert recorded["flag"] is True and recorded["words"] == ["age", "income"]
    assert recorded["maybe"] is None
