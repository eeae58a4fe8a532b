"""Parameter overrides: coerced by the Params field types, one clear error otherwise."""

from __future__ import annotations

import json
from pathlib import Path
from types import ModuleType

import pytest


@pytest.fixture
def cli(fakepkg_cli: ModuleType) -> ModuleType:
    return fakepkg_cli


@pytest.fixture
def params_class(fakepkg_cli: ModuleType) -> type:
    import fakepkg.params

    return fakepkg.params.Params


def test_overrides_are_coerced_by_field_type(cli: ModuleType, params_class: type) -> None:
    params = cli.build_params(
        params_class,
        ["C=0.25", "max_iter=50", "scale=false", "features=age,income", "class_weight=balanced"],
        None,
    )
    assert params.C == 0.25 and isinstance(params.C, float)
    assert params.max_iter == 50
    assert params.scale is False
    assert params.features == ["age", "income"]
    assert params.class_weight == "balanced"


def test_optional_accepts_none_and_json_lists(cli: ModuleType, params_class: type) -> None:
    params = cli.build_params(params_class, ["class_weight=none", 'features=["plan"]'], None)
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
    cli: ModuleType, params_class: type, override: str, message: str
) -> None:
    import fakepkg.errors

    with pytest.raises(fakepkg.errors.ParameterError, match=message.replace("[", r"\[")):
        cli.build_params(params_class, [override], None)


def test_tuple_and_dict_fields(fakearr_cli: ModuleType) -> None:
    import fakearr.errors
    import fakearr.params

    params = fakearr_cli.build_params(
        fakearr.params.Params, ["shift=[1, 2.5]", 'tags={"a": 1}'], None
    )
    assert params.shift == (1.0, 2.5)
    assert params.tags == {"a": 1}
    with pytest.raises(fakearr.errors.ParameterError, match="shift"):
        fakearr_cli.build_params(fakearr.params.Params, ["shift=[1, 2, 3]"], None)
    with pytest.raises(fakearr.errors.ParameterError, match="tags"):
        fakearr_cli.build_params(fakearr.params.Params, ['tags={"a": "x"}'], None)


def test_params_file_yaml_and_json_then_overrides_win(
    cli: ModuleType, params_class: type, tmp_path: Path
) -> None:
    yaml_file = tmp_path / "p.yaml"
    yaml_file.write_text("C: 2\nfeatures: [age]\n", encoding="utf-8")
    params = cli.build_params(params_class, ["max_iter=7"], str(yaml_file))
    assert params.C == 2.0 and isinstance(params.C, float)
    assert params.features == ["age"] and params.max_iter == 7
    json_file = tmp_path / "p.json"
    json_file.write_text(json.dumps({"C": 3.0}), encoding="utf-8")
    assert cli.build_params(params_class, ["C=4"], str(json_file)).C == 4.0


def test_params_file_with_wrong_type_or_unknown_name(
    cli: ModuleType, params_class: type, tmp_path: Path
) -> None:
    import fakepkg.errors

    bad_type = tmp_path / "bad.yaml"
    bad_type.write_text("max_iter: ten\n", encoding="utf-8")
    with pytest.raises(fakepkg.errors.ParameterError, match="max_iter: expected int, got str"):
        cli.build_params(params_class, [], str(bad_type))
    unknown = tmp_path / "unknown.json"
    unknown.write_text('{"gamma": 1}', encoding="utf-8")
    with pytest.raises(fakepkg.errors.ParameterError, match="unknown parameter 'gamma'"):
        cli.build_params(params_class, [], str(unknown))
    with pytest.raises(fakepkg.errors.ParameterError, match="cannot read"):
        cli.build_params(params_class, [], str(tmp_path / "missing.yaml"))
