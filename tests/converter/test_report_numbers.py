"""Cell numbers in ``check``'s report: people read 1-based numbers (JupyterLab's status bar
counts so), JSON keeps the 0-based ``cell`` index and adds ``cell_number`` beside it."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from jupyter_mlprod.analysis.cache import CELL_CACHE
from jupyter_mlprod.cli import main
from jupyter_mlprod.notebook import notebook_from_json
from jupyter_mlprod.server.handlers import analyse_report

from .helpers import code, good_cells, notebook, write

# Cell 5 (the sixth) reads a hard-coded path and shows a frame: both are reported by cell.
EXTRA = code('import json\nsettings = json.load(open("settings.json"))\nprint(settings)', "load")


def entries(report: dict[str, Any]) -> list[dict[str, Any]]:
    """Every report entry that names a cell."""
    found = []
    for key in ("display_only", "left_out", "inferred", "magics", "paths", "problems"):
        found += [item for item in report[key] if item.get("cell") is not None]
    found += report["suggestions"] + report["parameters"]
    return found


def check_json(path: Path, capsys: pytest.CaptureFixture[str]) -> dict[str, Any]:
    main(["check", str(path), "--json"])
    return dict(json.loads(capsys.readouterr().out))


def test_every_cell_index_in_the_json_has_its_number_beside_it(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = write(notebook(*good_cells(), EXTRA), tmp_path / "nb.ipynb")
    report = check_json(path, capsys)
    named = entries(report)
    assert {item["cell"] for item in named} >= {1, 5}
    assert all(item["cell_number"] == item["cell"] + 1 for item in named)
    for stage in report["stages"]:
        assert all(cell["number"] == cell["index"] + 1 for cell in stage["cells"])
    for flow in report["flows"]:
        assert flow["from_cell_number"] == flow["from_cell"] + 1
        assert flow["to_cell_number"] == flow["to_cell"] + 1


def test_the_text_report_names_cells_by_number(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = write(notebook(*good_cells(), EXTRA), tmp_path / "nb.ipynb")
    main(["check", str(path)])
    out = capsys.readouterr().out
    assert "parameters  cells 2\n" in out
    assert "load        cells 3, 6\n" in out
    assert "cell 6, line 2: 'settings.json'" in out  # the hard-coded path
    assert "cell 6, line 3: print(settings)" in out  # display-only


def test_the_numbers_as_a_subprocess(tmp_path: Path) -> None:
    path = write(notebook(*good_cells(), EXTRA), tmp_path / "nb.ipynb")
    result = subprocess.run(
        [sys.executable, "-m", "jupyter_mlprod.cli", "check", str(path), "--json"],
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    assert report["stages"][1]["cells"][-1] == {
        "index": 5,
        "number": 6,
        "id": report["stages"][1]["cells"][-1]["id"],
        "summary": "import json",
    }


def test_the_server_analyse_reuses_the_process_cell_cache() -> None:
    data = notebook(*good_cells(), EXTRA)
    CELL_CACHE.clear()
    first = analyse_report(notebook_from_json(data, "nb.ipynb"))
    misses = CELL_CACHE.misses
    data["cells"][3]["source"] += "\n# edited"
    second = analyse_report(notebook_from_json(data, "nb.ipynb"))
    assert CELL_CACHE.misses == misses + 1  # only the edited cell is parsed again
    assert first["ok"] and second["ok"]
    CELL_CACHE.clear()
    assert analyse_report(notebook_from_json(data, "nb.ipynb")) == second  # same as uncached
