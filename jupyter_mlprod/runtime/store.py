"""The model store: immutable versions, aliases with history, locking.

Layout of a store (``--model-dir``, else ``$MLPROD_MODEL_DIR``, else ``./models``)::

    models/
      .lock              flock'd while a version number is taken or aliases change
      aliases.json       {"production": {"version": "v2", "stack": [...], "history": [...]}}
      history.jsonl      actions that move no alias (a canary stopped by an alert rule)
      v1/manifest.json   params, seed, metrics, schema, hashes, environment (see save())
      v1/artifacts/      one file per artifact name, in the safest format that fits it

Each ``train`` builds its version in a hidden staging directory, loads it back and checks
the smoke prediction, and only then takes the lock, picks the next number and renames the
directory into place: readers never see half a version, and two concurrent trains get two
numbers. A train holds its staging directory's own lock while it writes; the next train
removes staging directories that no live train holds and that have not changed for a while
(locks.py), which is what a killed train leaves behind.

Every manifest and the alias table are read by one reader each (:func:`_read_manifest`,
:func:`_read_aliases`), which checks their shape: a malformed file is one line naming it and
what is wrong, and spoils only what it describes: the other versions, and the other aliases,
stay usable.

Each artifact is written in the safest format that fits it and read back only after its
SHA-256 matches the manifest (artifacts.py). The manifest itself is the trust anchor:
someone who can rewrite both a file and the manifest can change the model. With a signing key
set, ``train`` signs each manifest and :meth:`ModelStore.load` checks the signature before it
reads the manifest or any artifact (signing.py); without one, the store should live where only
the service account can write.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import shutil
import tempfile
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from .artifacts import dump_artifact, load_artifact
from .errors import ModelError, first_line
from .locks import acquire, create_locked, exclusive, remove_abandoned
from .provenance import utc_now
from .signing import sign_version, signing_key, verify_version

MANIFEST = "manifest.json"
ALIASES = "aliases.json"
HISTORY = "history.jsonl"
ENV_MODEL_DIR = "MLPROD_MODEL_DIR"
DEFAULT_MODEL_DIR = "models"
DEFAULT_ALIAS = "production"
FORMAT_VERSION = 1
STAGING_PREFIX = ".staging-"
STAGING_LOCK = ".lock"

_VERSION = re.compile(r"^v([1-9][0-9]*)$")
_ALIAS = re.compile(r"^[A-Za-z][A-Za-z0-9_.-]*$")
_ARTIFACT_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


@dataclass(frozen=True)
class LoadedModel:
    """A version loaded from the store, ready for ``predict(artifacts, input)``."""

    version: str
    manifest: dict[str, Any]
    artifacts: dict[str, Any]

    @property
    def schema(self) -> dict[str, Any]:
        """The input schema recorded at training time."""
        return dict(self.manifest.get("schema") or {"kind": "object"})


@dataclass(frozen=True)
class StoredVersion:
    """One version directory as listed: its manifest, or what is wrong with it.

    Attributes:
        version: The directory name (``v1``, ``v2``, …).
        manifest: The checked manifest, or None when it cannot be used.
        problem: One line naming the file and what is wrong, when ``manifest`` is None.
    """

    version: str
    manifest: dict[str, Any] | None
    problem: str | None


def model_dir(explicit: str | os.PathLike[str] | None = None) -> Path:
    """Resolve the store directory: the flag, else the environment variable, else ./models."""
    return Path(explicit or os.environ.get(ENV_MODEL_DIR) or DEFAULT_MODEL_DIR)


class ModelStore:
    """A directory of immutable model versions and the aliases that point at them."""

    def __init__(self, root: str | os.PathLike[str]) -> None:
        self.root = Path(root)

    # ---------------------------------------------------------------- reading

    def versions(self) -> list[str]:
        """Version ids in creation order (``v1``, ``v2``, …)."""
        if not self.root.is_dir():
            return []
        found = [
            (int(m.group(1)), p.name) for p in self.root.iterdir() if (m := _VERSION.match(p.name))
        ]
        return [name for _, name in sorted(found)]

    def stored_versions(self) -> list[StoredVersion]:
        """Every version with its manifest, or the problem that makes it unusable."""
        listed = []
        for version in self.versions():
            try:
                listed.append(StoredVersion(version, self.manifest(version), None))
            except ModelError as error:
                listed.append(StoredVersion(version, None, str(error)))
        return listed

    def aliases(self) -> dict[str, dict[str, Any]]:
        """The well-formed aliases: name → ``{"version", "stack", "history"}``.

        Raises:
            ModelError: If the alias table as a whole is unreadable or not a JSON object.
        """
        return _read_aliases(self.root / ALIASES)[0]

    def alias_problems(self) -> dict[str, str]:
        """Malformed aliases: name → one line naming the alias table and what is wrong."""
        return _read_aliases(self.root / ALIASES)[1]

    def resolve(self, ref: str | None = None) -> str:
        """Turn ``vN``, an alias or ``latest`` into a version id.

        Args:
            ref: The reference; ``None`` means the ``production`` alias when it exists,
                else the latest version.

        Returns:
            An existing version id.

        Raises:
            ModelError: If the reference names nothing in the store.
        """
        versions = self.versions()
        if ref is None:
            table, problems = _read_aliases(self.root / ALIASES)
            ref = DEFAULT_ALIAS if DEFAULT_ALIAS in table or DEFAULT_ALIAS in problems else "latest"
        if not versions:
            raise ModelError(f"{self.root}: no model versions yet; run `train` first")
        if ref == "latest":
            return versions[-1]
        if _VERSION.match(ref):
            if ref not in versions:
                raise ModelError(f"{self.root}: no version {ref}; have {', '.join(versions)}")
            return ref
        table, problems = _read_aliases(self.root / ALIASES)
        if ref in problems:
            raise ModelError(problems[ref])
        if ref not in table:
            known = ", ".join(sorted(table)) or "none"
            raise ModelError(
                f"{self.root}: unknown model {ref!r}; use vN, latest or an alias ({known})"
            )
        version = table[ref].get("version")
        if version not in versions:
            raise ModelError(f"{self.root}: alias {ref!r} points at missing version {version}")
        return str(version)

    def manifest(self, version: str) -> dict[str, Any]:
        """Read a version's manifest, checked by :func:`_read_manifest`."""
        return _read_manifest(self.root / version / MANIFEST)

    def load(self, ref: str | None = None) -> LoadedModel:
        """Resolve ``ref`` and load its artifacts: the manifest's signature checked first
        (signing.py), then every file's hash before it is read.

        Raises:
            ModelError: Naming the file that is missing, tampered with or unloadable.
        """
        version = self.resolve(ref)
        manifest = self.manifest(version)
        # Before the manifest is trusted with anything (it names the files and classes to load),
        # and over the very value read once above, not a second read of the file.
        verify_version(self.root, version, manifest)
        artifacts = _load_artifacts(self.root / version, manifest)
        return LoadedModel(version=version, manifest=manifest, artifacts=artifacts)

    # ---------------------------------------------------------------- writing

    def save(
        self,
        artifacts: Mapping[str, Any],
        metadata: Mapping[str, Any],
        check: Callable[[dict[str, Any]], None] | None = None,
    ) -> str:
        """Write a new immutable version atomically.

        Args:
            artifacts: Name → object, as ``predict()`` reads them.
            metadata: Manifest fields (params, seed, metrics, schema, environment…).
            check: Called with the artifacts *as loaded back from disk*, before the version
                becomes visible; it raises to abort (e.g. the smoke prediction differs).

        Returns:
            The new version id.

        Raises:
            ModelError: Also when the signing key is set but unusable (signing.py).
        """
        key = signing_key(self.root)
        with self._lock():
            # Under the store lock, so every staging directory seen here either has its
            # train's lock held or was abandoned: one is created and locked in one step.
            self._remove_abandoned()
            staging = Path(tempfile.mkdtemp(prefix=STAGING_PREFIX, dir=self.root))
            staging_lock = open(staging / STAGING_LOCK, "a+b")
            acquire(staging_lock.fileno())
        try:
            (staging / "artifacts").mkdir()
            entries = [
                dump_artifact(name, value, staging / "artifacts")
                for name, value in artifacts.items()
            ]
            manifest: dict[str, Any] = {"format": FORMAT_VERSION, **metadata, "artifacts": entries}
            if check is not None:
                check(_load_artifacts(staging, manifest))
            with self._lock():
                number = max((int(v[1:]) for v in self.versions()), default=0) + 1
                version = f"v{number}"
                manifest = {
                    "format": FORMAT_VERSION,
                    "version": version,
                    "created": utc_now(),
                    **metadata,
                    "artifacts": entries,
                }
                _write_json(staging / MANIFEST, manifest)
                if key is not None:
                    sign_version(staging, version, key)
                # Closed before it is removed (Windows cannot remove an open file); the store
                # lock keeps the cleaner away meanwhile.
                staging_lock.close()
                (staging / STAGING_LOCK).unlink()
                os.rename(staging, self.root / version)
        except BaseException as error:
            staging_lock.close()
            shutil.rmtree(staging, ignore_errors=True)
            if isinstance(error, OSError):
                raise ModelError(
                    f"{self.root}: cannot save a new version ({_os_reason(error)})"
                ) from None
            raise
        return version

    def _remove_abandoned(self) -> list[Path]:
        """Remove what killed trains and promotions left: staging dirs, alias-table temps."""
        leftovers = [(path, path / STAGING_LOCK) for path in self.root.glob(f"{STAGING_PREFIX}*")]
        # Alias-table temp files are only written under the store lock, which the caller holds.
        leftovers += [(path, path) for path in self.root.glob(f".{ALIASES}.*")]
        return remove_abandoned(leftovers)

    def promote(
        self, ref: str, alias: str = DEFAULT_ALIAS, reason: Mapping[str, Any] | None = None
    ) -> tuple[str, str | None]:
        """Point ``alias`` at the version ``ref`` resolves to.

        Args:
            ref: The version to point at (``vN``, an alias or ``latest``).
            alias: The alias to move.
            reason: Why, recorded in the alias's history (e.g. the alert rule that fired).

        Returns:
            ``(new version, previous version or None)``.
        """
        if not _ALIAS.match(alias) or _VERSION.match(alias) or alias == "latest":
            raise ModelError(f"{alias!r} cannot be an alias; use a name like production or staging")
        with self._lock():
            version = self.resolve(ref)
            table = self._aliases_to_change()
            entry = table.setdefault(alias, {"version": None, "stack": [], "history": []})
            previous = entry.get("version")
            if previous != version:
                entry["stack"].append(version)
            entry["version"] = version
            entry["history"].append(_history("promote", version, previous, reason))
            _write_json(self.root / ALIASES, table)
        return version, previous

    def rollback(
        self, alias: str = DEFAULT_ALIAS, reason: Mapping[str, Any] | None = None
    ) -> tuple[str, str]:
        """Move ``alias`` back to the version it pointed to before the last promotion.

        Args:
            alias: The alias to move back.
            reason: Why, recorded in the alias's history (an automatic rollback names the
                alert rule, the values that fired it and the time).

        Returns:
            ``(restored version, version rolled away from)``.
        """
        with self._lock():
            table = self._aliases_to_change()
            entry = table.get(alias)
            if entry is None:
                raise ModelError(f"{self.root}: no alias {alias!r} to roll back")
            stack = entry["stack"]
            if len(stack) < 2:
                raise ModelError(f"alias {alias!r} has no earlier version to roll back to")
            current = stack.pop()
            entry["version"] = stack[-1]
            entry["history"].append(_history("rollback", stack[-1], current, reason))
            _write_json(self.root / ALIASES, table)
        return stack[-1], current

    def record(self, action: str, version: str, reason: Mapping[str, Any]) -> dict[str, Any]:
        """Append an action that moves no alias (a canary's traffic set to 0 % by an alert
        rule) to the store's history, ``history.jsonl``: one JSON line, under the store lock.

        Returns:
            The recorded entry.
        """
        entry = {"time": utc_now(), "action": action, "version": version, "reason": dict(reason)}
        line = json.dumps(entry, default=str) + "\n"
        with self._lock():
            try:
                with open(self.root / HISTORY, "a", encoding="utf-8") as stream:
                    stream.write(line)
            except OSError as error:
                raise ModelError(
                    f"{self.root / HISTORY}: cannot write ({_os_reason(error)})"
                ) from None
        return entry

    def history(self, alias: str | None = None) -> list[dict[str, Any]]:
        """Every promotion, rollback and automatic action, oldest first.

        Alias entries carry ``alias``; the others come from ``history.jsonl``. A line of that
        file that is not a JSON object is skipped: one torn line must not hide the rest.

        Args:
            alias: Only the entries of this alias (and none of ``history.jsonl``'s).
        """
        entries: list[dict[str, Any]] = []
        for name, entry in self.aliases().items():
            if alias is None or name == alias:
                entries += [{"alias": name, **item} for item in entry["history"]]
        path = self.root / HISTORY
        if alias is None and path.is_file():
            for line in path.read_text(encoding="utf-8", errors="replace").splitlines():
                try:
                    item = json.loads(line)
                except ValueError:
                    continue
                if isinstance(item, dict):
                    entries.append(item)
        # ISO 8601 times to the second sort as text; sorted() keeps each file's order on ties.
        return sorted(entries, key=lambda item: str(item.get("time", "")))

    def _aliases_to_change(self) -> dict[str, dict[str, Any]]:
        """The alias table for a change: it is rewritten whole, so every entry must be sound."""
        table, problems = _read_aliases(self.root / ALIASES)
        if problems:
            raise ModelError(
                f"{next(iter(problems.values()))}; fix or remove that entry before changing aliases"
            )
        return table

    @contextlib.contextmanager
    def _lock(self) -> Iterator[None]:
        """Hold an exclusive lock on the store (across processes), creating the store."""
        if self.root.exists() and not self.root.is_dir():
            raise ModelError(f"{self.root}: is not a directory; choose another --model-dir")
        try:
            self.root.mkdir(parents=True, exist_ok=True)
            (self.root / ".lock").touch()
        except OSError as error:
            raise ModelError(
                f"{self.root}: cannot write the model store ({_os_reason(error)}); "
                "choose a writable --model-dir"
            ) from None
        with exclusive(self.root / ".lock"):
            yield


