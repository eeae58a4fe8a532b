"""The artifact format table: one encoder/decoder pair per format, hash checked before load."""

from __future__ import annotations

import json
from pathlib import Path
from types import ModuleType

import numpy as np
import pytest


@pytest.fixture
def artifacts(package_src: Path) -> ModuleType:
    import fakepkg.artifacts

    return fakepkg.artifacts


def test_format_names_are_unique_and_pickle_based_ones_come_last(artifacts: ModuleType) -> None:
    names = [artifact_format.name for artifact_format in artifacts.FORMATS]
    assert len(names) == len(set(names))
    assert names[-2:] == ["joblib", "pickle"]


@pytest.mark.parametrize(
    ("value", "expected_format"),
    [
        (np.float32(0.25), "npy-scalar"),
        (np.int64(7), "npy-scalar"),
        (np.arange(4), "npy"),
        ({"threshold": 0.5, "labels": ["a", "b"]}, "json"),
        ((1, 2), "joblib"),
    ],
)
def test_each_value_round_trips_through_its_format(
    artifacts: ModuleType, tmp_path: Path, value: object, expected_format: str
) -> None:
    entry = artifacts.dump_artifact("value", value, tmp_path)
    assert entry["format"] == expected_format and entry["file"].startswith("value.")
    loaded = artifacts.load_artifact(tmp_path, entry)
    assert type(loaded) is type(value)
    np.testing.assert_array_equal(np.asarray(loaded, dtype=object), np.asarray(value, dtype=object))


def test_an_unknown_format_is_refused_after_the_hash_check(
    artifacts: ModuleType, package_src: Path, tmp_path: Path
) -> None:
    import fakepkg.errors

    entry = artifacts.dump_artifact("value", [1, 2], tmp_path)
    with pytest.raises(fakepkg.errors.ModelError, match="unknown artifact format 'yaml'"):
        artifacts.load_artifact(tmp_path, {**entry, "format": "yaml"})
    (tmp_path / entry["file"]).write_text(json.dumps([1, 3]))
    with pytest.raises(fakepkg.errors.ModelError, match="SHA-256 does not match"):
        artifacts.load_artifact(tmp_path, {**entry, "format": "yaml"})


def test_a_name_that_is_not_an_identifier_is_refused(
    artifacts: ModuleType, package_src: Path, tmp_path: Path
) -> None:
    import fakepkg.errors

    with pytest.raises(fakepkg.errors.ModelError, match="not a Python identifier"):
        artifacts.dump_artifact("../model", 1, tmp_path)
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize(
    ("spec", "init_kwargs"),
    [
        ("os:system", {"command": "touch {pwned}"}),
        ("subprocess:Popen", {"args": ["touch", "{pwned}"]}),
        ("builtins:eval", {"source": "open('{pwned}', 'w')"}),
        ("torch.nn.modules.linear:Linear.__init__.__globals__", {}),
        ("torch:load", {"f": "{pwned}"}),
    ],
)
def test_a_torch_module_is_rebuilt_only_from_an_allowed_nn_module_class(
    artifacts: ModuleType, tmp_path: Path, spec: str, init_kwargs: dict[str, object]
) -> None:
    torch = pytest.importorskip("torch")
    import fakepkg.errors

    entry = artifacts.dump_artifact("net", torch.nn.Linear(3, 1), tmp_path)
    assert entry["class"] == "torch.nn.modules.linear:Linear"
    assert entry["class_library"] == "torch"
    assert isinstance(artifacts.load_artifact(tmp_path, entry), torch.nn.Linear)
    pwned = tmp_path / "pwned"
    kwargs = json.loads(json.dumps(init_kwargs).replace("{pwned}", str(pwned)))
    # The manifest alone is edited: the artifact's hash still matches.
    for library in ("torch", "os", "subprocess", "builtins"):
        hostile = {**entry, "class": spec, "init_kwargs": kwargs, "class_library": library}
        with pytest.raises(fakepkg.errors.ModelError, match=r"will not rebuild"):
            artifacts.load_artifact(tmp_path, hostile)
    assert not pwned.exists()
