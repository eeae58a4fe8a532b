"""Benchmark the generated package's serving and batch prediction.

On one trained model (the fake churn package of ``tests/runtime/fixtures``: a scikit-learn
pipeline with a scaler, a one-hot encoder and a logistic regression):

- latency (p50, p99) and requests/s for 1-row and 100-row requests, with a concurrent
  httpx load generator on loopback, bounded by a request count and a time limit, against
  (a) ``predict`` called in-process (no HTTP: the floor), (b) the package's own
  ``serve`` (Starlette on uvicorn, one process) and (c) ``mlflow models serve`` on the same
  fitted model (skipped with a message when mlflow is not installed);
- the cost of live monitoring: (b) runs with its defaults plus drift tests every second and the
  generated ``alerts.example.yaml`` (``--alerts``), against the same server with
  ``--monitor-window 0``, in ``--pairs`` comparisons of fresh servers (:func:`compare_kinds`):
  p50 added and requests/s ratio, with ``--control`` the same for two servers alike; and the
  CPU time monitoring adds, measured in-process;
- batch: rows/s of ``<pkg> predict`` on a 1M-row CSV against a plain script that does
  ``pandas.read_csv`` + ``model.predict`` + ``to_csv`` (both as fresh processes).

All servers run side by side, and each run loads every target in turn (in-process, both
package servers, mlflow; the order turns by one each run), so a change in the machine's load
reaches the figures of a run alike. Every figure is the median over ``--runs`` runs; each
difference (p50 over in-process) and ratio (requests/s) is taken within a run and its median
reported; monitoring's figures are taken within a pair, and their median over the pairs.
The results are printed as Markdown tables. mlflow is looked up as ``--mlflow`` (a path to
its executable), else ``mlflow`` on PATH; install it in a separate virtualenv if its pins
clash with this environment's.

Usage::

    python bench/serve.py                 # full run (a few minutes)
    python bench/serve.py --quick         # small sizes, to check the script works
    python bench/serve.py --skip-batch    # serving only
    python bench/serve.py --decode-against REV   # the decode/validate path now vs at git REV
"""

from __future__ import annotations

import argparse
import asyncio
import http.client
import json
import math
import os
import random
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.parse
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import pandas as pd

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from jupyter_mlprod import runtime  # noqa: E402

FIXTURE = REPO / "tests" / "runtime" / "fixtures" / "fakepkg"
PACKAGE = "fakepkg"
FEATURES = ["age", "income", "plan"]
ALERTS_TEMPLATE = REPO / "jupyter_mlprod" / "codegen" / "templates" / "alerts.example.yaml.tmpl"
SERVE = "package serve (uvicorn)"
SERVE_UNMONITORED = "package serve, monitoring off"
IN_PROCESS = "in-process predict"
MONITORING = "monitoring on ÷ off"
CONTROL = "two servers alike (control)"
MLFLOW = "mlflow models serve"


@dataclass(frozen=True)
class LoadResult:
    """One load-generator run."""

    p50_ms: float
    p99_ms: float
    per_second: float


def churn_frame(n_rows: int, seed: int) -> pd.DataFrame:
    """Synthetic churn data with the columns the fixture package expects."""
    rng = np.random.default_rng(seed)
    age = rng.integers(18, 80, n_rows)
    income = rng.normal(50_000, 15_000, n_rows).round(2)
    plan = rng.choice(["basic", "plus", "pro"], n_rows)
    logit = (age - 45) / 10 - (income - 50_000) / 20_000 + (plan == "basic") * 1.0
    churn = (rng.random(n_rows) < 1 / (1 + np.exp(-logit))).astype(int)
    return pd.DataFrame({"age": age, "income": income, "plan": plan, "churn": churn})


