"""A real JupyterLab with the extension, and Debian's chromium driven by Playwright.

The server runs once per session in a temporary root with its own settings and
workspaces directories, so the tests neither see nor touch the developer's setup.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import nbformat
import pytest

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
# How long the server may take to come up on a loaded 2-core machine (a readiness wait,
# not a performance assertion).
SERVER_START_TIMEOUT_S = 120
ARTIFACTS_DIR = Path(__file__).resolve().parents[2] / "test-artifacts"


def missing(reason: str) -> None:
    """Skip on a developer machine without the browser setup; fail in CI, where it must exist."""
    if os.environ.get("CI"):
        pytest.fail(reason)
    pytest.skip(reason)


@dataclass(frozen=True)
class LabServer:
    """A running JupyterLab: its base URL and its root directory on disk."""

    url: str
    root: Path

    def notebook_path(self, name: str) -> Path:
        return self.root / name


def free_port() -> int:
    """A TCP port nobody listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def write_notebook(path: Path, cells: list[tuple[str, str, list[str]]]) -> None:
    """Write a notebook of (cell_type, source, tags) with a python3 kernelspec.

    The kernelspec matters: without it JupyterLab opens a kernel picker dialog.
    """
    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {
        "name": "python3",
        "display_name": "Python 3",
        "language": "python",
    }
    nb.metadata["language_info"] = {"name": "python"}
    for cell_type, source, tags in cells:
        cell = (
            nbformat.v4.new_code_cell(source)
            if cell_type == "code"
            else nbformat.v4.new_markdown_cell(source)
        )
        if tags:
            cell.metadata["tags"] = list(tags)
        nb.cells.append(cell)
    nbformat.write(nb, path)


def read_notebook(path: Path) -> Any:
    """Read a notebook back from disk."""
    return nbformat.read(path, as_version=4)


def lab_settings(settings_dir: Path) -> None:
    """Settings that keep the UI quiet and fast for tests."""
    overrides = {
        # The news toast steals focus from the notebook.
        "@jupyterlab/apputils-extension/notification": {
            "fetchNews": "false",
            "checkForUpdates": False,
        },
        "jupyter-mlprod/plugin": {"analysisDebounceMs": 200},
    }
    for plugin, values in overrides.items():
        package, name = plugin.rsplit("/", 1)
        target = settings_dir / package / f"{name}.jupyterlab-settings"
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(json.dumps(values))


def labextension_installed() -> bool:
    """Whether JupyterLab in this environment sees the built extension."""
    from jupyter_core.paths import jupyter_path

    for root in jupyter_path("labextensions"):
        manifest = Path(root) / "jupyter-mlprod" / "package.json"
        if manifest.is_file():
            # A built extension records its federated entry point under jupyterlab._build.
            return "_build" in json.loads(manifest.read_text()).get("jupyterlab", {})
    return False


def wait_until_up(url: str, process: subprocess.Popen[bytes], log: Path) -> None:
    """Poll the server's status endpoint until it answers."""
    deadline = time.monotonic() + SERVER_START_TIMEOUT_S
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"JupyterLab exited early:\n{log.read_text()[-4000:]}")
        try:
            with urllib.request.urlopen(f"{url}api/status", timeout=2) as answer:
                if answer.status == 200:
                    return
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            time.sleep(0.3)
    raise RuntimeError(f"JupyterLab did not start:\n{log.read_text()[-4000:]}")


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


# How long the UI may take to react (kernel start, re-analysis, saving) on a loaded
# machine; these are readiness waits, never assertions about speed.
UI_TIMEOUT_MS = 60_000


class LabUI:
    """Drive the real JupyterLab (or Notebook 7) UI for one test."""

    def __init__(self, page: Any, server: LabServer) -> None:
        self.page = page
        self.server = server
        page.set_default_timeout(UI_TIMEOUT_MS)

    def open_lab(self, name: str) -> None:
        """Open a notebook in JupyterLab and wait for its kernel to be idle."""
        self.page.goto(f"{self.server.url}lab/tree/{name}")
        self.page.wait_for_function(
            """(name) => {
                const widget = window.jupyterapp?.shell.currentWidget;
                return widget && widget.context?.path === name &&
                    widget.sessionContext?.session?.kernel?.status === 'idle';
            }""",
            arg=name,
        )
        self.page.locator(".jp-NotebookPanel:visible .jp-Cell").first.wait_for()

    def open_notebook7(self, name: str) -> None:
        """Open a notebook in Notebook 7 and wait for its kernel to be idle."""
        self.page.goto(f"{self.server.url}notebooks/{name}")
        self.page.locator(".jp-Notebook .jp-Cell").first.wait_for()
        self.page.locator(".jp-Notebook-ExecutionIndicator[data-status='idle']").wait_for()

    def cell(self, index: int) -> Any:
        """The cell widget at a notebook position (markdown cells count)."""
        return self.page.locator(".jp-NotebookPanel:visible .jp-Cell").nth(index)

    def activate(self, index: int) -> Any:
        """Make a cell active in command mode by clicking its prompt, as a user would."""
        cell = self.cell(index)
        cell.locator(".jp-InputPrompt").click()
        cell.and_(self.page.locator(".jp-mod-active")).wait_for()
        return cell

    def pick_role(self, index: int, role: str) -> None:
        """Choose a role in the cell toolbar's role picker."""
        cell = self.activate(index)
        picker = cell.locator(".jp-cell-toolbar .jp-mlprod-role-picker select")
        picker.wait_for()
        picker.select_option(role)

    def chip(self, index: int) -> Any:
        """The role chip of a cell."""
        return self.cell(index).locator(".jp-mlprod-chip")

    def save(self) -> None:
        """Save with the keyboard shortcut, from command mode."""
        self.page.keyboard.press("Escape")
        self.page.keyboard.press("Control+s")

    def wait_for_disk(self, name: str, predicate: Any, what: str) -> Any:
        """Poll the saved notebook until `predicate(notebook)` holds; return it."""
        path = self.server.notebook_path(name)
        deadline = time.monotonic() + UI_TIMEOUT_MS / 1000
        last: Any = None
        while time.monotonic() < deadline:
            try:
                last = read_notebook(path)
            except (OSError, ValueError):
                last = None
            if last is not None and predicate(last):
                return last
            time.sleep(0.2)
        tags = [cell.metadata.get("tags") for cell in last.cells] if last is not None else None
        raise AssertionError(f"{name} on disk never showed {what}; tags are {tags}")

    def open_pipeline_panel(self) -> Any:
        """Open the Pipeline side panel by clicking its tab in the right sidebar."""
        tab = self.page.locator(
            ".jp-SideBar.jp-mod-right .lm-TabBar-tab[data-id='jp-mlprod-pipeline']"
        )
        panel = self.page.locator("#jp-mlprod-pipeline")
        if not panel.is_visible():
            tab.click()
        panel.wait_for(state="visible")
        return panel


@pytest.fixture
def lab_ui(page: Any, lab_server: LabServer) -> LabUI:
    """The UI driver for this test's page."""
    return LabUI(page, lab_server)
