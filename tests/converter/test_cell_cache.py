"""The per-cell parse cache of intake: one edit re-parses one cell, and a cached analysis is
the analysis the notebook would get without the cache."""

from __future__ import annotations

import dataclasses
from typing import Any

import pytest

from jupyter_mlprod.analysis import analyse_notebook
from jupyter_mlprod.analysis.cache import CELL_CACHE, CellCache
from jupyter_mlprod.analysis.intake import read_cells
from jupyter_mlprod.analysis.log import ProblemLog
from jupyter_mlprod.notebook import Notebook, notebook_from_json
from jupyter_mlprod.report import report_json

from .helpers import code, good_cells, notebook


def read(*cells: Any) -> Notebook:
    return notebook_from_json(notebook(*cells), "nb.ipynb")


def edited(nb: Notebook, index: int, source: str) -> Notebook:
    cells = list(nb.cells)
    cells[index] = dataclasses.replace(cells[index], source=source)
    return dataclasses.replace(nb, cells=tuple(cells))


def test_an_edit_to_one_cell_parses_only_that_cell() -> None:
    cache = CellCache()
    nb = read(*good_cells())
    read_cells(nb, ProblemLog(nb), cache)
    assert (cache.misses, cache.hits) == (5, 0)
    changed = edited(nb, 3, nb.cells[3].source + "model.fit(X_train, y_train)\n")
    read_cells(changed, ProblemLog(changed), cache)
    assert (cache.misses, cache.hits) == (6, 4)


def test_a_moved_cell_is_not_parsed_again_and_its_statements_name_its_new_index() -> None:
    cache = CellCache()
    nb = read(*good_cells())
    read_cells(nb, ProblemLog(nb), cache)
    moved = read(code("print('hello')"), *good_cells())
    intake = read_cells(moved, ProblemLog(moved), cache)
    assert cache.misses == 6  # only the new cell
    predict = [statement for statement, role in intake.statements if role == "predict"]
    assert [statement.cell for statement in predict] == [5]


def test_two_cells_with_one_source_get_their_own_statements() -> None:
    cache = CellCache()
    nb = read(*good_cells(), code("x = 1"), code("x = 1"))
    intake = read_cells(nb, ProblemLog(nb), cache)
    first, second = (
        statement for statement, _ in intake.statements if statement.code.strip() == "x = 1"
    )
    assert (first.cell, second.cell) == (5, 6)
    assert first.node is not second.node
    read_cells(nb, ProblemLog(nb), cache)
    assert cache.misses == 7 and cache.hits == 7  # both stay cached


def test_the_cache_keeps_at_most_its_capacity_dropping_the_least_recently_used() -> None:
    cache = CellCache(capacity=2)
    cache.parse(0, "a = 1")
    cache.parse(1, "b = 2")
    cache.parse(0, "a = 1")  # a is now the most recent
    cache.parse(2, "c = 3")  # drops b
    assert len(cache) == 2
    cache.parse(0, "a = 1")
    assert cache.hits == 2
    cache.parse(1, "b = 2")
    assert cache.misses == 4


def test_a_capacity_below_one_is_refused() -> None:
    with pytest.raises(ValueError, match="at least 1"):
        CellCache(capacity=0)


@pytest.mark.parametrize(
    "source",
    ["model = LogisticRegression(C=C\n", "%%bash\necho hi\n", "x = 1\x00\n", "%time y = 2\n"],
)
def test_the_report_from_cached_cells_equals_the_report_without_them(source: str) -> None:
    nb = read(*good_cells(), code(source, "train"))
    CELL_CACHE.clear()
    cold = report_json(analyse_notebook(nb))
    warm = report_json(analyse_notebook(nb))
    assert warm == cold
    assert CELL_CACHE.hits >= 6


def test_a_cell_magic_is_not_a_cell_summary() -> None:
    nb = read(*good_cells()[:3], code("%%time\n" + good_cells()[3].source, "train"))
    intake = read_cells(nb, ProblemLog(nb), CellCache())
    assert intake.cells[-1].summary == "model = LogisticRegression(C=C)"