def build_workspace(root: Path, train_rows: int) -> dict[str, str]:
    """Copy the fixture package plus the runtime files, write data and the example alert
    rules (``alerts.yaml``), train v1."""
    package = root / "src" / PACKAGE
    shutil.copytree(FIXTURE, package, ignore=shutil.ignore_patterns("__pycache__"))
    for name in runtime.FILES:
        (package / name).write_text(runtime.read_file(name), encoding="utf-8")
    (root / "data").mkdir()
    churn_frame(train_rows, seed=1).to_csv(root / "data" / "churn.csv", index=False)
    (root / "alerts.yaml").write_text(ALERTS_TEMPLATE.read_text(encoding="utf-8"), encoding="utf-8")
    env = dict(os.environ, PYTHONPATH=str(root / "src"), MLPROD_MODEL_DIR=str(root / "models"))
    subprocess.run(
        [sys.executable, "-m", PACKAGE, "train"], cwd=root, env=env, check=True, capture_output=True
    )
    return env


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@contextmanager
def server(command: list[str], cwd: Path, env: dict[str, str], health_url: str) -> Iterator[None]:
    """Start a server process, wait until it answers, stop it afterwards."""
    process = subprocess.Popen(
        command, cwd=cwd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True
    )
    try:
        deadline = time.monotonic() + 180
        while True:
            if process.poll() is not None:
                raise RuntimeError(f"{command[0]} exited: {process.stderr.read()[-2000:]}")  # type: ignore[union-attr]
            try:
                if httpx.get(health_url, timeout=2).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError(f"{' '.join(command)} did not start")
            time.sleep(0.25)
        yield
    finally:
        process.terminate()
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


async def _load(
    url: str, body: bytes, requests: int, seconds: float, concurrency: int
) -> LoadResult:
    latencies: list[float] = []
    sent = 0
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    headers = {"content-type": "application/json"}
    async with httpx.AsyncClient(limits=limits, timeout=30) as client:
        for _ in range(min(50, requests)):  # warm-up: connections, caches, lazy imports
            (await client.post(url, content=body, headers=headers)).raise_for_status()
        started = time.perf_counter()
        stop_at = started + seconds

        async def worker() -> None:
            nonlocal sent
            while sent < requests and time.perf_counter() < stop_at:
                sent += 1
                begin = time.perf_counter()
                answer = await client.post(url, content=body, headers=headers)
                latencies.append(time.perf_counter() - begin)
                answer.raise_for_status()

        await asyncio.gather(*(worker() for _ in range(concurrency)))
        elapsed = time.perf_counter() - started
    return summarise(latencies, elapsed)


def summarise(latencies: list[float], elapsed: float) -> LoadResult:
    ordered = sorted(latencies)
    p99 = ordered[min(len(ordered) - 1, int(0.99 * len(ordered)))]
    return LoadResult(
        p50_ms=statistics.median(ordered) * 1000,
        p99_ms=p99 * 1000,
        per_second=len(ordered) / elapsed,
    )


def load(url: str, body: bytes, args: argparse.Namespace) -> LoadResult:
    """Latency from one client sending requests back to back (what a caller waits for, without
    queueing behind other callers), throughput from concurrent clients.

    Both come from wrk when it is installed: a C load generator costs the machine a few
    microseconds per request, where a Python client (httpx) spends 0.5-2 ms of CPU on each and
    shares the two cores with the server, which made its own cost, and its variance, most of
    the "overhead" it measured (0.3-0.6 ms over in-process with wrk against 1.1-2.5 ms with
    httpx, same server, same minute). Without wrk, httpx measures both.
    """
    wrk = shutil.which("wrk")
    if wrk is not None:
        p50, p99, _ = _wrk(wrk, url, body, args, connections=1)
        return LoadResult(p50, p99, throughput(url, body, args, args.seconds))
    latencies: list[float] = []
    with httpx.Client(timeout=30, headers={"content-type": "application/json"}) as client:
        for _ in range(min(50, args.requests)):
            client.post(url, content=body).raise_for_status()
        started = time.perf_counter()
        while len(latencies) < args.requests and time.perf_counter() - started < args.seconds:
            begin = time.perf_counter()
            answer = client.post(url, content=body)
            latencies.append(time.perf_counter() - begin)
            answer.raise_for_status()
    sequential = summarise(latencies, time.perf_counter() - started)
    return LoadResult(
        sequential.p50_ms, sequential.p99_ms, throughput(url, body, args, args.seconds)
    )


@dataclass(frozen=True)
class Pair:
    """Two kinds of server compared: a fresh pair started in each order, averaged."""

    p50_added_ms: float
    """p50 latency of the first kind minus the second, from one interleaving client."""
    ratio: float
    """Requests/s of the first kind ÷ the second, concurrent clients (first, second, second,
    first); the geometric mean of the two orders."""
    first_started_ms: float
    """p50 latency of the server started first minus the one started second, whatever their
    kinds: what alternating the order cancels."""


