"""Source-text pieces the renderers share: template files, cell ranges, module assembly, carried
helpers and result dataclasses."""

from __future__ import annotations

import typing
from collections.abc import Iterable
from importlib import resources
from string import Template

import libcst as cst

from ..errors import cell_number
from .placement import Helper


def template_text(name: str) -> str:
    """The text of a file shipped with the package in ``codegen/templates/``."""
    path = resources.files(__package__).joinpath("templates", name)
    return path.read_text(encoding="utf-8")


def load_template(name: str) -> Template:
    """A template file from ``codegen/templates/``; its placeholders are ``${name}``."""
    return Template(template_text(name))


def cells_text(cells: Iterable[int]) -> str:
    """``notebook cells 3, 5-9, 12`` for 0-based indices 2, 4-8, 11: numbered as JupyterLab
    shows them, consecutive cells as ranges, so headers stay one line."""
    ordered = sorted({cell_number(cell) for cell in cells})
    if not ordered:
        return "no cells"
    runs: list[list[int]] = []
    for cell in ordered:
        if runs and cell == runs[-1][-1] + 1:
            runs[-1].append(cell)
        else:
            runs.append([cell])
    parts = [str(run[0]) if len(run) == 1 else f"{run[0]}-{run[-1]}" for run in runs]
    return ("notebook cell " if len(ordered) == 1 else "notebook cells ") + ", ".join(parts)


def assemble(header: Iterable[str], imports: Iterable[str], code: Iterable[str]) -> str:
    """A module: its docstring lines, its import lines (empty and repeated ones dropped), then
    its top-level definitions, two blank lines apart."""
    import_block = "\n".join(dict.fromkeys(line for line in imports if line))
    parts = ["\n".join(header), import_block, *[part.strip("\n") for part in code if part]]
    return "\n\n\n".join(part for part in parts if part) + "\n"


def helper_code(helper: Helper, node: cst.BaseStatement | None = None, note: str = "") -> str:
    """A carried function or class as the notebook wrote it (or as ``node``, when codegen
    changed it), under a comment naming its cell and the ``note`` line saying what changed."""
    written = typing.cast(
        "cst.SimpleStatementLine | cst.BaseCompoundStatement", node or helper.statement.node
    )
    code = cst.Module(body=[written]).code
    header = f"# From notebook cell {cell_number(helper.statement.cell)}.\n"
    return header + (f"{note}\n" if note else "") + code.lstrip()


def result_dataclass(class_name: str, role: str, outputs: Iterable[str]) -> str:
    """The frozen dataclass a stage returns its outputs in (empty when it has none)."""
    names = list(outputs)
    if not names:
        return ""
    fields = "\n".join(f"    {name}: Any" for name in names)
    return (
        "@dataclass(frozen=True)\n"
        f"class {class_name}:\n"
        f'    """What the {role} stage hands to later stages."""\n\n'
        f"{fields}\n"
    )
