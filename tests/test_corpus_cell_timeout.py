"""The fidelity corpus's per-notebook baseline cell timeout (``cell_timeout`` in
``bench/corpus.json``): read from the spec with its reason, handed to the papermill run, and
refused when malformed.

A notebook whose widget cells keep nbclient waiting for their reply until the cell timeout
(pdsh 05.08, both editions) gets a short limit instead of the 600 s default, so the wait is
bounded and visible in the spec, never a silent pass.
"""

from __future__ import annotations

import importlib.util
import json
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parent.parent
BASE = {
    "id": "case",
    "repo": "someone/tutorial",
    "commit": "0" * 40,
    "path": "nb.ipynb",
    "tags": {},
    "predict": {"input": "X_test", "output": "y_pred"},
}


@pytest.fixture(scope="module")
def corpus() -> ModuleType:
    """``bench/corpus.py`` imported as a module (bench/ is not a package)."""
    spec = importlib.util.spec_from_file_location("corpus_timeout", ROOT / "bench" / "corpus.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["corpus_timeout"] = module
    spec.loader.exec_module(module)
    return module


def test_an_entry_without_cell_timeout_gets_the_default(corpus: ModuleType) -> None:
    assert corpus.Entry.from_json(BASE).cell_timeout == corpus.CELL_TIMEOUT == 600.0


def test_cell_timeout_is_read_with_its_reason(corpus: ModuleType) -> None:
    entry = corpus.Entry.from_json({**BASE, "cell_timeout": {"seconds": 90, "why": "widgets"}})
    assert entry.cell_timeout == 90.0


@pytest.mark.parametrize("value", [90, {"seconds": 90}, {"seconds": 90, "why": "", "x": 1}])
def test_a_cell_timeout_without_its_reason_is_a_spec_error(corpus: ModuleType, value: Any) -> None:
    with pytest.raises(corpus.SpecError, match="cell_timeout"):
        corpus.Entry.from_json({**BASE, "cell_timeout": value})


def test_the_spec_bounds_the_widget_chapters_and_says_why(corpus: ModuleType) -> None:
    data = json.loads((ROOT / "bench" / "corpus.json").read_text("utf-8"))
    limited = {
        item["id"]: item["cell_timeout"] for item in data["notebooks"] if "cell_timeout" in item
    }
    assert set(limited) == {"pdsh-05.08-random-forests", "pdsh1-05.08-random-forests"}
    for value in limited.values():
        assert "interact" in value["why"] and value["seconds"] < corpus.CELL_TIMEOUT


def test_the_baseline_runs_with_the_entry_cell_timeout(
    corpus: ModuleType, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from jupyter_mlprod.runs import execute

    seen: dict[str, Any] = {}

    def fake_execute_run(notebook: Path, parameters: Any, runs: Path, **kwargs: Any) -> Any:
        seen.update(kwargs)
        runs.mkdir(parents=True)
        return {"status": "succeeded"}

    monkeypatch.setattr(execute, "execute_run", fake_execute_run)
    notebook = tmp_path / "nb.ipynb"
    notebook.write_text("{}", "utf-8")
    entry = corpus.Entry.from_json({**BASE, "cell_timeout": {"seconds": 45, "why": "widgets"}})
    record = corpus.run_baseline(notebook, ("X_test", "y_pred"), entry, tmp_path / "cache")
    assert record == {"status": "succeeded"}
    assert seen["timeout"] == 45.0
