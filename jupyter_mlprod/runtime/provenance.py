"""Provenance: the facts that say where a model or a run came from.

One source of truth for file hashes, the git state of a work tree, installed distribution
versions and "now" in UTC, used by the model manifest (``train``), and, in-process, by
``nb2prod run``'s run records and the converter (``jupyter_mlprod.runtime.provenance``).

This module imports only the standard library, so importing it never pulls numpy or pandas
into the converter or ``nb2prod run``, and it has no relative imports, so another
interpreter (a kernel's) can run its source as a script to list its own distributions.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import re
import subprocess
import sys
from collections.abc import Iterable
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, TypedDict


class GitState(TypedDict):
    """The commit checked out and whether the work tree differs from it."""

    commit: str
    dirty: bool


def utc_now() -> str:
    """The current time in UTC, ISO 8601 to the second (``2026-03-01T12:00:00+00:00``).

    Every timestamp the runtime and the run records write comes from here, so they all have
    one precision; durations are measured separately with a monotonic clock.
    """
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


def sha256_file(path: str | os.PathLike[str]) -> str:
    """Hex SHA-256 of a file's bytes, read in chunks (artifacts and data files can be large)."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def describe_input_files(paths: Iterable[str], cwd: Path | None = None) -> list[dict[str, Any]]:
    """Hash the training data files (paths as the notebook gave them, resolved against cwd).

    A missing file is recorded with ``sha256: null`` rather than failing the training run:
    the pipeline already read it, so it may have been a glob or a directory.
    """
    base = cwd or Path.cwd()
    described = []
    for given in paths:
        path = (base / given) if not Path(given).is_absolute() else Path(given)
        record: dict[str, Any] = {"path": given, "sha256": None, "bytes": None}
        if path.is_file():
            record.update(sha256=sha256_file(path), bytes=path.stat().st_size)
        described.append(record)
    return described


def git_state(directory: Path | None = None, exclude: Iterable[Path] = ()) -> GitState | None:
    """The commit and dirtiness of the git work tree holding ``directory``.

    The rule for "dirty": the work tree differs from the commit in any way ``git status
    --porcelain`` reports — modified or staged tracked files, *and untracked files that are
    not ignored*. An untracked file next to the notebook (a new data file, a helper module)
    can change what a run computes just as an edit can, so a tree holding one cannot be
    reproduced from the commit alone. Ignored files do not count: ``.gitignore`` is where a
    project says what is not source.

    Args:
        directory: Anywhere in the work tree; None means the current directory.
        exclude: Outputs of the run being recorded (the runs directory, the model store):
            their own files appearing must not make the tree dirty. Paths outside the work
            tree are skipped.

    Returns:
        ``{"commit", "dirty"}``, or None outside a git work tree, without git, or before the
        first commit.
    """
    try:
        top_line, commit = _git(directory, "rev-parse", "--show-toplevel", "HEAD").split("\n")[:2]
        top = Path(top_line).resolve()
        pathspecs = [":/"]
        for path in exclude:
            with contextlib.suppress(ValueError):  # not under the work tree
                relative = Path(path).resolve().relative_to(top).as_posix()
                if relative != ".":
                    pathspecs.append(f":(top,exclude,literal){relative}")
        status = _git(directory, "status", "--porcelain", "--", *pathspecs)
    except (OSError, subprocess.SubprocessError):
        return None
    return {"commit": commit, "dirty": bool(status.strip())}


def _git(directory: Path | None, *args: str) -> str:
    """Run one git command; raises ``CalledProcessError`` when git refuses."""
    return subprocess.run(
        ["git", *args], cwd=directory, capture_output=True, text=True, timeout=30, check=True
    ).stdout


def installed_distributions() -> dict[str, str]:
    """Every distribution installed for this interpreter: lower-case name → version, sorted.

    Names and versions come from the ``<name>-<version>.dist-info`` folder names when they
    can: reading every METADATA file costs half a second on a busy machine.
    """
    from importlib import metadata

    found: dict[str, str] = {}
    for distribution in metadata.distributions():
        stem = str(getattr(getattr(distribution, "_path", None), "name", ""))
        if stem.endswith(".dist-info") and stem.count("-") == 2:
            name, version = stem[: -len(".dist-info")].split("-")
            found.setdefault(name.replace("_", "-").lower(), version)
            continue
        name = distribution.metadata["Name"]
        if name:
            found.setdefault(name.replace("_", "-").lower(), distribution.version)
    return dict(sorted(found.items()))


def distribution_versions(package: str) -> dict[str, str]:
    """Versions of the installed distributions the package depends on.

    When the package is installed its declared requirements are used; when it runs from a
    source tree the distributions of the third-party modules it has imported stand in.
    """
    from importlib import metadata

    names: set[str] = set()
    try:
        requires = metadata.distribution(package.replace("_", "-")).requires or []
    except metadata.PackageNotFoundError:
        providers = metadata.packages_distributions()
        for module in list(sys.modules):
            root = module.partition(".")[0]
            if root and root != package and root not in sys.stdlib_module_names:
                names.update(providers.get(root, []))
    else:
        for requirement in requires:
            if "extra ==" not in requirement:
                names.add(re.split(r"[\s;<>=!~\[(]", requirement, maxsplit=1)[0])
    installed = {_normalise(name): version for name, version in installed_distributions().items()}
    return {
        name: installed[_normalise(name)] for name in sorted(names) if _normalise(name) in installed
    }


def _normalise(name: str) -> str:
    """A distribution name as PEP 503 compares them (``Scikit_Learn`` == ``scikit-learn``)."""
    return re.sub(r"[-_.]+", "-", name).lower()


if __name__ == "__main__":
    # Run as a script by another interpreter (a kernel's), to list that environment.
    print(json.dumps(installed_distributions()))
