"""Runtime files copied byte for byte into every generated package.

This package itself is not copied: it only tells the converter *what* to copy
(:data:`FILES`) and which third-party modules those files import (:data:`REQUIREMENTS`), so
the converter can pin the matching distributions in the generated ``pyproject.toml``.

The copied files import each other and the generated modules (``params``, ``pipeline``,
``predict``) with relative imports only, and take the program name from ``__package__``, so
the same bytes work in every package. The ``params.pyi``, ``predict.pyi`` and
``pipeline.pyi`` stubs here state the contract those generated modules meet, so mypy can
check the runtime against it; they are not copied.
"""

from __future__ import annotations

from importlib import resources


def _runtime_files() -> tuple[str, ...]:
    # Every module of this directory but this one is copied: adding a runtime module is one new
    # file, not an edit to a shared list. (The .pyi stubs are for mypy only.)
    here = resources.files(__name__)
    names = {entry.name for entry in here.iterdir() if entry.name.endswith(".py")}
    return tuple(sorted(names - {"__init__.py"}))


FILES: tuple[str, ...] = _runtime_files()
"""File names under ``jupyter_mlprod/runtime/`` to copy into ``src/<pkg>/``."""

REQUIREMENTS: tuple[str, ...] = (
    "numpy",
    "pandas",
    "pyarrow",
    "skops",
    # skops depends on it anyway; skops_compat.py imports it to load skops files quickly.
    "sklearn",
    "joblib",
    "starlette",
    "anyio",
    "uvicorn",
    # Not imported by the runtime: uvicorn picks them up when present, halving its HTTP overhead
    # (bench/serve.py), so generated packages pin them too.
    "uvloop",
    "httptools",
    "yaml",
    # Drift tests (monitoring.py and friends): KS, chi-squared, Wasserstein, Jensen-Shannon.
    "scipy",
    # Cron expressions of the schedule command, validated and explained.
    "croniter",
)
"""Import names of the third-party modules the runtime files need (not torch: optional)."""

EXTRAS: dict[str, tuple[str, ...]] = {
    # Batch predict on a Dask cluster (predict --engine dask): heavy, so behind an extra.
    "dask": ("dask", "distributed"),
}
"""Extras of every generated package: extra name -> import names its runtime files import
lazily, with the install hint ``pip install '<dist>[<extra>]'`` when missing."""


def read_file(name: str) -> str:
    """Return the source of one runtime file.

    Args:
        name: A name from :data:`FILES`.

    Returns:
        The file's text, to be written unchanged into the generated package.

    Raises:
        ValueError: If ``name`` is not a runtime file.
    """
    if name not in FILES:
        raise ValueError(f"{name!r} is not a runtime file; expected one of {', '.join(FILES)}")
    return resources.files(__name__).joinpath(name).read_text(encoding="utf-8")
