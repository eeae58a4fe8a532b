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


def pin_requirements(
    import_roots: Iterable[str], pip_requirements: Iterable[str] = ()
) -> tuple[dict[str, str], list[str]]:
    """Pin the distributions behind top-level module names (stdlib excluded).

    Returns:
        ``{distribution: version}`` sorted by name, and warnings for modules that no installed
        distribution provides (a local module, or a package missing here).
    """
    pinned: dict[str, str] = {}
    warnings: list[str] = []
    providers = _providers()
    for root in sorted(set(import_roots)):
        if root in sys.stdlib_module_names or root == "__future__":
            continue
        distributions = providers.get(root)
        if not distributions:
            warnings.append(
                f"module `{root}` is imported but no installed distribution provides it; "
                "install it here before converting, or copy the module into the package"
            )
            continue
        for distribution in distributions[:1]:
            _pin(distribution, pinned, warnings)
    for requirement in pip_requirements:
        match = _NAME.match(requirement)
        if match:
            _pin(match.group(1), pinned, warnings)
    return dict(sorted(pinned.items(), key=lambda item: item[0].lower())), warnings


def _pin(distribution: str, pinned: dict[str, str], warnings: list[str]) -> None:
    try:
        dist = metadata.distribution(distribution)
    except metadata.PackageNotFoundError:
        warnings.append(f"`{distribution}` (from `pip install` in the notebook) is not installed")
        return
    # A local label (`2.13.0+cpu`) names a build no public index serves; `==2.13.0` matches it.
    pinned[dist.metadata["Name"]] = dist.version.split("+", 1)[0]
