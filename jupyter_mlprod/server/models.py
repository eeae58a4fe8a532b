"""A converted package's model store for the lab: ``mlprod/models`` (list, promote, rollback).

The store is read and changed in-process with the runtime's own :class:`ModelStore` (every
generated package carries a byte-for-byte copy of it), so the lab sees exactly what the
package's ``models list|promote|rollback`` see. Only manifests and the alias table are read:
no artifact is ever loaded (nothing unpickled), and promotion and rollback take the store's
lock like the package's CLI does.

Monitoring data is optional: a version's manifest may carry a ``profile`` (train records
it) and the store may hold drift records (JSON lines with a ``version``, under
``monitoring/`` or as ``drift.jsonl``); what exists is shown, what does not is reported as
absent rather than as an error.
"""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

from jupyter_server.auth.decorator import authorized
from tornado import web

from ..runtime.errors import ModelError
from ..runtime.store import DEFAULT_ALIAS, ModelStore
from .handlers import MlprodHandler, optional_str
from .paths import strip_root
from .responses import ApiError

#: Drift records read per store at most (newest kept): a view, not an archive.
MAX_DRIFT_RECORDS = 5000
#: Alerts shown per version at most.
MAX_ALERTS = 5


def store_view(store_dir: Path, shown: str) -> dict[str, Any]:
    """Everything the Models view shows about one store, from manifests and aliases only.

    Raises:
        ModelError: the alias table as a whole is unreadable.
    """
    store = ModelStore(store_dir)
    aliases = store.aliases()
    problems = store.alias_problems()
    drift = _drift_by_version(store_dir)
    pointing: dict[str, list[str]] = {}
    for name, entry in aliases.items():
        pointing.setdefault(str(entry["version"]), []).append(name)
    versions = []
    for stored in reversed(store.stored_versions()):
        manifest = stored.manifest or {}
        versions.append(
            {
                "version": stored.version,
                "created": manifest.get("created"),
                "metrics": manifest.get("metrics") or {},
                "params": manifest.get("params") or {},
                "aliases": sorted(pointing.get(stored.version, [])),
                "profiled": isinstance(manifest.get("profile"), dict),
                "drift": drift.get(stored.version),
                "problem": stored.problem,
            }
        )
    # Newest first; times are to the second, so an alias's own order breaks ties.
    events = [
        (str(event.get("time", "")), index, {"alias": name, **event})
        for name, entry in aliases.items()
        for index, event in enumerate(entry["history"])
    ]
    history = [event for _, _, event in sorted(events, key=lambda e: e[:2], reverse=True)]
    return {
        "store": shown,
        "exists": store_dir.is_dir(),
        "versions": versions,
        "aliases": {
            name: {
                "version": entry["version"],
                "previous": entry["stack"][-2] if len(entry["stack"]) > 1 else None,
            }
            for name, entry in sorted(aliases.items())
        },
        "alias_problems": problems,
        "history": history,
        "monitoring": bool(drift),
    }


def _drift_by_version(store_dir: Path) -> dict[str, dict[str, Any]]:
    """Per version: how many drift checks, the latest verdict and alerts (newest first)."""
    files = sorted((store_dir / "monitoring").glob("*.jsonl")) if store_dir.is_dir() else []
    if (store_dir / "drift.jsonl").is_file():
        files.append(store_dir / "drift.jsonl")
    records: list[dict[str, Any]] = []
    for path in files:
        try:
            lines = path.read_text(encoding="utf-8").splitlines()[-MAX_DRIFT_RECORDS:]
        except OSError:
            continue
        for line in lines:
            try:
                item = json.loads(line)
            except ValueError:
                continue
            if isinstance(item, dict) and isinstance(item.get("version"), str):
                records.append(item)
    records.sort(key=lambda item: str(item.get("time", "")))
    view: dict[str, dict[str, Any]] = {}
    for item in records:
        entry = view.setdefault(
            item["version"], {"checks": 0, "drifted": None, "last": None, "alerts": []}
        )
        entry["checks"] += 1
        verdict = item.get("drifted", item.get("dataset_drift"))
        if isinstance(verdict, bool):
            entry["drifted"] = verdict
        entry["last"] = item.get("time")
        alert = item.get("alert") or (item.get("message") if verdict else None)
        if isinstance(alert, str) and alert:
            entry["alerts"] = [alert, *entry["alerts"]][:MAX_ALERTS]
    return view


class ModelsBase(MlprodHandler):
    """The store named by a request, confined to the root like every other path."""

    def store_dir(self, requested: object) -> Path:
        """The confined store directory; 400 when it is a file."""
        path = self.confined(requested, "store")
        if path.exists() and not path.is_dir():
            raise ApiError(400, f"store {requested!r} is a file; choose the model store directory")
        return path

    def store_error(self, error: ModelError) -> ApiError:
        """A 422 carrying the store's one line, paths root-relative."""
        return ApiError(422, strip_root(str(error), self.root_dir))

    async def answer(self, store_dir: Path) -> None:
        """Finish with the store's view."""
        try:
            view = await asyncio.to_thread(store_view, store_dir, self.shown(store_dir))
        except ModelError as error:
            raise self.store_error(error) from None
        self.finish(view)


class ModelsHandler(ModelsBase):
    """``GET mlprod/models?store=<dir>``: versions, aliases, history, drift."""

    @web.authenticated
    @authorized("read", "contents")
    async def get(self) -> None:
        """Answer the store's view (an absent store is an empty one)."""
        await self.answer(self.store_dir(self.get_query_argument("store", "")))


class PromoteHandler(ModelsBase):
    """``POST mlprod/models/promote`` ``{store, version, alias?}``: point an alias at a version."""

    @web.authenticated
    @authorized("write", "contents")
    async def post(self) -> None:
        """Promote under the store's lock, then answer the store's new view."""
        body = self.json_body()
        store_dir = self.store_dir(body.get("store"))
        version = optional_str(body, "version")
        alias = optional_str(body, "alias") or DEFAULT_ALIAS
        if version is None:
            raise ApiError(400, "`version` must name a version (v1, v2, ...) or an alias")
        if not store_dir.is_dir():
            raise ApiError(404, f"no model store at {self.shown(store_dir)}")
        try:
            await asyncio.to_thread(ModelStore(store_dir).promote, version, alias)
        except ModelError as error:
            raise self.store_error(error) from None
        await self.answer(store_dir)


class RollbackHandler(ModelsBase):
    """``POST mlprod/models/rollback`` ``{store, alias?}``: move an alias back one promotion."""

    @web.authenticated
    @authorized("write", "contents")
    async def post(self) -> None:
        """Roll back under the store's lock, then answer the store's new view."""
        body = self.json_body()
        store_dir = self.store_dir(body.get("store"))
        alias = optional_str(body, "alias") or DEFAULT_ALIAS
        if not store_dir.is_dir():
            raise ApiError(404, f"no model store at {self.shown(store_dir)}")
        try:
            await asyncio.to_thread(ModelStore(store_dir).rollback, alias)
        except ModelError as error:
            raise self.store_error(error) from None
        await self.answer(store_dir)
