"""Scaffolding of the generated package: ``__init__.py``, ``pyproject.toml``,
``requirements.txt``, ``README.md`` and the smoke tests, rendered from the template files in
``codegen/templates/``."""

from __future__ import annotations

from collections.abc import Mapping

from .. import __version__
from ..analysis import Analysis
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
) -> str:
    """``pyproject.toml``: the distribution, its pinned dependencies, extras and command."""
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
