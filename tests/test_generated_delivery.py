"""What a generated package delivers itself with, run for every example notebook: its CI
workflow's ``run:`` steps (install, lint, its own tests including the model tests, a training
smoke run, the manifest the artifact step uploads) and its Dockerfile's install and entrypoint
commands, then ``/health`` probed and the image's HEALTHCHECK run, with retraining off unless
a token is given.

GitHub Actions and Docker are not available here, so the steps run in one fresh virtual
environment per test session (system site packages visible, ``PIP_NO_INDEX`` set: nothing is
downloaded), the way the workflow and the image would run them: ``bash -eo pipefail`` for a
step, the Dockerfile's ``COPY`` into a stand-in for its ``WORKDIR``, its ``ENV`` applied (with
the model store and port pointed at temporary ones).
"""

from __future__ import annotations

import json
import os
import re
import shlex
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
import venv
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
import yaml
from dockerfile_parse import DockerfileParser
from subprocesses import run_ok

from jupyter_mlprod.cli import main as nb2prod
from jupyter_mlprod.runs.verify import package_module

EXAMPLES = Path(__file__).resolve().parent.parent / "example_notebooks"
NOTEBOOKS = sorted(path.name for path in EXAMPLES.glob("*.ipynb"))
SERVER_START_SECONDS = 120

pytestmark = pytest.mark.slow