def interleaved(urls: list[str], body: bytes, seconds: float) -> list[float]:
    """One client sends requests back to back, to each server in turn (a new random order in
    every round); each server's p50 latency (ms).

    Requests to the servers alternate within milliseconds, so a change in the machine's speed
    reaches them alike: loading them one after the other, even on, off, off, on, left a
    difference between two identical servers of ±5 %. The client's own cost (http.client,
    tens of microseconds) is the same for every server and cancels out of a difference.
    """
    connections = []
    for url in urls:
        parts = urllib.parse.urlsplit(url)
        connections.append(
            (http.client.HTTPConnection(parts.hostname or "", parts.port, timeout=30), parts.path)
        )
    headers = {"Content-Type": "application/json"}

    def call(index: int) -> float:
        connection, path = connections[index]
        begin = time.perf_counter()
        connection.request("POST", path, body, headers)
        response = connection.getresponse()
        response.read()
        elapsed = time.perf_counter() - begin
        if response.status != 200:
            raise RuntimeError(f"{urls[index]} answered {response.status}")
        return elapsed

    order = list(range(len(urls)))
    for _ in range(50):  # warm-up: the connections and the servers' lazy paths
        for index in order:
            call(index)
    latencies: list[list[float]] = [[] for _ in urls]
    shuffle = random.Random(0).shuffle
    stop_at = time.perf_counter() + seconds
    while time.perf_counter() < stop_at:
        shuffle(order)
        for index in order:
            latencies[index].append(call(index))
    for connection, _ in connections:
        connection.close()
    return [statistics.median(measured) * 1000 for measured in latencies]


def throughput(url: str, body: bytes, args: argparse.Namespace, seconds: float) -> float:
    """Requests/s from ``args.concurrency`` concurrent clients for ``seconds``."""
    sliced = argparse.Namespace(**{**vars(args), "seconds": seconds})
    wrk = shutil.which("wrk")
    if wrk is not None:
        return _wrk(wrk, url, body, sliced, connections=args.concurrency)[2]
    return asyncio.run(_load(url, body, args.requests, seconds, args.concurrency)).per_second


def compare_servers(
    names: tuple[str, str], root: Path, env: dict[str, str], body: bytes, args: argparse.Namespace
) -> tuple[float, float]:
    """Start a fresh server of each of ``names`` (:data:`SERVE_OPTIONS`), in that order: the
    first one's p50 minus the second's (ms), and its requests/s ÷ the second's."""
    with ExitStack() as stack:
        urls = [start_package_server(name, root, env, stack) for name in names]
        for url in urls:  # warm-up: the monitor's window fills, the alert windows grow
            throughput(url, body, args, args.seconds)
        first_ms, second_ms = interleaved(urls, body, args.seconds)
        half = max(2.0, args.seconds / 2)
        first_a, second_a, second_b, first_b = (
            throughput(urls[index], body, args, half) for index in (0, 1, 1, 0)
        )
    return first_ms - second_ms, (first_a + first_b) / (second_a + second_b)


def compare_kinds(
    names: tuple[str, str], root: Path, env: dict[str, str], body: bytes, args: argparse.Namespace
) -> Pair:
    """The first kind of server against the second, from a fresh pair started in each order.

    Of two identical servers, the one started first was the slower, by 0.09-0.20 ms at
    1 and 100 rows (the table's last column), as much as monitoring's whole cost, and fresh
    processes differ by about ±0.1 ms pair to pair. Averaging the two orders cancels the
    first; the median over several such comparisons narrows the second.
    """
    forward_ms, forward_ratio = compare_servers(names, root, env, body, args)
    backward_ms, backward_ratio = compare_servers(names[::-1], root, env, body, args)
    return Pair(
        p50_added_ms=(forward_ms - backward_ms) / 2,
        ratio=math.sqrt(forward_ratio / backward_ratio),
        first_started_ms=(forward_ms + backward_ms) / 2,
    )


_WRK_UNITS = {"us": 1e-3, "ms": 1.0, "s": 1e3}


def _wrk_ms(text: str) -> float:
    """A wrk duration (``113.00us``, ``3.75ms``, ``1.02s``) in milliseconds."""
    for unit in ("us", "ms", "s"):
        if text.endswith(unit):
            return float(text[: -len(unit)]) * _WRK_UNITS[unit]
    raise ValueError(f"not a wrk duration: {text!r}")


