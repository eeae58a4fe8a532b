"""Fidelity on real notebooks: does each corpus notebook convert and reproduce its predictions?

The corpus is ``bench/corpus.json``: real public notebooks named by repository, commit and
path, with the tags a careful data scientist would set (by cell index or by a piece of the
cell's source), the predict input and output, and the patches a notebook needs to run
offline on current libraries (each with its reason). The notebooks themselves are never
committed: they are read from local git mirrors, one per repository, under a mirror
directory laid out as ``<mirror>/<owner>+<name>/repo`` (a bare git directory or a clone).

Each notebook is measured in two modes:

- ``hand``: the spec's tags and predict input/output;
- ``tag``: every role tag and the predict metadata removed and no cell split (the
  patches that make it run are kept), then ``nb2prod tag --write`` alone decides, the split
  of a cell that fits and predicts included (reported as not available while ``nb2prod``
  has no ``tag`` command).

Both runs are seeded alike: the baseline by the kernel prelude ``nb2prod verify`` uses and
the package by ``train --seed 0``, both through the runtime's ``seed_everything``; a fit that
draws from NumPy's global generator reproduces only because slicing keeps the draws before
it, never because the baseline is seeded differently.

and goes through the stages ``check`` → ``convert`` → ``baseline`` (the notebook run with
papermill, seeded as ``nb2prod verify`` seeds it) → ``train`` → ``predict`` → ``compare``
(labels exactly, floats within ``--rtol``, by the runtime's own comparator). The stage
reached, pass or fail and a one-line reason go into a markdown table with both rates.

Runs are heavy, so notebooks run one at a time, each in its own process group with a
timeout, and papermill baselines are cached under the work directory, keyed by the
executed notebook's content: a rerun after a converter change only converts, trains and
predicts again. A baseline cell may run for 600 s unless the spec's ``cell_timeout``
(``{"seconds": N, "why": …}``) sets a shorter limit for a notebook whose cells are known to
keep the papermill client waiting (the reason says which and why).

Usage::

    python bench/corpus.py --mirror DIR [--work /tmp/corpus-work] [--only ID ...]
        [--mode hand|tag|both] [--output bench/corpus-results.md] [--timeout 900]
    python bench/corpus.py --mirror DIR --list       # the corpus and whether each is there
    python bench/corpus.py --mirror DIR --report     # the table from the results so far
"""

from __future__ import annotations

import argparse
import hashlib
import io
import json
import os
import shutil
import signal
import subprocess
import sys
import tarfile
import time
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import nbformat

ROOT = Path(__file__).resolve().parent
SPEC = ROOT / "corpus.json"
MIRROR_ENV = "NB2PROD_CORPUS_MIRROR"
DEFAULT_WORK = Path("/tmp/corpus-work")
DEFAULT_OUTPUT = ROOT / "corpus-results.md"
MODES = ("hand", "tag")
# The stages in the order a notebook goes through them.
STAGES = ("spec", "check", "convert", "baseline", "train", "predict", "compare")
RTOL = 1e-6
DEFAULT_TIMEOUT = 900.0
CELL_TIMEOUT = 600.0


class SpecError(Exception):
    """The spec or the mirror does not give a notebook to measure; the message says why."""


