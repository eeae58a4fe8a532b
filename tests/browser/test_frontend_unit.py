"""Run the front end's jest unit tests (tag logic, panel model) under pytest.

CI runs a single `pytest`; this keeps the TypeScript tests inside it.
"""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest

LABEXTENSION = Path(__file__).resolve().parents[2] / "labextension"

# jest and the TypeScript compiler take tens of seconds: a tier like the others.
pytestmark = pytest.mark.slow


def jlpm_ready(tool: str) -> str:
    """The jlpm executable, after installing node_modules if `tool` is not there yet."""
    jlpm = shutil.which("jlpm")
    if jlpm is None:
        pytest.fail("jlpm is missing: pip install jupyter_builder (or jupyterlab)")
    if not (LABEXTENSION / "node_modules" / ".bin" / tool).exists():
        # A source checkout that was installed from a wheel has no node_modules yet.
        subprocess.run([jlpm, "install"], cwd=LABEXTENSION, check=True)
    return jlpm


def test_jest_unit_tests_pass() -> None:
    jlpm = jlpm_ready("jest")
    result = subprocess.run(
        [jlpm, "test", "--ci"], cwd=LABEXTENSION, capture_output=True, text=True
    )
    output = result.stdout + result.stderr
    assert result.returncode == 0, output[-6000:]
    summary = re.search(r"^Tests:\s+(.*)$", output, re.MULTILINE)
    assert summary is not None, output[-2000:]
    assert "failed" not in summary.group(1)
    assert int(re.search(r"(\d+) passed", summary.group(1)).group(1)) > 0  # type: ignore[union-attr]


def test_typescript_compiles_and_is_formatted() -> None:
    jlpm = jlpm_ready("prettier")
    result = subprocess.run([jlpm, "lint:check"], cwd=LABEXTENSION, capture_output=True, text=True)
    assert result.returncode == 0, (result.stdout + result.stderr)[-6000:]
