"""Fuzzing the model store: damaged manifests, alias tables and artifacts under
``models list`` and ``predict``.

Invariants: the exit code is 0 or 1; stderr holds only one-line ``fakepkg: error:`` /
``warning:`` lines, never a traceback; a failed ``predict`` leaves no output file; and no
damage ever runs code: a pickle planted in the store that would create a canary file on
loading never does.
"""

from __future__ import annotations

import hashlib
import json
import pickle
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
from hypothesis import event, example, given
from hypothesis import strategies as st
from runtime.conftest import Workspace

from .budget import examples
from .conftest import assert_one_line_errors, run_in_process
from .strategies import store_damage

VERSION = "v1"


class Canary:
    """Unpickling this creates the file at ``path``: proof that a planted pickle ran."""

    def __init__(self, path: str) -> None:
        self.path = path

    def __reduce__(self) -> tuple[Any, ...]:
        return (Path(self.path).touch, ())


@pytest.fixture
def promoted_store(churn_store: Path, fakepkg_cli: ModuleType) -> Path:
    """A store holding v1, promoted to ``production`` (so it has an alias table too)."""
    assert run_in_process(fakepkg_cli.main, ["models", "promote", VERSION]).code == 0
    return churn_store


SIGNING_KEY = "fuzz-suite-signing-key-0123456789"


@pytest.fixture
def signed_store(
    fakepkg_cli: ModuleType, workspace: Workspace, monkeypatch: pytest.MonkeyPatch
) -> Path:
    """A store holding v1 trained and signed with a key (set for the whole test), promoted."""
    monkeypatch.setenv("MLPROD_SIGNING_KEY", SIGNING_KEY)
    assert run_in_process(fakepkg_cli.main, ["train"]).code == 0
    assert (workspace.models / VERSION / "manifest.sig").is_file()
    assert run_in_process(fakepkg_cli.main, ["models", "promote", VERSION]).code == 0
    return workspace.models


@contextmanager
def _copy_of(store: Path) -> Iterator[Path]:
    with tempfile.TemporaryDirectory(prefix="storefuzz-") as scratch:
        copy = Path(scratch) / "models"
        shutil.copytree(store, copy)
        yield copy


def _read(path: Path) -> Any:
    """A store file's JSON, or None once an earlier damage has made it unreadable."""
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None


def _write(path: Path, value: Any) -> None:
    # allow_nan: a hand-edited manifest can hold NaN, which Python's JSON reader accepts.
    path.write_text(json.dumps(value), encoding="utf-8")


def _damage(store: Path, damage: tuple[Any, ...], canary: Path, *, signed: bool) -> None:
    """Do one of strategies.store_damage's things to the store.

    A planted pickle's hash is rewritten only in a signed store: an unsigned store trusts its
    manifest (it loads with a warning), so there a rewritten hash is trusted by design.
    """
    rewrite_hash = signed and bool(damage[-1]) if damage[0] == "canary-pickle" else False
    version_dir = store / VERSION
    manifest_path = version_dir / "manifest.json"
    artifacts_dir = version_dir / "artifacts"
    artifact_files = sorted(artifacts_dir.iterdir()) if artifacts_dir.is_dir() else []
    targets = {
        "manifest": manifest_path,
        "aliases": store / "aliases.json",
        "artifact": artifact_files[0] if artifact_files else manifest_path,
        "artifacts": artifacts_dir,
    }
    kind = damage[0]
    if kind == "delete":
        target = targets[damage[1]]
        if target.is_dir():
            shutil.rmtree(target)
        else:
            target.unlink(missing_ok=True)
    elif kind == "truncate":
        target = targets[damage[1]]
        if target.is_file():
            target.write_bytes(target.read_bytes()[: damage[2]])
    elif kind in ("manifest", "artifact-entry") and manifest_path.is_file():
        manifest = _read(manifest_path)
        if not isinstance(manifest, dict):
            return
        if kind == "manifest":
            holder, key, value = manifest, damage[1], damage[2]
        else:
            entries = manifest.get("artifacts")
            if not isinstance(entries, list) or not entries:
                return
            holder = entries[damage[1] % len(entries)]
            key, value = damage[2], damage[3]
        if not isinstance(holder, dict):
            return
        if value is None:
            holder.pop(key, None)
        else:
            holder[key] = value
        _write(manifest_path, manifest)
    elif kind == "aliases":
        _write(store / "aliases.json", damage[1])
    elif kind == "alias-entry":
        table = _read(store / "aliases.json")
        if not isinstance(table, dict) or not isinstance(table.get("production"), dict):
            return
        if damage[2] is None:
            table["production"].pop(damage[1], None)
        else:
            table["production"][damage[1]] = damage[2]
        _write(store / "aliases.json", table)
    elif kind == "empty-version":
        (store / damage[1]).mkdir(exist_ok=True)
    elif kind == "canary-pickle":
        _plant_canary(manifest_path, artifacts_dir, damage[1], canary, rewrite_hash)


