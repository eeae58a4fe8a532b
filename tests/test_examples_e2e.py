"""The converter's acceptance test, end to end, for every example notebook.

For each notebook: ``nb2prod check`` passes; ``nb2prod convert`` writes a package; the
package installs into a fresh virtual environment (system site packages visible, so nothing
is downloaded); its own generated tests pass there; and its ``train`` then ``predict`` on
the notebook's held-out input reproduce the notebook's predictions (papermill baseline with
the same seed set in a first cell) exactly for labels, within 1e-9 relative for floats.
The last step is ``nb2prod verify``'s machinery pointed at the installed package.
"""

from __future__ import annotations

import os
import venv
from pathlib import Path

import pytest
from subprocesses import run_ok

from jupyter_mlprod.cli import main as nb2prod
from jupyter_mlprod.runs.verify import package_module, verify_notebook

EXAMPLES = Path(__file__).resolve().parent.parent / "example_notebooks"
NOTEBOOKS = (
    "churn.ipynb",
    "house_prices.ipynb",
    "digits.ipynb",
    "messy_sales.ipynb",
    "sparse_tags.ipynb",
)
RTOL = 1e-9

pytestmark = pytest.mark.slow


def _venv_python(root: Path) -> Path:
    venv.EnvBuilder(system_site_packages=True, with_pip=False, clear=True).create(root)
    python = root / ("Scripts/python.exe" if os.name == "nt" else "bin/python")
    assert python.exists()
    return python


@pytest.mark.parametrize("name", NOTEBOOKS)
def test_example_converts_installs_and_reproduces_the_notebook(
    name: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    notebook = EXAMPLES / name
    assert nb2prod(["check", str(notebook)]) == 0, capsys.readouterr().out

    package_dir = tmp_path / "package"
    assert nb2prod(["convert", str(notebook), "-o", str(package_dir)]) == 0, capsys.readouterr().err
    module = package_module(package_dir)

    # A fresh venv that sees the system site (the dependencies are there already); pip is
    # the system's, run with the venv's interpreter so it installs into the venv. No index,
    # no build isolation: nothing may be downloaded.
    python = _venv_python(tmp_path / "venv")
    run_ok(
        [
            str(python),
            "-m",
            "pip",
            "install",
            "--quiet",
            "--no-deps",
            "--no-index",
            "--no-build-isolation",
            str(package_dir),
        ],
        cwd=tmp_path,
    )
    where = run_ok(
        [str(python), "-c", f"import {module}, sys; print({module}.__file__, sys.prefix)"],
        cwd=tmp_path,
    )
    installed_at, prefix = where.split()
    assert Path(prefix) == tmp_path / "venv"
    assert Path(installed_at).is_relative_to(tmp_path / "venv"), installed_at

    # The package's own tests, against the installed copy, with the notebook's data.
    env = {**os.environ, f"{module.upper()}_DATA_DIR": str(EXAMPLES)}
    env.pop("PYTHONPATH", None)
    report = run_ok(
        [str(python), "-m", "pytest", "-q", "-rs", "-p", "no:cacheprovider", "tests"],
        cwd=package_dir,
        env=env,
    )
    assert " passed" in report and "skipped" not in report and "failed" not in report, report

    # train then predict with the installed package vs the notebook run by papermill.
    result = verify_notebook(
        notebook,
        {},
        rtol=RTOL,
        package_dir=package_dir,
        python=str(python),
        work_dir=tmp_path / "verify",
    )
    assert result.ok, (result.message, result.first_differences)
    assert result.rows > 0 and result.mismatches == 0
