"""Hypothesis strategies for hostile and clumsy input: notebooks, request bodies, store damage.

The notebook strategies draw cell sources from a small grammar of Python and IPython lines
(assignments, calls, imports, definitions, magics, shell lines, nested brackets, long
operator chains, unicode, NUL, lone surrogates) mixed with garbage, and wrap them in cells and
notebooks whose metadata and tags are sometimes well formed and sometimes not.

Nesting stays below :data:`IN_PROCESS_MAX_DEPTH` in everything a test feeds to the converter
in-process: libcst's native parser overflows the C stack (SIGSEGV) a little past 1,000 nested
brackets, which would kill the test process rather than fail one test. Deeper sources are
only ever given to a subprocess (:data:`DEEP_NESTING_SOURCES`).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from hypothesis import strategies as st

from jupyter_mlprod import roles

_Content = TypeVar("_Content", str, bytes)


@dataclass(frozen=True)
class Shown(Generic[_Content]):
    """A file's or a body's content, shown abbreviated when Hypothesis reports an example (a
    100,000-deep JSON text would otherwise fill the terminal)."""

    content: _Content

    def __repr__(self) -> str:
        head = self.content[:160]
        more = f" … ({len(self.content)} in all)" if len(self.content) > len(head) else ""
        return f"Shown({head!r}{more})"


IN_PROCESS_MAX_DEPTH = 260
"""Deeper than Python's own parser accepts (200), shallower than what crashes libcst."""

ROLE_TAGS = [roles.PARAMETERS, roles.LOAD, roles.TRAIN, roles.PREDICT, roles.SKIP]
OTHER_TAGS = ["", "Train", "predict ", "hide-input", "parameters\n", "evaluate", "\x1b[31mred"]

# Names the generated code itself binds or imports, beside ordinary ones: a notebook that uses
# them must either convert to a package that works or be refused in one line.
NAMES = [
    "x", "y", "df", "model", "X_train", "X_test", "y_train", "y_pred", "C", "n_rows", "seed",
    "field", "list", "dict", "dataclass", "params", "Params", "sys", "np", "pd", "pipeline",
    "predict", "train", "artifacts", "café", "ζ", "_", "__name__",
]  # fmt: skip

IMPORTS = [
    "import numpy as np",
    "import pandas as pd",
    "from sklearn.linear_model import LogisticRegression",
    "import os, sys",
    "from . import nothing",
    "from __future__ import annotations",
    "import definitely_not_installed_pkg",
]

MAGICS = [
    "%time x = 1",
    "%timeit -n1 f(1)",
    "%%capture",
    "%%capture out\nx = 1",
    "%%time\ny = 2",
    "%matplotlib inline",
    "%load_ext autoreload",
    "!pip install xgboost",
    "!pip install 'scikit-learn>=1.3' --quiet",
    "!ls -la",
    "files = !ls",
    "x?",
    "%%bash\necho hi",
    "%unknown_magic --flag",
]

GARBAGE_PIECES = ["\x00", "\ud800", "\udfff", "\ufeff", "\r", "\t", "\x1b[2J", "\u202e", "'''"]

name = st.sampled_from(NAMES)


def _literal() -> st.SearchStrategy[str]:
    return st.one_of(
        st.integers(-(10**30), 10**30).map(str),
        st.floats(allow_nan=False, allow_infinity=False).map(repr),
        st.text(max_size=8).map(repr),
        st.sampled_from(["None", "True", "[1, 2]", "{'a': 1}", "(1,)", "1e400", "0x1F"]),
        st.integers(1, 5000).map(lambda digits: "9" * digits),
    )


expression = st.recursive(
    st.one_of(_literal(), name),
    lambda inner: st.one_of(
        st.tuples(inner, st.sampled_from(["+", "-", "*", "/", "and", "or", "==", "@"]), inner).map(
            " ".join
        ),
        st.tuples(name, st.lists(inner, max_size=3)).map(
            lambda call: f"{call[0]}({', '.join(call[1])})"
        ),
        st.lists(inner, max_size=3).map(lambda items: f"[{', '.join(items)}]"),
        st.tuples(name, name).map(lambda pair: f"{pair[0]}.{pair[1]}"),
    ),
    max_leaves=8,
)