@pytest.fixture(scope="session")
def venv_bin(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One fresh venv for every package of the session (each installs under its own name)."""
    root = tmp_path_factory.mktemp("delivery-venv")
    venv.EnvBuilder(system_site_packages=True, with_pip=False, clear=True).create(root)
    bin_dir = root / ("Scripts" if os.name == "nt" else "bin")
    assert (bin_dir / "python").exists()
    return bin_dir


def _environment(venv_bin: Path, extra: dict[str, str]) -> dict[str, str]:
    env = {**os.environ, **extra}
    env.pop("PYTHONPATH", None)
    env["PATH"] = f"{venv_bin}{os.pathsep}{env.get('PATH', '')}"
    env["VIRTUAL_ENV"] = str(venv_bin.parent)
    env["PIP_NO_INDEX"] = "1"  # whatever a step installs must already be here
    env["PIP_DISABLE_PIP_VERSION_CHECK"] = "1"
    return env


def _convert(name: str, out: Path) -> str:
    assert nb2prod(["convert", str(EXAMPLES / name), "-o", str(out)]) == 0
    return package_module(out)


@pytest.mark.parametrize("name", NOTEBOOKS)
def test_ci_workflow_and_dockerfile_run(name: str, tmp_path: Path, venv_bin: Path) -> None:
    package = tmp_path / "package"
    module = _convert(name, package)
    command = module.replace("_", "-")

    models = _run_ci_workflow(package, venv_bin)
    manifest = json.loads((models / "v1" / "manifest.json").read_text(encoding="utf-8"))
    assert manifest["metrics"], manifest

    app = tmp_path / "app"
    image = _install_as_the_dockerfile_does(package, app, venv_bin)
    assert image.baseimage == f"python:{sys.version_info.major}.{sys.version_info.minor}-slim"
    _serve_as_the_image_does(image, app, models, venv_bin, command)


def _run_ci_workflow(package: Path, venv_bin: Path) -> Path:
    """Run every ``run:`` step of the test job in order; returns the CI model store."""
    workflow = yaml.safe_load((package / ".github/workflows/ci.yml").read_text(encoding="utf-8"))
    # PyYAML reads the key `on` as True (YAML 1.1); either way, what triggers CI is there.
    assert {"push", "pull_request"} <= set(workflow.get("on", workflow.get(True)))
    job = workflow["jobs"]["test"]
    steps = job["steps"]
    uses = [step["uses"].split("@")[0] for step in steps if "uses" in step]
    assert uses == ["actions/checkout", "actions/setup-python", "actions/upload-artifact"]
    setup = next(step for step in steps if step.get("uses", "").startswith("actions/setup"))
    assert setup["with"]["cache"] == "pip"
    assert setup["with"]["python-version"] == f"{sys.version_info.major}.{sys.version_info.minor}"
    runs = [step for step in steps if "run" in step]
    assert [step["name"] for step in runs] == ["Install", "Lint", "Tests", "Train smoke"]
    assert "ruff check" in runs[1]["run"] and "pytest" in runs[2]["run"]

    env = _environment(venv_bin, {key: str(value) for key, value in job["env"].items()})
    env["GITHUB_WORKSPACE"] = str(package)
    for step in runs:
        # GitHub's default shell for `run:` on Linux.
        output = run_ok(
            ["bash", "--noprofile", "--norc", "-eo", "pipefail", "-c", step["run"]],
            cwd=package,
            env=env,
        )
        if step["name"] == "Tests":
            # The smoke and the model tests all ran (none skipped for want of data).
            passed = re.search(r"(\d+) passed", output)
            assert passed and int(passed.group(1)) >= 12, output
            assert "skipped" not in output and "failed" not in output, output
    upload = steps[-1]
    assert upload["with"]["if-no-files-found"] == "error"
    manifests = sorted(package.glob(upload["with"]["path"]))
    assert [path.relative_to(package).as_posix() for path in manifests] == [
        "ci-models/v1/manifest.json"
    ]
    return package / "ci-models"


def _install_as_the_dockerfile_does(package: Path, app: Path, venv_bin: Path) -> DockerfileParser:
    """Apply the Dockerfile's COPY and RUN ``pip install`` steps with ``app`` as its WORKDIR."""
    image = DockerfileParser(path=str(app.parent / "parsed.Dockerfile"))
    image.content = (package / "Dockerfile").read_text(encoding="utf-8")
    instructions = [(item["instruction"], item["value"]) for item in image.structure]
    kinds = [kind for kind, _ in instructions if kind != "COMMENT"]
    # Dependencies (requirements.txt) in a layer before the source; the user before serving.
    copies = [value for kind, value in instructions if kind == "COPY"]
    assert copies[0].startswith("requirements.txt") and copies[-1].startswith("src ")
    assert kinds.index("RUN") < kinds.index("COPY", kinds.index("RUN"))
    assert kinds.index("USER") < kinds.index("ENTRYPOINT")
    user = next(value for kind, value in instructions if kind == "USER")
    assert user not in ("root", "0")
    assert any(
        kind == "RUN" and "useradd" in value and user in value for kind, value in instructions
    )
    assert image.envs["MLPROD_MODEL_DIR"] in [
        value for kind, value in instructions if kind == "VOLUME"
    ]
    assert (package / ".dockerignore").read_text(encoding="utf-8").count("models/") >= 1

    env = _environment(venv_bin, dict(image.envs))
    app.mkdir()
    installs = 0
    for kind, value in instructions:
        if kind == "COPY":
            *sources, target = shlex.split(value)
            for source in sources:
                origin = package / source
                destination = app / target / source if target.endswith("/") else app / target
                if origin.is_dir():
                    shutil.copytree(origin, destination)
                else:
                    destination.parent.mkdir(parents=True, exist_ok=True)
                    shutil.copy2(origin, destination)
        elif kind == "RUN" and value.startswith("python -m pip install"):
            run_ok(["sh", "-c", value], cwd=app, env=env)
            installs += 1
    assert installs == 2
    return image


def _serve_as_the_image_does(
    image: DockerfileParser, app: Path, models: Path, venv_bin: Path, command: str
) -> None:
    entrypoint = json.loads(image.structure[-1]["value"])
    assert image.structure[-1]["instruction"] == "ENTRYPOINT"
    assert f"{command} serve --host 0.0.0.0" in entrypoint[2]
    healthcheck = next(
        item["value"] for item in image.structure if item["instruction"] == "HEALTHCHECK"
    )
    probe = healthcheck.split(" CMD ", 1)[1].strip()
    assert "/health" in probe

    port = _free_port()
    base = {
        **image.envs,
        "MLPROD_MODEL_DIR": str(models),
        "PORT": str(port),
        "MLPROD_UNSIGNED_OK": "1",
    }
    # No token: retraining is off.
    with _server(entrypoint, app, _environment(venv_bin, base), port):
        health = _get(port, "/health")
        assert health["status"] == 200, health
        run_ok(["sh", "-c", probe], cwd=app, env=_environment(venv_bin, base))
        assert _post(port, "/retrain")["status"] == 403
    # With a token: /retrain is served, and refuses a caller without it.
    token_env = _environment(
        venv_bin, {**base, "MLPROD_RETRAIN_TOKEN": "a-test-token-of-some-length"}
    )
    with _server(entrypoint, app, token_env, port):
        assert _post(port, "/retrain")["status"] == 401
    bad = subprocess.run(
        ["sh", "-c", probe],
        cwd=app,
        env=_environment(venv_bin, base),
        capture_output=True,
        timeout=60,
        check=False,
    )
    assert bad.returncode != 0  # the probe fails once nothing answers


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@contextmanager
def _server(entrypoint: list[str], app: Path, env: dict[str, str], port: int) -> Iterator[None]:
    process = subprocess.Popen(
        entrypoint,
        cwd=app,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    )
    try:
        deadline = time.monotonic() + SERVER_START_SECONDS
        while time.monotonic() < deadline:
            if process.poll() is not None:
                pytest.fail(f"serve exited {process.returncode}: {process.stdout.read()[-3000:]}")
            try:
                _get(port, "/health")
                break
            except OSError:
                time.sleep(0.3)
        else:
            pytest.fail("serve did not answer /health in time")
        yield
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()


def _get(port: int, path: str) -> dict[str, Any]:
    return _request(urllib.request.Request(f"http://127.0.0.1:{port}{path}"))


def _post(port: int, path: str) -> dict[str, Any]:
    return _request(
        urllib.request.Request(f"http://127.0.0.1:{port}{path}", data=b"{}", method="POST")
    )


def _request(request: urllib.request.Request) -> dict[str, Any]:
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return {"status": response.status, "body": response.read()}
    except urllib.error.HTTPError as error:
        return {"status": error.code, "body": error.read()}


def _quality_gate(
    package: Path, module: str, env: dict[str, str]
) -> subprocess.CompletedProcess[str]:
    env = {
        **os.environ,
        **env,
        f"{module.upper()}_DATA_DIR": str(EXAMPLES),
        "MLPROD_UNSIGNED_OK": "1",
    }
    env.pop("PYTHONPATH", None)  # the package's pytest config puts its src/ on the path
    command = [
        sys.executable,
        "-m",
        "pytest",
        "-q",
        "-p",
        "no:cacheprovider",
        "tests/test_model.py",
    ]
    return subprocess.run(
        [*command, "-k", "quality_gate"],
        cwd=package,
        env=env,
        capture_output=True,
        text=True,
        timeout=1800,
        check=False,
    )


@pytest.mark.parametrize(
    ("name", "floor", "passes"),
    [
        ("churn.ipynb", "acc>=0.99", False),
        ("messy_sales.ipynb", "mae<=1000", True),
        ("messy_sales.ipynb", "mae<=0.01", False),
    ],
)
def test_the_quality_gate_holds_train_to_the_recorded_floor(
    name: str, floor: str, passes: bool, tmp_path: Path
) -> None:
    package = tmp_path / "package"
    assert nb2prod(["convert", str(EXAMPLES / name), "-o", str(package), "--quality", floor]) == 0
    result = _quality_gate(
        package, package_module(package), {"MLPROD_MODEL_DIR": str(tmp_path / "none")}
    )
    assert (result.returncode == 0) is passes, result.stdout[-3000:]
    if not passes:
        metric = floor.split("<")[0].split(">")[0]
        assert f"{metric}=" in result.stdout and floor[len(metric) + 2 :] in result.stdout, (
            result.stdout[-3000:]
        )


def test_without_a_floor_the_first_stored_version_is_the_floor(tmp_path: Path) -> None:
    package = tmp_path / "package"
    module = _convert("churn.ipynb", package)
    models = tmp_path / "models"
    env = {**os.environ, "PYTHONPATH": str(package / "src"), "MLPROD_UNSIGNED_OK": "1"}
    run_ok(
        [sys.executable, "-m", module, "train", "--model-dir", str(models)], cwd=EXAMPLES, env=env
    )
    manifest_path = models / "v1" / "manifest.json"
    manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
    # The same train, now measured against a first version that did better than it can.
    assert _quality_gate(package, module, {"MLPROD_MODEL_DIR": str(models)}).returncode == 0
    manifest["metrics"]["acc"] = 0.999
    manifest_path.write_text(json.dumps(manifest), encoding="utf-8")
    result = _quality_gate(package, module, {"MLPROD_MODEL_DIR": str(models)})
    assert result.returncode != 0 and "first 0.999" in result.stdout, result.stdout[-3000:]
    assert "no quality floor was set" in result.stdout, result.stdout[-3000:]
