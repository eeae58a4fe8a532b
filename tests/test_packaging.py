"""The installed package exposes what a user expects after `pip install .`."""

from __future__ import annotations

import re
import subprocess
import sys

import pytest

ANSI = re.compile(r"\x1b\[[0-9;]*m")


def _run(*args: str) -> str:
    result = subprocess.run([sys.executable, "-m", *args], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    return ANSI.sub("", result.stdout + result.stderr)


@pytest.mark.slow
def test_labextension_is_installed_and_enabled() -> None:
    listing = _run("jupyterlab.labextensions", "list")
    line = next(line for line in listing.splitlines() if "jupyter-mlprod" in line)
    assert "enabled" in line and "OK" in line, line


@pytest.mark.slow
def test_server_extension_is_enabled() -> None:
    listing = _run("jupyter_server.extension.serverextension", "list")
    assert re.search(r"jupyter_mlprod\s+enabled", listing), listing


def test_console_script_and_version() -> None:
    from jupyter_mlprod import __version__

    output = _run("jupyter_mlprod.cli", "--version")
    assert output.strip() == f"nb2prod {__version__}"
    assert "convert" in _run("jupyter_mlprod.cli", "--help")