def nested(depth: int, opener: str = "(") -> str:
    """An expression statement nested ``depth`` brackets deep."""
    closer = {"(": ")", "[": "]", "{": "}"}[opener]
    return "x = " + opener * depth + "1" + closer * depth


def operator_chain(terms: int, operator: str = "+") -> str:
    """``z = 1+1+…+1`` with ``terms`` terms (valid Python; deep for a recursive walker)."""
    return "z = " + operator.join(["1"] * terms)


DEEP_NESTING_SOURCES = [nested(2_000), nested(5_000, "["), nested(3_000, "{")]
"""Sources that crash libcst's native parser: for subprocesses only."""

python_line = st.one_of(
    st.tuples(name, expression).map(lambda pair: f"{pair[0]} = {pair[1]}"),
    st.tuples(name, name, expression).map(lambda t: f"{t[0]}: {t[1]} = {t[2]}"),
    st.tuples(name, st.lists(expression, max_size=3)).map(lambda c: f"{c[0]}({', '.join(c[1])})"),
    st.sampled_from(IMPORTS),
    st.tuples(name, name, expression).map(lambda d: f"def {d[0]}({d[1]}):\n    return {d[2]}"),
    st.tuples(name, expression).map(lambda c: f"class {c[0]}:\n    value = {c[1]}"),
    st.tuples(name, expression).map(lambda f: f"for {f[0]} in {f[1]}:\n    pass"),
    st.sampled_from(MAGICS),
    st.tuples(st.integers(1, IN_PROCESS_MAX_DEPTH), st.sampled_from("([{")).map(
        lambda nest: nested(*nest)
    ),
    st.tuples(st.integers(1, 1_200), st.sampled_from(["+", "*", " and ", "-"])).map(
        lambda chain: operator_chain(*chain)
    ),
    st.sampled_from(GARBAGE_PIECES),
    st.text(max_size=30),
)

cell_source = st.lists(python_line, max_size=6).map("\n".join)

tags = st.lists(st.sampled_from(ROLE_TAGS + OTHER_TAGS), max_size=4)

json_scalar = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-(10**20), 10**20),
    st.floats(allow_nan=False, allow_infinity=False),
    st.text(max_size=12),
)

json_value = st.recursive(
    json_scalar,
    lambda inner: st.one_of(
        st.lists(inner, max_size=4), st.dictionaries(st.text(max_size=8), inner, max_size=4)
    ),
    max_leaves=12,
)

DEEP_JSON = "__DEEP_JSON__"
"""A placeholder string the notebook writer replaces with a deeply nested JSON text."""

metadata_value = st.one_of(json_value, st.just(DEEP_JSON))

cell_metadata = st.one_of(
    st.builds(lambda cell_tags: {"tags": cell_tags}, tags),
    st.fixed_dictionaries({"tags": tags}, optional={"mlprod": json_value, "jupyter": json_value}),
    json_value,
)

cell_id = st.one_of(
    st.text(alphabet="abcdef0123456789-", min_size=1, max_size=12),
    st.sampled_from(["a\nb", "\x1b[31mred\x1b[0m", "", "x" * 300, "\ud800"]),
    json_scalar,
)


@st.composite
def raw_cell(draw: st.DrawFn) -> Any:
    """One cell, usually of the right shape, sometimes not at all."""
    if draw(st.integers(0, 19)) == 0:
        return draw(json_value)
    source: Any = draw(cell_source)
    if draw(st.booleans()):
        source = source.splitlines(keepends=True)
    if draw(st.integers(0, 9)) == 0:
        source = draw(json_value)
    cell: dict[str, Any] = {
        "cell_type": draw(st.sampled_from(["code"] * 6 + ["markdown", "raw", "heading", None])),
        "source": source,
        "metadata": draw(cell_metadata),
        "outputs": [],
        "execution_count": None,
    }
    if draw(st.booleans()):
        cell["id"] = draw(cell_id)
    return cell


harmless_cell = st.one_of(
    st.builds(
        lambda text: {"cell_type": "markdown", "source": text, "metadata": {}}, st.text(max_size=40)
    ),
    st.builds(
        lambda source: {
            "cell_type": "code",
            "source": source,
            "metadata": {"tags": [roles.SKIP]},
            "outputs": [],
        },
        cell_source,
    ),
)
"""A cell that changes nothing a conversion produces: markdown, or code tagged skip."""


