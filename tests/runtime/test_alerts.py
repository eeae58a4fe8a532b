"""Alert rules of ``serve --alerts``: the file's checks (one test per kind of mistake), the
rules on a real server (a failing canary stopped, production rolled back on disk and served
without a restart, the webhook receiver's JSON, ``models history``), and the example file
every generated package ships."""

from __future__ import annotations

import http.server
import json
import os
import shutil
import subprocess
import sys
import textwrap
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import httpx
import pytest

from .conftest import Workspace, build_package, free_port, stop, train, wait_until_serving

GOOD_RULE = """
  - name: r
    when: error_rate_5xx
    above: 0.1
    actions: [log]
"""


@pytest.fixture(scope="session")
def flaky_src(package_src: Path) -> Path:
    """The fake array package that fails on inputs above ``fail_above``, next to the others."""
    build_package(package_src, "fakeflaky")
    return package_src


def check(text: str, tmp_path: Path) -> Any:
    from fakepkg.alerts import load_alerts

    path = tmp_path / "alerts.yaml"
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    return load_alerts(path)


def problems(text: str, tmp_path: Path) -> tuple[str, ...]:
    import fakepkg.alerts

    with pytest.raises(fakepkg.alerts.AlertsError) as caught:
        check(text, tmp_path)
    return caught.value.problems


def test_a_good_file_loads(package_src: Path, tmp_path: Path) -> None:
    config = check(
        """
        evaluate_every: 0.5
        rules:
          - name: canary
            when: canary_error_rate_vs_primary
            actions: [log, rollback, {command: [echo, hi]}, {webhook: {url: "http://127.0.0.1:9/x"}}]
          - name: prod
            when: drift_score
            column: age
            below: 0.01
            auto_rollback: true
            window: 30
            min_requests: 5
            cooldown: 0
            actions: [rollback]
        """,
        tmp_path,
    )
    canary, prod = config.rules
    assert config.evaluate_every == 0.5 and config.warnings == ()
    assert canary.arm == "canary" and canary.rolls_back and canary.above is None
    assert canary.holds(0.01) and not canary.holds(0.0)
    assert prod.arm == "production" and prod.rolls_back and prod.holds(0.001)
    assert not prod.holds(0.5) and prod.cooldown == 0.0 and prod.min_requests == 5


