"""``mlprod/runs`` and ``mlprod/models``: the Runs and Models views' endpoints.

Run directories and model stores are made on disk the way ``nb2prod run``/``verify`` and a
package's ``train`` make them (``run.json``/``verify.json``; ``ModelStore.save``), then read,
promoted and rolled back through the REST API; the alias table is read back from disk.
"""

from __future__ import annotations

import json
import threading
from pathlib import Path
from typing import Any

import pytest
from jupyter_server.auth import Authorizer
from traitlets.config import Config

from jupyter_mlprod.runtime.store import ModelStore
from jupyter_mlprod.server.jobs import JobOutcome, JobRegistry, Progress


def write_run(runs_dir: Path, run_id: str, notebook: Path, **fields: Any) -> Path:
    """A run directory as execute_run leaves it (only the fields the summary reads)."""
    run_dir = runs_dir / run_id
    run_dir.mkdir(parents=True)
    (run_dir / notebook.name).write_text("{}", encoding="utf-8")
    record = {
        "run_id": run_id,
        "status": "succeeded",
        "notebook": {"path": notebook.name, "absolute_path": str(notebook.resolve())},
        "executed_notebook": notebook.name,
        "parameters": {"n_rows": 80},
        "start": "2026-12-01T10:00:00Z",
        "duration": 1.5,
        "error": None,
        **fields,
    }
    (run_dir / "run.json").write_text(json.dumps(record), encoding="utf-8")
    return run_dir


def make_store(store_dir: Path, versions: int = 2) -> ModelStore:
    """A store with ``versions`` versions, as train writes them (JSON-encodable artifacts)."""
    store = ModelStore(store_dir)
    for number in range(1, versions + 1):
        store.save(
            {"weights": [number, number + 1]},
            {"params": {"alpha": number / 10}, "metrics": {"accuracy": 0.8 + number / 100}},
        )
    return store


async def get(jp_fetch: Any, endpoint: str, **params: str) -> tuple[int, dict[str, Any]]:
    response = await jp_fetch("mlprod", endpoint, params=params, raise_error=False)
    return response.code, json.loads(response.body.decode() or "{}")


async def test_runs_lists_the_notebooks_runs_newest_first(
    jp_fetch: Any, put_notebook: Any, jp_root_dir: Path
) -> None:
    notebook = put_notebook("work/tiny.ipynb")
    other = put_notebook("work/other.ipynb")
    runs = jp_root_dir / "work" / "runs"
    write_run(runs, "20261201T100000000Z-aaaaaa", notebook)
    failed = write_run(
        runs,
        "20261201T110000000Z-bbbbbb",
        notebook,
        kind="verify",
        error={"cell_index": 3, "ename": "ValueError", "evalue": "bad"},
        status="failed",
    )
    (failed / "verify.json").write_text(
        json.dumps({"ok": False, "rows": 0, "mismatches": 0, "message": "did not run"}),
        encoding="utf-8",
    )
    write_run(runs, "20261201T120000000Z-cccccc", other)
    (runs / "not-a-run").mkdir()

    status, body = await get(jp_fetch, "runs", path="work/tiny.ipynb")
    assert status == 200, body
    assert body["runs_dir"] == "work/runs"
    assert [run["run_id"] for run in body["runs"]] == [
        "20261201T110000000Z-bbbbbb",
        "20261201T100000000Z-aaaaaa",
    ]
    newest, oldest = body["runs"]
    assert newest["kind"] == "verify" and newest["status"] == "failed"
    assert newest["error"]["cell_number"] == 4
    assert newest["verify"]["message"] == "did not run"
    assert oldest["kind"] == "run" and oldest["verify"] is None
    assert oldest["run_dir"] == "work/runs/20261201T100000000Z-aaaaaa"
    assert oldest["executed_notebook"] == "work/runs/20261201T100000000Z-aaaaaa/tiny.ipynb"
    assert oldest["parameters"] == {"n_rows": 80}
    assert (jp_root_dir / oldest["executed_notebook"]).is_file()


async def test_runs_of_a_notebook_without_runs_is_empty(jp_fetch: Any, put_notebook: Any) -> None:
    put_notebook("tiny.ipynb")
    status, body = await get(jp_fetch, "runs", path="tiny.ipynb", runs_dir="elsewhere")
    assert status == 200, body
    assert body == {"notebook": "tiny.ipynb", "runs_dir": "elsewhere", "runs": []}


