"""IPython syntax in cells (``%magics``, ``%%cell magics``, ``!shell``, ``obj?``) → plain Python.

IPython's own input transformer decides what is IPython syntax, so edge cases (escaped
lines, help syntax, assignments from shell output) are recognised exactly as the kernel
would. Each such line is then dropped (or, for ``%time stmt``, reduced to the statement)
and noted, keeping the cell's line count so later messages point at the right line.
``%pip install`` / ``!pip install`` lines become requirements.
"""

from __future__ import annotations

import ast
import re
import shlex
from dataclasses import dataclass

# Cell magics whose body is ordinary Python that runs once.
_PYTHON_BODY_CELL_MAGICS = frozenset({"time", "capture", "prun"})
# Line magics whose argument is a statement that runs once: keep the statement.
_STATEMENT_LINE_MAGICS = frozenset({"time", "prun"})
_MAYBE_IPYTHON = re.compile(r"^\s*[%!?]|[=(,]\s*[%!]|\?\s*$|get_ipython\(\)", re.MULTILINE)
_PIP_FLAGS_WITH_VALUE = frozenset(
    {
        "-r",
        "--requirement",
        "-c",
        "--constraint",
        "-i",
        "--index-url",
        "--extra-index-url",
        "-f",
        "--find-links",
        "-t",
        "--target",
    }
)


@dataclass(frozen=True)
class MagicNote:
    """One piece of IPython syntax and what the converter did with it."""

    line: int
    code: str
    action: str  # "dropped", "requirement" or "kept-body"
    requirements: tuple[str, ...] = ()


@dataclass(frozen=True)
class PlainCell:
    """A cell's source as plain Python, with notes on the IPython syntax it held."""

    python: str
    notes: tuple[MagicNote, ...]


def to_python(source: str) -> PlainCell:
    """Turn one cell's source into plain Python with the same number of lines."""
    lines = source.split("\n")
    first = next((i for i, line in enumerate(lines) if line.strip()), None)
    notes: list[MagicNote] = []
    if first is not None and lines[first].lstrip().startswith("%%"):
        magic = lines[first].strip()[2:].split(maxsplit=1)[0] if lines[first].strip()[2:] else ""
        if magic not in _PYTHON_BODY_CELL_MAGICS:
            # %%bash, %%writefile, %%html…: the body is not Python; the cell is left out.
            note = MagicNote(first + 1, lines[first].strip(), "dropped")
            return PlainCell("\n" * (len(lines) - 1), (note,))
        notes.append(MagicNote(first + 1, lines[first].strip(), "kept-body"))
        lines[first] = ""
        source = "\n".join(lines)
    if not _MAYBE_IPYTHON.search(source):
        return PlainCell(source, tuple(notes))
    return _transform_lines(source, notes)


def _transform_lines(source: str, notes: list[MagicNote]) -> PlainCell:
    # Imported lazily: IPython is only needed for cells that look like they use its syntax.
    from IPython.core.inputtransformer2 import TransformerManager

    try:
        transformed = TransformerManager().transform_cell(source)
    except SyntaxError:
        return PlainCell(source, tuple(notes))  # the parser will report the real error
    original_lines = source.split("\n")
    new_lines = transformed.rstrip("\n").split("\n")
    new_lines += [""] * (len(original_lines) - len(new_lines))
    if len(new_lines) != len(original_lines):
        # Continuation lines were merged: keep IPython's text, line numbers are approximate.
        return PlainCell(transformed, tuple(notes))
    output: list[str] = []
    for number, (before, after) in enumerate(zip(original_lines, new_lines, strict=True), start=1):
        # Lines already spelled `get_ipython().…` (scripts from `nbconvert --to script`) count too.
        if "get_ipython()" not in after:
            output.append(after)
            continue
        replacement, note = _replace_magic_line(number, before, after)
        output.append(replacement)
        notes.append(note)
    return PlainCell("\n".join(output), tuple(notes))


def _replace_magic_line(number: int, before: str, after: str) -> tuple[str, MagicNote]:
    indent = after[: len(after) - len(after.lstrip())]
    # Inside a block an empty line would leave the block empty: use `pass` there.
    blank = f"{indent}pass" if indent else ""
    code = before.strip()
    call = _magic_call(after.strip())
    if call is None:
        return blank, MagicNote(number, code, "dropped")
    method, name, argument = call
    command = f"{name} {argument}".strip() if method == "run_line_magic" else name
    if method in {"run_line_magic", "system"} and command.startswith("pip install"):
        requirements = _pip_requirements(command)
        return blank, MagicNote(number, code, "requirement", requirements)
    if method == "run_line_magic" and name in _STATEMENT_LINE_MAGICS and argument:
        return indent + argument, MagicNote(number, code, "kept-body")
    return blank, MagicNote(number, code, "dropped")


def _magic_call(text: str) -> tuple[str, str, str] | None:
    """``get_ipython().run_line_magic('time', 'x = 1')`` → (method, name, argument)."""
    try:
        tree = ast.parse(text)
    except SyntaxError:
        return None
    if len(tree.body) != 1:
        return None
    node = tree.body[0]
    value = node.value if isinstance(node, (ast.Expr, ast.Assign)) else None
    if not isinstance(value, ast.Call) or not isinstance(value.func, ast.Attribute):
        return None
    if isinstance(node, ast.Assign):
        return None  # `x = !ls`: the value only exists in a shell; dropped
    args = [arg.value for arg in value.args if isinstance(arg, ast.Constant)]
    strings = [arg for arg in args if isinstance(arg, str)]
    if not strings:
        return None
    return value.func.attr, strings[0], strings[1] if len(strings) > 1 else ""


def _pip_requirements(command: str) -> tuple[str, ...]:
    try:
        words = shlex.split(command)[2:]
    except ValueError:
        return ()
    requirements: list[str] = []
    skip_next = False
    for word in words:
        if skip_next:
            skip_next = False
        elif word in _PIP_FLAGS_WITH_VALUE:
            skip_next = True
        elif not word.startswith("-") and not word.startswith("$") and "{" not in word:
            requirements.append(word)
    return tuple(requirements)
