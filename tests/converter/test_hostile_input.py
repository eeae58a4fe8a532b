"""Hostile and clumsy input to `check` and `convert` (issue 11): one line, a non-zero exit, no
traceback, no signal, nothing written outside the output — in-process and as a subprocess
(a crash in libcst's native parser only shows in a subprocess)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from jupyter_mlprod.cli import main
from jupyter_mlprod.convert import MARKER_FILE

from .helpers import PREDICT, code, good_cells, notebook, write, write_raw


def run_cli(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "jupyter_mlprod.cli", *args],
        capture_output=True,
        text=True,
        cwd=cwd,
        timeout=300,
    )


def one_error_line(stderr: str) -> str:
    """The single line the CLI printed (rc checked by the caller)."""
    assert "Traceback" not in stderr
    lines = [line for line in stderr.splitlines() if line.strip()]
    assert len(lines) == 1, stderr[:2000]
    return lines[0]


def as_json(nb: Any) -> dict[str, Any]:
    """A notebook as plain JSON, to break it in ways nbformat's builders refuse."""
    data: dict[str, Any] = json.loads(json.dumps(nb))
    return data


def with_train_line(line: str) -> list[Any]:
    cells = good_cells()
    cells[3] = code(cells[3].source + line + "\n", "train")
    return cells


def check_both_ways(
    path: Path, capsys: pytest.CaptureFixture[str], *fragments: str, convert: bool = True
) -> None:
    """`check` (and `convert`) refuse with one line holding ``fragments``, in-process and in a
    subprocess, and write nothing."""
    out = path.parent / "pkg"
    commands = [["check", str(path)]]
    if convert:
        commands.append(["convert", str(path), "-o", str(out)])
    for command in commands:
        done = run_cli(*command)
        assert done.returncode == 1, (done.returncode, done.stderr[-2000:])
        problem_lines = [
            line for line in (done.stderr + done.stdout).splitlines() if "error" in line
        ]
        assert "Traceback" not in done.stderr
        assert problem_lines, done.stdout[-2000:]
        for fragment in fragments:
            assert any(fragment in line for line in problem_lines), (fragment, problem_lines)
        assert main(command) == 1
        captured = capsys.readouterr()
        assert "Traceback" not in captured.err
        assert any(fragment in captured.out + captured.err for fragment in fragments)
        assert not out.exists()


# -- item 1: deeply nested brackets crash libcst's native parser --------------------------------