@dataclass(frozen=True)
class Entry:
    """One corpus notebook as the spec describes it."""

    id: str
    repo: str
    commit: str
    path: str
    tags: Mapping[str, Sequence[int | str]]
    predict_input: str
    predict_output: str
    files: Sequence[str] = ()
    patches: Sequence[Mapping[str, Any]] = ()
    splits: Sequence[Mapping[str, Any]] = ()
    file_patches: Sequence[Mapping[str, Any]] = ()
    parameters: Mapping[str, Any] = field(default_factory=dict)
    note: str = ""
    # The baseline's per-cell limit when the spec sets one ({"seconds": …, "why": …}).
    cell_timeout: float = CELL_TIMEOUT

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Entry:
        """An entry from its spec object (unknown keys are a spec error)."""
        known = {
            "id", "repo", "commit", "path", "tags", "predict", "files", "patches",
            "splits", "file_patches", "parameters", "note", "cell_timeout",
        }  # fmt: skip
        unknown = set(data) - known
        if unknown:
            raise SpecError(f"{data.get('id', '?')}: unknown spec keys {sorted(unknown)}")
        cell_timeout = data.get("cell_timeout", {"seconds": CELL_TIMEOUT, "why": "default"})
        if not isinstance(cell_timeout, dict) or set(cell_timeout) != {"seconds", "why"}:
            raise SpecError(
                f'{data.get("id", "?")}: cell_timeout is {{"seconds": N, "why": "..."}}'
            )
        return cls(
            id=data["id"],
            repo=data["repo"],
            commit=data["commit"],
            path=data["path"],
            tags=data["tags"],
            predict_input=data["predict"]["input"],
            predict_output=data["predict"]["output"],
            files=tuple(data.get("files", ())),
            patches=tuple(data.get("patches", ())),
            splits=tuple(data.get("splits", ())),
            file_patches=tuple(data.get("file_patches", ())),
            parameters=data.get("parameters", {}),
            note=data.get("note", ""),
            cell_timeout=float(cell_timeout["seconds"]),
        )


@dataclass
class Outcome:
    """How far one notebook got in one mode."""

    id: str
    mode: str
    stage: str
    ok: bool
    reason: str
    seconds: float = 0.0


def load_spec(path: Path = SPEC) -> list[Entry]:
    """The corpus entries, in spec order.

    Raises:
        SpecError: duplicate ids or malformed entries.
    """
    entries = [Entry.from_json(item) for item in json.loads(path.read_text("utf-8"))["notebooks"]]
    ids = [entry.id for entry in entries]
    duplicates = sorted({i for i in ids if ids.count(i) > 1})
    if duplicates:
        raise SpecError(f"{path}: duplicate ids {duplicates}")
    return entries


def git_dir(mirror: Path, repo: str) -> Path:
    """The git directory of ``repo``'s mirror.

    Raises:
        SpecError: no mirror there, with the command that makes one.
    """
    base = mirror / repo.replace("/", "+") / "repo"
    for candidate in (base / ".git", base):
        if (candidate / "HEAD").is_file():
            return candidate
    raise SpecError(
        f"no mirror of {repo} at {base}; make one with "
        f"`git clone https://github.com/{repo} {base}` (or pass --mirror / set {MIRROR_ENV} "
        "to the directory that has it)"
    )


def read_blob(gitdir: Path, commit: str, path: str) -> bytes:
    """``git show commit:path`` from a mirror.

    Raises:
        SpecError: the commit or the path is not in the mirror.
    """
    done = subprocess.run(
        ["git", "--git-dir", str(gitdir), "show", f"{commit}:{path}"],
        capture_output=True,
        check=False,
    )
    if done.returncode != 0:
        raise SpecError(
            f"{gitdir}: no {path} at commit {commit[:12]}; fetch that commit into the mirror "
            f"(`git --git-dir {gitdir} fetch origin {commit}`)"
        )
    return done.stdout


def extract_files(gitdir: Path, commit: str, paths: Sequence[str], dest: Path) -> None:
    """Write ``paths`` (files or folders) of the repository at ``commit`` under ``dest``."""
    if not paths:
        return
    done = subprocess.run(
        ["git", "--git-dir", str(gitdir), "archive", "--format=tar", commit, "--", *paths],
        capture_output=True,
        check=False,
    )
    if done.returncode != 0:
        message = done.stderr.decode(errors="replace").strip().splitlines()
        raise SpecError(f"{gitdir}: cannot extract {list(paths)}: {message[-1] if message else ''}")
    with tarfile.open(fileobj=io.BytesIO(done.stdout)) as archive:
        archive.extractall(dest, filter="data")


def patch_files(entry: Entry, tree: Path) -> None:
    """Apply the spec's patches to the repository files extracted beside the notebook.

    Raises:
        SpecError: a patched file is not there, or the text to replace is not in it.
    """
    for patch in entry.file_patches:
        target = tree / patch["file"]
        if not target.is_file():
            raise SpecError(f"{entry.id}: {patch['file']} is not among the extracted files")
        text = target.read_text("utf-8")
        if patch["old"] not in text:
            raise SpecError(f"{entry.id}: patch {patch['old']!r} not found in {patch['file']}")
        target.write_text(text.replace(patch["old"], patch["new"]), "utf-8")


