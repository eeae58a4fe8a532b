"""The names a generated package goes by (its distribution and import names), and which
names a package may not take."""

from __future__ import annotations

import keyword
import re
import sys
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import PurePath

# What a package name as the user writes it may hold: ASCII, starting with a letter; spaces,
# dots and hyphens become underscores in the import name.
_WRITTEN_NAME = re.compile(r"[A-Za-z][A-Za-z0-9_.\- ]*")


@dataclass(frozen=True)
class PackageNames:
    """The names a generated package goes by."""

    distribution: str  # churn-model
    module: str  # churn_model

    @classmethod
    def from_name(cls, name: str) -> PackageNames:
        """The names for a package name as the user wrote it (``Churn Model``, ``churn-model``).

        Characters that cannot be in an import name are dropped (the result is ASCII); use
        :func:`package_name_problem` first to refuse a name instead of rewriting it.
        """
        module = re.sub(r"[^0-9A-Za-z_]+", "_", name).strip("_").lower() or "model"
        if module[0].isdigit():
            module = f"model_{module}"
        return cls(module.replace("_", "-"), module)


def package_name_for(notebook_path: str) -> str:
    """The default package name: the notebook's stem plus ``_model`` (``churn_model``)."""
    stem = PurePath(notebook_path).stem
    base = PackageNames.from_name(stem).module
    return base if base.endswith("model") else f"{base}_model"


def package_name_problem(name: str, taken: Iterable[str] = ()) -> str | None:
    """Why ``name`` (as given to ``--name``) cannot name a package, or None.

    The import name must be an ASCII identifier, not a keyword, and must not shadow a module
    the package itself imports: the standard library or ``taken`` (the third-party modules the
    generated code and the runtime import).
    """
    shown = repr(name[:40] + ("…" if len(name) > 40 else ""))
    if not name.isascii():
        return f"--name {shown}: a package name is ASCII letters, digits, '_' and '-'"
    if not _WRITTEN_NAME.fullmatch(name):
        return (
            f"--name {shown} does not make a Python identifier: start with a letter and use "
            "letters, digits, '_' or '-'"
        )
    module = PackageNames.from_name(name).module
    if keyword.iskeyword(module) or keyword.issoftkeyword(module):
        return f"--name {shown}: `{module}` is a Python keyword and cannot be imported"
    if module in sys.stdlib_module_names:
        return (
            f"--name {shown}: `{module}` is a standard library module; the package would shadow it"
        )
    if module in set(taken):
        return f"--name {shown}: the package imports `{module}` itself; the name would shadow it"
    return None