def good_cells() -> list[dict[str, Any]]:
    """A valid four-stage pipeline (no files needed), to mutate from."""
    return [
        {"cell_type": "code", "source": source, "metadata": {"tags": cell_tags}, "outputs": []}
        for source, cell_tags in [
            ("import numpy as np\nfrom sklearn.linear_model import LogisticRegression", []),
            ("C: float = 1.0\nn_rows: int = 200", [roles.PARAMETERS]),
            (
                "rng = np.random.default_rng(0)\nX = rng.normal(size=(n_rows, 3))\n"
                "y = (X[:, 0] > 0).astype(int)\nX_train, X_test = X[:150], X[150:]\n"
                "y_train = y[:150]",
                [roles.LOAD],
            ),
            ("model = LogisticRegression(C=C).fit(X_train, y_train)", [roles.TRAIN]),
            ("y_pred = model.predict(X_test)", [roles.PREDICT]),
        ]
    ]


@st.composite
def notebook_json(draw: st.DrawFn) -> Any:
    """A would-be notebook as JSON data: a mutated good pipeline or cells from scratch."""
    if draw(st.integers(0, 2)) == 0:
        cells: list[Any] = good_cells()
        # Harmless changes keep it convertible (so the writing path is fuzzed too) ...
        for _ in range(draw(st.integers(0, 2))):
            position = draw(st.integers(0, len(cells)))
            cells.insert(position, draw(harmless_cell))
        for cell in cells:
            cell["metadata"].setdefault("tags", [])
            cell["metadata"]["tags"] += draw(st.lists(st.sampled_from(OTHER_TAGS), max_size=1))
        # ... hostile ones usually do not.
        if draw(st.integers(0, 2)) == 0:
            target = cells[draw(st.integers(0, len(cells) - 1))]
            target["source"] = draw(cell_source)
        if draw(st.integers(0, 2)) == 0:
            cells.insert(draw(st.integers(0, len(cells))), draw(raw_cell()))
    else:
        cells = draw(st.lists(raw_cell(), max_size=6))
    metadata: Any = draw(
        st.one_of(
            st.fixed_dictionaries(
                {}, optional={"mlprod": metadata_value, "kernelspec": metadata_value}
            ),
            metadata_value,
        )
    )
    document: dict[str, Any] = {
        "nbformat": draw(st.sampled_from([4, 4, 4, 3, 5, "4", None])),
        "nbformat_minor": 5,
        "metadata": metadata,
        "cells": cells,
    }
    for key in draw(st.sets(st.sampled_from(["metadata", "cells", "nbformat"]), max_size=1)):
        if draw(st.booleans()):
            del document[key]
        else:
            document[key] = draw(json_value)
    return document


def deep_json(depth: int) -> str:
    """A JSON text of ``depth`` nested objects and arrays (too deep for json.dumps to write)."""
    return '{"a": [' * depth + "1" + "]}" * depth


notebook_text = st.one_of(
    st.tuples(notebook_json(), st.sampled_from([10, 1_000, 100_000])).map(
        # ensure_ascii keeps lone surrogates as \\ud800 escapes, as a real file would carry them.
        lambda pair: json.dumps(pair[0]).replace(json.dumps(DEEP_JSON), deep_json(pair[1]))
    ),
    st.text(max_size=200),
).map(Shown)
"""The text of a notebook file: JSON of :func:`notebook_json`, or not JSON at all."""

package_name = st.one_of(
    st.none(),
    st.sampled_from(["sys", "class", "café", "list", "my_model", "1abc", "a-b", "", "json"]),
)


# ---------------------------------------------------------------- request bodies

CHURN_COLUMNS = ["age", "income", "plan", "churn", "columns", "data", "instances"]

churn_value = st.one_of(
    json_scalar,
    st.sampled_from([10**400, -1, 2**63, "basic", "pro", "42", "", "NaN"]),
    st.lists(json_scalar, max_size=2),
)

churn_record = st.fixed_dictionaries(
    {},
    optional={"age": churn_value, "income": churn_value, "plan": churn_value, "x": churn_value},
)

