"""The model store and its artifact files: formats, hashes, refusal of tampered files,
aliases, concurrency."""

from __future__ import annotations

import json
import os
import pickle
import subprocess
import sys
from pathlib import Path
from types import ModuleType

import numpy as np
import pandas as pd
import pytest
from sklearn.linear_model import LogisticRegression

from jupyter_mlprod.runtime.provenance import sha256_file

from .conftest import Workspace


@pytest.fixture
def store_module(package_src: Path) -> ModuleType:
    import fakepkg.store

    return fakepkg.store


@pytest.fixture
def errors(package_src: Path) -> ModuleType:
    import fakepkg.errors

    return fakepkg.errors


def fitted_model() -> LogisticRegression:
    return LogisticRegression().fit([[0.0], [1.0], [2.0], [3.0]], [0, 0, 1, 1])


class Opaque:
    """Not JSON, not an estimator: must go through the hash-checked joblib path."""

    def __init__(self, value: int) -> None:
        self.value = value


def test_each_value_gets_the_safest_format(store_module: ModuleType, tmp_path: Path) -> None:
    store = store_module.ModelStore(tmp_path / "models")
    artifacts = {
        "model": fitted_model(),
        "weights": np.arange(6.0).reshape(2, 3),
        "table": pd.DataFrame({"a": [1, 2], "b": ["x", "y"]}),
        "series": pd.Series([1.5, 2.5], name="s"),
        "columns": ["a", "b"],
        "pair": (1, 2),
        "opaque": Opaque(7),
    }
    version = store.save(artifacts, {"schema": {"kind": "object"}})
    assert version == "v1"
    manifest = store.manifest("v1")
    formats = {entry["name"]: entry["format"] for entry in manifest["artifacts"]}
    assert formats == {
        "model": "skops",
        "weights": "npy",
        "table": "parquet",
        "series": "parquet",
        "columns": "json",
        "pair": "joblib",
        "opaque": "joblib",
    }
    for entry in manifest["artifacts"]:
        path = tmp_path / "models" / "v1" / "artifacts" / entry["file"]
        assert entry["sha256"] == sha256_file(path)
    loaded = store.load("v1").artifacts
    assert loaded["model"].predict([[3.0]]).tolist() == [1]
    np.testing.assert_array_equal(loaded["weights"], artifacts["weights"])
    pd.testing.assert_frame_equal(loaded["table"], artifacts["table"])
    pd.testing.assert_series_equal(loaded["series"], artifacts["series"])
    assert loaded["columns"] == ["a", "b"] and loaded["pair"] == (1, 2)
    assert loaded["opaque"].value == 7


class _Marker:
    """Unpickling this creates a file: proof that code ran."""

    def __init__(self, path: str) -> None:
        self.path = path

    def __reduce__(self) -> tuple[object, tuple[str, str]]:
        return (open, (self.path, "w"))


@pytest.mark.parametrize("fix_manifest_hash", [False, True])
def test_tampered_skops_file_is_refused_without_running_code(
    store_module: ModuleType, errors: ModuleType, tmp_path: Path, fix_manifest_hash: bool
) -> None:
    store = store_module.ModelStore(tmp_path / "models")
    store.save({"model": fitted_model()}, {})
    skops_file = tmp_path / "models" / "v1" / "artifacts" / "model.skops"
    marker = tmp_path / "pwned"
    skops_file.write_bytes(pickle.dumps(_Marker(str(marker))))
    if fix_manifest_hash:
        # An attacker who also rewrites the manifest hash still cannot get the pickle run:
        # the file is read as skops (a zip of JSON), never unpickled.
        manifest_path = tmp_path / "models" / "v1" / "manifest.json"
        manifest = json.loads(manifest_path.read_text())
        manifest["artifacts"][0]["sha256"] = sha256_file(skops_file)
        manifest_path.write_text(json.dumps(manifest))
    with pytest.raises(errors.ModelError) as caught:
        store.load("v1")
    assert "model.skops" in str(caught.value)
    assert "\n" not in str(caught.value)
    assert not marker.exists()


def test_tampered_joblib_file_is_never_unpickled(
    store_module: ModuleType, errors: ModuleType, tmp_path: Path
) -> None:
    store = store_module.ModelStore(tmp_path / "models")
    store.save({"opaque": Opaque(3)}, {})
    marker = tmp_path / "pwned"
    target = tmp_path / "models" / "v1" / "artifacts" / "opaque.joblib"
    target.write_bytes(pickle.dumps(_Marker(str(marker))))
    with pytest.raises(errors.ModelError, match=r"opaque\.joblib: SHA-256 does not match"):
        store.load("v1")
    assert not marker.exists()


