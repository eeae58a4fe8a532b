"""Scaffolding of the generated package: ``__init__.py``, ``pyproject.toml``,
``requirements.txt``, ``README.md``, the smoke and model tests, the CI workflow and the
Dockerfile, rendered from the template files in ``codegen/templates/``."""

from __future__ import annotations

import json
import sys
from collections.abc import Mapping, Sequence

from .. import __version__
from ..analysis import Analysis
from ..quality import QualityFloor
from .names import PackageNames
from .text import load_template


def init_module(names: PackageNames, notebook_name: str) -> str:
    """The package's ``__init__.py``: what it is and which nb2prod made it."""
    return load_template("package_init.py.tmpl").substitute(
        module=names.module, notebook_name=notebook_name, nb2prod_version=__version__
    )


def pyproject(
    names: PackageNames,
    notebook_name: str,
    requirements: Mapping[str, str],
    extras: Mapping[str, Mapping[str, str]],
    quality: Sequence[QualityFloor] = (),
) -> str:
    """``pyproject.toml``: the distribution, its pinned dependencies, extras and command, and
    the quality floors the model tests hold a fresh ``train`` to."""
    dependencies = "\n".join(f'  "{dist}{spec}",' for dist, spec in requirements.items())
    optional = "".join(
        f"{extra} = [{', '.join(repr_toml(dist + spec) for dist, spec in pins.items())}]\n"
        for extra, pins in sorted(extras.items())
    )
    return load_template("pyproject.toml.tmpl").substitute(
        distribution=names.distribution,
        module=names.module,
        notebook_name=notebook_name,
        dependencies=dependencies,
        optional_dependencies=optional,
        quality=quality_table(quality),
    )


def quality_table(floors: Sequence[QualityFloor]) -> str:
    """The body of ``[tool.<module>.quality]``: one ``metric = {min|max = value}`` a floor, or
    a comment saying none was set (the model tests then compare with the first version)."""
    if not floors:
        return (
            "# No floor was set at conversion (`nb2prod convert --quality METRIC>=VALUE`): the\n"
            "# model tests compare a fresh train with the first version in the model store."
        )
    return "\n".join(
        f"{repr_toml(floor.metric)} = {{ {floor.bound} = {floor.value!r} }}" for floor in floors
    )


def repr_toml(text: str) -> str:
    """``text`` as a TOML basic string."""
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def requirements_txt(notebook_name: str, requirements: Mapping[str, str]) -> str:
    """``requirements.txt``: the same pins as ``pyproject.toml``, one a line."""
    lines = [f"# Pinned from the environment where {notebook_name} was converted."]
    lines += [f"{dist}{spec}" for dist, spec in requirements.items()]
    return "\n".join(lines) + "\n"


def readme(analysis: Analysis, names: PackageNames, notebook_name: str) -> str:
    """``README.md``: the package's commands, its predict input and output, its parameters."""
    rows = "\n".join(
        f"| `{spec.name}` | `{spec.python_type}` | `{spec.default_repr}` | {spec.comment} |"
        for spec in analysis.parameters
    )
    parameters = (
        "| name | type | default | note |\n|---|---|---|---|\n" + rows
        if rows
        else "The notebook has no parameters."
    )
    return load_template("README.md.tmpl").substitute(
        distribution=names.distribution,
        command=names.distribution,
        notebook_name=notebook_name,
        predict_input=analysis.predict_io.input,
        predict_output=analysis.predict_io.output_expression,
        parameters=parameters,
        module=names.module,
        data_env=f"{names.module.upper()}_DATA_DIR",
        python_version=python_minor(),
    )


def smoke_test(names: PackageNames, data_dir_from_package: str) -> str:
    """``tests/test_smoke.py``: train on the notebook's data, predict from a file, and
    round-trip the input schema, with the data directory overridable by an environment
    variable."""
    return load_template("test_smoke.py.tmpl").substitute(
        module=names.module,
        env=f"{names.module.upper()}_DATA_DIR",
        data_dir=repr(data_dir_from_package),
    )


def model_test(names: PackageNames, data_dir_from_package: str) -> str:
    """``tests/test_model.py``: the quality gate, invariance tests and corner cases."""
    return load_template("test_model.py.tmpl").substitute(
        module=names.module,
        env=f"{names.module.upper()}_DATA_DIR",
        data_dir=repr(data_dir_from_package),
    )


def python_minor() -> str:
    """The converting Python's ``major.minor``: CI and the image run the same one."""
    return f"{sys.version_info.major}.{sys.version_info.minor}"


def ci_workflow(names: PackageNames, data_dir_from_package: str) -> str:
    """``.github/workflows/ci.yml``: install, lint, tests, a training smoke run, the manifest."""
    return load_template("ci.yml.tmpl").substitute(
        distribution=names.distribution,
        command=names.distribution,
        env=f"{names.module.upper()}_DATA_DIR",
        data_dir=_yaml_string(data_dir_from_package.replace("\\", "/")),
        python_version=python_minor(),
    )


def _yaml_string(text: str) -> str:
    # A JSON string is a YAML double-quoted scalar.
    return json.dumps(text)


def dockerfile(names: PackageNames) -> str:
    """``Dockerfile``: the serving image (slim Python of the converting minor version)."""
    return load_template("Dockerfile.tmpl").substitute(
        distribution=names.distribution,
        command=names.distribution,
        python_version=python_minor(),
    )


def dockerignore() -> str:
    """``.dockerignore``: what stays out of the image's build context."""
    return load_template("dockerignore.tmpl").substitute()
