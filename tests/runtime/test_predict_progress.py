"""``predict`` progress: its stages on a terminal, nothing but the summary line otherwise."""

from __future__ import annotations

import io
import subprocess
import sys
from pathlib import Path
from types import ModuleType

import pytest

from .conftest import Workspace

SUMMARY = "240 predictions from v1 written to p.csv"


class _Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def _final_lines(text: str) -> list[str]:
    """What a terminal ends up showing: each line as its last redraw left it."""
    return [line.rsplit("\x1b[K", 1)[-1] for line in text.split("\n") if line]


def _predict(cli: ModuleType, monkeypatch: pytest.MonkeyPatch, *extra: str) -> str:
    terminal = _Terminal()
    monkeypatch.setattr(sys, "stderr", terminal)
    assert cli.main(["predict", "--input", "data/churn.csv", "--output", "p.csv", *extra]) == 0
    return terminal.getvalue()


def test_stages_and_rows_on_a_terminal(
    fakepkg_cli: ModuleType, churn_store: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    shown = _predict(fakepkg_cli, monkeypatch)
    finished = _final_lines(shown)
    assert [line.split(" (")[0] for line in finished] == [
        "load the model done",
        "read data/churn.csv done",
        "predict 240 rows done",
        "write 240 rows done",
        SUMMARY,
    ]


def test_quiet_on_a_terminal_prints_the_summary_only(
    fakepkg_cli: ModuleType, churn_store: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert _predict(fakepkg_cli, monkeypatch, "--quiet") == SUMMARY + "\n"


def test_a_failing_stage_is_marked_and_the_error_stays_one_line(
    fakepkg_cli: ModuleType,
    churn_store: Path,
    workspace: Workspace,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    (workspace.root / "bad.csv").write_text("age,income\n1,2\n", encoding="utf-8")
    terminal = _Terminal()
    monkeypatch.setattr(sys, "stderr", terminal)
    assert fakepkg_cli.main(["predict", "--input", "bad.csv", "--output", "p.csv"]) == 1
    lines = _final_lines(terminal.getvalue())
    assert lines[-2].startswith("read bad.csv failed (")
    assert lines[-1] == "fakepkg: error: bad.csv: input column 'plan': missing"
    assert not (workspace.root / "p.csv").exists()


def test_not_a_terminal_as_a_subprocess(churn_store: Path, workspace: Workspace) -> None:
    done: subprocess.CompletedProcess[str] = workspace.run(
        "predict", "--input", "data/churn.csv", "--output", "p.csv"
    )
    assert done.returncode == 0
    assert done.stderr == SUMMARY + "\n"
