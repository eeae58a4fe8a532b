"""Reading notebooks and writing output trees: the only module that touches storage for
``check``, ``convert`` and ``tag``.

Notebooks are validated up front so that every later stage can trust their shape, and every
defect becomes one :class:`~jupyter_mlprod.errors.NotebookError` line instead of a traceback.
Output trees are written into a temporary sibling directory and renamed into place, so a
failed conversion never leaves a half-written package behind. Tag edits (``nb2prod tag
--write``) go the same way: a temporary file beside the notebook, renamed over it.

Splitting a cell (``nb2prod tag --write`` proposes it when one cell fits and predicts) works
like JupyterLab's split-cell: the first part keeps the cell's id, metadata and unrelated tags;
the second part is a new code cell with a new id (nbformat 4.5 and later) and only the tags
it is given; the outputs and execution count go with the second part, since what a cell
shows comes from its last lines.
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
import tempfile
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from json import JSONDecodeError
from pathlib import Path
from typing import Any

from .errors import (
    ForeignOutputError,
    NotebookError,
    OutputExistsError,
    OutputPathError,
    cell_number,
)
from .runtime.json_input import nesting_exceeds

SUPPORTED_MAJOR = 4

#: Deepest nesting of objects and arrays a notebook may have. Real notebooks stay far below it
#: (cell metadata, widget state and JSON outputs nest a few dozen levels); past it, the
#: recursive readers after this one (nbformat, papermill, json.dumps) would fail.
MAX_JSON_DEPTH = 200


@dataclass(frozen=True)
class Cell:
    """One notebook cell, as far as the tool cares."""

    index: int
    cell_id: str | None
    cell_type: str
    source: str
    tags: tuple[str, ...]


@dataclass(frozen=True)
class Notebook:
    """A validated nbformat-4 notebook: its cells and notebook-level metadata."""

    path: str
    cells: tuple[Cell, ...]
    metadata: dict[str, Any]

    @property
    def code_cells(self) -> tuple[Cell, ...]:
        return tuple(cell for cell in self.cells if cell.cell_type == "code")


def load_notebook(path: str | os.PathLike[str]) -> Notebook:
    """Read and validate an nbformat-4 notebook from disk.

    Raises:
        NotebookError: missing or unreadable file, invalid JSON, old or invalid nbformat.
    """
    shown = str(path)
    try:
        text = Path(path).read_text(encoding="utf-8")
    except FileNotFoundError:
        raise NotebookError(shown, "no such file", "check the path") from None
    except IsADirectoryError:
        raise NotebookError(shown, "is a directory", "pass an .ipynb file") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise NotebookError(shown, f"cannot read the file ({exc})") from None
    # Decoded here rather than by runtime.json_input.decode_json, whose message names the
    # error's kind only: a notebook's own author wants the line and column. The depth rule is
    # that module's (nesting_exceeds), as for the server extension's request bodies.
    try:
        data = json.loads(text)
    except JSONDecodeError as exc:
        raise NotebookError(
            shown,
            f"not valid JSON (line {exc.lineno}, column {exc.colno}: {exc.msg})",
            "is this an .ipynb file? Re-save it from Jupyter",
        ) from None
    except RecursionError:
        too_deep = True
    else:
        too_deep = nesting_exceeds(data, MAX_JSON_DEPTH)
    if too_deep:
        raise NotebookError(
            shown,
            f"JSON nested deeper than {MAX_JSON_DEPTH} levels",
            "is this an .ipynb file? Re-save it from Jupyter",
        )
    return notebook_from_json(data, shown)


def notebook_from_json(data: Any, path: str) -> Notebook:
    """Validate notebook JSON (from disk or from the browser) and return it as a value.

    Only the structure the tool relies on is checked: importing nbformat's full JSON-schema
    validator would cost more start-up time than a whole conversion.

    Raises:
        NotebookError: not a notebook, an nbformat older than 4, or a malformed cell.
    """
    if not isinstance(data, Mapping) or ("cells" not in data and "worksheets" not in data):
        raise NotebookError(path, "not a Jupyter notebook (no cells)", "pass an .ipynb file")
    major = data.get("nbformat")
    if not isinstance(major, int):
        raise NotebookError(path, "not a Jupyter notebook (no nbformat version)")
    if major < SUPPORTED_MAJOR:
        raise NotebookError(
            path,
            f"nbformat {major} is not supported (need 4)",
            "upgrade it with `jupyter nbconvert --to notebook --nbformat 4 --inplace "
            f"{path}` or re-save it in JupyterLab",
        )
    if major > SUPPORTED_MAJOR:
        raise NotebookError(path, f"nbformat {major} is newer than this tool understands (4)")
    raw_cells = data.get("cells")
    metadata = data.get("metadata", {})
    if not isinstance(raw_cells, list):
        raise NotebookError(path, "invalid notebook: `cells` must be a list", "re-save it")
    if not isinstance(metadata, Mapping):
        raise NotebookError(path, "invalid notebook: `metadata` must be an object", "re-save it")
    cells = tuple(_read_cell(raw, index, path) for index, raw in enumerate(raw_cells))
    return Notebook(path=path, cells=cells, metadata=dict(metadata))


def _read_cell(raw: Any, index: int, path: str) -> Cell:
    if not isinstance(raw, Mapping) or raw.get("cell_type") not in {"code", "markdown", "raw"}:
        raise NotebookError(
            path, f"cell {cell_number(index)}: not a code, markdown or raw cell", "re-save it"
        )
    source = raw.get("source", "")
    if isinstance(source, list) and all(isinstance(part, str) for part in source):
        source = "".join(source)
    if not isinstance(source, str):
        raise NotebookError(path, f"cell {cell_number(index)}: `source` must be text", "re-save it")
    metadata = raw.get("metadata", {})
    if not isinstance(metadata, Mapping):
        raise NotebookError(
            path, f"cell {cell_number(index)}: `metadata` must be an object", "re-save it"
        )
    tags = metadata.get("tags", [])
    if not isinstance(tags, list) or not all(isinstance(tag, str) for tag in tags):
        raise NotebookError(
            path, f"cell {cell_number(index)}: `metadata.tags` must be a list of strings"
        )
    cell_id = raw.get("id")
    for text in (source, cell_id if isinstance(cell_id, str) else "", *tags):
        _refuse_surrogates(text, index, path)
    return Cell(
        index=index,
        cell_id=cell_id if isinstance(cell_id, str) else None,
        cell_type=str(raw["cell_type"]),
        source=source,
        tags=tuple(tags),
    )


def split_source(source: str, line: int) -> tuple[str, str]:
    """A cell's source cut before its 1-based ``line``: (first part, second part).

    The first part loses its trailing newlines, as JupyterLab's split-cell does.

    Raises:
        ValueError: ``line`` is not a line after the first one.
    """
    lines = source.splitlines(keepends=True)
    if not 1 < line <= len(lines):
        raise ValueError(f"no line {line} to split before")
    return "".join(lines[: line - 1]).rstrip("\n"), "".join(lines[line - 1 :])


def split_notebook(notebook: Notebook, splits: Mapping[int, int]) -> Notebook:
    """The notebook as it reads after splitting cells (cell index → line, see
    :func:`split_source`), as a value; the second parts have no id and no tags yet.

    Raises:
        ValueError: a cell index or line that does not exist.
    """
    cells: list[Cell] = []
    for cell in notebook.cells:
        if cell.index in splits:
            head, tail = split_source(cell.source, splits[cell.index])
            cells.append(Cell(len(cells), cell.cell_id, cell.cell_type, head, cell.tags))
            cells.append(Cell(len(cells), None, cell.cell_type, tail, ()))
        else:
            cells.append(Cell(len(cells), cell.cell_id, cell.cell_type, cell.source, cell.tags))
    if set(splits) - {cell.index for cell in notebook.cells}:
        raise ValueError("no such cell to split")
    return Notebook(path=notebook.path, cells=tuple(cells), metadata=dict(notebook.metadata))


def write_cell_tags(
    path: str | os.PathLike[str],
    tags_by_cell: Mapping[int, Sequence[str]],
    *,
    splits: Mapping[int, tuple[int, str]] | None = None,
) -> None:
    """Set ``metadata.tags`` of some cells of the notebook at ``path``, atomically, after
    splitting cells if asked.

    Everything else in the file (outputs, other metadata, cell order) is written back as read,
    in nbformat's own layout (one-space indent, sorted keys), to a temporary file beside it
    that then replaces it, so a failure leaves the notebook as it was. A cell whose tags
    become empty loses its ``tags`` key.

    Args:
        path: the notebook.
        tags_by_cell: cell index (0-based, markdown cells count, as after the splits) → the
            cell's complete tags.
        splits: cell index (before the splits) → (the 1-based line the second part starts
            at, the cell's source as analysed). A cell whose source changed meanwhile is
            refused.

    Raises:
        NotebookError: the file is not a usable notebook, has no such cell, or cannot be
            written.
    """
    shown = str(path)
    target = Path(path)
    notebook = load_notebook(target)  # the same one-line errors as every other reader
    data = json.loads(target.read_text(encoding="utf-8"))
    cells = data["cells"]
    for index, (line, source) in sorted((splits or {}).items(), reverse=True):
        if not 0 <= index < len(cells) or notebook.cells[index].source != source:
            raise NotebookError(
                shown,
                f"cell {cell_number(index)} is not the cell to split",
                "was the notebook changed meanwhile?",
            )
        try:
            head, tail = split_source(source, line)
        except ValueError:
            raise NotebookError(
                shown, f"cell {cell_number(index)} has no line {line} to split before"
            ) from None
        cells.insert(index + 1, _second_part(data, cells[index], tail))
        cells[index]["source"] = _as_stored(cells[index].get("source"), head)
        cells[index]["outputs"], cells[index]["execution_count"] = [], None
    for index, tags in tags_by_cell.items():
        if not 0 <= index < len(cells):
            raise NotebookError(
                shown, f"no cell {cell_number(index)}", "was the notebook changed meanwhile?"
            )
        metadata = cells[index].setdefault("metadata", {})
        if tags:
            metadata["tags"] = list(tags)
        else:
            metadata.pop("tags", None)
    text = json.dumps(data, sort_keys=True, indent=1, ensure_ascii=False) + "\n"
    try:
        handle, temporary = tempfile.mkstemp(prefix=f".{target.name}.", dir=target.parent)
        try:
            with os.fdopen(handle, "w", encoding="utf-8") as stream:
                stream.write(text)
            shutil.copymode(target, temporary)
            os.replace(temporary, target)
        except BaseException:
            Path(temporary).unlink(missing_ok=True)
            raise
    except OSError as exc:
        raise NotebookError(shown, f"cannot write the notebook ({exc.strerror or exc})") from None


def _second_part(data: Mapping[str, Any], cell: Mapping[str, Any], tail: str) -> dict[str, Any]:
    """The new cell a split makes: the tail, the outputs, a new id when ids exist."""
    part: dict[str, Any] = {
        "cell_type": "code",
        "execution_count": cell.get("execution_count"),
        "metadata": {},
        "outputs": cell.get("outputs", []),
        "source": _as_stored(cell.get("source"), tail),
    }
    if "id" in cell or (data.get("nbformat"), data.get("nbformat_minor", 0)) >= (4, 5):
        taken = {other.get("id") for other in data["cells"]}
        new_id = secrets.token_hex(4)
        while new_id in taken:
            new_id = secrets.token_hex(4)
        part["id"] = new_id
    return part


def _as_stored(previous: Any, text: str) -> str | list[str]:
    """Source text in the form the file used: a list of lines (nbformat's) or one string."""
    return text.splitlines(keepends=True) if isinstance(previous, list) else text


def _refuse_surrogates(text: str, index: int, path: str) -> None:
    """A lone surrogate (``"\\ud800"`` in the JSON) is not a character: it cannot be written
    to a file or a terminal, nor parsed as Python."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError as exc:
        line = text.count("\n", 0, exc.start) + 1
        raise NotebookError(
            path,
            f"cell {cell_number(index)}, line {line}: the text holds a lone surrogate "
            f"(U+{ord(text[exc.start]):04X}), which is not valid Unicode",
            "re-type the character or remove it, then re-save the notebook",
        ) from None


def write_tree_atomically(
    files: Mapping[str, str | bytes],
    out_dir: str | os.PathLike[str],
    *,
    force: bool = False,
    marker: str | None = None,
    finish: Callable[[Path], None] | None = None,
) -> Path:
    """Write ``{relative path: content}`` as a new directory ``out_dir``, all or nothing.

    The tree is built in a temporary directory beside ``out_dir`` (same file system, so the
    final rename is atomic); ``finish`` may post-process it there (e.g. run a formatter).
    An existing ``out_dir`` is replaced only with ``force``, and, when ``marker`` is given,
    only if it is a directory holding that file (one this tool wrote: ``files`` should
    include the marker so the next run may replace it).

    Raises:
        OutputExistsError: ``out_dir`` exists and ``force`` is false.
        ForeignOutputError: ``force``, but ``out_dir`` is not a tree holding ``marker``.
        OutputPathError: ``out_dir`` or its parent cannot be created or written.
    """
    target = Path(out_dir).absolute()
    check_replaceable(out_dir, force=force, marker=marker)
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        staging = Path(tempfile.mkdtemp(prefix=f".{target.name}.", dir=target.parent))
    except OSError as exc:
        raise OutputPathError(str(out_dir), _reason(exc)) from None
    try:
        try:
            for relative, content in files.items():
                destination = staging / relative
                destination.parent.mkdir(parents=True, exist_ok=True)
                if isinstance(content, bytes):
                    destination.write_bytes(content)
                else:
                    destination.write_text(content, encoding="utf-8")
        except OSError as exc:
            raise OutputPathError(str(out_dir), _reason(exc)) from None
        if finish is not None:
            finish(staging)
        # Checked again just before the swap: the directory may have changed meanwhile.
        check_replaceable(out_dir, force=force, marker=marker)
        if target.exists():
            # Move the old tree aside first so the new one appears in a single rename.
            retired = Path(tempfile.mkdtemp(prefix=f".{target.name}.old.", dir=target.parent))
            os.replace(target, retired / target.name)
            os.replace(staging, target)
            shutil.rmtree(retired, ignore_errors=True)
        else:
            os.replace(staging, target)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return target


def check_replaceable(
    out_dir: str | os.PathLike[str], *, force: bool, marker: str | None = None
) -> None:
    """Refuse an existing ``out_dir`` unless ``force`` (and, with ``marker``, unless it is a
    directory holding that file).

    Raises:
        OutputExistsError: ``out_dir`` exists and ``force`` is false.
        ForeignOutputError: ``force``, but ``out_dir`` is not a tree holding ``marker``.
    """
    target = Path(out_dir)
    if not (target.exists() or target.is_symlink()):
        return
    if not force:
        raise OutputExistsError(str(out_dir))
    if marker is not None and (target.is_symlink() or not (target / marker).is_file()):
        raise ForeignOutputError(str(out_dir), marker)


def _reason(exc: OSError) -> str:
    """An OS error's reason without the path it repeats (the message names the path)."""
    return exc.strerror or type(exc).__name__