@pytest.mark.parametrize(
    ("params", "code"),
    [
        ({"path": "../outside.ipynb"}, 403),
        ({"path": "tiny.ipynb", "runs_dir": "../../etc"}, 403),
        ({"path": "tiny.ipynb", "runs_dir": ".hidden"}, 403),
        ({"path": "missing.ipynb"}, 404),
        ({}, 400),
    ],
)
async def test_runs_paths_are_confined(
    jp_fetch: Any, put_notebook: Any, params: dict[str, str], code: int
) -> None:
    put_notebook("tiny.ipynb")
    status, body = await get(jp_fetch, "runs", **params)
    assert status == code, body
    assert body["message"]


async def test_models_view_lists_versions_aliases_and_history(
    jp_fetch: Any, jp_root_dir: Path
) -> None:
    store = make_store(jp_root_dir / "pkg" / "models", versions=2)
    store.promote("v1")
    status, body = await get(jp_fetch, "models", store="pkg/models")
    assert status == 200, body
    assert body["store"] == "pkg/models" and body["exists"] is True
    assert [v["version"] for v in body["versions"]] == ["v2", "v1"]
    v2, v1 = body["versions"]
    assert v1["aliases"] == ["production"] and v2["aliases"] == []
    assert v2["metrics"] == {"accuracy": pytest.approx(0.82)}
    assert v2["params"] == {"alpha": 0.2}
    assert v2["created"] and v2["problem"] is None
    assert v2["profiled"] is False and v2["drift"] is None
    assert body["aliases"] == {"production": {"version": "v1", "previous": None}}
    assert [(e["alias"], e["action"], e["version"]) for e in body["history"]] == [
        ("production", "promote", "v1")
    ]
    assert body["monitoring"] is False


