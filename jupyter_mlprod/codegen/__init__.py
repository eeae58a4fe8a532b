"""Code generation: an :class:`~jupyter_mlprod.analysis.Analysis` → the generated package's
files, as ``{relative path: text}``. No I/O; formatting is applied by the orchestrator.

:func:`render_package` puts the package together from its parts: the Python modules
(:mod:`.modules`, which moves notebook statements with :mod:`.rewrite` and places the carried
helpers with :mod:`.placement`), the scaffolding from template files (:mod:`.scaffold`), and the
runtime files it is given.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import PurePath

from .. import roles
from ..analysis import Analysis
from ..quality import QualityFloor
from . import scaffold
from .modules import ModuleRenderer
from .names import PackageNames, package_name_for, package_name_problem
from .text import load_template

__all__ = ["PackageNames", "package_name_for", "package_name_problem", "render_package"]


def render_package(
    analysis: Analysis,
    names: PackageNames,
    *,
    notebook_sha256: str,
    requirements: Mapping[str, str],
    runtime_files: Mapping[str, str],
    data_dir_from_package: str,
    extras: Mapping[str, Mapping[str, str]] | None = None,
    quality: Sequence[QualityFloor] = (),
) -> dict[str, str]:
    """All files of the package, by path relative to its root.

    Args:
        analysis: an analysis with no errors.
        names: the package's distribution and module names.
        notebook_sha256: the source notebook's hash, recorded with every model version.
        requirements: distribution → version specifier (``"==1.2"``, or ``""`` when it could
            not be pinned), for pyproject and requirements.txt.
        runtime_files: runtime file name → text, copied as they are.
        data_dir_from_package: the notebook's directory relative to the package root, where
            the smoke tests find the notebook's data.
        extras: extra name → its pinned distributions, as ``requirements``
            (``pip install '<dist>[dask]'``).
        quality: the floors a fresh ``train`` must reach, recorded in pyproject.toml for the
            model tests (none: they compare with the first trained version).
    """
    notebook_name = PurePath(analysis.path).name
    src = f"src/{names.module}"
    renderer = ModuleRenderer(analysis, notebook_name)
    files: dict[str, str] = {
        f"{src}/__init__.py": scaffold.init_module(names, notebook_name),
        f"{src}/params.py": renderer.params_module(),
        f"{src}/predict.py": renderer.predict_module(),
        f"{src}/pipeline.py": renderer.pipeline_module(notebook_sha256),
        f"{src}/data.py": renderer.stage_module(roles.LOAD),
        f"{src}/train.py": renderer.stage_module(roles.TRAIN),
    }
    features = renderer.features_module()
    if features is not None:
        files[f"{src}/features.py"] = features
    for file_name, text in runtime_files.items():
        files[f"{src}/{file_name}"] = text
    files[f"{src}/py.typed"] = ""
    files["pyproject.toml"] = scaffold.pyproject(
        names, notebook_name, requirements, extras or {}, quality
    )
    files["requirements.txt"] = scaffold.requirements_txt(notebook_name, requirements)
    files["README.md"] = scaffold.readme(analysis, names, notebook_name)
    files["alerts.example.yaml"] = load_template("alerts.example.yaml.tmpl").substitute(
        command=names.distribution
    )
    files["tests/test_smoke.py"] = scaffold.smoke_test(names, data_dir_from_package)
    files["tests/test_model.py"] = scaffold.model_test(names, data_dir_from_package)
    files[".github/workflows/ci.yml"] = scaffold.ci_workflow(names, data_dir_from_package)
    files["Dockerfile"] = scaffold.dockerfile(names)
    files[".dockerignore"] = scaffold.dockerignore()
    return files
