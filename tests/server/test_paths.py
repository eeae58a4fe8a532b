"""Path confinement: every request path must stay inside the server's root directory."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from jupyter_mlprod.server.paths import confine, is_hidden, relative_to_root, strip_root
from jupyter_mlprod.server.responses import ApiError


@pytest.fixture
def root(tmp_path: Path) -> Path:
    root = tmp_path / "root"
    (root / "work").mkdir(parents=True)
    return root


def test_relative_path_resolves_inside_root(root: Path) -> None:
    assert confine(root, "work/nb.ipynb") == (root / "work" / "nb.ipynb").resolve()


def test_dot_dot_that_stays_inside_is_allowed(root: Path) -> None:
    assert confine(root, "work/../nb.ipynb") == (root / "nb.ipynb").resolve()


def test_absolute_path_inside_root_is_allowed(root: Path) -> None:
    inside = str(root / "work" / "nb.ipynb")
    assert confine(root, inside) == Path(inside).resolve()


@pytest.mark.parametrize("escape", ["../x.ipynb", "work/../../x.ipynb", "/etc/passwd", ".."])
def test_escapes_are_refused_with_403(root: Path, escape: str) -> None:
    with pytest.raises(ApiError) as caught:
        confine(root, escape, what="notebook")
    assert caught.value.status_code == 403
    assert "outside the server's root directory" in caught.value.message
    assert escape in caught.value.message


def test_backslashes_cannot_smuggle_an_escape(root: Path) -> None:
    with pytest.raises(ApiError) as caught:
        confine(root, "..\\x.ipynb")
    assert caught.value.status_code == 403


def test_symlink_pointing_outside_is_refused(root: Path, tmp_path: Path) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "secret.ipynb").write_text("{}")
    os.symlink(outside, root / "link")
    with pytest.raises(ApiError) as caught:
        confine(root, "link/secret.ipynb")
    assert caught.value.status_code == 403


def test_symlinked_root_still_accepts_its_own_files(root: Path, tmp_path: Path) -> None:
    alias = tmp_path / "alias"
    os.symlink(root, alias)
    assert confine(alias, "work/nb.ipynb") == (root / "work" / "nb.ipynb").resolve()


@pytest.mark.parametrize("bad", [None, "", "   ", 3, ["a"], "a\0b"])
def test_missing_or_mistyped_paths_are_400(root: Path, bad: object) -> None:
    with pytest.raises(ApiError) as caught:
        confine(root, bad, what="output_dir")
    assert caught.value.status_code == 400
    assert "output_dir" in caught.value.message


def test_relative_to_root_uses_posix_separators(root: Path) -> None:
    assert relative_to_root(root, (root / "work" / "nb.ipynb").resolve()) == "work/nb.ipynb"
    assert relative_to_root(root, root.resolve()) == ""


def test_api_error_body_keeps_percent_signs_and_extra_fields() -> None:
    error = ApiError(422, "50% of cells failed", problems=[{"cell": 1}])
    assert error.body() == {"message": "50% of cells failed", "problems": [{"cell": 1}]}


def test_strip_root_rewrites_only_paths_inside_the_root(root: Path) -> None:
    text = f"{root.resolve()}/work/nb.ipynb: cell 3: boom — see {root.resolve()}/runs/r1/nb.ipynb"
    assert strip_root(text, root) == "work/nb.ipynb: cell 3: boom — see runs/r1/nb.ipynb"
    assert strip_root("/etc/passwd: nope", root) == "/etc/passwd: nope"


def test_is_hidden_looks_only_below_the_root(tmp_path: Path) -> None:
    root = tmp_path / ".jupyter-home"
    root.mkdir()
    assert not is_hidden(root, (root / "work" / "nb.ipynb").resolve())
    assert is_hidden(root, (root / ".ssh").resolve())
    assert is_hidden(root, (root / "work" / ".cache" / "nb.ipynb").resolve())
