"""Golden snapshots: the package `nb2prod convert` generates for each example notebook.

The snapshots under ``tests/golden/<notebook stem>/`` are the generated modules (``params``,
``data``, ``train``, ``predict``, ``pipeline``, ``features``, ``__init__``) and the scaffolding
(``pyproject.toml``, ``requirements.txt``, ``README.md``, ``tests/``, ``Dockerfile``,
``.dockerignore``, ``.github/workflows/ci.yml``), as written
after ruff formatting. Runtime files are copied verbatim and are not snapshotted here.

What differs between machines is normalised first: version pins come from the installed
distributions, so they are dropped; the notebook is copied to a fixed place beside the output,
so the smoke test's relative data directory is the same everywhere.

Refresh the snapshots after an intended change with
``python -m pytest tests/converter/test_golden.py --update-golden``.
"""

from __future__ import annotations

import difflib
import re
import shutil
import sys
from collections.abc import Mapping
from pathlib import Path, PurePosixPath

import pytest

from jupyter_mlprod import runtime
from jupyter_mlprod.cli import main

REPO = Path(__file__).resolve().parents[2]
EXAMPLES = REPO / "example_notebooks"
GOLDEN = REPO / "tests" / "golden"
STEMS = sorted(path.stem for path in EXAMPLES.glob("*.ipynb"))
SUFFIX = ".golden"
UPDATE_COMMAND = "python -m pytest tests/converter/test_golden.py --update-golden"

# `"numpy==2.4.6",` in pyproject.toml, `numpy==2.4.6` in requirements.txt.
_PIN = re.compile(r"==[^\s\",;]+")
_PINNED_FILES = frozenset({"pyproject.toml", "requirements.txt"})
# The converting Python's minor version, which the image and the CI workflow are pinned to.
_PYTHON_PINNED_FILES = frozenset({"Dockerfile", ".github/workflows/ci.yml", "README.md"})
_PYTHON_MINOR = f"{sys.version_info.major}.{sys.version_info.minor}"


def snapshot_name(relative_path: str) -> str:
    """The snapshot file of a generated file: package modules by name, the rest by path."""
    parts = PurePosixPath(relative_path).parts
    name = parts[-1] if parts[0] == "src" else relative_path
    return name + SUFFIX


def normalise(relative_path: str, text: str) -> str:
    """Drop what depends on the machine that converted the notebook (version pins, the
    Python minor version)."""
    if relative_path in _PINNED_FILES:
        return _PIN.sub("", text)
    if relative_path in _PYTHON_PINNED_FILES:
        return text.replace(f"python:{_PYTHON_MINOR}-", "python:X.Y-").replace(
            f'"{_PYTHON_MINOR}"', '"X.Y"'
        )
    return text


def generated_files(package_dir: Path) -> dict[str, str]:
    """Snapshot name → normalised text of every generated (not runtime) file of a package."""
    files: dict[str, str] = {}
    for path in sorted(package_dir.rglob("*")):
        relative = path.relative_to(package_dir).as_posix()
        if not path.is_file() or "__pycache__" in relative or path.name == "py.typed":
            continue
        if relative.startswith("src/") and path.name in runtime.FILES:
            continue
        files[snapshot_name(relative)] = normalise(relative, path.read_text(encoding="utf-8"))
    return files


def mismatches(snapshot_dir: Path, actual: Mapping[str, str]) -> list[str]:
    """One readable message per snapshot that is missing, stale or different (a unified diff)."""
    expected = {
        path.relative_to(snapshot_dir).as_posix(): path.read_text(encoding="utf-8")
        for path in sorted(snapshot_dir.rglob("*"))
        if path.is_file()
    }
    messages = []
    for name in sorted(actual.keys() | expected.keys()):
        where = snapshot_dir / name
        if name not in expected:
            messages.append(f"{where}: missing snapshot (the generated package has this file)")
        elif name not in actual:
            messages.append(f"{where}: stale snapshot (the generated package has no such file)")
        elif expected[name] != actual[name]:
            diff = difflib.unified_diff(
                expected[name].splitlines(keepends=True),
                actual[name].splitlines(keepends=True),
                fromfile=f"{where} (snapshot)",
                tofile=f"{name} (generated now)",
            )
            messages.append("".join(diff))
    return messages


def write_snapshots(snapshot_dir: Path, actual: Mapping[str, str]) -> None:
    """Replace a notebook's snapshots with the generated files."""
    if snapshot_dir.exists():
        shutil.rmtree(snapshot_dir)
    for name, text in actual.items():
        target = snapshot_dir / name
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(text, encoding="utf-8")


@pytest.fixture(scope="module")
def packages(tmp_path_factory: pytest.TempPathFactory) -> dict[str, dict[str, str]]:
    root = tmp_path_factory.mktemp("golden")
    notebooks = root / "example_notebooks"
    shutil.copytree(EXAMPLES / "data", notebooks / "data")
    built = {}
    for stem in STEMS:
        notebook = shutil.copy2(EXAMPLES / f"{stem}.ipynb", notebooks / f"{stem}.ipynb")
        out = root / "packages" / stem
        assert main(["convert", str(notebook), "-o", str(out)]) == 0
        built[stem] = generated_files(out)
    return built


@pytest.mark.parametrize("stem", STEMS)
def test_generated_package_matches_its_snapshot(
    packages: dict[str, dict[str, str]], stem: str, request: pytest.FixtureRequest
) -> None:
    snapshot_dir = GOLDEN / stem
    if request.config.getoption("--update-golden"):
        write_snapshots(snapshot_dir, packages[stem])
        return
    found = mismatches(snapshot_dir, packages[stem])
    if found:
        pytest.fail(
            f"the package generated from {stem}.ipynb differs from its golden snapshot:\n\n"
            + "\n".join(found)
            + f"\nIf the change is intended, run: {UPDATE_COMMAND}",
            pytrace=False,
        )


def test_every_snapshot_directory_has_its_notebook() -> None:
    assert sorted(path.name for path in GOLDEN.iterdir() if path.is_dir()) == STEMS


def test_a_missing_snapshot_fails(tmp_path: Path) -> None:
    (tmp_path / "params.py.golden").write_text("x = 1\n", encoding="utf-8")
    found = mismatches(tmp_path, {"params.py.golden": "x = 1\n", "data.py.golden": "y = 2\n"})
    assert len(found) == 1 and "data.py.golden: missing snapshot" in found[0]


def test_a_stale_snapshot_fails(tmp_path: Path) -> None:
    (tmp_path / "features.py.golden").write_text("x = 1\n", encoding="utf-8")
    found = mismatches(tmp_path, {})
    assert len(found) == 1 and "features.py.golden: stale snapshot" in found[0]


def test_a_changed_file_fails_with_a_diff(tmp_path: Path) -> None:
    (tmp_path / "train.py.golden").write_text("a = 1\nb = 2\n", encoding="utf-8")
    (found,) = mismatches(tmp_path, {"train.py.golden": "a = 1\nb = 3\n"})
    assert "-b = 2\n+b = 3\n" in found and "train.py.golden (snapshot)" in found


def test_pins_are_normalised_but_names_kept() -> None:
    text = '  "numpy==2.4.6",\n  "torch",\n  "uvloop==0.23.0; sys_platform != \'win32\'",\n'
    assert normalise("pyproject.toml", text) == (
        '  "numpy",\n  "torch",\n  "uvloop; sys_platform != \'win32\'",\n'
    )
    assert normalise("src/pkg/params.py", "x == 1\n") == "x == 1\n"
