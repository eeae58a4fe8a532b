"""Jupyter finds and enables the extension from the shipped config file."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import jupyter_mlprod

REPO = Path(__file__).resolve().parents[2]
CONFIG_FILE = REPO / "jupyter-config" / "server-config" / "jupyter_mlprod.json"


def test_discovery_functions() -> None:
    assert jupyter_mlprod._jupyter_server_extension_points() == [
        {"module": "jupyter_mlprod.server"}
    ]
    assert jupyter_mlprod._jupyter_labextension_paths() == [
        {"src": "labextension", "dest": "jupyter-mlprod"}
    ]


def test_config_file_enables_the_package() -> None:
    config = json.loads(CONFIG_FILE.read_text())
    assert config == {"ServerApp": {"jpserver_extensions": {"jupyter_mlprod": True}}}


def test_discovery_is_import_light() -> None:
    """Listing extensions must not pull in tornado or the server for our package."""
    code = (
        "import sys, jupyter_mlprod; jupyter_mlprod._jupyter_server_extension_points(); "
        "print(sorted(m for m in ('tornado', 'jupyter_server') if m in sys.modules))"
    )
    shown = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        check=True,
        env={**os.environ, "PYTHONPATH": str(REPO)},
    )
    assert shown.stdout.strip() == "[]"


def test_jupyter_server_extension_list_shows_it_enabled_and_valid(tmp_path: Path) -> None:
    config_dir = tmp_path / "config"
    (config_dir / "jupyter_server_config.d").mkdir(parents=True)
    shutil.copy(CONFIG_FILE, config_dir / "jupyter_server_config.d" / CONFIG_FILE.name)
    listing = subprocess.run(
        [sys.executable, "-m", "jupyter_server.extension.serverextension", "list"],
        capture_output=True,
        text=True,
        env={**os.environ, "JUPYTER_CONFIG_DIR": str(config_dir), "PYTHONPATH": str(REPO)},
    )
    text = re.sub(r"\x1b\[[0-9;]*m", "", listing.stdout + listing.stderr)
    assert "jupyter_mlprod enabled" in text, text
    assert f"jupyter_mlprod {jupyter_mlprod.__version__} OK" in text, text