def _wrk(
    wrk: str, url: str, body: bytes, args: argparse.Namespace, connections: int
) -> tuple[float, float, float]:
    """One wrk run: p50 and p99 latency (ms) and requests/s."""
    with tempfile.TemporaryDirectory(prefix="bench-wrk-") as temp:
        payload = Path(temp) / "body.json"
        payload.write_bytes(body)
        script = Path(temp) / "post.lua"
        script.write_text(
            'wrk.method = "POST"\n'
            f'wrk.body = io.open("{payload}"):read("*a")\n'
            'wrk.headers["Content-Type"] = "application/json"\n',
            encoding="utf-8",
        )
        duration = max(2, int(args.seconds))
        result = subprocess.run(
            [wrk, "-t1", f"-c{connections}", f"-d{duration}s", "--latency", "-s", str(script)]
            + [url],
            capture_output=True,
            text=True,
            check=True,
        )
    if "Non-2xx" in result.stdout:
        raise RuntimeError(f"wrk saw errors from {url}:\n{result.stdout}")
    lines = [line.split() for line in result.stdout.splitlines()]
    percentiles = {
        line[0]: _wrk_ms(line[1]) for line in lines if len(line) == 2 and line[0].endswith("%")
    }
    per_second = next(float(line[1]) for line in lines if line[:1] == ["Requests/sec:"])
    return percentiles["50%"], percentiles["99%"], per_second


def in_process(call: Callable[[], Any], args: argparse.Namespace) -> LoadResult:
    """Time ``call`` in a loop (single thread): the cost of predict without HTTP."""
    for _ in range(20):
        call()
    latencies: list[float] = []
    started = time.perf_counter()
    while len(latencies) < args.requests and time.perf_counter() - started < args.seconds:
        begin = time.perf_counter()
        call()
        latencies.append(time.perf_counter() - begin)
    return summarise(latencies, time.perf_counter() - started)


def median_result(runs: list[LoadResult]) -> LoadResult:
    return LoadResult(
        p50_ms=statistics.median(r.p50_ms for r in runs),
        p99_ms=statistics.median(r.p99_ms for r in runs),
        per_second=statistics.median(r.per_second for r in runs),
    )


def find_mlflow(explicit: str | None) -> str | None:
    if explicit:
        return explicit if Path(explicit).exists() else None
    return shutil.which("mlflow")


def mlflow_python(mlflow: str) -> str:
    """The interpreter that runs the mlflow executable (its shebang), to log the model."""
    first = Path(mlflow).read_text(encoding="utf-8", errors="replace").splitlines()[0]
    return first[2:].strip() if first.startswith("#!") else sys.executable


def time_process(command: list[str], cwd: Path, env: dict[str, str]) -> float:
    started = time.perf_counter()
    subprocess.run(command, cwd=cwd, env=env, check=True, capture_output=True)
    return time.perf_counter() - started