def find_cell(nb: nbformat.NotebookNode, ref: int | str, entry: Entry) -> int:
    """The index of the cell a spec names: an index, or a piece of exactly one code cell.

    Raises:
        SpecError: the reference names no code cell, or more than one.
    """
    if isinstance(ref, int):
        if 0 <= ref < len(nb.cells) and nb.cells[ref].cell_type == "code":
            return ref
        raise SpecError(f"{entry.id}: cell {ref} is not a code cell of {entry.path}")
    matches = [
        index
        for index, cell in enumerate(nb.cells)
        if cell.cell_type == "code" and ref in cell.source
    ]
    if len(matches) != 1:
        raise SpecError(
            f"{entry.id}: {ref!r} matches {len(matches)} code cells of {entry.path} "
            f"({matches[:5]}); make it longer or give the cell's index"
        )
    return matches[0]


def prepare_notebook(raw: bytes, entry: Entry, *, hand: bool = True) -> nbformat.NotebookNode:
    """The notebook as the spec says to run it: outputs cleared, the author's role tags
    removed, patches applied; with ``hand``, also the splits, the hand tags and the predict
    metadata. Without it, the notebook is left as its author wrote it (what ``nb2prod tag``
    starts from): splitting a cell is part of tagging by hand.

    Raises:
        SpecError: a patch or a tag does not apply.
    """
    from jupyter_mlprod.roles import ROLE_TAGS

    nb = nbformat.reads(raw.decode("utf-8"), as_version=4)
    for cell in nb.cells:
        if cell.cell_type == "code":
            cell.outputs, cell.execution_count = [], None
        tags = [tag for tag in cell.metadata.get("tags", []) if tag not in ROLE_TAGS]
        cell.metadata["tags"] = tags
    for patch in entry.patches:
        index = find_cell(nb, patch["cell"], entry)
        old, new = patch["old"], patch["new"]
        if old not in nb.cells[index].source:
            raise SpecError(f"{entry.id}: patch {old!r} not found in cell {index}")
        nb.cells[index].source = nb.cells[index].source.replace(old, new)
    nb.metadata["kernelspec"] = {
        "name": "python3",
        "display_name": "Python 3",
        "language": "python",
    }
    nb.metadata.pop("mlprod", None)
    if not hand:
        nbformat.validate(nb)
        return nb
    for split in entry.splits:
        split_cell(nb, find_cell(nb, split["cell"], entry), split["before"], entry)
    for role, refs in entry.tags.items():
        for ref in refs:
            index = find_cell(nb, ref, entry)
            nb.cells[index].metadata.setdefault("tags", []).append(role)
    nb.metadata["kernelspec"] = {
        "name": "python3",
        "display_name": "Python 3",
        "language": "python",
    }
    nb.metadata["mlprod"] = {
        "predict_input": entry.predict_input,
        "predict_output": entry.predict_output,
    }
    nbformat.validate(nb)
    return nb


def split_cell(nb: nbformat.NotebookNode, index: int, before: str, entry: Entry) -> None:
    """Split a cell before its first line containing ``before`` (what a user does in
    JupyterLab to give a fit and a predict written in one cell a role each).

    Raises:
        SpecError: no line of the cell contains ``before``, or it is the first line.
    """
    lines = nb.cells[index].source.splitlines(keepends=True)
    at = next((n for n, line in enumerate(lines) if before in line), None)
    if not at:
        raise SpecError(f"{entry.id}: cannot split cell {index} before {before!r}")
    head, tail = "".join(lines[:at]).rstrip("\n"), "".join(lines[at:])
    nb.cells[index].source = head
    cell = nbformat.v4.new_code_cell(tail)
    if (nb.nbformat, nb.nbformat_minor) < (4, 5):
        # Cell ids arrived with nbformat 4.5; an older notebook must not have one.
        del cell["id"]
    nb.cells.insert(index + 1, cell)


