"""Provenance: input hashes, git state (the one "dirty" rule), versions, timestamps."""

from __future__ import annotations

import ast
import datetime as dt
import json
import shutil
import subprocess
import sys
from pathlib import Path
from types import ModuleType

import pytest
from subprocesses import git

from .conftest import Workspace, train

needs_git = pytest.mark.skipif(shutil.which("git") is None, reason="git is not installed")


@pytest.fixture
def provenance(package_src: Path) -> ModuleType:
    import fakepkg.provenance

    return fakepkg.provenance


@needs_git
def test_metadata_helpers(provenance: ModuleType, tmp_path: Path) -> None:
    (tmp_path / "data.csv").write_text("a\n1\n")
    described = provenance.describe_input_files(["data.csv", "gone.csv"], tmp_path)
    assert described[0]["sha256"] == provenance.sha256_file(tmp_path / "data.csv")
    assert described[1] == {"path": "gone.csv", "sha256": None, "bytes": None}
    assert provenance.git_state(tmp_path) is None
    subprocess.run(["git", "init", "-q"], cwd=tmp_path, check=True)
    subprocess.run(["git", "add", "data.csv"], cwd=tmp_path, check=True)
    subprocess.run(
        ["git", "-c", "user.name=t", "-c", "user.email=t@t", "commit", "-qm", "x"],
        cwd=tmp_path,
        check=True,
    )
    state = provenance.git_state(tmp_path)
    assert state is not None and len(state["commit"]) == 40 and state["dirty"] is False
    (tmp_path / "data.csv").write_text("a\n2\n")
    assert provenance.git_state(tmp_path)["dirty"] is True
    assert "numpy" in provenance.distribution_versions("fakepkg")


@needs_git
def test_untracked_files_make_the_tree_dirty_unless_ignored_or_excluded(
    provenance: ModuleType, tmp_path: Path
) -> None:
    (tmp_path / "data.csv").write_text("a\n1\n")
    (tmp_path / ".gitignore").write_text("scratch/\n")
    git(tmp_path, "init", "-q")
    git(tmp_path, "add", "data.csv", ".gitignore")
    git(tmp_path, "commit", "-qm", "x")
    (tmp_path / "scratch").mkdir()
    (tmp_path / "scratch" / "notes.txt").write_text("ignored\n")
    assert provenance.git_state(tmp_path)["dirty"] is False
    (tmp_path / "runs" / "r1").mkdir(parents=True)
    (tmp_path / "runs" / "r1" / "run.json").write_text("{}")
    assert provenance.git_state(tmp_path)["dirty"] is True
    # The recording command's own output directory does not count, from any subdirectory.
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / ".gitignore").write_text("*\n")
    assert provenance.git_state(tmp_path / "sub", exclude=[tmp_path / "runs"])["dirty"] is False
    assert provenance.git_state(tmp_path, exclude=[tmp_path.parent / "elsewhere"])["dirty"]
    (tmp_path / "helper.py").write_text("x = 1\n")
    assert provenance.git_state(tmp_path / "sub", exclude=[tmp_path / "runs"])["dirty"] is True


@needs_git
def test_manifest_git_state_counts_untracked_files_but_not_the_store(
    fakepkg_cli: ModuleType, workspace: Workspace, capsys: pytest.CaptureFixture[str]
) -> None:
    git(workspace.root, "init", "-q")
    git(workspace.root, "add", "data")
    git(workspace.root, "commit", "-qm", "data")
    commit = git(workspace.root, "rev-parse", "HEAD")
    assert train(fakepkg_cli, capsys) == "v1"
    # The store (./models, untracked) now exists: a second train is still clean.
    assert train(fakepkg_cli, capsys) == "v2"
    (workspace.root / "helper.py").write_text("x = 1\n")
    assert train(fakepkg_cli, capsys) == "v3"

    def git_of(version: str) -> object:
        return json.loads((workspace.models / version / "manifest.json").read_text())["git"]

    assert git_of("v1") == git_of("v2") == {"commit": commit, "dirty": False}
    assert git_of("v3") == {"commit": commit, "dirty": True}


def test_utc_now_is_iso_8601_to_the_second(provenance: ModuleType) -> None:
    text = provenance.utc_now()
    parsed = dt.datetime.fromisoformat(text)
    assert parsed.utcoffset() == dt.timedelta(0) and text.endswith("+00:00")
    assert parsed.microsecond == 0 and len(text) == len("2026-01-01T00:00:00+00:00")


def test_the_source_lists_distributions_when_run_as_a_script(provenance: ModuleType) -> None:
    source = Path(provenance.__file__).read_text(encoding="utf-8")
    listed = subprocess.run(
        [sys.executable, "-c", source], capture_output=True, text=True, check=True
    ).stdout
    assert json.loads(listed) == provenance.installed_distributions()
    assert "numpy" in provenance.installed_distributions()


def test_provenance_imports_only_the_standard_library() -> None:
    from jupyter_mlprod import runtime

    tree = ast.parse(runtime.read_file("provenance.py"))
    imported = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            imported.update(alias.name.partition(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            assert node.level == 0, "no relative imports: the source must run on its own"
            imported.add(str(node.module).partition(".")[0])
    assert imported <= set(sys.stdlib_module_names) | {"__future__"}, imported
    probe = "import sys, jupyter_mlprod.runtime.provenance; print('numpy' in sys.modules)"
    loaded = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True)
    assert loaded.stdout.strip() == "False", loaded.stderr