BASELINE = f"""
import sys, joblib, pandas as pd
model = joblib.load(sys.argv[1])
frame = pd.read_csv(sys.argv[2])
pd.DataFrame({{"y_pred": model.predict(frame[{FEATURES!r}])}}).to_csv(sys.argv[3], index=False)
"""


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3, help="runs per figure (median)")
    parser.add_argument("--requests", type=int, default=1000, help="requests per load run")
    parser.add_argument("--seconds", type=float, default=15.0, help="time limit per load run")
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument(
        "--pairs",
        type=int,
        default=3,
        help="monitoring on/off comparisons per request size, each between two pairs of fresh "
        "servers, one started in each order",
    )
    parser.add_argument(
        "--control",
        action="store_true",
        help="after each monitoring pair, compare two servers without monitoring the same way: "
        "what the method reports when there is no difference",
    )
    parser.add_argument("--batch-rows", type=int, default=1_000_000)
    parser.add_argument("--mlflow", help="path to the mlflow executable")
    parser.add_argument("--quick", action="store_true", help="tiny sizes: check the script")
    parser.add_argument("--skip-batch", action="store_true", help="serving figures only")
    parser.add_argument(
        "--decode-against",
        metavar="REV",
        help="only time a request's decode and validation (batching.answer_together with a "
        "constant predict) for this runtime and the one at git revision REV, interleaved",
    )
    args = parser.parse_args()
    if args.decode_against:
        return decode_against(args.decode_against, args)
    if args.quick:
        args.runs, args.requests, args.seconds, args.batch_rows = 1, 100, 5.0, 20_000
        args.pairs = 1

    with tempfile.TemporaryDirectory(prefix="bench-serve-") as temp:
        root = Path(temp)
        print("training the model…", file=sys.stderr)
        env = build_workspace(root, train_rows=20_000)
        sys.path.insert(0, str(root / "src"))
        import fakepkg.predict
        import fakepkg.schema
        import fakepkg.store

        model = fakepkg.store.ModelStore(root / "models").load("v1")
        import joblib

        joblib.dump(model.artifacts["model"], root / "model.joblib")
        sample = churn_frame(100, seed=2).drop(columns="churn")
        bodies = {
            rows: json.loads(sample.head(rows).to_json(orient="records")) for rows in (1, 100)
        }

        calls: dict[int, Callable[[], Any]] = {}
        for rows, records in bodies.items():

            def call(records: list[dict[str, Any]] = records) -> Any:
                data = fakepkg.schema.from_payload(records, model.schema)
                conformed = fakepkg.schema.conform(data, model.schema)
                return fakepkg.schema.to_jsonable(
                    fakepkg.predict.predict(model.artifacts, conformed)
                )

            calls[rows] = call

        runs: dict[tuple[str, int], list[LoadResult]] = {}
        with ExitStack() as stack:
            urls = {name: start_package_server(name, root, env, stack) for name in SERVE_OPTIONS}
            mlflow = find_mlflow(args.mlflow)
            if mlflow is None:
                print("mlflow not found: skipping `mlflow models serve`", file=sys.stderr)
            else:
                urls[MLFLOW] = start_mlflow(mlflow, root, stack)
            # Every target is loaded once per run, in turn, so a change in the machine's load
            # during the benchmark reaches every figure of a run alike; ratios are taken per
            # run and their median reported. The order turns by one target each run, so no
            # target always follows the same one (the monitored server used to come right
            # after the in-process loop in every run).
            targets = [IN_PROCESS, *urls]
            for run in range(args.runs):
                turn = run % len(targets)
                order = targets[turn:] + targets[:turn]
                for rows, records in bodies.items():
                    for name in order:
                        print(f"run {run + 1}, {rows} row(s): {name}…", file=sys.stderr)
                        if name == IN_PROCESS:
                            measured = in_process(calls[rows], args)
                        else:
                            shape = {"dataframe_records": records} if name == MLFLOW else records
                            measured = load(urls[name], json.dumps(shape).encode(), args)
                        runs.setdefault((name, rows), []).append(measured)
        pairs: dict[tuple[str, int], list[Pair]] = {}
        for index in range(args.pairs):
            for rows, records in bodies.items():
                body = json.dumps(records).encode()
                print(f"monitoring pair {index + 1}, {rows} row(s)…", file=sys.stderr)
                kinds = (SERVE, SERVE_UNMONITORED)
                pairs.setdefault((MONITORING, rows), []).append(
                    compare_kinds(kinds, root, env, body, args)
                )
                if args.control:
                    alike = (SERVE_UNMONITORED, SERVE_UNMONITORED)
                    pairs.setdefault((CONTROL, rows), []).append(
                        compare_kinds(alike, root, env, body, args)
                    )

        monitoring = monitoring_cpu(model, bodies, fakepkg.predict.predict, root, args)
        if args.skip_batch:
            print_tables(runs, pairs, None, None, args)
            print_monitoring_cpu(monitoring)
            return 0
        print(f"batch: writing {args.batch_rows} rows…", file=sys.stderr)
        big = root / "big.csv"
        churn_frame(args.batch_rows, seed=3).drop(columns="churn").to_csv(big, index=False)
        package_times, baseline_times = [], []
        for _ in range(args.runs):
            package_times.append(
                time_process(
                    [
                        sys.executable,
                        "-m",
                        PACKAGE,
                        "predict",
                        "--input",
                        str(big),
                        "--output",
                        str(root / "out.csv"),
                    ],
                    root,
                    env,
                )  # fmt: skip
            )
            baseline_times.append(
                time_process(
                    [
                        sys.executable,
                        "-c",
                        BASELINE,
                        str(root / "model.joblib"),
                        str(big),
                        str(root / "base.csv"),
                    ],
                    root,
                    env,
                )  # fmt: skip
            )
        assert pd.read_csv(root / "out.csv")["y_pred"].equals(
            pd.read_csv(root / "base.csv")["y_pred"]
        )

    print_tables(
        runs, pairs, statistics.median(package_times), statistics.median(baseline_times), args
    )
    print_monitoring_cpu(monitoring)
    return 0


