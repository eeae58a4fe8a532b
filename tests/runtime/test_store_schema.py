"""A malformed model store: each broken manifest or alias is one line naming the file and what
is wrong, and the rest of the store stays usable (listing, predicting from good versions)."""

from __future__ import annotations

import json
import shutil
import warnings
from collections.abc import Callable
from pathlib import Path
from types import ModuleType

import pandas as pd
import pytest

from .conftest import Workspace, train


@pytest.fixture
def store(
    fakepkg_cli: ModuleType, workspace: Workspace, capsys: pytest.CaptureFixture[str]
) -> Path:
    """v1 (production) and v2 (staging), and an input file to predict."""
    train(fakepkg_cli, capsys)
    train(fakepkg_cli, capsys, "--seed", "3")
    assert fakepkg_cli.main(["models", "promote", "v1"]) == 0
    assert fakepkg_cli.main(["models", "promote", "v2", "--alias", "staging"]) == 0
    frame = pd.read_csv(workspace.root / "data" / "churn.csv").drop(columns=["churn"])
    frame.head(4).to_csv("in.csv", index=False)
    capsys.readouterr()
    return workspace.models


def run(cli: ModuleType, capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = cli.main(list(args))
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def predict(
    cli: ModuleType, capsys: pytest.CaptureFixture[str], *model: str
) -> tuple[int, str, str]:
    return run(cli, capsys, "predict", "--input", "in.csv", "--output", "out.csv", *model)


def edit_manifest(change: Callable[[dict[str, object]], None]) -> Callable[[Path], None]:
    def corrupt(models: Path) -> None:
        path = models / "v2" / "manifest.json"
        manifest = json.loads(path.read_text())
        change(manifest)
        path.write_text(json.dumps(manifest))

    return corrupt


def empty_directory(models: Path) -> None:
    shutil.rmtree(models / "v2")
    (models / "v2").mkdir()


MANIFEST_CORRUPTIONS = {
    "artifact without name": (
        edit_manifest(lambda m: m["artifacts"][0].pop("name")),  # type: ignore[index]
        "artifact entry 0 has no `name`",
    ),
    "non-numeric metric": (
        edit_manifest(lambda m: m["metrics"].update(accuracy="high")),  # type: ignore[attr-defined]
        "metric 'accuracy' is 'high', not a number",
    ),
    "metrics not an object": (
        edit_manifest(lambda m: m.update(metrics=[0.9])),
        "`metrics` is not an object of numbers",
    ),
    "artifacts not a list": (
        edit_manifest(lambda m: m.update(artifacts={"model": "model.skops"})),
        "`artifacts` is not a list of artifact entries",
    ),
    "empty version directory": (empty_directory, "manifest is missing, so v2 is incomplete"),
}


@pytest.mark.parametrize("corruption", MANIFEST_CORRUPTIONS)
def test_a_broken_version_is_named_and_the_others_stay_usable(
    fakepkg_cli: ModuleType, store: Path, capsys: pytest.CaptureFixture[str], corruption: str
) -> None:
    corrupt, problem = MANIFEST_CORRUPTIONS[corruption]
    corrupt(store)
    line = f"{store / 'v2' / 'manifest.json'}: {problem}"

    code, out, err = run(fakepkg_cli, capsys, "models", "list")
    assert code == 0
    assert err.startswith(f"fakepkg: warning: {line}") and len(err.splitlines()) == 1, err
    rows = {row.split()[0]: row for row in out.splitlines()[1:]}
    assert "accuracy=" in rows["v1"] and "production" in rows["v1"]
    assert "BROKEN" in rows["v2"] and "staging" in rows["v2"]

    code, out, _ = run(fakepkg_cli, capsys, "models", "list", "--json")
    listed = {row["version"]: row for row in json.loads(out)["versions"]}
    assert "problem" not in listed["v1"] and listed["v2"]["problem"].startswith(line)

    code, _, err = predict(fakepkg_cli, capsys)
    assert code == 0 and "from v1" in err
    for args in (
        ("predict", "--input", "in.csv", "--output", "o.csv", "--model", "staging"),
        ("models", "show", "v2"),
    ):
        code, _, err = run(fakepkg_cli, capsys, *args)
        assert code == 1
        assert err.startswith(f"fakepkg: error: {line}") and len(err.splitlines()) == 1, err


def test_an_alias_table_of_the_wrong_shape_spoils_only_aliases(
    fakepkg_cli: ModuleType, store: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (store / "aliases.json").write_text('["production", "v1"]')
    line = f"{store / 'aliases.json'}: alias table is not a JSON object of aliases"
    code, out, err = run(fakepkg_cli, capsys, "models", "list")
    assert code == 0 and err.startswith(f"fakepkg: warning: {line}")
    assert [row.split()[0] for row in out.splitlines()[1:]] == ["v1", "v2"]
    code, _, err = predict(fakepkg_cli, capsys, "--model", "v2")
    assert code == 0 and "from v2" in err
    for args in (("predict", "--input", "in.csv", "--output", "o.csv"), ("models", "rollback")):
        code, _, err = run(fakepkg_cli, capsys, *args)
        assert code == 1
        assert err.startswith(f"fakepkg: error: {line}") and len(err.splitlines()) == 1, err


@pytest.mark.parametrize(
    ("entry", "problem"),
    [
        ("v1", "is not an object with version, stack and history"),
        ({"version": "v1", "stack": ["v1"]}, "has no history"),
        ({"version": 1, "stack": ["v1"], "history": []}, "points at 1, not a version like v1"),
        ({"version": "v1", "stack": "v1", "history": []}, "has no stack"),
    ],
)
def test_a_broken_alias_is_named_and_the_other_aliases_work(
    fakepkg_cli: ModuleType,
    store: Path,
    capsys: pytest.CaptureFixture[str],
    entry: object,
    problem: str,
) -> None:
    path = store / "aliases.json"
    table = json.loads(path.read_text())
    table["production"] = entry
    path.write_text(json.dumps(table))
    line = f"{path}: alias 'production' {problem}"

    code, out, err = run(fakepkg_cli, capsys, "models", "list")
    assert code == 0
    assert err.startswith(f"fakepkg: warning: {line}") and len(err.splitlines()) == 1, err
    rows = {row.split()[0]: row for row in out.splitlines()[1:]}
    assert "staging" in rows["v2"] and "production" not in rows["v1"]

    code, _, err = predict(fakepkg_cli, capsys, "--model", "staging")
    assert code == 0 and "from v2" in err
    # The default alias is broken: say so rather than silently predicting with latest.
    for args in (
        ("predict", "--input", "in.csv", "--output", "o.csv"),
        ("models", "promote", "v2"),
        ("models", "promote", "v1", "--alias", "staging"),
    ):
        code, _, err = run(fakepkg_cli, capsys, *args)
        assert code == 1
        assert err.startswith(f"fakepkg: error: {line}") and len(err.splitlines()) == 1, err
    assert json.loads(path.read_text())["production"] == entry  # refused, not rewritten


def test_a_store_reader_unit_names_the_first_problem(package_src: Path, tmp_path: Path) -> None:
    import fakepkg.errors
    import fakepkg.store

    store = fakepkg.store.ModelStore(tmp_path / "models")
    store.save({"value": 1}, {"metrics": {"n": 3}})
    store.save({"value": 2}, {"metrics": {"n": True}})
    listed = store.stored_versions()
    assert [(s.version, s.problem is None) for s in listed] == [("v1", True), ("v2", False)]
    assert "metric 'n' is True, not a number" in str(listed[1].problem)
    with pytest.raises(fakepkg.errors.ModelError, match="metric 'n' is True"):
        store.load("v2")
    assert store.load("v1").artifacts == {"value": 1}


def test_the_server_lists_the_good_versions_beside_a_broken_one(store: Path) -> None:
    import fakepkg.serve

    with warnings.catch_warnings():
        # Starlette 1.x suggests its own httpx fork for TestClient; plain httpx still works.
        warnings.simplefilter("ignore")
        from starlette.testclient import TestClient

    empty_directory(store)
    client = TestClient(fakepkg.serve.create_app(store))  # serves production: v1
    answer = client.get("/models")
    assert answer.status_code == 200
    listed = {row["version"]: row for row in answer.json()["versions"]}
    assert "problem" not in listed["v1"] and "accuracy" in listed["v1"]["metrics"]
    assert "manifest is missing" in listed["v2"]["problem"]


def test_the_signature_covers_the_manifest_load_uses(
    package_src: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """One read: a manifest that changes after it was read cannot pass a check of the file."""
    import fakepkg.errors
    import fakepkg.store

    monkeypatch.setenv("MLPROD_SIGNING_KEY", "k" * 32)
    store = fakepkg.store.ModelStore(tmp_path / "models")
    store.save({"value": 1}, {})
    read = fakepkg.store.ModelStore.manifest

    def swapped_after_reading(self: object, version: str) -> dict[str, object]:
        manifest = read(self, version)
        manifest["artifacts"][0]["file"] = "other.json"
        return manifest

    monkeypatch.setattr(fakepkg.store.ModelStore, "manifest", swapped_after_reading)
    with pytest.raises(fakepkg.errors.ModelError, match="the signature of v1 does not match"):
        store.load("v1")