MISTAKES = [
    ("rules: [\n  - {name: x", ["not valid YAML (line", "fix the syntax"]),
    ("alerts: []", ["expected a mapping with a `rules:` list"]),
    ("rules: []", ["`rules:` is empty"]),
    ("colour: red\nrules:" + GOOD_RULE, ["unknown top-level field 'colour'", "known fields"]),
    ("rules:" + GOOD_RULE + "    threshold: 3\n", ["rule 1 'r': field `threshold`: unknown"]),
    ("rules:\n  - when: drift\n    actions: [log]\n", ["rule 1: field `name`: missing"]),
    (
        "rules:\n  - {name: r, when: errors, above: 1, actions: [log]}\n",
        ["field `when`: 'errors' is not a condition; use one of error_rate_5xx"],
    ),
    (
        "rules:\n  - {name: r, when: drift, arm: staging, actions: [log]}\n",
        ["field `arm`: 'staging' is not an arm; use production or canary"],
    ),
    (
        "rules:\n  - {name: r, when: canary_error_rate_vs_primary, arm: production,"
        " actions: [log]}\n",
        ["field `arm`: canary_error_rate_vs_primary watches the canary; write arm: canary"],
    ),
    (
        "rules:\n  - {name: r, when: error_rate_4xx, actions: [log]}\n",
        ["field `above`: error_rate_4xx needs a threshold; add e.g. above: 0.05"],
    ),
    (
        "rules:\n  - {name: r, when: error_rate_5xx, above: 5, actions: [log]}\n",
        ["field `above`: 5 is not a share; use a number from 0 to 1"],
    ),
    (
        "rules:\n  - {name: r, when: p99_latency_ms, above: fast, actions: [log]}\n",
        ["field `above`: 'fast' is not a number"],
    ),
    (
        "rules:\n  - {name: r, when: drift, above: 0.2, actions: [log]}\n",
        ["a drift rule fires on the monitor's verdict; remove above/below"],
    ),
    (
        "rules:\n  - {name: r, when: drift_score, above: 0.2, actions: [log]}\n",
        ["field `column`: drift_score needs the column to watch"],
    ),
    (
        "rules:\n  - {name: r, when: drift, column: age, actions: [log]}\n",
        ["field `column`: only drift_score rules watch a column"],
    ),
    (
        "rules:\n  - {name: r, when: drift, window: -5, actions: [log]}\n",
        ["field `window`: -5 is not a number of seconds > 0; e.g. window: 60"],
    ),
    (
        "rules:\n  - {name: r, when: drift, min_requests: 2.5, actions: [log]}\n",
        ["field `min_requests`: 2.5 is not a whole number >= 1"],
    ),
    (
        "rules:\n  - {name: r, when: drift, cooldown: soon, actions: [log]}\n",
        ["field `cooldown`: 'soon' is not a number of seconds >= 0"],
    ),
    (
        "rules:\n  - {name: r, when: drift, auto_rollback: 'yes', actions: [log]}\n",
        ["field `auto_rollback`: 'yes' is not true or false"],
    ),
    ("rules:\n  - {name: r, when: drift}\n", ["field `actions`: missing or empty"]),
    (
        "rules:\n  - {name: r, when: drift, actions: [page]}\n",
        ["field `actions[1]`: 'page' is not an action; use log, rollback"],
    ),
    (
        "rules:\n  - {name: r, when: drift, actions: [{command: 'rm -rf /'}]}\n",
        ["field `actions[1]`: command needs an argv list of strings"],
    ),
    (
        "rules:\n  - {name: r, when: drift, actions: [{webhook: {url: 'ftp://x'}}]}\n",
        ["field `actions[1].url`: 'ftp://x' is not an http:// or https:// URL"],
    ),
    (
        "rules:\n  - {name: r, when: drift, actions: [{webhook: {url: 'http://x', url_env: A}}]}\n",
        ["exactly one of url: or url_env:"],
    ),
    (
        "rules:\n  - {name: r, when: drift, actions: [{webhook: {url: 'http://x', timeout: 0}}]}\n",
        ["field `actions[1].timeout`: 0 is not seconds from 0 to 300"],
    ),
    (
        "rules:\n  - {name: r, when: drift, actions: [rollback]}\n",
        ["rollback on the production arm moves the production alias; confirm with auto_rollback"],
    ),
    ("rules:" + GOOD_RULE + GOOD_RULE, ["rule 2 'r': field `name`: used by an earlier rule"]),
]


@pytest.mark.parametrize(("text", "expected"), MISTAKES, ids=[m[1][0][:40] for m in MISTAKES])
def test_each_kind_of_mistake_is_one_line(
    package_src: Path, tmp_path: Path, text: str, expected: list[str]
) -> None:
    found = problems(text, tmp_path)
    assert len(found) == 1, found
    assert str(tmp_path / "alerts.yaml") in found[0] and "\n" not in found[0]
    for part in expected:
        assert part in found[0], found[0]


def test_every_mistake_is_reported_at_once(package_src: Path, tmp_path: Path) -> None:
    found = problems(
        "rules:\n  - {name: a, when: nope, actions: [log]}\n  - {name: b, when: drift}\n",
        tmp_path,
    )
    assert len(found) == 2
    assert "rule 1 'a': field `when`" in found[0] and "rule 2 'b': field `actions`" in found[1]