@dataclass(frozen=True)
class MonitoringCost:
    """CPU time of live monitoring and alert rules, measured in-process (one rows/request)."""

    request_us: float
    """Added to each /predict request: the window append and the alert windows' record."""
    background_ms: float
    """One pass of the background work at its worst: a full window tested again (the live
    monitor) and every example rule evaluated over full event windows (the alert engine)."""


class _OneVersion:
    """What alert rules ask of a server (alerts.Server), for a server serving ``v1`` alone."""

    def __init__(self, monitor: Any) -> None:
        self.monitor = monitor

    def arm_version(self, arm: str) -> str | None:
        return "v1" if arm == "production" else None

    def shadow_version(self) -> str | None:
        return None

    def drift_report(self, version: str) -> Any:
        return self.monitor.drifted(version)[1]

    def stop_canary(self, reason: Any) -> str:
        return "no canary"

    def rollback_production(self, reason: Any) -> str:
        return "not rolled back"


def monitoring_cpu(
    model: Any,
    bodies: dict[int, list[dict[str, Any]]],
    predict: Callable[[Any, Any], Any],
    root: Path,
    args: argparse.Namespace,
) -> dict[int, MonitoringCost]:
    """The CPU cost of what ``serve --alerts`` adds, without HTTP or another process: the
    server comparison above carries the two servers' run-to-run spread (±0.3 ms here), which
    is far larger than what monitoring adds, so this measures the added work itself.

    The request path is the two calls a /predict request makes (``LiveMonitor.add`` and
    ``RequestWindows.record``), timed over many requests with ``time.process_time``. The
    background is one monitor update of a full window that changed, plus one evaluation of
    the example rules with the alert engine's event windows full (the most either holds):
    the serve run above does both every second.
    """
    import fakepkg.alerts
    import fakepkg.live_monitor
    import fakepkg.schema

    config = fakepkg.alerts.load_alerts(root / "alerts.yaml")
    requests = 2_000 if args.quick else 50_000
    costs = {}
    for rows, records in bodies.items():
        data = fakepkg.schema.conform(
            fakepkg.schema.from_payload(records, model.schema), model.schema
        )
        predictions = fakepkg.schema.to_jsonable(predict(model.artifacts, data))
        monitor = fakepkg.live_monitor.LiveMonitor(interval=1.0)
        engine = fakepkg.alerts.AlertEngine(config, _OneVersion(monitor))
        windows = engine.windows
        started = time.process_time()
        for _ in range(requests):
            monitor.add(model, records, predictions, rows)
            windows.record(model.version, 200, 0.003)
        request_us = (time.process_time() - started) / requests * 1e6
        for _ in range(fakepkg.alerts.MAX_EVENTS):  # the deque keeps the last MAX_EVENTS
            windows.record(model.version, 200, 0.003)
        passes = []
        for _ in range(5):
            monitor.add(model, records, predictions, rows)  # the window changed: tested again
            started = time.process_time()
            monitor.update()
            engine.evaluate()
            passes.append(time.process_time() - started)
        costs[rows] = MonitoringCost(request_us, statistics.median(passes) * 1000)
    return costs


def print_monitoring_cpu(costs: dict[int, MonitoringCost]) -> None:
    print("\nWhat monitoring adds, in CPU time (in-process: `LiveMonitor.add` and the alert")
    print("windows' `record` per request; one monitor update of a full 1000-row window plus one")
    print("evaluation of the example rules over full event windows, which the server does every")
    print("second in the run above):\n")
    print("| rows/request | per request (µs) | background per second (ms) | share of one core |")
    print("|---:|---:|---:|---:|")
    for rows, cost in sorted(costs.items()):
        share = cost.background_ms / 1000
        print(f"| {rows} | {cost.request_us:.2f} | {cost.background_ms:.2f} | {share:.2%} |")


