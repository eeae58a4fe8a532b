"""Run records: ids, the ``run.json`` file, and the facts it holds about a run's world.

A run directory is ``RUNS_DIR/<run id>/`` with the executed notebook, ``run.json``, and the
captured ``stdout.txt`` / ``stderr.txt``, and the saved predict output
(``predict_output.npy|.parquet|.pkl``). This module is the only one in ``runs`` that reads
or writes ``run.json``; everything here is plain data and files, no kernels.

``run.json`` (schema ``jupyter-mlprod/run``, version 1; fields are only ever added)::

    run_id, status ("succeeded" | "failed" | "interrupted"),
    notebook {path, absolute_path, sha256}, executed_notebook (file name in the run dir),
    parameters {name: value as injected}, input_files [{path, sha256}],
    start, end (ISO 8601 UTC, to the second), duration (s),
    cells [{index, role, injected, status, duration}]   (original notebook indices),
    error {cell_index, cell_id, role, ename, evalue} | null,
    kernel {name, executable, python, implementation, platform, seeded?},
    packages {distribution: version}, git {commit, dirty} | null (taken when the run starts;
        dirty as runtime/provenance.py's git_state defines it), seed (int | null),
    predict {output: {name, type, kind, file, sha256}, input?: {...}} | null,
    stdout, stderr (file names), tool {name, version}, kind ("verify" for a verification's
        notebook run; absent for plain runs),
    rerun {of, notebook_changed, changed_inputs, predict_output_identical}  (reruns only)
"""

from __future__ import annotations

import ast
import datetime as dt
import json
import math
import os
import re
import secrets
import subprocess
import sys
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from ..errors import MlprodError
from ..runtime import provenance
from ..runtime.provenance import sha256_file

RECORD_NAME = "run.json"
#: Runs go to ``runs/`` next to the notebook unless told otherwise (CLI ``-o``, lab settings).
DEFAULT_RUNS_DIR = "runs"
RECORD_SCHEMA = "jupyter-mlprod/run"
RECORD_SCHEMA_VERSION = 1
STDOUT_NAME = "stdout.txt"
STDERR_NAME = "stderr.txt"

# A quoted string literal, for cells that `ast` cannot parse (IPython magics).
_STRING_LITERAL = re.compile(r"""(?P<quote>['"])(?P<text>[^'"\n]{1,400})(?P=quote)""")


def default_runs_dir(notebook_path: str | os.PathLike[str]) -> Path:
    """``runs`` next to the notebook: where ``nb2prod run``, ``verify`` and the lab keep runs."""
    return Path(notebook_path).resolve().parent / DEFAULT_RUNS_DIR


def new_run_id(now: dt.datetime | None = None) -> str:
    """A sortable run id: UTC time to the millisecond plus a short random suffix.

    The suffix keeps two runs started in the same millisecond (parallel jobs of the server
    extension) apart; the time prefix makes ``sorted()`` chronological.
    """
    now = now or dt.datetime.now(dt.timezone.utc)
    stamp = now.strftime("%Y%m%dT%H%M%S") + f"{now.microsecond // 1000:03d}Z"
    return f"{stamp}-{secrets.token_hex(3)}"


def json_safe(value: Any) -> Any:
    """Turn a parameter value into JSON: tuples and sets become lists, other objects repr()."""
    if isinstance(value, float) and not math.isfinite(value):
        return repr(value)
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    if isinstance(value, Mapping):
        return {str(key): json_safe(item) for key, item in value.items()}
    if isinstance(value, (set, frozenset)):
        return [json_safe(item) for item in sorted(value, key=repr)]
    if isinstance(value, (list, tuple)):
        return [json_safe(item) for item in value]
    return repr(value)


def write_record(run_dir: Path, record: Mapping[str, Any]) -> Path:
    """Write ``run.json`` atomically (a reader never sees half a record)."""
    path = run_dir / RECORD_NAME
    partial = run_dir / (RECORD_NAME + ".partial")
    partial.write_text(json.dumps(record, indent=2, sort_keys=False) + "\n", encoding="utf-8")
    os.replace(partial, path)
    return path