def test_an_unset_webhook_variable_is_a_warning(
    package_src: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("HOOK_URL", raising=False)
    config = check(
        "rules:\n  - {name: r, when: drift, actions: [log, {webhook: {url_env: HOOK_URL}}]}\n",
        tmp_path,
    )
    assert config.rules[0].actions == ("log",)
    assert "$HOOK_URL is not set" in config.warnings[0]
    monkeypatch.setenv("HOOK_URL", "https://example.invalid/hook")
    config = check(
        "rules:\n  - {name: r, when: drift, actions: [log, {webhook: {url_env: HOOK_URL}}]}\n",
        tmp_path,
    )
    assert config.rules[0].actions[1].url == "https://example.invalid/hook"


def test_serve_refuses_a_bad_file_with_one_line_per_mistake(
    churn_store: Path, workspace: Workspace, fakepkg_cli: ModuleType,
    capsys: pytest.CaptureFixture[str],
) -> None:  # fmt: skip
    bad = workspace.root / "alerts.yaml"
    bad.write_text("rules:\n  - {name: a, when: nope, actions: [log]}\n  - {name: b}\n")
    assert fakepkg_cli.main(["serve", "--alerts", str(bad)]) == 2
    lines = capsys.readouterr().err.strip().splitlines()
    assert len(lines) == 3 and all(line.startswith("fakepkg: error: ") for line in lines)
    result = workspace.run("serve", "--alerts", str(bad), "--port", str(free_port()))
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert result.stderr.strip().splitlines() == lines
    missing = workspace.run("serve", "--alerts", "nowhere.yaml")
    assert missing.returncode == 2
    assert "nowhere.yaml: cannot read the alerts file" in missing.stderr


# ------------------------------------------------------------------ real servers


class _Receiver(http.server.BaseHTTPRequestHandler):
    received: list[dict[str, Any]] = []

    def do_POST(self) -> None:
        length = int(self.headers.get("content-length", "0"))
        self.received.append(json.loads(self.rfile.read(length)))
        self.send_response(204)
        self.end_headers()

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture
def receiver() -> Iterator[tuple[str, list[dict[str, Any]]]]:
    """A local webhook receiver: its URL and the alerts it got."""
    received: list[dict[str, Any]] = []
    handler = type("Receiver", (_Receiver,), {"received": received})
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/hook", received
    server.shutdown()
    server.server_close()


def _serve(workspace: Workspace, *args: str) -> tuple[subprocess.Popen[str], str]:
    port = free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "fakeflaky", "serve", "--port", str(port), *args],
        cwd=workspace.root,
        env=workspace.env(),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    base = f"http://127.0.0.1:{port}"
    wait_until_serving(process, f"{base}/health")
    return process, base


GOOD_ROW = {"instances": [[0.0, 1.0, 0.5, -1.0]]}
BAD_ROW = {"instances": [[5.0, 1.0, 0.5, -1.0]]}


def _until(condition: Any, timeout: float = 30.0) -> Any:
    deadline = time.monotonic() + timeout
    while not (value := condition()):
        assert time.monotonic() < deadline, "condition not met in time"
        time.sleep(0.1)
    return value