def through_last_stage(nb: nbformat.NotebookNode) -> nbformat.NotebookNode:
    """The notebook up to its last cell with a stage role (what the package reproduces).

    Tutorials rebind ``X_test`` or ``y_pred`` in later sections; the values captured at the
    end of a whole run would then not be the ones the predict cell saw.
    """
    from jupyter_mlprod.roles import ROLE_TAGS, SKIP

    stage_tags = ROLE_TAGS - {SKIP}
    last = max(
        (i for i, cell in enumerate(nb.cells) if stage_tags & set(cell.metadata.get("tags", []))),
        default=len(nb.cells) - 1,
    )
    head = nbformat.from_dict(json.loads(json.dumps(nb)))
    head.cells = head.cells[: last + 1]
    return head


def nb2prod_command() -> list[str]:
    """``nb2prod`` run by this interpreter, so the package under test is the one imported."""
    return [
        sys.executable,
        "-c",
        "import sys; from jupyter_mlprod.cli import main; sys.exit(main())",
    ]


def tag_command_available() -> bool:
    """Whether this ``nb2prod`` has the ``tag`` subcommand."""
    done = subprocess.run(
        [*nb2prod_command(), "tag", "--help"], capture_output=True, text=True, check=False
    )
    return done.returncode == 0


def last_line(text: str) -> str:
    """The last non-empty line of a command's output (its one-line error)."""
    lines = [line for line in text.strip().splitlines() if line.strip()]
    return lines[-1].strip() if lines else "no output"


def first_error(report: Mapping[str, Any]) -> str:
    """The first error of a ``check --json`` report, as one line."""
    for problem in report.get("problems", []):
        if problem.get("severity") == "error":
            where = f"cell {problem.get('cell')}: " if problem.get("cell") is not None else ""
            hint = f"; {problem['hint']}" if problem.get("hint") else ""
            return f"{where}{problem.get('message', '')}{hint}"
    return "check reports no error but ok is false"


class StageFailed(Exception):
    """A stage did not complete; carries the stage and the one-line reason."""

    def __init__(self, stage: str, reason: str) -> None:
        super().__init__(reason)
        self.stage = stage
        self.reason = reason


def run_baseline(
    notebook_path: Path, names: tuple[str, str], entry: Entry, cache: Path
) -> dict[str, Any]:
    """The papermill run of a notebook, seeded as ``nb2prod verify`` does, from the cache
    when the same notebook (content, predict names, parameters, the files beside it and
    their patches) already ran.

    Returns:
        The run record (``run_dir`` points at the cached run).
    """
    from jupyter_mlprod.errors import MlprodError
    from jupyter_mlprod.runs.execute import PredictNames, execute_run
    from jupyter_mlprod.runs.verify import SEED

    key_source = json.dumps(
        [
            notebook_path.read_text("utf-8"),
            names,
            dict(entry.parameters),
            list(entry.files),
            list(entry.file_patches),
            SEED,
        ],
        sort_keys=True,
        default=str,
    )
    key = hashlib.sha256(key_source.encode()).hexdigest()[:16]
    slot = cache / key
    record_file = slot / "record.json"
    if record_file.is_file():
        return dict(json.loads(record_file.read_text("utf-8")))
    shutil.rmtree(slot, ignore_errors=True)
    try:
        record = execute_run(
            notebook_path,
            entry.parameters,
            slot / "runs",
            timeout=entry.cell_timeout,
            seed=SEED,
            capture_input=True,
            predict_names=PredictNames(*names),
        )
    except MlprodError as exc:
        raise StageFailed("baseline", str(exc).split(" — see ")[0]) from None
    if record.get("status") != "succeeded":
        error = record.get("error") or {}
        raise StageFailed(
            "baseline",
            f"the notebook fails in cell {error.get('cell_index')}: "
            f"{error.get('ename')}: {last_line(str(error.get('evalue', '')))}",
        )
    record_file.write_text(json.dumps(record, default=str), "utf-8")
    return record