valid_churn_record = st.fixed_dictionaries(
    {
        "age": st.integers(0, 120),
        "income": st.floats(-1e9, 1e9, allow_nan=False),
        "plan": st.sampled_from(["basic", "plus", "pro", "unknown plan"]),
    },
    optional={"extra": json_scalar},
)

predict_document = st.one_of(
    st.lists(valid_churn_record, min_size=1, max_size=5),
    st.lists(churn_record, max_size=5),
    st.fixed_dictionaries(
        {"columns": st.one_of(st.just(["age", "income", "plan"]), json_value)},
        optional={"data": st.one_of(st.lists(st.lists(churn_value, max_size=4)), json_value)},
    ),
    st.fixed_dictionaries({"instances": st.one_of(st.lists(churn_record, max_size=3), json_value)}),
    json_value,
)


def deep_array(depth: int) -> bytes:
    """``[[[…]]]`` ``depth`` deep (990 deep is about 2 KB)."""
    return b"[" * depth + b"]" * depth


request_body = st.one_of(
    predict_document.map(lambda document: json.dumps(document).encode()),
    st.integers(1, 20_000).map(deep_array),
    st.binary(max_size=64),
    st.sampled_from(
        [b"", b"NaN", b"[Infinity]", b'{"age": 1e999}', b"\xff\xfe", b'"\\ud800"', b"[1,]"]
    ),
).map(Shown)
"""The body of a ``POST /predict`` request: JSON documents of the right and wrong shapes,
deeply nested arrays, bytes that are not JSON or not UTF-8."""

analyse_path = st.one_of(
    st.just("nb.ipynb"),
    st.sampled_from(["../outside.ipynb", "/etc/passwd", ".hidden/nb.ipynb", "a\x00b", "", "."]),
    json_scalar,
)


@st.composite
def analyse_body(draw: st.DrawFn) -> Shown[bytes]:
    """A ``POST mlprod/analyse`` body: a path and a posted notebook, or something else."""
    choice = draw(st.integers(0, 5))
    if choice == 0:
        return draw(request_body)
    body: Any = {"path": draw(analyse_path)}
    if choice < 4:
        body["notebook"] = draw(notebook_json())
    elif choice == 4:
        body["notebook"] = draw(json_value)
    text = json.dumps(body)
    if draw(st.integers(0, 5)) == 0:
        text = text.replace(json.dumps(body["path"]), deep_json(draw(st.integers(100, 50_000))), 1)
    return Shown(text.encode())


# ------------------------------------------------------------------ store damage

MANIFEST_FIELDS = [
    "format", "version", "schema", "metrics", "artifacts", "params", "row_independent",
    "predict_output", "package", "created",
]  # fmt: skip
ARTIFACT_FIELDS = ["name", "file", "format", "sha256", "type", "bytes", "class", "init_kwargs"]

hostile_value = st.one_of(
    json_value,
    st.sampled_from(
        ["../../../etc/passwd", "os:system", "builtins:eval", "pickle", "joblib", "torch-module"]
    ),
    st.sampled_from([float("nan"), 1e308, -1, "v2", {"kind": "object"}, {"kind": 3}]),
)

store_damage = st.one_of(
    st.tuples(st.just("delete"), st.sampled_from(["manifest", "aliases", "artifact", "artifacts"])),
    st.tuples(
        st.just("truncate"),
        st.sampled_from(["manifest", "aliases", "artifact"]),
        st.integers(0, 64),
    ),
    st.tuples(st.just("manifest"), st.sampled_from(MANIFEST_FIELDS), st.none() | hostile_value),
    st.tuples(
        st.just("artifact-entry"),
        st.integers(0, 3),
        st.sampled_from(ARTIFACT_FIELDS),
        st.none() | hostile_value,
    ),
    st.tuples(st.just("aliases"), json_value),
    st.tuples(
        st.just("alias-entry"),
        st.sampled_from(["version", "stack", "history"]),
        st.none() | hostile_value,
    ),
    st.tuples(st.just("empty-version"), st.sampled_from(["v2", "v10", "v0", "v01"])),
    st.tuples(st.just("canary-pickle"), st.sampled_from(["pickle", "joblib"]), st.booleans()),
)
"""One thing done to a model store; tests/fuzz/test_store_damage.py applies it. ``None`` as
a field value means "delete the field"."""