def decode_against(revision: str, args: argparse.Namespace) -> int:
    """CPU time of decoding and validating 1- and 100-row bodies: this runtime and ``revision``'s.

    Both copies are imported side by side and timed in turn (best of 3×100 calls, median of
    ``--runs`` such rounds), so the ratio holds even on a busy machine.
    """
    import importlib
    import timeit

    with tempfile.TemporaryDirectory(prefix="bench-decode-") as temp:
        for name, source in (("now_runtime", None), ("then_runtime", revision)):
            folder = Path(temp) / name
            folder.mkdir()
            for path in (REPO / "jupyter_mlprod" / "runtime").glob("*.py"):
                relative = path.relative_to(REPO).as_posix()
                text = path.read_text(encoding="utf-8")
                if source is not None:
                    shown = subprocess.run(
                        ["git", "show", f"{source}:{relative}"],
                        cwd=REPO,
                        capture_output=True,
                        text=True,
                        check=False,
                    )
                    text = shown.stdout if shown.returncode == 0 else text
                (folder / path.name).write_text(text, encoding="utf-8")
        sys.path.insert(0, temp)
        modules = {
            name: importlib.import_module(f"{name}.batching")
            for name in ("now_runtime", "then_runtime")
        }
        frame = churn_frame(100, seed=2).drop(columns="churn")
        recorded = importlib.import_module("now_runtime.schema").infer_schema(frame)
        print(f"\nDecode and validate one body (CPU, µs; median of {args.runs} rounds)\n")
        print(f"| rows | now | at {revision} | now ÷ then |")
        print("|---:|---:|---:|---:|")
        for rows in (1, 100):
            body = frame.head(rows).to_json(orient="records").encode()
            best: dict[str, list[float]] = {name: [] for name in modules}
            for _ in range(args.runs):
                for name, module in modules.items():

                    def call(module: Any = module, body: bytes = body) -> Any:
                        return module.answer_together(
                            [body], recorded, lambda data: np.zeros(len(data), dtype=int)
                        )

                    timing = timeit.repeat(call, number=100, repeat=3, timer=time.process_time)
                    best[name].append(min(timing) / 100 * 1e6)
            now, then = (statistics.median(best[n]) for n in ("now_runtime", "then_runtime"))
            print(f"| {rows} | {now:.0f} | {then:.0f} | {now / then:.2f}x |")
    return 0


SERVE_OPTIONS = {
    SERVE: ["--alerts", "alerts.yaml", "--monitor-interval", "1"],
    SERVE_UNMONITORED: ["--monitor-window", "0"],
}
"""The two package servers: monitoring on (drift tests every second, the example alert rules,
written to ``alerts.yaml`` by :func:`build_workspace`) and off."""


def start_package_server(name: str, root: Path, env: dict[str, str], stack: ExitStack) -> str:
    """Start one of :data:`SERVE_OPTIONS`' servers until ``stack`` closes; its /predict URL."""
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    command = [sys.executable, "-m", PACKAGE, "serve", "--port", str(port), *SERVE_OPTIONS[name]]
    stack.enter_context(server(command, root, env, f"{base}/health"))
    return f"{base}/predict"


def start_mlflow(mlflow: str, root: Path, stack: ExitStack) -> str:
    """Save the fitted model as an MLflow model and start ``mlflow models serve`` on it (one
    worker); its /invocations URL."""
    model_path = root / "mlflow-model"
    subprocess.run(
        [
            mlflow_python(mlflow),
            "-c",
            "import sys, joblib, mlflow.sklearn;"
            "mlflow.sklearn.save_model(joblib.load(sys.argv[1]), sys.argv[2])",
            str(root / "model.joblib"),
            str(model_path),
        ],
        check=True,
        capture_output=True,
    )
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    command = [
        mlflow, "models", "serve", "-m", str(model_path), "-p", str(port),
        "-h", "127.0.0.1", "--env-manager", "local", "-w", "1",
    ]  # fmt: skip
    # mlflow starts `uvicorn` from PATH: make it run with mlflow's interpreter (a
    # virtualenv sharing system site-packages has no uvicorn script of its own).
    shim = root / "mlflow-bin"
    shim.mkdir()
    (shim / "uvicorn").write_text(
        f'#!/bin/sh\nexec "{mlflow_python(mlflow)}" -m uvicorn "$@"\n', encoding="utf-8"
    )
    (shim / "uvicorn").chmod(0o755)
    path = os.pathsep.join([str(shim), str(Path(mlflow).parent), os.environ["PATH"]])
    stack.enter_context(server(command, root, dict(os.environ, PATH=path), f"{base}/ping"))
    return f"{base}/invocations"