def captured_file(record: Mapping[str, Any], role: str) -> Path:
    """The file the baseline saved the predict input or output in."""
    entry = (record.get("predict") or {}).get(role) or {}
    if "file" not in entry:
        raise StageFailed(
            "baseline",
            f"the predict {role} {entry.get('name', '?')!r} could not be saved after the run "
            f"({entry.get('error', 'not captured')})",
        )
    return Path(record["run_dir"]) / entry["file"]


def measure(entry: Entry, mode: str, mirror: Path, work: Path) -> Outcome:
    """Take one notebook through every stage in one mode.

    Returns:
        The stage it reached, whether it passed, and why not.
    """
    started = time.perf_counter()
    try:
        stage, reason = "compare", _measure(entry, mode, mirror, work)
        ok = True
    except SpecError as exc:
        stage, reason, ok = "spec", str(exc), False
    except StageFailed as exc:
        stage, reason, ok = exc.stage, exc.reason, False
    except Exception as exc:  # noqa: BLE001 - one notebook's surprise must not stop the table
        first = str(exc).strip().splitlines()
        stage, reason, ok = "harness", f"{type(exc).__name__}: {first[0] if first else ''}", False
    return Outcome(entry.id, mode, stage, ok, reason, round(time.perf_counter() - started, 1))


def _measure(entry: Entry, mode: str, mirror: Path, work: Path) -> str:
    from jupyter_mlprod.runs.verify import PackageRunner, describe_mismatch, load_value
    from jupyter_mlprod.runtime.compare import compare_predictions

    gitdir = git_dir(mirror, entry.repo)
    raw = read_blob(gitdir, entry.commit, entry.path)
    case = work / entry.id / mode
    shutil.rmtree(case, ignore_errors=True)
    tree = case / "tree"
    tree.mkdir(parents=True)
    extract_files(gitdir, entry.commit, entry.files, tree)
    patch_files(entry, tree)
    nb = prepare_notebook(raw, entry, hand=mode == "hand")
    nb_path = tree / entry.path
    nb_path.parent.mkdir(parents=True, exist_ok=True)
    nbformat.write(nb, str(nb_path))

    if mode == "tag":
        done = _run([*nb2prod_command(), "tag", str(nb_path), "--write"], case, "check")
        if done.returncode != 0:
            raise StageFailed("check", f"`nb2prod tag --write` failed: {last_line(done.stderr)}")

    done = _run([*nb2prod_command(), "check", "--json", str(nb_path)], case, "check")
    try:
        report = json.loads(done.stdout)
    except json.JSONDecodeError:
        raise StageFailed("check", f"check printed no report: {last_line(done.stderr)}") from None
    if not report.get("ok"):
        raise StageFailed("check", first_error(report))
    predict = report.get("predict") or {}
    if not predict.get("input") or not predict.get("output"):
        raise StageFailed("check", "check names no predict input or output")
    names: tuple[str, str] = (str(predict["input"]), str(predict["output"]))

    package = case / "package"
    done = _run([*nb2prod_command(), "convert", str(nb_path), "-o", str(package)], case, "convert")
    if done.returncode != 0:
        raise StageFailed("convert", last_line(done.stderr))

    baseline_path = nb_path.with_name(nb_path.stem + ".baseline.ipynb")
    nbformat.write(
        through_last_stage(nbformat.read(str(nb_path), as_version=4)), str(baseline_path)
    )
    record = run_baseline(baseline_path, names, entry, work / "baselines")
    input_file = captured_file(record, "input")
    expected = load_value(captured_file(record, "output"))
    if input_file.suffix not in (".parquet", ".npy"):
        raise StageFailed(
            "baseline",
            f"the predict input {names[0]} is a {record['predict']['input'].get('type')}, "
            "which `predict --input` cannot read from a file",
        )

    from jupyter_mlprod.errors import VerificationError

    runner = PackageRunner(package, python=None, cwd=nb_path.parent)
    model_dir = case / "models"
    try:
        runner.train(record.get("parameters") or {}, model_dir)
    except VerificationError as exc:
        raise StageFailed("train", str(exc)) from None
    suffix = (
        ".npy" if type(expected).__name__ == "ndarray" and expected.dtype != object else ".parquet"
    )
    output_file = case / f"package_predictions{suffix}"
    try:
        runner.predict(input_file, output_file, model_dir)
    except VerificationError as exc:
        raise StageFailed("predict", str(exc)) from None
    comparison = compare_predictions(expected, load_value(output_file), rtol=RTOL, atol=0.0)
    if not comparison.ok:
        differences = comparison.first_differences[:1]
        detail = (
            f"; first at row {differences[0].row}, column {differences[0].column}: "
            f"notebook {differences[0].expected!r}, package {differences[0].actual!r}"
            if differences
            else ""
        )
        raise StageFailed(
            "compare",
            describe_mismatch(comparison)
            or f"{comparison.mismatches} of {comparison.rows} rows differ{detail}",
        )
    return f"reproduces {names[1]} on {comparison.rows} rows"


