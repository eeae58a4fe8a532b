"""A real JupyterLab with the extension, and Debian's chromium driven by Playwright.

The server runs once per session in a temporary root with its own settings and
workspaces directories, so the tests neither see nor touch the developer's setup.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from labdriver import (
    LabServer,
    LabUI,
    free_port,
    lab_settings,
    labextension_installed,
    wait_until_up,
)

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
ARTIFACTS_DIR = Path(__file__).resolve().parents[2] / "test-artifacts"


def missing(reason: str) -> None:
    """Skip on a developer machine without the browser setup; fail in CI, where it must exist."""
    if os.environ.get("CI"):
        pytest.fail(reason)
    pytest.skip(reason)


@pytest.fixture(scope="session")
def lab_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LabServer]:
    """Start JupyterLab (empty token, app exposed as window.jupyterapp) for the session."""
    if not CHROMIUM.exists():
        missing("Debian chromium is not installed (apt-get install -y chromium)")
    if not labextension_installed():
        missing("the jupyter-mlprod lab extension is not installed (pip install -e .)")
    base = tmp_path_factory.mktemp("lab")
    root = base / "root"
    settings_dir = base / "settings"
    workspaces_dir = base / "workspaces"
    for folder in (root, settings_dir, workspaces_dir):
        folder.mkdir()
    lab_settings(settings_dir)
    # Enable the server extension explicitly: a source checkout may lack the
    # jupyter_server_config.d file that a wheel install puts in place.
    config = base / "jupyter_server_config.json"
    config.write_text(json.dumps({"ServerApp": {"jpserver_extensions": {"jupyter_mlprod": True}}}))
    port = free_port()
    env = {
        **os.environ,
        "JUPYTERLAB_SETTINGS_DIR": str(settings_dir),
        "JUPYTERLAB_WORKSPACES_DIR": str(workspaces_dir),
    }
    log = base / "lab.log"
    command = [
        sys.executable,
        "-m",
        "jupyterlab",
        "--no-browser",
        "--ip=127.0.0.1",
        f"--port={port}",
        "--ServerApp.token=",
        "--ServerApp.password=",
        "--ServerApp.disable_check_xsrf=False",
        "--LabApp.expose_app_in_browser=True",
        f"--ServerApp.root_dir={root}",
        f"--config={config}",
        "--allow-root",
    ]
    with log.open("wb") as sink:
        process = subprocess.Popen(command, env=env, stdout=sink, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}/"
    try:
        wait_until_up(url, process, log)
        yield LabServer(url=url, root=root)
    finally:
        process.terminate()
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        # Keep the server log next to the screenshots for post-mortems.
        ARTIFACTS_DIR.mkdir(exist_ok=True)
        shutil.copyfile(log, ARTIFACTS_DIR / "browser-lab.log")


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args: dict[str, Any]) -> dict[str, Any]:
    """Launch Debian's chromium: Playwright cannot download its own browser here."""
    return {
        **browser_type_launch_args,
        "executable_path": str(CHROMIUM),
        "args": CHROMIUM_ARGS,
    }


@pytest.fixture(scope="session")
def browser_context_args(browser_context_args: dict[str, Any]) -> dict[str, Any]:
    """A window wide enough for the notebook and the side panel side by side."""
    return {**browser_context_args, "viewport": {"width": 1400, "height": 900}}


@pytest.fixture
def artifacts_dir() -> Path:
    """Where screenshots go (gitignored)."""
    ARTIFACTS_DIR.mkdir(exist_ok=True)
    return ARTIFACTS_DIR


@pytest.fixture
def lab_ui(page: Any, lab_server: LabServer) -> LabUI:
    """The UI driver for this test's page."""
    return LabUI(page, lab_server)