@pytest.mark.slow
def test_a_failing_canary_is_stopped_and_the_webhook_told(
    flaky_src: Path, workspace: Workspace, capsys: pytest.CaptureFixture[str],
    receiver: tuple[str, list[dict[str, Any]]],
) -> None:  # fmt: skip
    import fakeflaky.cli

    url, received = receiver
    assert train(fakeflaky.cli, capsys) == "v1"
    assert train(fakeflaky.cli, capsys, "--param", "fail_above=3.0") == "v2"
    assert fakeflaky.cli.main(["models", "promote", "v1"]) == 0
    rules = workspace.root / "alerts.yaml"
    rules.write_text(
        textwrap.dedent(f"""\
        evaluate_every: 0.2
        rules:
          - name: canary-errors
            when: canary_error_rate_vs_primary
            above: 0.0
            window: 30
            min_requests: 5
            actions: [log, rollback, {{webhook: {{url: "{url}", timeout: 2, retries: 1}}}}]
        """)
    )
    process, base = _serve(workspace, "--canary", "v2:50", "--alerts", str(rules))
    try:
        with httpx.Client(base_url=base) as client:
            served: list[tuple[str, int]] = []
            # Every third request holds an input the canary fails on; the rule's window is 30 s.
            for i in range(60):
                body = BAD_ROW if i % 3 == 0 else GOOD_ROW
                answer = client.post("/predict", json=body, headers={"X-Request-ID": f"r{i}"})
                served.append((answer.headers["x-model-version"], answer.status_code))
            assert ("v2", 500) in served
            [state] = _until(
                lambda: [r for r in client.get("/alerts").json()["rules"] if r["fired"]]
            )
            assert state["name"] == "canary-errors" and state["alerts"][0]["value"] > 0
            assert "canary v2 traffic set to 0% (was 50%)" in state["last_outcome"]
            after = [
                client.post("/predict", json=GOOD_ROW, headers={"X-Request-ID": f"r{i}"})
                for i in range(30)
            ]
            assert {a.headers["x-model-version"] for a in after} == {"v1"}
            assert client.get("/models").json()["serving"]["canary"]["percent"] == 0.0
            alert = _until(lambda: received[0] if received else None)
            assert alert["rule"] == "canary-errors" and alert["version"] == "v2"
            assert alert["condition"]["when"] == "canary_error_rate_vs_primary"
            assert alert["value"] > 0 and alert["requests"] >= 5
            assert alert["outcome"].startswith("canary v2 traffic set to 0%")
            # A canary at 0 % gets no requests: the rule waits (and cools down) from then on.
            _until(lambda: client.get("/alerts").json()["rules"][0]["state"] == "waiting")
    finally:
        stop(process)
    history = workspace.run("models", "history", package="fakeflaky", check=True)
    assert "canary_stopped" in history.stdout and "rule canary-errors" in history.stdout
    as_json = json.loads(
        workspace.run("models", "history", "--json", package="fakeflaky", check=True).stdout
    )
    [stopped] = [e for e in as_json if e["action"] == "canary_stopped"]
    assert stopped["version"] == "v2" and stopped["reason"]["rule"] == "canary-errors"
    assert stopped["reason"]["automatic"] is True and stopped["reason"]["value"] > 0


@pytest.mark.slow
def test_production_rolls_back_on_disk_and_serves_the_previous_version(
    flaky_src: Path, workspace: Workspace, capsys: pytest.CaptureFixture[str]
) -> None:
    import fakeflaky.cli

    assert train(fakeflaky.cli, capsys) == "v1"
    assert train(fakeflaky.cli, capsys, "--param", "fail_above=3.0") == "v2"
    assert fakeflaky.cli.main(["models", "promote", "v1"]) == 0
    assert fakeflaky.cli.main(["models", "promote", "v2"]) == 0
    rules = workspace.root / "alerts.yaml"
    rules.write_text(
        "evaluate_every: 0.2\nrules:\n"
        "  - {name: prod-5xx, when: error_rate_5xx, above: 0.2, window: 30, min_requests: 6,"
        " auto_rollback: true, actions: [log]}\n"
    )
    process, base = _serve(workspace, "--alerts", str(rules))
    try:
        with httpx.Client(base_url=base) as client:
            assert client.get("/health").json()["version"] == "v2"
            for i in range(12):
                client.post("/predict", json=BAD_ROW if i % 2 else GOOD_ROW)
            _until(lambda: client.get("/health").json()["version"] == "v1")
            answers = [client.post("/predict", json=BAD_ROW) for _ in range(5)]
            assert {(a.status_code, a.headers["x-model-version"]) for a in answers} == {(200, "v1")}
            [rule] = client.get("/alerts").json()["rules"]
            assert rule["fired"] == 1 and "rolled back from v2 to v1" in rule["last_outcome"]
    finally:
        stop(process)
    aliases = json.loads((workspace.models / "aliases.json").read_text())
    assert aliases["production"]["version"] == "v1"
    last = aliases["production"]["history"][-1]
    assert last["action"] == "rollback" and last["previous"] == "v2"
    assert last["reason"]["rule"] == "prod-5xx" and last["reason"]["value"] > 0.2
    history = workspace.run("models", "history", package="fakeflaky", check=True).stdout
    assert "rollback" in history and "rule prod-5xx: error_rate_5xx=" in history


