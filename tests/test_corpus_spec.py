"""The fidelity corpus's spec (``bench/corpus.json``) and how ``bench/corpus.py`` prepares a
notebook from it: tags by index or by source, cell splits, patches, the baseline's cut and
its cell timeout.

The corpus notebooks themselves are never in the repository, so these tests read the spec
and use notebooks built in code; measuring the corpus is ``python bench/corpus.py``.
"""

from __future__ import annotations

import importlib.util
import json
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

import nbformat
import pytest
from notebooks import code, markdown, notebook

from jupyter_mlprod.roles import ROLE_TAGS

ROOT = Path(__file__).resolve().parent.parent
# Reserved for an independent evaluation: never part of our own corpus.
RESERVED_OWNERS = {"ageron", "justmarkham", "codebasics", "mrdbourke"}
RESERVED_REPOS = {
    "ploomber/ci-notebooks",
    "kubeflow-kale/kale",
    "skops-dev/skops",
    "rasbt/machine-learning-book",
}


@pytest.fixture(scope="module")
def corpus() -> ModuleType:
    """``bench/corpus.py`` imported as a module (bench/ is not a package)."""
    spec = importlib.util.spec_from_file_location("corpus", ROOT / "bench" / "corpus.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["corpus"] = module
    spec.loader.exec_module(module)
    return module


def test_spec_has_enough_notebooks_from_enough_repositories(corpus: ModuleType) -> None:
    entries = corpus.load_spec()
    assert len(entries) >= 25
    assert len({entry.repo for entry in entries}) >= 6


def test_spec_avoids_the_reserved_repositories(corpus: ModuleType) -> None:
    for entry in corpus.load_spec():
        owner = entry.repo.split("/")[0].lower()
        assert owner not in RESERVED_OWNERS, entry.id
        assert entry.repo.lower() not in RESERVED_REPOS, entry.id


def test_every_entry_pins_a_commit_and_names_known_roles(corpus: ModuleType) -> None:
    for entry in corpus.load_spec():
        assert len(entry.commit) == 40 and int(entry.commit, 16) >= 0, entry.id
        assert set(entry.tags) <= ROLE_TAGS, entry.id
        assert entry.tags.get("load") and entry.tags.get("train"), entry.id
        assert len(entry.tags.get("predict", [])) == 1, entry.id
        assert entry.predict_input and entry.predict_output, entry.id
        for change in (*entry.patches, *entry.file_patches, *entry.splits):
            assert change.get("why"), f"{entry.id}: every patch and split says why"


def test_spec_with_an_unknown_key_is_refused(corpus: ModuleType, tmp_path: Path) -> None:
    data = json.loads((ROOT / "bench" / "corpus.json").read_text("utf-8"))
    data["notebooks"][0]["tagz"] = {}
    bad = tmp_path / "corpus.json"
    bad.write_text(json.dumps(data), "utf-8")
    with pytest.raises(corpus.SpecError, match="unknown spec keys"):
        corpus.load_spec(bad)


def _raw(*cells: nbformat.NotebookNode) -> bytes:
    return nbformat.writes(notebook(*cells)).encode()


def _entry(corpus: ModuleType, **fields: object) -> Any:
    base = {
        "id": "case",
        "repo": "someone/tutorial",
        "commit": "0" * 40,
        "path": "nb.ipynb",
        "tags": {},
        "predict": {"input": "X_test", "output": "y_pred"},
    }
    return corpus.Entry.from_json({**base, **fields})


def test_prepare_splits_patches_and_tags_by_source_and_index(corpus: ModuleType) -> None:
    raw = _raw(
        markdown("# A tutorial"),
        code("import sklearn.cross_validation as cv\nX, y = load()", "load", "keep-me"),
        code("model.fit(X, y)\ny_pred = model.predict(X_test)\nprint(y_pred)"),
    )
    entry = _entry(
        corpus,
        tags={"load": [1], "train": ["model.fit(X, y)"], "predict": ["y_pred = model.predict"]},
        patches=[{"cell": 1, "old": "sklearn.cross_validation", "new": "sklearn.model_selection"}],
        splits=[{"cell": "model.fit(X, y)", "before": "y_pred = model.predict"}],
    )
    nb = corpus.prepare_notebook(raw, entry)
    sources = [cell.source for cell in nb.cells]
    assert sources[1].startswith("import sklearn.model_selection as cv")
    assert sources[2] == "model.fit(X, y)"
    assert sources[3] == "y_pred = model.predict(X_test)\nprint(y_pred)"
    # The author's own role tag is replaced by the spec's; other tags stay.
    assert [cell.metadata.get("tags") for cell in nb.cells[1:]] == [
        ["keep-me", "load"],
        ["train"],
        ["predict"],
    ]
    assert nb.metadata["mlprod"] == {"predict_input": "X_test", "predict_output": "y_pred"}


def test_a_reference_matching_two_cells_is_a_spec_error(corpus: ModuleType) -> None:
    raw = _raw(code("model.fit(X, y)"), code("model.fit(X, y)  # again"))
    entry = _entry(corpus, tags={"train": ["model.fit(X, y)"]})
    with pytest.raises(corpus.SpecError, match="matches 2 code cells"):
        corpus.prepare_notebook(raw, entry)


def test_a_patch_that_no_longer_applies_is_a_spec_error(corpus: ModuleType) -> None:
    raw = _raw(code("X = 1"))
    entry = _entry(corpus, patches=[{"cell": 0, "old": "Y = 1", "new": "Y = 2"}])
    with pytest.raises(corpus.SpecError, match="not found in cell 0"):
        corpus.prepare_notebook(raw, entry)


def test_suggestion_mode_gets_no_hand_tags_and_no_splits(corpus: ModuleType) -> None:
    nb = notebook(
        code("X = load_old()", "load", "keep-me"),
        code("model.fit(X, y)\ny_pred = model.predict(X)"),
        mlprod={"predict_input": "X", "predict_output": "y_pred"},
    )
    entry = _entry(
        corpus,
        tags={"train": ["model.fit(X, y)"], "predict": ["y_pred = model.predict"]},
        patches=[{"cell": 0, "old": "load_old", "new": "load_new"}],
        splits=[{"cell": "model.fit(X, y)", "before": "y_pred = model.predict"}],
    )
    bare = corpus.prepare_notebook(nbformat.writes(nb).encode(), entry, hand=False)
    assert [cell.source for cell in bare.cells] == [
        "X = load_new()",
        "model.fit(X, y)\ny_pred = model.predict(X)",
    ]
    assert [cell.metadata.get("tags", []) for cell in bare.cells] == [["keep-me"], []]
    assert "mlprod" not in bare.metadata


def test_the_baseline_stops_at_the_last_stage_cell(corpus: ModuleType) -> None:
    nb = notebook(
        code("X, y = load()", "load"),
        code("y_pred = model.predict(X_test)", "predict"),
        code("X_test = other()"),
        code("print('skipped')", "skip"),
    )
    head = corpus.through_last_stage(nb)
    assert [cell.source for cell in head.cells] == [
        "X, y = load()",
        "y_pred = model.predict(X_test)",
    ]
    assert len(nb.cells) == 4


def test_missing_mirror_says_how_to_make_one(corpus: ModuleType, tmp_path: Path) -> None:
    with pytest.raises(corpus.SpecError, match=r"git clone https://github.com/someone/tutorial"):
        corpus.git_dir(tmp_path, "someone/tutorial")


def test_no_mirror_option_exits_with_the_fix(
    corpus: ModuleType, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv(corpus.MIRROR_ENV, raising=False)
    assert corpus.main(["--list"]) == 2
    assert "--mirror DIR" in capsys.readouterr().err


# --- the per-notebook baseline cell timeout (``cell_timeout``) --------------------------------
# A notebook whose widget cells keep nbclient waiting for their reply until the cell timeout
# (pdsh 05.08, both editions) gets a short limit instead of the 600 s default, so the wait is
# bounded and visible in the spec, never a silent pass.


def test_an_entry_without_cell_timeout_gets_the_default(corpus: ModuleType) -> None:
    assert _entry(corpus).cell_timeout == corpus.CELL_TIMEOUT == 600.0


def test_cell_timeout_is_read_with_its_reason(corpus: ModuleType) -> None:
    entry = _entry(corpus, cell_timeout={"seconds": 90, "why": "widgets"})
    assert entry.cell_timeout == 90.0


@pytest.mark.parametrize("value", [90, {"seconds": 90}, {"seconds": 90, "why": "", "x": 1}])
def test_a_cell_timeout_without_its_reason_is_a_spec_error(corpus: ModuleType, value: Any) -> None:
    with pytest.raises(corpus.SpecError, match="cell_timeout"):
        _entry(corpus, cell_timeout=value)


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
    entry = _entry(corpus, cell_timeout={"seconds": 45, "why": "widgets"})
    record = corpus.run_baseline(notebook, ("X_test", "y_pred"), entry, tmp_path / "cache")
    assert record == {"status": "succeeded"}
    assert seen["timeout"] == 45.0