def test_two_thousand_nested_parentheses(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    deep = "z = " + "(" * 2000 + "1" + ")" * 2000
    path = write(notebook(*with_train_line(deep)), tmp_path / "nb.ipynb")
    check_both_ways(path, capsys, "cell 4", "line 3", "too many nested parentheses")


def test_deep_brackets_after_an_earlier_syntax_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    deep = "x = = 1\nz = " + "[" * 3000 + "]" * 3000
    path = write(notebook(*with_train_line(deep)), tmp_path / "nb.ipynb")
    check_both_ways(path, capsys, "cell 4", "syntax error")


def test_deep_lambdas(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    deep = "z = " + "lambda: " * 5000 + "1"
    path = write(notebook(*with_train_line(deep)), tmp_path / "nb.ipynb")
    check_both_ways(path, capsys, "cell 4", "too deeply nested", "split it")


# -- item 2: long operator chains overflow libcst's visitors --------------------------------------


@pytest.mark.parametrize(
    "expression",
    [
        "+".join(["1"] * 400),
        "np" + ".x" * 400,
        "abs(" * 150 + "1" + ")" * 150,
        "-" * 3000 + "1",
        "+".join(["1"] * 20000),
    ],
    ids=["plus-400", "attributes-400", "calls-150", "unary-3000", "plus-20000"],
)
def test_deep_expression_in_a_tagged_cell(
    expression: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = write(notebook(*with_train_line(f"z = {expression}")), tmp_path / "nb.ipynb")
    check_both_ways(
        path, capsys, "cell 4", "line 3", "expression too deeply nested to analyse", "split it"
    )


def test_deep_expression_in_the_parameters_cell(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    cells = good_cells()
    cells[1] = code(cells[1].source + "z = " + "+".join(["1"] * 400) + "\n", "parameters")
    path = write(notebook(*cells), tmp_path / "nb.ipynb")
    check_both_ways(path, capsys, "cell 2", "line 3", "too deeply nested")


def test_deep_expression_in_an_untagged_cell_is_a_warning(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    cells = good_cells()
    cells.insert(1, code("z = " + "+".join(["1"] * 400) + "\n"))
    path = write(notebook(*cells), tmp_path / "nb.ipynb")
    assert main(["check", str(path)]) == 0
    out = capsys.readouterr().out
    assert "warning" in out and "cell 2" in out and "too deeply nested" in out


def test_ordinary_nesting_still_converts(tmp_path: Path) -> None:
    """The guard's limit is far above real code: a 60-term sum and 30 nested calls pass."""
    line = "z = " + "+".join(["1"] * 60) + " + " + "abs(" * 30 + "1" + ")" * 30
    path = write(notebook(*with_train_line(line)), tmp_path / "nb.ipynb")
    assert main(["convert", str(path), "-o", str(tmp_path / "pkg")]) == 0


# -- item 3: deeply nested JSON --------------------------------------------------------------------


@pytest.mark.parametrize("depth", [100_000, 990])
def test_deeply_nested_metadata(
    depth: int, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    text = json.dumps(as_json(notebook(*good_cells())))
    deep = '{"a": ' * depth + "1" + "}" * depth
    text = text[: text.rindex("}")] + f', "extra": {deep}}}'
    path = write_raw(text, tmp_path / "nb.ipynb")
    check_both_ways(path, capsys, "nb.ipynb", "nested deeper than")


# -- item 4: NUL and lone surrogates ---------------------------------------------------------------


def test_nul_in_cell_source(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = write(notebook(*with_train_line("q = 'a\0b'")), tmp_path / "nb.ipynb")
    check_both_ways(path, capsys, "cell 4", "line 3", "NUL")


@pytest.mark.parametrize("where", ["source", "id", "tags"])
def test_lone_surrogate(where: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    data = as_json(notebook(*good_cells()))
    cell = data["cells"][3]
    if where == "source":
        cell["source"] = "model = 1\nq = '\ud800'\n"
    elif where == "id":
        cell["id"] = "ab\udc00"
    else:
        cell["metadata"]["tags"] = ["train", "x\ud83d"]
    # ensure_ascii writes the surrogate as a \ud800 escape, as a broken file carries it.
    path = write_raw(json.dumps(data), tmp_path / "nb.ipynb")
    check_both_ways(path, capsys, "cell 4", "surrogate")


# -- item 5: names the generated code needs ------------------------------------------------------


@pytest.mark.parametrize(
    ("parameters", "name", "line"),
    [
        (
            "C: float = 1.0\nn_rows: int = 200\nlist: int = 2\nsizes: list[int] = [1, 2]\n",
            "list",
            3,
        ),
        ("C: float = 1.0\nn_rows: int = 200\nfield: int = 3\nsizes = [1, 2]\n", "field", 3),
        ("dataclass = 1\nC: float = 1.0\nn_rows: int = 200\n", "dataclass", 1),
        ("dict = 1\nC: float = 1.0\nn_rows: int = 200\nm: dict[str, int] = {}\n", "dict", 1),
    ],
)
def test_parameter_shadowing_a_name_params_py_uses(
    parameters: str, name: str, line: int, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    cells = good_cells()
    cells[1] = code(parameters, "parameters")
    path = write(notebook(*cells), tmp_path / "nb.ipynb")
    check_both_ways(path, capsys, "cell 2", f"line {line}", f"`{name}`", "rename")


def test_parameter_named_like_an_unused_builtin_still_works(tmp_path: Path) -> None:
    """Only the names params.py uses are refused: a parameter `input` converts and imports."""
    cells = good_cells()
    cells[1] = code("C: float = 1.0\nn_rows: int = 200\ninput: str = 'x'\n", "parameters")
    path = write(notebook(*cells), tmp_path / "nb.ipynb")
    out = tmp_path / "pkg"
    assert main(["convert", str(path), "-o", str(out)]) == 0
    done = subprocess.run(
        [sys.executable, "-c", "import nb_model.params as p; print(p.Params().input)"],
        cwd=out / "src",
        capture_output=True,
        text=True,
    )
    assert done.stdout.strip() == "x", done.stderr


@pytest.mark.parametrize(
    ("name", "fragment"),
    [
        ("sys", "standard library"),
        ("os", "standard library"),
        ("class", "keyword"),
        ("café", "ASCII"),
        ("numpy", "numpy"),
        ("123", "identifier"),
        ("-pkg-", "identifier"),
        ("a b!", "identifier"),
    ],
)
def test_bad_package_name(
    name: str, fragment: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = write(notebook(*good_cells()), tmp_path / "nb.ipynb")
    out = tmp_path / "pkg"
    done = run_cli("convert", str(path), "-o", str(out), f"--name={name}")
    assert done.returncode == 1
    line = one_error_line(done.stderr)
    assert "--name" in line and fragment in line, line
    assert not out.exists()
    assert main(["convert", str(path), "-o", str(out), f"--name={name}"]) == 1
    assert fragment in capsys.readouterr().err


def test_name_normalisation_still_applies(tmp_path: Path) -> None:
    path = write(notebook(*good_cells()), tmp_path / "nb.ipynb")
    out = tmp_path / "pkg"
    assert main(["convert", str(path), "-o", str(out), "--name", "Churn Model"]) == 0
    assert (out / "src" / "churn_model" / "predict.py").is_file()


def test_non_ascii_notebook_name_gets_an_ascii_default(tmp_path: Path) -> None:
    path = write(notebook(*good_cells()), tmp_path / "café.ipynb")
    out = tmp_path / "pkg"
    assert main(["convert", str(path), "-o", str(out)]) == 0
    assert (out / "src" / "caf_model" / "predict.py").is_file()


def test_ruff_failure_is_one_line(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Whatever ruff prints when it fails, the user gets one line."""
    from jupyter_mlprod import convert

    def failing_ruff(*args: Any, **kwargs: Any) -> subprocess.CompletedProcess[str]:
        return subprocess.CompletedProcess(args, 2, "", "error: one\n  --> x.py\n\x1b[31mthree\n")

    monkeypatch.setattr(convert.subprocess, "run", failing_ruff)
    path = write(notebook(*good_cells()), tmp_path / "nb.ipynb")
    with pytest.raises(convert.ConversionError) as raised:
        convert.convert_notebook(path, tmp_path / "pkg")
    message = str(raised.value)
    assert "\n" not in message and "\x1b" not in message
    assert "formatting the generated code failed: error: one" in message
    assert not (tmp_path / "pkg").exists()


# -- item 9: control characters in echoed text ----------------------------------------------------


def test_cell_id_with_newline_and_escapes(tmp_path: Path) -> None:
    data = as_json(notebook(*good_cells()))
    data["cells"][3]["id"] = "ab\n\x1b[31mEVIL\r"
    data["cells"][3]["source"] = "model = LogisticRegression(C=C\n"
    path = write_raw(json.dumps(data), tmp_path / "nb.ipynb")
    out = tmp_path / "pkg"
    done = run_cli("convert", str(path), "-o", str(out))
    assert done.returncode == 1
    line = one_error_line(done.stderr)
    assert "\x1b" not in line and "\r" not in line
    assert "(id ab\\n\\x1b[31mEVIL\\r)" in line
    checked = run_cli("check", str(path))
    assert "\x1b" not in checked.stdout and "\r" not in checked.stdout
    assert "ab\\n\\x1b[31mEVIL" in checked.stdout


def test_unknown_metadata_key_with_escapes(tmp_path: Path) -> None:
    nb = notebook(*good_cells())
    nb.metadata["mlprod"] = {"predict_input": "X_test", "bad\n\x1b[2Jkey": "y"}
    path = write(nb, tmp_path / "nb.ipynb")
    done = run_cli("convert", str(path), "-o", str(tmp_path / "pkg"))
    assert done.returncode == 1
    line = one_error_line(done.stderr)
    assert "bad\\n\\x1b[2Jkey" in line


# -- item 10: --force replaces only what nb2prod generated -----------------------------------------


def test_force_refuses_a_directory_nb2prod_did_not_write(tmp_path: Path) -> None:
    path = write(notebook(*good_cells()), tmp_path / "nb.ipynb")
    victim = tmp_path / "victim"
    victim.mkdir()
    (victim / "keep.txt").write_text("precious")
    done = run_cli("convert", str(path), "-o", str(victim), "--force")
    assert done.returncode == 1
    line = one_error_line(done.stderr)
    assert "not generated by nb2prod" in line and MARKER_FILE in line
    assert (victim / "keep.txt").read_text() == "precious"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["nb.ipynb", "victim"]


def test_force_refuses_a_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = write(notebook(*good_cells()), tmp_path / "nb.ipynb")
    victim = tmp_path / "notes.txt"
    victim.write_text("precious")
    assert main(["convert", str(path), "-o", str(victim), "--force"]) == 1
    assert "not generated by nb2prod" in capsys.readouterr().err
    assert victim.read_text() == "precious"


def test_force_replaces_a_generated_package(tmp_path: Path) -> None:
    path = write(notebook(*good_cells()), tmp_path / "nb.ipynb")
    out = tmp_path / "pkg"
    assert main(["convert", str(path), "-o", str(out)]) == 0
    assert (out / MARKER_FILE).is_file()
    (out / "stale.txt").write_text("old")
    assert main(["convert", str(path), "-o", str(out), "--force"]) == 0
    assert not (out / "stale.txt").exists()
    assert (out / MARKER_FILE).is_file()


# -- item 12: output paths that cannot be written ------------------------------------------------


@pytest.mark.parametrize("kind", ["proc", "under-a-file"])
def test_unwritable_output(kind: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = write(notebook(*good_cells()), tmp_path / "nb.ipynb")
    if kind == "proc":
        out = Path("/proc/x")
    else:
        (tmp_path / "existing_file").write_text("x")
        out = tmp_path / "existing_file" / "sub"
    done = run_cli("convert", str(path), "-o", str(out))
    assert done.returncode == 1
    line = one_error_line(done.stderr)
    assert str(out) in line and "cannot write" in line, line
    assert main(["convert", str(path), "-o", str(out)]) == 1
    assert "cannot write" in capsys.readouterr().err
    assert sorted(p.name for p in tmp_path.iterdir() if p.name.startswith(".")) == []


# -- item 15: misleading messages ----------------------------------------------------------------


def test_null_metadata_names_metadata(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    data = as_json(notebook(*good_cells()))
    data["metadata"] = None
    path = write_raw(json.dumps(data), tmp_path / "nb.ipynb")
    assert main(["check", str(path)]) == 1
    err = capsys.readouterr().err
    assert "`metadata` must be an object" in err and "cells" not in err


def test_repeated_role_tag_is_one_role(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    data = as_json(notebook(*good_cells()))
    data["cells"][3]["metadata"]["tags"] = ["train"] * 3
    path = write_raw(json.dumps(data), tmp_path / "nb.ipynb")
    assert main(["check", str(path)]) == 0
    assert "roles" not in capsys.readouterr().out


def test_repeated_roles_are_listed_once(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    data = as_json(notebook(*good_cells()))
    data["cells"][3]["metadata"]["tags"] = ["train", "load", "train"]
    path = write_raw(json.dumps(data), tmp_path / "nb.ipynb")
    assert main(["check", str(path)]) == 1
    assert "2 roles (train, load)" in capsys.readouterr().out


def test_huge_parameter_value_gives_a_bounded_line(tmp_path: Path) -> None:
    cells = good_cells()
    cells[1] = code("C: float = 1.0\nn_rows: int = " + "7" * 5000 + "\n", "parameters")
    path = write(notebook(*cells), tmp_path / "nb.ipynb")
    done = run_cli("convert", str(path), "-o", str(tmp_path / "pkg"))
    assert done.returncode == 1
    line = one_error_line(done.stderr)
    assert len(line) < 600 and "cell 2" in line and "line 2" in line, line
    checked = run_cli("check", str(path))
    assert max(len(line) for line in checked.stdout.splitlines()) < 600


def test_predict_cell_kept(tmp_path: Path) -> None:
    """The helpers' pipeline itself converts (a sanity check for the cases above)."""
    assert PREDICT in good_cells()[4].source
    path = write(notebook(*good_cells()), tmp_path / "nb.ipynb")
    assert main(["convert", str(path), "-o", str(tmp_path / "pkg")]) == 0