# -------------------------------------------------------------------- manifests


def _load_artifacts(directory: Path, manifest: Mapping[str, Any]) -> dict[str, Any]:
    entries = manifest["artifacts"]
    return {entry["name"]: load_artifact(directory / "artifacts", entry) for entry in entries}


def _history(
    action: Literal["promote", "rollback"],
    version: str,
    previous: str | None,
    reason: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """One entry of an alias's history (``reason`` only when something automatic did it)."""
    entry = {"time": utc_now(), "action": action, "version": version, "previous": previous}
    return {**entry, "reason": dict(reason)} if reason else entry


def _read_manifest(path: Path) -> dict[str, Any]:
    """The one reader of manifests: read ``path`` and check its shape.

    Raises:
        ModelError: One line naming the file and what is wrong with it.
    """
    try:
        manifest = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ModelError(
            f"{path}: manifest is missing, so {path.parent.name} is incomplete; "
            "remove that directory or restore its manifest"
        ) from None
    except (OSError, ValueError, RecursionError) as error:
        raise ModelError(f"{path}: unreadable manifest ({first_line(error)})") from None
    if not isinstance(manifest, dict):
        raise ModelError(f"{path}: manifest is not a JSON object")
    problem = _manifest_problem(manifest)
    if problem:
        raise ModelError(f"{path}: {problem}; restore the file or train a new version")
    return manifest


def _manifest_problem(manifest: Mapping[str, Any]) -> str | None:
    """What is wrong with a manifest's shape, or None: the fields the runtime relies on."""
    kind = manifest.get("format", FORMAT_VERSION)
    if not isinstance(kind, int) or isinstance(kind, bool) or not 1 <= kind <= FORMAT_VERSION:
        return f"format {kind!r} is not one this runtime reads (1 to {FORMAT_VERSION})"
    entries = manifest.get("artifacts")
    if not isinstance(entries, list):
        return "`artifacts` is not a list of artifact entries"
    seen = set()
    for index, entry in enumerate(entries):
        if not isinstance(entry, dict):
            return f"artifact entry {index} is not an object"
        name = entry.get("name")
        if not isinstance(name, str) or not _ARTIFACT_NAME.match(name):
            return f"artifact entry {index} has no `name` (a Python identifier)"
        if name in seen:
            return f"artifact {name!r} is listed twice"
        seen.add(name)
        for field in ("file", "format", "sha256"):
            if not isinstance(entry.get(field), str) or not entry[field]:
                return f"artifact {name!r} has no `{field}`"
    metrics = manifest.get("metrics", {})
    if not isinstance(metrics, dict):
        return "`metrics` is not an object of numbers"
    for metric, value in metrics.items():
        if not isinstance(value, int | float) or isinstance(value, bool):
            return f"metric {metric!r} is {_short_repr(value)}, not a number"
    for field, types in (("schema", dict), ("params", dict), ("created", str)):
        if manifest.get(field) is not None and not isinstance(manifest[field], types):
            return f"`{field}` is not a JSON {'object' if types is dict else 'string'}"
    return None


def _read_aliases(path: Path) -> tuple[dict[str, dict[str, Any]], dict[str, str]]:
    """The one reader of the alias table: its sound entries, and a problem per broken one.

    Returns:
        ``(entries, problems)``: alias → entry for the well-formed aliases, and alias → one
        line naming the file and what is wrong for the others.

    Raises:
        ModelError: If the file as a whole is unreadable or not a JSON object of aliases.
    """
    if not path.exists():
        return {}, {}
    try:
        table = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError, RecursionError) as error:
        raise ModelError(f"{path}: unreadable alias table ({first_line(error)})") from None
    if not isinstance(table, dict):
        raise ModelError(
            f"{path}: alias table is not a JSON object of aliases "
            '({"production": {"version": "v1", "stack": [...], "history": [...]}})'
        )
    entries, problems = {}, {}
    for alias, entry in table.items():
        problem = _alias_problem(entry)
        if problem:
            problems[alias] = f"{path}: alias {alias!r} {problem}"
        else:
            entries[alias] = entry
    return entries, problems