def _run(command: Sequence[str], cwd: Path, stage: str) -> subprocess.CompletedProcess[str]:
    try:
        return subprocess.run(
            command, cwd=cwd, capture_output=True, text=True, timeout=CELL_TIMEOUT, check=False
        )
    except subprocess.TimeoutExpired:
        raise StageFailed(
            stage, f"`{' '.join(command[3:5])}` took over {CELL_TIMEOUT:.0f} s"
        ) from None


def run_isolated(entry: Entry, mode: str, mirror: Path, work: Path, timeout: float) -> Outcome:
    """:func:`measure` in a child process group, killed whole (kernel, package runs) on timeout."""
    result_file = work / entry.id / f"{mode}.result.json"
    result_file.parent.mkdir(parents=True, exist_ok=True)
    result_file.unlink(missing_ok=True)
    command = [
        sys.executable, str(Path(__file__).resolve()), "--worker", entry.id, "--mode", mode,
        "--mirror", str(mirror), "--work", str(work), "--result", str(result_file),
    ]  # fmt: skip
    started = time.perf_counter()
    child = subprocess.Popen(
        command, start_new_session=True, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
    )
    try:
        _, stderr = child.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(child.pid, signal.SIGKILL)
        child.wait()
        return Outcome(entry.id, mode, "timeout", False, f"over {timeout:.0f} s", round(timeout, 1))
    if result_file.is_file():
        return Outcome(**json.loads(result_file.read_text("utf-8")))
    died = last_line(stderr.decode(errors="replace"))
    seconds = round(time.perf_counter() - started, 1)
    return Outcome(entry.id, mode, "harness", False, f"the worker died: {died}", seconds)


def _utc_now() -> str:
    from datetime import UTC, datetime

    return datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")


def _read_results(store: Path) -> dict[str, Outcome]:
    if not store.is_file():
        return {}
    return {key: Outcome(**value) for key, value in json.loads(store.read_text("utf-8")).items()}


def render_markdown(
    outcomes: Sequence[Outcome], entries: Sequence[Entry], tag_available: bool
) -> str:
    """The results table and both rates, as markdown."""
    by_id = {entry.id: entry for entry in entries}
    lines = [
        "# Fidelity corpus: results",
        "",
        f"Written {_utc_now()} by `python bench/corpus.py`.",
        "",
    ]
    for mode in MODES:
        measured = [o for o in outcomes if o.mode == mode]
        if mode == "tag" and not tag_available:
            lines.append(
                "- tags from `nb2prod tag --write` alone: not available (no `tag` command)"
            )
            continue
        passed = sum(o.ok for o in measured)
        label = "hand tags" if mode == "hand" else "tags from `nb2prod tag --write` alone"
        rate = f"{100 * passed / len(measured):.0f}%" if measured else "n/a"
        lines.append(f"- {label}: {passed} of {len(measured)} reproduced ({rate})")
    repos = sorted({by_id[o.id].repo for o in outcomes if o.id in by_id})
    unmeasured = len(by_id) - len({o.id for o in outcomes})
    if unmeasured:
        lines.append(f"- {unmeasured} notebooks of the spec not measured yet")
    lines += [
        f"- {len({o.id for o in outcomes})} notebooks from {len(repos)} repositories; "
        f"predictions compared exactly for labels, within rtol {RTOL:g} for floats",
        "",
        "| notebook | mode | stage reached | result | reason | seconds |",
        "|---|---|---|---|---|---|",
    ]
    for outcome in outcomes:
        entry = by_id.get(outcome.id)
        where = f"{entry.repo}: {entry.path}" if entry else outcome.id
        reason = outcome.reason.replace("|", "\\|").replace("\n", " ")
        lines.append(
            f"| `{outcome.id}` ({where}) | {outcome.mode} | {outcome.stage} | "
            f"{'pass' if outcome.ok else 'fail'} | {reason} | {outcome.seconds:g} |"
        )
    return "\n".join(lines) + "\n"