def test_rule_evaluation_cooldown_and_arms(flaky_src: Path, tmp_path: Path) -> None:
    """The engine alone, with a stand-in server: waits for min_requests, fires once, cools."""
    from fakeflaky.alert_actions import ActionRunner
    from fakeflaky.alerts import AlertEngine, check_alerts

    config = check_alerts(
        {
            "rules": [
                {"name": "slow", "when": "p99_latency_ms", "above": 100, "min_requests": 3,
                 "cooldown": 60, "actions": ["log"]},
                {"name": "4xx", "when": "error_rate_4xx", "above": 0.5, "arm": "canary",
                 "min_requests": 2, "actions": ["rollback"]},
            ]
        },
        tmp_path / "alerts.yaml",
    )  # fmt: skip

    class Stub:
        stopped: list[Any] = []

        def arm_version(self, arm: str) -> str | None:
            return {"production": "v1", "canary": "v2"}[arm]

        def shadow_version(self) -> None:
            return None

        def drift_report(self, version: str) -> None:
            return None

        def stop_canary(self, reason: Any) -> str:
            self.stopped.append(reason)
            return "stopped"

        def rollback_production(self, reason: Any) -> str:
            raise AssertionError("production is not rolled back by these rules")

    stub = Stub()
    engine = AlertEngine(config, stub, ActionRunner(log=lambda line: None))
    engine.windows.record("v1", 200, 0.5)
    engine.windows.record("v1", 200, 0.5)
    assert engine.evaluate() == [] and engine.states["slow"].state == "waiting"
    engine.windows.record("v1", 200, 0.5)
    assert engine.evaluate() == ["slow"]
    assert engine.evaluate() == [] and engine.states["slow"].state == "cooling"
    engine.windows.record("v2", 422, 0.01)
    engine.windows.record("v2", 200, 0.01)
    assert engine.evaluate() == []  # 0.5 is not above 0.5
    engine.windows.record("v2", 404, 0.01)
    assert engine.evaluate() == ["4xx"]
    assert stub.stopped[0]["rule"] == "4xx" and stub.stopped[0]["automatic"] is True
    described = {rule["name"]: rule for rule in engine.describe()["rules"]}
    assert described["4xx"]["last_outcome"] == "stopped" and described["slow"]["fired"] == 1


def test_the_event_ring_keeps_the_newest_events_in_time_order_across_its_wrap(
    flaky_src: Path,
) -> None:
    from fakeflaky.alerts import EventRing

    ring = EventRing(capacity=5)
    assert len(ring.since(0.0)) == 0
    for moment in (1.0, 2.0, 3.0):
        ring.append(moment, 200, moment / 10)
    assert ring.since(2.0).times.tolist() == [2.0, 3.0]  # not full: one run
    for moment in (4.0, 5.0, 6.0, 7.0, 8.0):
        ring.append(moment, 500, moment / 10)
    # Full and wrapped: the write position is inside the array, the oldest three are gone.
    assert ring.since(0.0).times.tolist() == [4.0, 5.0, 6.0, 7.0, 8.0]
    assert ring.since(4.5).times.tolist() == [5.0, 6.0, 7.0, 8.0]
    assert ring.since(7.0).times.tolist() == [7.0, 8.0]  # the cut in the ring's second run
    assert len(ring.since(9.0)) == 0
    window = ring.since(6.0)
    assert window.first.tolist() == [500, 500, 500] and window.second.tolist() == [0.6, 0.7, 0.8]
    window.times[:] = 0  # a copy: the evaluator cannot disturb what the request path writes
    assert ring.since(6.0).times.tolist() == [6.0, 7.0, 8.0]