def test_truncated_and_missing_files_are_named(
    store_module: ModuleType, errors: ModuleType, tmp_path: Path
) -> None:
    store = store_module.ModelStore(tmp_path / "models")
    store.save({"weights": np.ones(100), "opaque": Opaque(1)}, {})
    artifacts = tmp_path / "models" / "v1" / "artifacts"
    data = (artifacts / "weights.npy").read_bytes()
    (artifacts / "weights.npy").write_bytes(data[: len(data) // 2])
    with pytest.raises(errors.ModelError, match=r"weights\.npy: SHA-256 does not match"):
        store.load("v1")
    (artifacts / "weights.npy").write_bytes(data)
    (artifacts / "opaque.joblib").unlink()
    with pytest.raises(errors.ModelError, match=r"opaque\.joblib: artifact file is missing"):
        store.load("v1")


def test_skops_load_trusts_only_types_recorded_at_save(
    store_module: ModuleType, errors: ModuleType, tmp_path: Path
) -> None:
    import skops.io

    store = store_module.ModelStore(tmp_path / "models")
    store.save({"model": fitted_model()}, {})
    skops_file = tmp_path / "models" / "v1" / "artifacts" / "model.skops"
    # Replace the model by a skops file holding an untrusted type and fix the hash, as an
    # attacker with write access to the whole store could: skops must still refuse it.
    skops.io.dump({"f": Opaque(1)}, skops_file)
    manifest_path = tmp_path / "models" / "v1" / "manifest.json"
    manifest = json.loads(manifest_path.read_text())
    manifest["artifacts"][0]["sha256"] = sha256_file(skops_file)
    manifest_path.write_text(json.dumps(manifest))
    with pytest.raises(errors.ModelError, match=r"model\.skops: cannot load skops artifact"):
        store.load("v1")


def _python(src: Path, code: str) -> subprocess.CompletedProcess[str]:
    """Run ``code`` in a fresh interpreter that imports the fake packages: how ``predict``
    and ``serve`` load models (no skops imported beforehand)."""
    return subprocess.run(
        [sys.executable, "-c", code],
        env={**os.environ, "PYTHONPATH": str(src)},
        capture_output=True,
        text=True,
        check=False,
    )


def _pipeline() -> object:
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    return make_pipeline(StandardScaler(), fitted_model()).fit(
        [[0.0], [1.0], [2.0], [3.0]], [0, 0, 1, 1]
    )


def test_skops_types_are_recorded_in_full_and_loading_skips_the_estimator_scan(
    package_src: Path, tmp_path: Path
) -> None:
    models = tmp_path / "models"
    # Save in a process that imported skops the usual way (its default trust list filled):
    # the record must still name every estimator type the file holds.
    saved = _python(
        package_src,
        "import skops.io, pickle, sys\n"
        "from fakepkg.store import ModelStore\n"
        f"model = pickle.loads({pickle.dumps(_pipeline())!r})\n"
        f"print(ModelStore({str(models)!r}).save({{'model': model}}, {{}}))\n",
    )
    assert saved.returncode == 0, saved.stderr
    entry = json.loads((models / "v1" / "manifest.json").read_text())["artifacts"][0]
    assert entry["trusted_types_complete"] is True
    assert {
        "sklearn.pipeline.Pipeline",
        "sklearn.preprocessing._data.StandardScaler",
        "sklearn.linear_model._logistic.LogisticRegression",
    } <= set(entry["trusted_types"])
    loaded = _python(
        package_src,
        "import sys\n"
        "from fakepkg.store import ModelStore\n"
        f"model = ModelStore({str(models)!r}).load('v1').artifacts['model']\n"
        "print(model.predict([[0.0], [3.0]]).tolist())\n"
        # An estimator module this pipeline does not use: imported only by skops' scan.
        "print('sklearn.gaussian_process' in sys.modules, 'torch' in sys.modules)\n",
    )
    assert loaded.returncode == 0, loaded.stderr
    assert loaded.stdout.split("\n")[:2] == ["[0, 1]", "False False"]


def _swap_model(models: Path, replacement: object) -> dict[str, object]:
    """Replace v1's model by another skops file and fix its hash, as someone with write access
    to the whole store could; return the manifest entry."""
    import skops.io

    skops_file = models / "v1" / "artifacts" / "model.skops"
    skops.io.dump(replacement, skops_file)
    manifest_path = models / "v1" / "manifest.json"
    manifest = json.loads(manifest_path.read_text())
    manifest["artifacts"][0]["sha256"] = sha256_file(skops_file)
    manifest_path.write_text(json.dumps(manifest))
    return dict(manifest["artifacts"][0])


def test_a_swapped_estimator_skops_trusts_by_default_is_still_refused(
    store_module: ModuleType, package_src: Path, tmp_path: Path
) -> None:
    from sklearn.tree import DecisionTreeClassifier

    models = tmp_path / "models"
    store_module.ModelStore(models).save({"model": fitted_model()}, {})
    _swap_model(models, DecisionTreeClassifier().fit([[0.0], [1.0]], [0, 1]))
    loaded = _python(
        package_src,
        "from fakepkg.store import ModelStore\n"
        "from fakepkg.errors import ModelError\n"
        f"try: ModelStore({str(models)!r}).load('v1')\n"
        "except ModelError as error: print(error)\n",
    )
    assert "model.skops: cannot load skops artifact (UntrustedTypesFoundException" in loaded.stdout
    assert "DecisionTreeClassifier" in loaded.stdout


def test_versions_saved_with_partial_type_lists_still_load(
    store_module: ModuleType, package_src: Path, tmp_path: Path
) -> None:
    models = tmp_path / "models"
    store_module.ModelStore(models).save({"model": fitted_model()}, {})
    manifest_path = models / "v1" / "manifest.json"
    manifest = json.loads(manifest_path.read_text())
    # What earlier releases recorded: only the types skops does not trust by default.
    manifest["artifacts"][0]["trusted_types"] = []
    del manifest["artifacts"][0]["trusted_types_complete"]
    manifest_path.write_text(json.dumps(manifest))
    loaded = _python(
        package_src,
        "from fakepkg.store import ModelStore\n"
        f"print(ModelStore({str(models)!r}).load('v1').artifacts['model'].predict([[3.0]]))\n",
    )
    assert loaded.returncode == 0, loaded.stderr
    assert loaded.stdout.strip() == "[1]"


def test_refs_aliases_promote_and_rollback(
    store_module: ModuleType, errors: ModuleType, tmp_path: Path
) -> None:
    store = store_module.ModelStore(tmp_path / "models")
    with pytest.raises(errors.ModelError, match="no model versions"):
        store.resolve(None)
    for value in range(3):
        store.save({"value": value}, {})
    assert store.versions() == ["v1", "v2", "v3"]
    assert store.resolve(None) == "v3" and store.resolve("latest") == "v3"
    assert store.promote("v1") == ("v1", None)
    assert store.resolve(None) == "v1"
    assert store.promote("latest") == ("v3", "v1")
    assert store.promote("v2", "production") == ("v2", "v3")
    assert store.rollback() == ("v3", "v2")
    assert store.rollback() == ("v1", "v3")
    with pytest.raises(errors.ModelError, match="no earlier version"):
        store.rollback()
    history = store.aliases()["production"]["history"]
    assert [(h["action"], h["version"]) for h in history] == [
        ("promote", "v1"),
        ("promote", "v3"),
        ("promote", "v2"),
        ("rollback", "v3"),
        ("rollback", "v1"),
    ]
    with pytest.raises(errors.ModelError, match="no version v9"):
        store.resolve("v9")
    with pytest.raises(errors.ModelError, match="unknown model 'staging'"):
        store.resolve("staging")
    with pytest.raises(errors.ModelError, match="cannot be an alias"):
        store.promote("v1", "v2")


def test_failed_check_leaves_no_version(store_module: ModuleType, tmp_path: Path) -> None:
    store = store_module.ModelStore(tmp_path / "models")

    def refuse(loaded: dict[str, object]) -> None:
        assert loaded == {"value": 1}
        raise RuntimeError("smoke prediction differs")

    with pytest.raises(RuntimeError):
        store.save({"value": 1}, {}, check=refuse)
    assert store.versions() == []
    assert [p.name for p in (tmp_path / "models").iterdir() if p.name.startswith(".staging")] == []


@pytest.mark.slow
def test_two_concurrent_trains_get_distinct_versions(workspace: Workspace) -> None:
    env = workspace.env()
    processes = [
        subprocess.Popen(
            [sys.executable, "-m", "fakepkg", "train", "--seed", str(seed)],
            cwd=workspace.root,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for seed in (1, 2)
    ]
    outputs = [p.communicate(timeout=300) for p in processes]
    assert [p.returncode for p in processes] == [0, 0], outputs
    printed = sorted(out.strip().splitlines()[-1] for out, _ in outputs)
    assert printed == ["v1", "v2"]
    import fakepkg.store

    store = fakepkg.store.ModelStore(workspace.models)
    assert store.versions() == ["v1", "v2"]
    assert sorted(store.manifest(v)["seed"] for v in ("v1", "v2")) == [1, 2]
    for version in ("v1", "v2"):
        store.load(version)


def test_an_artifact_that_cannot_be_saved_is_one_line(
    store_module: ModuleType, errors: ModuleType, tmp_path: Path
) -> None:
    store = store_module.ModelStore(tmp_path / "models")
    with pytest.raises(errors.ModelError) as caught:
        store.save({"scorer": lambda value: value}, {"schema": {}})
    message = str(caught.value)
    assert "scorer" in message and "\n" not in message
    assert not list((tmp_path / "models").glob("v*"))
