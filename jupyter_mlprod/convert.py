"""The orchestrator of ``nb2prod convert``: load → analyse → generate → format → write.

Every step but the first and the last takes and returns values; reading the notebook and
writing the package (atomically) happen only here, through :mod:`jupyter_mlprod.notebook`.
"""

from __future__ import annotations

import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

from . import runtime
from .analysis import ERROR, Analysis, AnalysisOptions, Problem, analyse_notebook
from .codegen import PackageNames, package_name_for, render_package
from .errors import ConversionError, OutputExistsError
from .notebook import load_notebook, write_tree_atomically
from .requirements import pin_requirements
from .runtime.provenance import sha256_file

# ruff fixes applied to generated code: import order, and notebook leftovers (unused variables,
# lambda assignments) that are harmless in a notebook but noise in a module.
_RUFF_FIXES = "I,F401,F841,E731"


@dataclass(frozen=True)
class ConvertOptions:
    """What the user chose for one conversion."""

    name: str | None = None
    predict_input: str | None = None
    predict_output: str | None = None
    lift_paths: bool = False
    force: bool = False
    strict: bool = False  # no stage completion: reads of untagged code are errors


@dataclass(frozen=True)
class ConversionResult:
    """A finished conversion: where it went, what it wrote, what to tell the user."""

    out_dir: Path
    files: tuple[str, ...]
    warnings: tuple[str, ...]
    analysis: Analysis
    names: PackageNames


def convert_notebook(
    notebook_path: str | os.PathLike[str],
    out_dir: str | os.PathLike[str],
    options: ConvertOptions | None = None,
) -> ConversionResult:
    """Convert a tagged notebook into a package directory.

    Raises:
        NotebookError: the notebook cannot be read.
        OutputExistsError: ``out_dir`` exists and ``options.force`` is false.
        ConversionError: the analysis found errors (carried as its ``problems``), or the
            generated code could not be formatted.
    """
    options = options or ConvertOptions()
    path = str(notebook_path)
    if Path(out_dir).exists() and not options.force:
        raise OutputExistsError(str(out_dir))
    notebook = load_notebook(path)
    analysis = analyse_notebook(
        notebook,
        AnalysisOptions(
            options.predict_input, options.predict_output, options.lift_paths, options.strict
        ),
    )
    if not analysis.ok:
        raise ConversionError(analysis.errors, path)
    names = PackageNames.from_name(options.name or package_name_for(path))
    roots = {binding.root for binding in analysis.imports if binding.level == 0}
    pinned, requirement_warnings = pin_requirements(
        roots | set(runtime.REQUIREMENTS), analysis.pip_requirements
    )
    notebook_dir = Path(path).resolve().parent
    files = render_package(
        analysis,
        names,
        notebook_sha256=sha256_file(path),
        requirements=pinned,
        runtime_files={name: runtime.read_file(name) for name in runtime.FILES},
        data_dir_from_package=os.path.relpath(notebook_dir, Path(out_dir).resolve()),
    )
    target = write_tree_atomically(files, out_dir, force=options.force, finish=_format_tree)
    warnings = [problem.render(path) for problem in analysis.warnings] + requirement_warnings
    return ConversionResult(target, tuple(sorted(files)), tuple(warnings), analysis, names)


def _format_tree(root: Path) -> None:
    """Make the generated code lint-clean and formatted, as a reviewer would expect."""
    generated = [str(path) for path in root.rglob("*.py")]
    ruff = [sys.executable, "-m", "ruff"]
    common = ["--no-cache", "--config", str(root / "pyproject.toml")]
    checks = [
        [*ruff, "check", *common, "--fix", "--unsafe-fixes", "--select", _RUFF_FIXES, "-q"],
        [*ruff, "format", *common, "-q"],
    ]
    for command in checks:
        # Run from the package root so ruff sees `src/` and sorts first-party imports.
        result = subprocess.run([*command, *generated], capture_output=True, text=True, cwd=root)
        if result.returncode not in (0, 1):
            message = f"formatting the generated code failed: {result.stderr.strip()}"
            raise ConversionError([Problem(ERROR, "conversion", message)], None)
