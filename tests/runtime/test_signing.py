"""Signed manifests: HMAC-SHA256 with a key from outside the store, checked before any load."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from types import ModuleType

import pytest

from .conftest import Workspace, train

KEY = "k" * 32


@pytest.fixture
def signed_store(
    fakepkg_cli: ModuleType,
    workspace: Workspace,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> Path:
    """v1 of the churn package, trained with a signing key (which stays set)."""
    monkeypatch.setenv("MLPROD_SIGNING_KEY", KEY)
    assert train(fakepkg_cli, capsys) == "v1"
    return workspace.models


def edit_manifest(store: Path, version: str, **changes: object) -> None:
    path = store / version / "manifest.json"
    manifest = json.loads(path.read_text())
    manifest.update(changes)
    path.write_text(json.dumps(manifest, indent=2))


def test_train_with_a_key_signs_and_load_checks(signed_store: Path) -> None:
    import fakepkg.store

    signature = (signed_store / "v1" / "manifest.sig").read_text()
    assert signature.startswith("hmac-sha256 ") and len(signature.split()[1]) == 64
    assert fakepkg.store.ModelStore(signed_store).load().version == "v1"
    # Canonical form: re-indenting the manifest keeps the signature valid.
    path = signed_store / "v1" / "manifest.json"
    path.write_text(json.dumps(json.loads(path.read_text()), indent=4, sort_keys=True))
    assert fakepkg.store.ModelStore(signed_store).load().version == "v1"


def test_an_edited_signed_manifest_is_refused_naming_version_and_file(
    signed_store: Path, fakepkg_cli: ModuleType, capsys: pytest.CaptureFixture[str]
) -> None:
    import fakepkg.errors
    import fakepkg.store

    edit_manifest(signed_store, "v1", metrics={"accuracy": 1.0})
    with pytest.raises(fakepkg.errors.ModelError) as refused:
        fakepkg.store.ModelStore(signed_store).load("v1")
    message = str(refused.value)
    assert str(signed_store / "v1" / "manifest.json") in message
    assert "signature of v1 does not match" in message and "\n" not in message
    code = fakepkg_cli.main(["predict", "--input", "data/churn.csv", "--output", "out.csv"])
    assert code == 1
    [line] = capsys.readouterr().err.strip().splitlines()
    assert "signature of v1 does not match" in line
    assert not Path("out.csv").exists()


def test_a_rewritten_artifact_and_its_hash_are_refused_when_signed(signed_store: Path) -> None:
    import fakepkg.errors
    import fakepkg.store

    features = signed_store / "v1" / "artifacts" / "features.json"
    features.write_text('["age", "income"]\n')
    manifest = json.loads((signed_store / "v1" / "manifest.json").read_text())
    for entry in manifest["artifacts"]:
        if entry["name"] == "features":
            entry["sha256"] = hashlib.sha256(features.read_bytes()).hexdigest()
    (signed_store / "v1" / "manifest.json").write_text(json.dumps(manifest))
    with pytest.raises(fakepkg.errors.ModelError, match="signature of v1 does not match"):
        fakepkg.store.ModelStore(signed_store).load("v1")


def test_a_signature_copied_to_another_version_does_not_verify(
    signed_store: Path, fakepkg_cli: ModuleType, capsys: pytest.CaptureFixture[str]
) -> None:
    import fakepkg.errors
    import fakepkg.store

    assert train(fakepkg_cli, capsys, "--param", "C=0.5") == "v2"
    for name in ("manifest.json", "manifest.sig"):
        (signed_store / "v2" / name).write_bytes((signed_store / "v1" / name).read_bytes())
    with pytest.raises(fakepkg.errors.ModelError, match="signature of v2 does not match"):
        fakepkg.store.ModelStore(signed_store).load("v2")


def test_a_signed_store_without_the_key_is_a_clear_error(
    signed_store: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import fakepkg.errors
    import fakepkg.store

    monkeypatch.delenv("MLPROD_SIGNING_KEY")
    with pytest.raises(fakepkg.errors.ModelError) as refused:
        fakepkg.store.ModelStore(signed_store).load()
    assert str(refused.value) == (
        f"{signed_store / 'v1' / 'manifest.sig'}: v1 is signed but no key is set; set "
        "MLPROD_SIGNING_KEY or MLPROD_SIGNING_KEY_FILE to the key it was trained with"
    )
    monkeypatch.setenv("MLPROD_SIGNING_KEY", "another key, long enough")
    with pytest.raises(fakepkg.errors.ModelError, match="signature of v1 does not match"):
        fakepkg.store.ModelStore(signed_store).load()


def test_an_unsigned_store_loads_with_one_warning_and_is_refused_once_a_key_is_set(
    churn_store: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    import fakepkg.errors
    import fakepkg.signing
    import fakepkg.store

    monkeypatch.setattr(fakepkg.signing, "_warned_about", set())
    monkeypatch.delenv("MLPROD_UNSIGNED_OK")
    capsys.readouterr()
    store = fakepkg.store.ModelStore(churn_store)
    assert not (churn_store / "v1" / "manifest.sig").exists()
    assert store.load().version == "v1" and store.load().version == "v1"
    [warning] = capsys.readouterr().err.strip().splitlines()
    assert warning == (
        f"fakepkg: warning: model store {churn_store} is not signed; set MLPROD_SIGNING_KEY when "
        "training and serving to sign and check its manifests (or MLPROD_UNSIGNED_OK=1)"
    )
    monkeypatch.setattr(fakepkg.signing, "_warned_about", set())
    monkeypatch.setenv("MLPROD_UNSIGNED_OK", "1")
    assert store.load().version == "v1"
    assert capsys.readouterr().err == ""
    monkeypatch.setenv("MLPROD_SIGNING_KEY", KEY)
    with pytest.raises(
        fakepkg.errors.ModelError, match="v1 is not signed but a signing key is set"
    ):
        store.load()


def test_the_key_can_come_from_a_file_outside_the_store(
    fakepkg_cli: ModuleType,
    workspace: Workspace,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    tmp_path_factory: pytest.TempPathFactory,
) -> None:
    import fakepkg.store

    key_file = tmp_path_factory.mktemp("secrets") / "signing.key"
    key_file.write_text(KEY + "\n")
    monkeypatch.setenv("MLPROD_SIGNING_KEY_FILE", str(key_file))
    assert train(fakepkg_cli, capsys) == "v1"
    assert fakepkg.store.ModelStore(workspace.models).load().version == "v1"
    # The same key given as text verifies the same signature.
    monkeypatch.delenv("MLPROD_SIGNING_KEY_FILE")
    monkeypatch.setenv("MLPROD_SIGNING_KEY", KEY)
    assert fakepkg.store.ModelStore(workspace.models).load().version == "v1"


@pytest.mark.parametrize(
    ("variables", "problem"),
    [
        ({"MLPROD_SIGNING_KEY": "short"}, "MLPROD_SIGNING_KEY is shorter than 16 bytes"),
        ({"MLPROD_SIGNING_KEY": KEY, "MLPROD_SIGNING_KEY_FILE": "k"}, "not both"),
        ({"MLPROD_SIGNING_KEY_FILE": "models/signing.key"}, "is inside the model store"),
        ({"MLPROD_SIGNING_KEY_FILE": "missing.key"}, "missing.key: cannot read"),
    ],
)
def test_an_unusable_key_stops_train_before_anything_is_saved(
    fakepkg_cli: ModuleType,
    workspace: Workspace,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    variables: dict[str, str],
    problem: str,
) -> None:
    workspace.models.mkdir()
    (workspace.models / "signing.key").write_text(KEY)
    for name, value in variables.items():
        monkeypatch.setenv(name, value)
    assert fakepkg_cli.main(["train"]) == 1
    [line] = capsys.readouterr().err.strip().splitlines()
    assert problem in line
    assert not list(workspace.models.glob("v*"))


def test_serve_refuses_to_start_on_an_edited_signed_manifest(
    signed_store: Path, workspace: Workspace
) -> None:
    edit_manifest(signed_store, "v1", row_independent=False)
    result = workspace.run("serve", "--port", "1")
    assert result.returncode == 1
    [line] = result.stderr.strip().splitlines()
    assert "signature of v1 does not match" in line