def _plant_canary(
    manifest_path: Path,
    artifacts_dir: Path,
    artifact_format: str,
    canary: Path,
    rewrite_hash: bool,
) -> None:
    """Replace the model's file with a pickle that touches ``canary`` when loaded, and make
    its manifest entry claim a pickle-based format; with ``rewrite_hash`` the manifest also
    records the planted file's hash and size, as an attacker who can write the store would."""
    if not artifacts_dir.is_dir():
        return
    manifest = _read(manifest_path)
    entries = manifest.get("artifacts") if isinstance(manifest, dict) else None
    models = [e for e in entries or [] if isinstance(e, dict) and e.get("name") == "model"]
    # Only a plain file name is removed: an earlier damage may have pointed it anywhere.
    if not models or Path(str(models[0].get("file"))).name != models[0].get("file"):
        return
    entry = models[0]
    suffix = {"pickle": ".pkl", "joblib": ".joblib"}[artifact_format]
    planted = artifacts_dir / f"model{suffix}"
    (artifacts_dir / entry["file"]).unlink(missing_ok=True)
    planted.write_bytes(pickle.dumps(Canary(str(canary))))
    entry.update(file=planted.name, format=artifact_format)
    if rewrite_hash:
        content = planted.read_bytes()
        entry.update(sha256=hashlib.sha256(content).hexdigest(), bytes=len(content))
    _write(manifest_path, manifest)


def _assert_damage_is_contained(
    original: Path, cli: ModuleType, damages: list[tuple[Any, ...]], command: str, *, signed: bool
) -> None:
    """Damage a copy of ``original``, run ``command`` on it, check the invariants."""
    with _copy_of(original) as store:
        canary = store.parent / "canary"
        for damage in damages:
            _damage(store, damage, canary, signed=signed)
        if command == "list":
            argv = ["models", "list", "--model-dir", str(store)]
        else:
            data = original.parent / "data" / "churn.csv"
            output = store.parent / "predictions.csv"
            argv = ["predict", "--model-dir", str(store), "--input", str(data)]
            argv += ["--output", str(output)]
        outcome = run_in_process(cli.main, argv)
        event(f"{command} exit {outcome.code}")
        assert not canary.exists(), "a planted pickle ran"
        assert outcome.code in (0, 1), outcome
        assert_one_line_errors(outcome, "fakepkg")
        if command == "predict" and outcome.code != 0:
            leftovers = sorted(p.name for p in store.parent.iterdir() if p.name != "models")
            assert leftovers == [], f"a failed predict left {leftovers}"


damage_lists = st.lists(store_damage, min_size=1, max_size=3)
commands = st.sampled_from(["list", "predict"])


@given(damages=damage_lists, command=commands)
@examples(120)
# Issue 11, item 13: each of these broke `models list` or the default predict.
@example(damages=[("artifact-entry", 0, "name", None)], command="predict")
@example(damages=[("aliases", [1, 2])], command="list")
@example(damages=[("manifest", "metrics", {"accuracy": "high"})], command="list")
@example(damages=[("alias-entry", "history", None)], command="list")
@example(damages=[("empty-version", "v2")], command="list")
@example(damages=[("empty-version", "v2")], command="predict")
@example(damages=[("canary-pickle", "pickle", False)], command="predict")
@example(damages=[("canary-pickle", "joblib", False)], command="predict")
def test_damaged_store_fails_in_one_line_and_never_runs_code(
    promoted_store: Path, fakepkg_cli: ModuleType, damages: list[tuple[Any, ...]], command: str
) -> None:
    _assert_damage_is_contained(promoted_store, fakepkg_cli, damages, command, signed=False)


@given(damages=damage_lists, command=commands)
@examples(40)
# Issue 11, item 6: a planted pickle whose hash the manifest records ran at predict.
@example(damages=[("canary-pickle", "pickle", True)], command="predict")
@example(damages=[("canary-pickle", "joblib", True)], command="predict")
def test_signed_store_refuses_a_rewritten_manifest_before_loading(
    signed_store: Path, fakepkg_cli: ModuleType, damages: list[tuple[Any, ...]], command: str
) -> None:
    _assert_damage_is_contained(signed_store, fakepkg_cli, damages, command, signed=True)
