"""Helpers for the browser tests: test notebooks, and a driver for the real Lab UI.

Kept out of conftest.py so test modules can import it by a name unique in the suite.
"""

from __future__ import annotations

import json
import socket
import subprocess
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import nbformat
from notebooks import code, markdown, notebook, write

# How long the server may take to come up on a loaded 2-core machine (a readiness wait,
# not a performance assertion).
SERVER_START_TIMEOUT_S = 120


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
    built = []
    for cell_type, source, tags in cells:
        cell = code(source) if cell_type == "code" else markdown(source)
        if tags:
            cell.metadata["tags"] = list(tags)
        built.append(cell)
    write(notebook(*built, language_info=True), path)


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
