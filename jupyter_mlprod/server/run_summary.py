"""Run summaries: one run directory as the lab's summary card and Runs view show it.

Read from its ``run.json`` (and ``verify.json`` for a verification's run), with every path
written relative to the server root so the browser can open it. A leaf: the handlers
(handlers.py for jobs, runs_index.py for the listing) import it, it imports no handler.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from .paths import relative_to_root, strip_root

#: Runs listed at most (newest first): the view is a history, not an archive browser.
MAX_RUNS = 200


def run_summary(run_dir: Path, root: Path) -> dict[str, Any] | None:
    """The summary of one run directory, or None when it holds no readable ``run.json``.

    Args:
        run_dir: ``RUNS_DIR/<run id>``.
        root: the server root every returned path is relative to.
    """
    from ..errors import MlprodError
    from ..runs.record import read_record
    from ..runs.verify import VERIFY_RECORD

    try:
        record = read_record(run_dir)
    except MlprodError:
        return None
    verify = _read_json(run_dir / VERIFY_RECORD)
    root = root.resolve()
    run_dir = run_dir.resolve()
    executed = record.get("executed_notebook")
    error = record.get("error") if isinstance(record.get("error"), dict) else None
    if error is not None and isinstance(error.get("cell_index"), int):
        error = {**error, "cell_number": error["cell_index"] + 1}
    notebook: dict[str, Any] = (
        record["notebook"] if isinstance(record.get("notebook"), dict) else {}
    )
    return {
        "run_id": str(record.get("run_id", run_dir.name)),
        "kind": "verify" if record.get("kind") == "verify" or verify else "run",
        "status": _status(record, verify),
        "start": record.get("start"),
        "end": record.get("end"),
        "duration": record.get("duration"),
        "parameters": record.get("parameters") or {},
        "notebook": _shown(root, notebook.get("absolute_path")),
        "run_dir": _shown(root, run_dir),
        "executed_notebook": _shown(root, run_dir / executed) if executed else None,
        "error": error,
        "verify": _verify_view(verify, root) if verify else None,
    }


def list_runs(runs_dir: Path, root: Path, notebook: Path | None = None) -> list[dict[str, Any]]:
    """Summaries of the runs under ``runs_dir``, newest first; only ``notebook``'s when given."""
    if not runs_dir.is_dir():
        return []
    children = sorted((c for c in runs_dir.iterdir() if c.is_dir()), reverse=True)
    found = []
    wanted = str(notebook.resolve()) if notebook is not None else None
    for child in children:
        summary = run_summary(child, root)
        if summary is None:
            continue
        if wanted is not None and summary["notebook"] != _shown(root, Path(wanted)):
            continue
        found.append(summary)
        if len(found) >= MAX_RUNS:
            break
    found.sort(key=lambda item: item["run_id"], reverse=True)
    return found


def _status(record: dict[str, Any], verify: dict[str, Any] | None) -> str:
    """A verification's status is its comparison's; a plain run's is its record's."""
    status = str(record.get("status", "unknown"))
    if verify is None or status != "succeeded":
        return status
    return "succeeded" if verify.get("ok") else "failed"


def _verify_view(verify: dict[str, Any], root: Path) -> dict[str, Any]:
    keep = (
        "ok",
        "rows",
        "mismatches",
        "first_differences",
        "columns",
        "rtol",
        "predict_input",
        "predict_output",
        "durations",
        "metrics",
    )
    view = {key: verify.get(key) for key in keep}
    view["message"] = strip_root(str(verify.get("message", "")), root)
    return view


def _read_json(path: Path) -> dict[str, Any] | None:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None


def _shown(root: Path, path: object) -> str | None:
    """``path`` relative to the root, or None when it is missing or lies outside it."""
    if not isinstance(path, str | Path) or not str(path):
        return None
    resolved = Path(path).resolve()
    if not resolved.is_relative_to(root):
        return None
    return relative_to_root(root, resolved)
