"""The names a generated package goes by: its distribution and import names."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import PurePath


@dataclass(frozen=True)
class PackageNames:
    """The names a generated package goes by."""

    distribution: str  # churn-model
    module: str  # churn_model

    @classmethod
    def from_name(cls, name: str) -> PackageNames:
        """The names for a package name as the user wrote it (``Churn Model``, ``churn-model``)."""
        module = re.sub(r"\W+", "_", name).strip("_").lower() or "model"
        if module[0].isdigit():
            module = f"model_{module}"
        return cls(module.replace("_", "-"), module)


def package_name_for(notebook_path: str) -> str:
    """The default package name: the notebook's stem plus ``_model`` (``churn_model``)."""
    stem = PurePath(notebook_path).stem
    base = PackageNames.from_name(stem).module
    return base if base.endswith("model") else f"{base}_model"