async def test_promote_and_rollback_change_the_alias_table_on_disk(
    jp_fetch: Any, jp_root_dir: Path
) -> None:
    store_dir = jp_root_dir / "pkg" / "models"
    make_store(store_dir, versions=2)
    aliases = store_dir / "aliases.json"

    async def post(action: str, body: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        response = await jp_fetch(
            "mlprod", "models", action, method="POST", body=json.dumps(body), raise_error=False
        )
        return response.code, json.loads(response.body.decode())

    status, body = await post("promote", {"store": "pkg/models", "version": "v1"})
    assert status == 200, body
    status, body = await post("promote", {"store": "pkg/models", "version": "v2"})
    assert status == 200, body
    assert json.loads(aliases.read_text())["production"]["version"] == "v2"
    assert body["aliases"]["production"] == {"version": "v2", "previous": "v1"}

    status, body = await post("rollback", {"store": "pkg/models"})
    assert status == 200, body
    assert json.loads(aliases.read_text())["production"]["version"] == "v1"
    assert [e["action"] for e in body["history"]] == ["rollback", "promote", "promote"]

    status, body = await post("rollback", {"store": "pkg/models"})
    assert status == 422
    assert "no earlier version" in body["message"]
    status, body = await post("promote", {"store": "pkg/models", "version": "v9"})
    assert status == 422
    assert "no version v9" in body["message"]
    assert str(jp_root_dir) not in body["message"]
    status, body = await post("promote", {"store": "pkg/models"})
    assert status == 400
    status, body = await post("promote", {"store": "nowhere", "version": "v1"})
    assert status == 404
    assert not (jp_root_dir / "nowhere").exists()


async def test_models_paths_are_confined(jp_fetch: Any, jp_root_dir: Path, tmp_path: Path) -> None:
    outside = tmp_path / "outside-store"
    make_store(outside, versions=1)
    (jp_root_dir / "link").symlink_to(outside)
    for store in (str(outside), "../outside-store", "link", ".models"):
        status, body = await get(jp_fetch, "models", store=store)
        assert status == 403, (store, body)
        response = await jp_fetch(
            "mlprod",
            "models",
            "promote",
            method="POST",
            body=json.dumps({"store": store, "version": "v1"}),
            raise_error=False,
        )
        assert response.code == 403, store
    assert not (outside / "aliases.json").exists()


async def test_models_view_shows_drift_records_when_present(
    jp_fetch: Any, jp_root_dir: Path
) -> None:
    store_dir = jp_root_dir / "models"
    make_store(store_dir, versions=2)
    lines = [
        {"version": "v2", "time": "2026-12-01T10:00:00Z", "drifted": False},
        {"version": "v2", "time": "2026-12-01T11:00:00Z", "drifted": True, "alert": "x drifted"},
        "not json",
    ]
    (store_dir / "drift.jsonl").write_text(
        "\n".join(line if isinstance(line, str) else json.dumps(line) for line in lines),
        encoding="utf-8",
    )
    status, body = await get(jp_fetch, "models", store="models")
    assert status == 200, body
    v2, v1 = body["versions"]
    assert v2["drift"] == {
        "checks": 2,
        "drifted": True,
        "last": "2026-12-01T11:00:00Z",
        "alerts": ["x drifted"],
    }
    assert v1["drift"] is None
    assert body["monitoring"] is True


async def test_models_view_of_a_broken_manifest_keeps_the_others(
    jp_fetch: Any, jp_root_dir: Path
) -> None:
    store_dir = jp_root_dir / "models"
    make_store(store_dir, versions=2)
    (store_dir / "v1" / "manifest.json").write_text("{", encoding="utf-8")
    status, body = await get(jp_fetch, "models", store="models")
    assert status == 200, body
    v2, v1 = body["versions"]
    assert v2["problem"] is None
    assert "unreadable manifest" in v1["problem"]
    assert str(jp_root_dir) not in json.dumps(body["store"])


async def test_new_endpoints_refuse_requests_without_token(
    http_server_client: Any, jp_base_url: str
) -> None:
    base = f"{jp_base_url}mlprod/"
    requests: list[tuple[str, dict[str, Any]]] = [
        ("runs?path=nb.ipynb", {"method": "GET"}),
        ("models?store=models", {"method": "GET"}),
        ("models/promote", {"method": "POST", "body": json.dumps({"store": "m", "version": "v1"})}),
        ("models/rollback", {"method": "POST", "body": json.dumps({"store": "m"})}),
    ]
    for path, options in requests:
        response = await http_server_client.fetch(base + path, raise_error=False, **options)
        assert response.code in {401, 403}, (path, response.code)


def test_a_job_reports_its_phases_as_they_happen() -> None:
    registry = JobRegistry(max_workers=1)
    reached = threading.Event()
    release = threading.Event()

    def work(progress: Progress) -> JobOutcome:
        progress.phase("executing notebook")
        progress(3, 4)
        progress.phase("training package")
        reached.set()
        release.wait(30)
        return JobOutcome(True, {"ok": True})

    job_id = registry.submit("verify", work)
    assert reached.wait(30)
    running = registry.snapshot(job_id)
    assert running is not None
    assert running["phase"] == "training package"
    assert running["progress"] == {"done": 3, "total": 4}
    release.set()
    finished = registry.wait(job_id, timeout=30)
    assert finished is not None and finished["status"] == "succeeded"
    assert finished["phase"] == ""
    registry.shutdown()


class ReadOnlyAuthorizer(Authorizer):
    """Lets users read but never write files or execute code."""

    def is_authorized(self, handler: Any, user: Any, action: str, resource: str) -> bool:
        return action == "read"


class TestReadOnlyUser:
    @pytest.fixture
    def jp_server_config(self) -> Config:
        return Config(
            {
                "ServerApp": {
                    "jpserver_extensions": {"jupyter_mlprod": True},
                    "authorizer_class": ReadOnlyAuthorizer,
                }
            }
        )

    async def test_may_list_but_not_promote(self, jp_fetch: Any, jp_root_dir: Path) -> None:
        store_dir = jp_root_dir / "models"
        make_store(store_dir, versions=1)
        status, body = await get(jp_fetch, "models", store="models")
        assert status == 200, body
        for action, request in (
            ("promote", {"store": "models", "version": "v1"}),
            ("rollback", {"store": "models"}),
        ):
            response = await jp_fetch(
                "mlprod",
                "models",
                action,
                method="POST",
                body=json.dumps(request),
                raise_error=False,
            )
            assert response.code == 403, action
        assert not (store_dir / "aliases.json").exists()
