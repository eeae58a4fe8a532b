"""skops without its import-time scan, and the trusted type lists skops files are loaded with.

On import, skops builds its *default* trust list by importing every estimator module
scikit-learn has (``sklearn.utils.all_estimators``): 1-2 s per process, plus all of torch
when it is installed, through scikit-learn's array-API shims. That was most of a batch
``predict`` (bench/serve.py). The store does not need that default: every skops file is
saved with the complete list of the types it holds and loaded with exactly that list, so
the scan is skipped. Trust gets narrower, not wider: a swapped file that needs an
estimator type the saved model did not have is refused even if skops trusts it by default.
"""

from __future__ import annotations

import importlib
import sys
from pathlib import Path
from typing import Any


def skops_io() -> Any:
    """``skops.io``, imported without its scan of every scikit-learn estimator.

    Raises:
        ImportError: If skops (or scikit-learn) is not installed.
    """
    module = sys.modules.get("skops.io")
    if module is not None:
        return module
    import sklearn.utils

    scan = sklearn.utils.all_estimators
    sklearn.utils.all_estimators = _no_estimators
    try:
        module = importlib.import_module("skops.io")
    finally:
        sklearn.utils.all_estimators = scan
    return module


def _no_estimators(*args: Any, **kwargs: Any) -> list[tuple[str, type]]:
    return []


def _default_estimator_trust() -> list[str] | None:
    """skops' default list of trusted estimator names, shared by its loaders (private API:
    ``None`` if a skops release moves it, and then the defaults are simply left alone)."""
    skops_io()
    trusted_types = sys.modules.get("skops.io._trusted_types")
    names = getattr(trusted_types, "SKLEARN_ESTIMATOR_TYPE_NAMES", None)
    return names if isinstance(names, list) else None


def untrusted_types(path: Path) -> list[str]:
    """Every type in the file that skops does not trust unconditionally: the estimators too,
    even when skops was imported elsewhere in this process with its default list.

    This is the complete list to record at save time and trust, exactly, at load time.
    """
    module = skops_io()
    defaults = _default_estimator_trust()
    saved = list(defaults or [])
    if defaults is not None:
        defaults.clear()
    try:
        return sorted(module.get_untrusted_types(file=path))
    finally:
        if defaults is not None:
            defaults[:] = saved


def load_trusting(path: Path, trusted: list[str], complete: bool) -> Any:
    """Load with exactly the recorded types trusted; a swapped file needing any other type is
    refused by skops before anything in it is instantiated.

    Args:
        path: The skops file (its hash already checked against the manifest).
        trusted: The type names recorded when it was saved.
        complete: Whether ``trusted`` is the complete list (versions saved before the lists
            were complete also relied on skops' default estimator list).

    Raises:
        skops.io.exceptions.UntrustedTypesFoundException: The file needs another type.
    """
    module = skops_io()
    try:
        return module.load(path, trusted=trusted)
    except module.exceptions.UntrustedTypesFoundException:
        # Versions saved before the lists were complete relied on skops' default estimator
        # list as well: compute it (the slow scan, only for them) and try once more.
        defaults = _default_estimator_trust()
        type_name = getattr(sys.modules.get("skops.io._trusted_types"), "get_type_name", None)
        if complete or defaults is None or defaults or type_name is None:
            raise
        import sklearn.utils

        names = (type_name(estimator) for _, estimator in sklearn.utils.all_estimators())
        defaults.extend(name for name in names if name.startswith("sklearn."))
        return module.load(path, trusted=trusted)
