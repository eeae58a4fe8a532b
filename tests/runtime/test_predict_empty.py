"""``predict`` on a file with a header and no rows: one line naming the file, nothing written."""

from __future__ import annotations

from pathlib import Path

from .conftest import Workspace


def test_a_header_only_file_is_refused_in_one_line(churn_store: Path, workspace: Workspace) -> None:
    source = workspace.root / "empty.csv"
    source.write_text("age,income,plan\n")
    output = workspace.root / "out.csv"
    result = workspace.run("predict", "--input", str(source), "--output", str(output))
    assert result.returncode == 1
    assert result.stderr == (
        f"fakepkg: error: {source}: no rows to predict (the file holds only a header)\n"
    )
    assert not output.exists()
    assert sorted(p.name for p in workspace.root.iterdir() if "partial" in p.name) == []