def _alias_problem(entry: Any) -> str | None:
    """What is wrong with one alias entry, or None."""
    if not isinstance(entry, dict):
        return "is not an object with version, stack and history"
    version = entry.get("version")
    if not isinstance(version, str) or not _VERSION.match(version):
        return f"points at {_short_repr(version)}, not a version like v1"
    stack = entry.get("stack")
    if not isinstance(stack, list) or not all(
        isinstance(item, str) and _VERSION.match(item) for item in stack
    ):
        return "has no stack (the list of versions it pointed at)"
    history = entry.get("history")
    if not isinstance(history, list) or not all(isinstance(item, dict) for item in history):
        return "has no history (the list of its promotions and rollbacks)"
    return None


def _short_repr(value: Any, limit: int = 40) -> str:
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _write_json(path: Path, value: Any) -> None:
    """Write JSON atomically: a reader sees the old file or the new one, never half.

    Raises:
        ModelError: One line naming the file when it cannot be written.
    """
    try:
        # Not mkstemp: its 0600 would hide manifests from a server running as another user.
        temp, handle = create_locked(path.parent, f".{path.name}.")
    except OSError as error:
        raise ModelError(f"{path}: cannot write ({_os_reason(error)})") from None
    try:
        with os.fdopen(handle, "w", encoding="utf-8") as stream:
            json.dump(value, stream, indent=2, sort_keys=False, default=str)
            stream.write("\n")
        os.replace(temp, path)
    except BaseException as error:
        Path(temp).unlink(missing_ok=True)
        if isinstance(error, OSError):
            raise ModelError(f"{path}: cannot write ({_os_reason(error)})") from None
        raise


def _os_reason(error: OSError) -> str:
    """The operating system's words for an error, without the path it already names."""
    return error.strerror or type(error).__name__
