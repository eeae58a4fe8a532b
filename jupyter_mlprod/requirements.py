"""Imported modules → the distributions that provide them, pinned at the installed versions."""

from __future__ import annotations

import re
import sys
from collections.abc import Iterable
from functools import lru_cache
from importlib import metadata

_NAME = re.compile(r"^\s*([A-Za-z0-9][A-Za-z0-9._-]*)")


@lru_cache(maxsize=1)
def _providers() -> dict[str, list[str]]:
    return dict(metadata.packages_distributions())


# Libraries a notebook (or the generated runtime) commonly imports, by import name. When one is
# not installed where the notebook is converted, it cannot be pinned, but the package must still
# require it or it installs without it; a module not listed here might be a local file, so it is
# only reported.
KNOWN_DISTRIBUTIONS: dict[str, str] = {
    "PIL": "Pillow",
    "anyio": "anyio",
    "bs4": "beautifulsoup4",
    "catboost": "catboost",
    "croniter": "croniter",
    "cv2": "opencv-python-headless",
    "dask": "dask",
    "distributed": "distributed",
    "httptools": "httptools",
    "joblib": "joblib",
    "lightgbm": "lightgbm",
    "matplotlib": "matplotlib",
    "numpy": "numpy",
    "pandas": "pandas",
    "plotly": "plotly",
    "pyarrow": "pyarrow",
    "requests": "requests",
    "scipy": "scipy",
    "seaborn": "seaborn",
    "skimage": "scikit-image",
    "sklearn": "scikit-learn",
    "skops": "skops",
    "starlette": "starlette",
    "statsmodels": "statsmodels",
    "torch": "torch",
    "tqdm": "tqdm",
    "uvicorn": "uvicorn",
    "uvloop": "uvloop",
    "xgboost": "xgboost",
    "yaml": "PyYAML",
}


# Environment markers for distributions that do not exist on every platform (uvloop has no
# Windows build; uvicorn runs without it there).
MARKERS: dict[str, str] = {"uvloop": "; sys_platform != 'win32'"}


def pin_requirements(
    import_roots: Iterable[str], pip_requirements: Iterable[str] = ()
) -> tuple[dict[str, str], list[str]]:
    """Pin the distributions behind top-level module names (stdlib excluded).

    Returns:
        ``{distribution: version specifier}`` sorted by name (``"==1.2.3"``, or ``""`` for a
        known library that is not installed here; with a platform marker where needed), and
        warnings for modules that could not be
        pinned.
    """
    pinned: dict[str, str] = {}
    warnings: list[str] = []
    unpinned: list[str] = []
    providers = _providers()
    for root in sorted(set(import_roots)):
        if root in sys.stdlib_module_names or root == "__future__":
            continue
        distributions = providers.get(root)
        if distributions:
            _pin(distributions[0], pinned, warnings)
        elif root in KNOWN_DISTRIBUTIONS:
            pinned.setdefault(KNOWN_DISTRIBUTIONS[root], "")
            unpinned.append(KNOWN_DISTRIBUTIONS[root])
        else:
            warnings.append(
                f"module `{root}` is imported but no installed distribution provides it; "
                "install it here before converting, or copy the module into the package"
            )
    if unpinned:
        warnings.append(
            f"not installed here, so required without a version: {', '.join(unpinned)}; "
            "install them before converting to pin the versions the notebook ran with"
        )
    for requirement in pip_requirements:
        match = _NAME.match(requirement)
        if match:
            _pin(match.group(1), pinned, warnings)
    marked = {name: spec + MARKERS.get(name, "") for name, spec in pinned.items()}
    return dict(sorted(marked.items(), key=lambda item: item[0].lower())), warnings


def _pin(distribution: str, pinned: dict[str, str], warnings: list[str]) -> None:
    try:
        dist = metadata.distribution(distribution)
    except metadata.PackageNotFoundError:
        warnings.append(f"`{distribution}` (from `pip install` in the notebook) is not installed")
        return
    # A local label (`2.13.0+cpu`) names a build no public index serves; `==2.13.0` matches it.
    pinned[dist.metadata["Name"]] = "==" + dist.version.split("+", 1)[0]
