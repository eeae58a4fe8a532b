"""User text a runtime error quotes is echoed on one line, without terminal escapes.

The rule is :func:`printable` in the runtime's ``errors.py``, which ``jupyter_mlprod.errors``
imports too: one escaping rule for the converter and every generated package.
"""

from __future__ import annotations

from types import ModuleType

import pytest

from jupyter_mlprod import errors as converter_errors
from jupyter_mlprod.runtime import errors as runtime_errors

from .conftest import Workspace


def test_one_rule_for_converter_and_runtime() -> None:
    assert converter_errors.printable is runtime_errors.printable
    assert runtime_errors.printable("a\nb\x1b[31mc\u2028") == "a\\nb\\x1b[31mc\\u2028"
    assert runtime_errors.printable("x" * 10, limit=4) == "xxx…"


def test_a_runtime_error_is_one_escaped_line() -> None:
    error = runtime_errors.ModelError("no version 'v9\n\x1b[2Jgone'")
    assert str(error) == "no version 'v9\\n\\x1b[2Jgone'"


def test_predict_echoes_a_hostile_path_escaped(
    fakepkg_cli: ModuleType, workspace: Workspace, capsys: pytest.CaptureFixture[str]
) -> None:
    hostile = str(workspace.root / "in\n\x1b[31mput.csv")
    output = str(workspace.root / "out.csv")
    code = fakepkg_cli.main(["predict", "--input", hostile, "--output", output])
    assert code != 0
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "\x1b" not in err, err
    assert "Traceback" not in err