def main(argv: Sequence[str] | None = None) -> int:
    """The command line (see the module docstring)."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--mirror", type=Path, default=os.environ.get(MIRROR_ENV))
    parser.add_argument("--work", type=Path, default=DEFAULT_WORK)
    parser.add_argument("--only", nargs="*", default=None, metavar="ID")
    parser.add_argument("--mode", choices=(*MODES, "both"), default="both")
    parser.add_argument("--output", type=Path, default=DEFAULT_OUTPUT)
    parser.add_argument("--timeout", type=float, default=DEFAULT_TIMEOUT)
    parser.add_argument("--list", action="store_true", help="list the corpus and exit")
    parser.add_argument(
        "--report", action="store_true", help="only write the table from the results so far"
    )
    parser.add_argument("--worker", help=argparse.SUPPRESS)
    parser.add_argument("--result", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    try:
        entries = load_spec()
    except (SpecError, KeyError, json.JSONDecodeError) as exc:
        print(f"{SPEC}: {exc}", file=sys.stderr)
        return 2
    if args.mirror is None:
        print(
            f"corpus.py: no mirror directory; pass --mirror DIR or set {MIRROR_ENV} "
            "(DIR/<owner>+<name>/repo is a clone of each repository in bench/corpus.json)",
            file=sys.stderr,
        )
        return 2
    mirror = Path(args.mirror)

    if args.worker:
        entry = next(e for e in entries if e.id == args.worker)
        outcome = measure(entry, args.mode, mirror, args.work)
        args.result.write_text(json.dumps(asdict(outcome)), "utf-8")
        return 0

    if args.list:
        for entry in entries:
            try:
                git_dir(mirror, entry.repo)
                there = "ok"
            except SpecError as exc:
                there = str(exc)
            print(f"{entry.id}\t{entry.repo}\t{entry.path}\t{there}")
        return 0

    selected = [e for e in entries if args.only is None or e.id in args.only]
    unknown = set(args.only or ()) - {e.id for e in entries}
    if unknown:
        print(f"corpus.py: unknown ids {sorted(unknown)}; see --list", file=sys.stderr)
        return 2
    tag_available = tag_command_available()
    modes = MODES if args.mode == "both" else (args.mode,)
    store = args.work / "results.json"
    results = _read_results(store)
    for entry in selected if not args.report else ():
        for mode in modes:
            if mode == "tag" and not tag_available:
                outcome = Outcome(entry.id, mode, "check", False, "not available: no `nb2prod tag`")
            else:
                outcome = run_isolated(entry, mode, mirror, args.work, args.timeout)
            results[f"{entry.id}/{mode}"] = outcome
            store.write_text(json.dumps({k: asdict(v) for k, v in results.items()}), "utf-8")
            status = "pass" if outcome.ok else f"FAIL at {outcome.stage}"
            print(
                f"{entry.id} [{mode}] {status}: {outcome.reason} ({outcome.seconds:g} s)",
                flush=True,
            )
    # The table covers every notebook measured so far, in spec order, so a rerun of a few
    # (--only) updates their rows and keeps the others'.
    ordered = [
        results[f"{entry.id}/{mode}"]
        for entry in entries
        for mode in MODES
        if f"{entry.id}/{mode}" in results
    ]
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(render_markdown(ordered, entries, tag_available), "utf-8")
    print(f"wrote {args.output}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