def test_each_condition_counts_its_window_exactly(flaky_src: Path, tmp_path: Path) -> None:
    """The values the rules compare, over windows the ring has wrapped: the nearest-rank p99,
    both error rates, the canary's 5xx rate over the primary's, the shadow disagreement."""
    from fakeflaky.alert_actions import ActionRunner
    from fakeflaky.alerts import AlertEngine, RequestWindows, check_alerts

    conditions = {
        "p99": {"when": "p99_latency_ms", "above": 1000},
        "5xx": {"when": "error_rate_5xx", "above": 0.99},
        "4xx": {"when": "error_rate_4xx", "above": 0.99},
        "canary": {"when": "canary_error_rate_vs_primary", "arm": "canary", "above": 0.99},
        "shadow": {"when": "shadow_disagreement_rate", "above": 0.99},
    }
    config = check_alerts(
        {
            "rules": [
                {"name": name, **rule, "min_requests": 1, "window": 3600, "actions": ["log"]}
                for name, rule in conditions.items()
            ]
        },
        tmp_path / "alerts.yaml",
    )

    class Stub:
        def arm_version(self, arm: str) -> str | None:
            return {"production": "v1", "canary": "v2"}[arm]

        def shadow_version(self) -> str | None:
            return "v3"

        def drift_report(self, version: str) -> None:
            return None

    engine = AlertEngine(config, Stub(), ActionRunner(log=lambda line: None))  # type: ignore[arg-type]
    engine.windows = RequestWindows(capacity=200)
    for _ in range(50):  # pushed out of the ring by the 200 requests that follow
        engine.windows.record("v1", 500, 9.0)
    for index in range(200):  # latencies 1..200 ms; 10 % 5xx, 5 % 4xx
        status = 503 if index % 10 == 0 else 404 if index % 20 == 1 else 200
        engine.windows.record("v1", status, (index + 1) / 1000)
    for index in range(40):  # the canary: 25 % 5xx
        engine.windows.record("v2", 500 if index % 4 == 0 else 200, 0.01)
    engine.windows.record_shadow("v3", 10, 1)
    engine.windows.record_shadow("v3", 30, 3)
    assert engine.evaluate() == []
    values = {name: (state.value, state.requests) for name, state in engine.states.items()}
    assert values["p99"] == (pytest.approx(198.0), 200)  # rank ceil(0.99 * 200) = 198
    assert values["5xx"] == (pytest.approx(0.10), 200)
    assert values["4xx"] == (pytest.approx(0.05), 200)
    assert values["canary"] == (pytest.approx(0.25 - 0.10), 40)
    assert values["shadow"] == (pytest.approx(4 / 40), 2)
    assert all(isinstance(value, float) for value, _ in values.values())  # JSON for /alerts


@pytest.mark.slow
def test_the_example_file_of_a_generated_package_loads_with_serve(tmp_path: Path) -> None:
    from jupyter_mlprod.cli import main as nb2prod

    examples = Path(__file__).resolve().parents[2] / "example_notebooks"
    package = tmp_path / "churn_pkg"
    assert nb2prod(["convert", str(examples / "churn.ipynb"), "-o", str(package)]) == 0
    example = package / "alerts.example.yaml"
    assert "auto_rollback: false" in example.read_text()
    [module] = [p.name for p in (package / "src").iterdir() if (p / "serve.py").is_file()]
    workdir = tmp_path / "work"
    shutil.copytree(examples / "data", workdir / "data")
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith("MLPROD_")},
        "PYTHONPATH": str(package / "src"),
        "MLPROD_UNSIGNED_OK": "1",
        "MLPROD_MODEL_DIR": str(workdir / "models"),
    }

    def run(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", module, *args],
            cwd=workdir, env=env, capture_output=True, text=True, timeout=600,
        )  # fmt: skip

    for _ in range(2):
        assert run("train", "--quiet").returncode in (0, 3)
    port = free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", module, "serve", "--port", str(port), "--canary", "v2:10",
         "--alerts", str(example)],
        cwd=workdir, env={**env, "MLPROD_ALERT_WEBHOOK": "http://127.0.0.1:9/hook"},
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        wait_until_serving(process, f"http://127.0.0.1:{port}/health")
        described = httpx.get(f"http://127.0.0.1:{port}/alerts").json()
        assert [r["name"] for r in described["rules"]] == ["canary-errors", "production-drift"]
        canary, drift = described["rules"]
        assert canary["arm"] == "canary" and "rollback" in canary["actions"]
        assert drift["auto_rollback"] is False
        assert "webhook http://127.0.0.1:9" in drift["actions"] and described["warnings"] == []
    finally:
        stop(process)
    # Without the variable the example still loads; the server says the webhook is skipped.
    checked = run("serve", "--alerts", str(example), "--port", "1", "--host", "256.0.0.1")
    assert "MLPROD_ALERT_WEBHOOK is not set" in checked.stderr