def read_record(run_dir: str | os.PathLike[str]) -> dict[str, Any]:
    """Read the ``run.json`` of a run directory.

    Raises:
        MlprodError: the directory holds no readable run record.
    """
    path = Path(run_dir) / RECORD_NAME
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise MlprodError(
            f"{run_dir}: not a run directory (no {RECORD_NAME}); "
            "pass RUNS_DIR/<run id> as listed by `nb2prod runs list`"
        ) from None
    except (OSError, json.JSONDecodeError) as exc:
        raise MlprodError(f"{path}: unreadable run record ({exc})") from None
    if not isinstance(data, dict):
        raise MlprodError(f"{path}: unreadable run record (not a JSON object)")
    return data


def list_records(runs_dir: str | os.PathLike[str]) -> list[dict[str, Any]]:
    """All readable run records under ``runs_dir``, newest first.

    Directories without a readable ``run.json`` (a run still starting, foreign folders) are
    skipped rather than failing the whole listing.
    """
    root = Path(runs_dir)
    if not root.is_dir():
        return []
    records = []
    for child in root.iterdir():
        if not child.is_dir():
            continue
        try:
            records.append(read_record(child))
        except MlprodError:
            continue
    records.sort(key=lambda record: str(record.get("run_id", "")), reverse=True)
    return records


def find_input_files(
    sources: Iterable[str], parameter_values: Iterable[Any], base_dir: Path
) -> list[dict[str, str]]:
    """Data files a run reads, found statically: string literals and parameter values that
    name existing files relative to the notebook's directory, each with its SHA-256.

    Args:
        sources: the sources of the load cells.
        parameter_values: the parameter values as injected (a path may be a parameter).
        base_dir: the notebook's directory, the run's working directory.
    """
    candidates: list[str] = []
    for source in sources:
        candidates.extend(_string_literals(source))
    for value in parameter_values:
        if isinstance(value, str):
            candidates.append(value)
        elif isinstance(value, (list, tuple)):
            candidates.extend(item for item in value if isinstance(item, str))
    found: dict[str, dict[str, str]] = {}
    for text in candidates:
        if not text or "\n" in text or text in found or "://" in text:
            continue
        path = base_dir / text
        try:
            if not path.is_file():
                continue
        except (OSError, ValueError):  # names too long or with NUL bytes
            continue
        found[text] = {"path": text, "sha256": sha256_file(path)}
    return list(found.values())


def changed_inputs(record: Mapping[str, Any], base_dir: Path) -> list[str]:
    """Recorded input files whose content changed (or vanished) since the run."""
    changed = []
    for entry in record.get("input_files", []):
        path = base_dir / entry["path"]
        try:
            digest = sha256_file(path)
        except OSError:
            changed.append(f"{entry['path']} (missing)")
            continue
        if digest != entry.get("sha256"):
            changed.append(entry["path"])
    return changed


def package_versions(executable: str | None) -> dict[str, str]:
    """Installed distributions and versions of the kernel's Python environment.

    When the kernel runs this very interpreter, ask ``importlib.metadata`` in-process (no
    subprocess start-up); otherwise run the same query with the kernel's executable.
    """
    if not executable or _same_interpreter(executable, sys.executable):
        return provenance.installed_distributions()
    # provenance.py imports only the standard library and nothing relative: its source runs
    # as a script in any Python, and prints that environment's distributions as JSON.
    script = Path(provenance.__file__).read_text(encoding="utf-8")
    try:
        done = subprocess.run(
            [executable, "-c", script], capture_output=True, text=True, timeout=60, check=False
        )
        versions = json.loads(done.stdout) if done.returncode == 0 else {}
    except (OSError, subprocess.TimeoutExpired, json.JSONDecodeError):
        return {}
    return dict(sorted(versions.items()))


def _same_interpreter(first: str, second: str) -> bool:
    try:
        return os.path.samefile(first, second)
    except OSError:
        return False


def _string_literals(source: str) -> list[str]:
    try:
        tree = ast.parse(source)
    except SyntaxError:
        # Magics and shell lines: fall back to quoted text, good enough to spot file names.
        return [match.group("text") for match in _STRING_LITERAL.finditer(source)]
    return [
        node.value
        for node in ast.walk(tree)
        if isinstance(node, ast.Constant) and isinstance(node.value, str)
    ]
