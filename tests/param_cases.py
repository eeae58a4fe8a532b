"""One table of parameter values, read by both command lines' tests.

``nb2prod run -p NAME VALUE`` (tests/runs) and a generated package's ``train --param
NAME=VALUE`` (tests/runtime/test_params.py) must turn the same text into the same value and
refuse the same text: both use ``jupyter_mlprod/runtime/param_types.py``. The expected values
are compared by ``repr`` so that ``1`` and ``1.0``, or a list and a tuple, differ.
"""

from __future__ import annotations

from typing import Any

PARAMETERS_CELL = """\
flag: bool = True
count: int = 3
rate: float = 0.5
name: str = "a"
limit: int | None = None
maybe: int = None
words: list[str] = ["x"]
pair: tuple[float, float] = (0.0, 0.0)
table: dict[str, int] = {"a": 1}
anything = None
choice: int | str = 0
layers = [64, 32]
"""
"""A parameters cell declaring one parameter of each kind the rules distinguish."""

TEXT_CASES: list[tuple[str, str, Any]] = [
    ("flag", "y", True),
    ("flag", "N", False),
    ("flag", "on", True),
    ("flag", "0", False),
    ("flag", "TRUE", True),
    ("count", "7", 7),
    ("count", " 7 ", 7),
    ("count", "1_000", 1000),
    ("rate", "1", 1.0),
    ("rate", "2.5e-3", 0.0025),
    ("name", "7", "7"),
    ("name", " padded ", " padded "),
    ("name", "", ""),
    ("limit", "none", None),
    ("limit", "NULL", None),
    ("limit", "~", None),
    ("limit", "", None),
    ("limit", "5", 5),
    ("maybe", "none", None),
    ("maybe", "4", 4),
    ("words", "age,income", ["age", "income"]),
    ("words", "plan", ["plan"]),
    ("words", '["a", "b"]', ["a", "b"]),
    ("pair", "[1, 2.5]", (1.0, 2.5)),
    ("pair", "1,2", (1.0, 2.0)),
    ("table", '{"b": 2}', {"b": 2}),
    ("table", "{'b': 2}", {"b": 2}),
    ("anything", "hello", "hello"),
    ("anything", "[1, 2]", [1, 2]),
    ("anything", "true", True),
    ("choice", "5", 5),
    ("choice", "abc", "abc"),
    ("layers", "[3,4]", [3, 4]),
]
"""``(parameter, command-line text, value)``: text both command lines accept."""

TEXT_ERRORS: list[tuple[str, str]] = [
    ("flag", "maybe"),
    ("count", "1.5"),
    ("count", "abc"),
    ("rate", "fast"),
    ("words", "3"),
    ("pair", "[1, 2, 3]"),
    ("table", '{"a": "x"}'),
    ("limit", "abc"),
    ("layers", "[0.5]"),
]
"""``(parameter, command-line text)``: text both command lines refuse."""

VALUE_CASES: list[tuple[str, Any, Any]] = [
    ("rate", 2, 2.0),
    # YAML reads 1e-3 (no dot) as a string; it is read as text, like the command line's.
    ("rate", "1e-3", 0.001),
    ("count", "10", 10),
    ("flag", True, True),
    ("words", ["a"], ["a"]),
    ("words", ("a",), ["a"]),
    ("pair", [1, 2], (1.0, 2.0)),
    ("limit", None, None),
    ("maybe", None, None),
    ("table", {"b": "2"}, {"b": 2}),
]
"""``(parameter, typed value from YAML/JSON, value)``: typed values both accept."""

VALUE_ERRORS: list[tuple[str, Any]] = [
    ("count", True),
    ("count", 1.5),
    ("name", 7),
    ("name", None),
    ("flag", 1),
    ("rate", None),
    ("words", "3"),
    ("pair", [1.0]),
]
"""``(parameter, typed value)``: typed values both refuse."""