def per_run(
    runs: dict[tuple[str, int], list[LoadResult]],
    key: tuple[str, int],
    reference: tuple[str, int],
    measure: Callable[[LoadResult, LoadResult], float],
) -> float | None:
    """The median over runs of ``measure(run's key figure, same run's reference figure)``."""
    if key not in runs or reference not in runs:
        return None
    return statistics.median(measure(a, b) for a, b in zip(runs[key], runs[reference], strict=True))


def print_tables(
    runs: dict[tuple[str, int], list[LoadResult]],
    pairs: dict[tuple[str, int], list[Pair]],
    package_seconds: float | None,
    baseline_seconds: float | None,
    args: argparse.Namespace,
) -> None:
    generator = "wrk" if shutil.which("wrk") else "httpx"
    print(
        f"\nLatency: one connection, requests back to back; throughput: {args.concurrency} "
        f"concurrent connections (both driven by {generator}). Every target loaded in turn "
        f"in each of {args.runs} runs; figures are medians over the runs, and each difference "
        "or ratio is taken within a run, then its median reported.\n"
    )
    print(
        "| target | rows/request | p50 ms | p99 ms | p50 over in-process (ms) | requests/s "
        "| package serve req/s ÷ this |"
    )
    print("|---|---:|---:|---:|---:|---:|---:|")
    for (target, rows), measured in runs.items():
        result = median_result(measured)
        over = per_run(runs, (target, rows), (IN_PROCESS, rows), lambda a, b: a.p50_ms - b.p50_ms)
        ratio = per_run(
            runs, (SERVE, rows), (target, rows), lambda a, b: a.per_second / b.per_second
        )
        print(
            f"| {target} | {rows} | {result.p50_ms:.2f} | {result.p99_ms:.2f} | "
            f"{'-' if over is None else f'{over:.2f}'} | {result.per_second:.0f} | "
            f"{'-' if ratio is None else f'{ratio:.2f}x'} |"
        )
    print("\nLive monitoring (a window of 1000 rows, drift tests every second, the example alert")
    print("rules) against the same server with --monitor-window 0. Each comparison starts a")
    print("fresh pair of servers twice, once in each order, and averages the two; p50 from one")
    print("client whose requests alternate between the pair, requests/s from concurrent clients")
    print(f"(first, second, second, first). Medians over {args.pairs} comparisons, and ranges:\n")
    print(
        "| comparison | rows/request | p50 added (ms) | range | requests/s, first ÷ second "
        "| range | p50 of the first started over the second (ms) |"
    )
    print("|---|---:|---:|---:|---:|---:|---:|")
    for (name, rows), compared in sorted(pairs.items(), key=lambda item: item[0][::-1]):
        added = [pair.p50_added_ms for pair in compared]
        ratios = [pair.ratio for pair in compared]
        first = statistics.median(pair.first_started_ms for pair in compared)
        print(
            f"| {name} | {rows} | {statistics.median(added):+.3f} "
            f"| {min(added):+.3f} to {max(added):+.3f} | {statistics.median(ratios):.3f}x "
            f"| {min(ratios):.3f}x to {max(ratios):.3f}x | {first:+.3f} |"
        )
    if package_seconds is None or baseline_seconds is None:
        return
    rows = args.batch_rows
    print(f"\nBatch prediction of a {rows:,}-row CSV (median of {args.runs} runs, whole process)\n")
    print("| command | seconds | rows/s | rows/s vs script |")
    print("|---|---:|---:|---:|")
    ratio = baseline_seconds / package_seconds
    print(f"| `{PACKAGE} predict` (validate, coerce, atomic write) | {package_seconds:.2f} | "
          f"{rows / package_seconds:,.0f} | {ratio:.2f}x |")  # fmt: skip
    print(f"| read_csv + model.predict + to_csv script | {baseline_seconds:.2f} | "
          f"{rows / baseline_seconds:,.0f} | 1.00x |")  # fmt: skip


if __name__ == "__main__":
    raise SystemExit(main())
