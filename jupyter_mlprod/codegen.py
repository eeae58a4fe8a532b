"""Code generation: an :class:`~jupyter_mlprod.analysis.Analysis` → the generated package's
files, as ``{relative path: text}``. No I/O; formatting is applied by the orchestrator.

Stage statements are moved into functions with LibCST (so comments, strings and nesting
survive exactly); names that come from the parameters cell are rewritten to
``params.<name>``, lifted path literals to their new parameter; each module imports only the
names its code uses.
"""

from __future__ import annotations

import ast
import re
import typing
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import PurePath

import libcst as cst

from . import __version__, roles
from .analysis import Analysis, Helper, StagePlan
from .cells import Statement
from .roles import EVALUATE, PREPARE, RESERVED_NAMES

_MODULE_OF_ROLE = {
    roles.LOAD: "data",
    roles.TRAIN: "train",
    PREPARE: "pipeline",
    roles.PREDICT: "predict",
    EVALUATE: "pipeline",
}
_FUNCTION_OF_ROLE = {
    roles.LOAD: "load",
    roles.TRAIN: "train",
    PREPARE: "prepare_input",
    roles.PREDICT: "predict",
    EVALUATE: "evaluate",
}
_MODULE_OF_FUNCTION = {
    function: _MODULE_OF_ROLE[role] for role, function in _FUNCTION_OF_ROLE.items()
}
_OUTPUTS_CLASS = {roles.LOAD: "Loaded", roles.TRAIN: "Trained", PREPARE: "Prepared"}
_RESULT_VARIABLE = {roles.LOAD: "loaded", roles.TRAIN: "trained", PREPARE: "prepared"}
_PURPOSE = {
    roles.LOAD: "Read and prepare the data",
    roles.TRAIN: "Fit the model",
    PREPARE: "Build the predict input from the loaded data",
    EVALUATE: "Score the predictions",
}
_TYPING_NAMES = frozenset(name for name in dir(typing) if not name.startswith("_"))


@dataclass(frozen=True)
class PackageNames:
    """The names a generated package goes by."""

    distribution: str  # churn-model
    module: str  # churn_model

    @classmethod
    def from_name(cls, name: str) -> PackageNames:
        module = re.sub(r"\W+", "_", name).strip("_").lower() or "model"
        if module[0].isdigit():
            module = f"model_{module}"
        return cls(module.replace("_", "-"), module)


def package_name_for(notebook_path: str) -> str:
    """The default package name: the notebook's stem plus ``_model`` (``churn_model``)."""
    stem = PurePath(notebook_path).stem
    base = PackageNames.from_name(stem).module
    return base if base.endswith("model") else f"{base}_model"


def render_package(
    analysis: Analysis,
    names: PackageNames,
    *,
    notebook_sha256: str,
    requirements: Mapping[str, str],
    runtime_files: Mapping[str, str],
    data_dir_from_package: str,
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
    """
    notebook_name = PurePath(analysis.path).name
    src = f"src/{names.module}"
    renderer = _Renderer(analysis, notebook_name)
    files: dict[str, str] = {
        f"{src}/__init__.py": _init_module(names, notebook_name),
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
    files["pyproject.toml"] = _pyproject(names, notebook_name, requirements)
    files["requirements.txt"] = _requirements_txt(notebook_name, requirements)
    files["README.md"] = _readme(analysis, names, notebook_name)
    files["tests/test_smoke.py"] = _smoke_test(names, data_dir_from_package)
    return files


class _Renderer:
    def __init__(self, analysis: Analysis, notebook_name: str) -> None:
        self.analysis = analysis
        self.notebook_name = notebook_name
        self.imports = {binding.name: binding for binding in analysis.imports}
        self.helper_module = {
            name: helper.module for helper in analysis.helpers for name in helper.statement.defines
        }
        self.param_names = {spec.name for spec in analysis.parameters}
        # The stage functions' parameters argument, unless the notebook has its own `params`
        # (the settings dict of many XGBoost/LightGBM notebooks).
        used = {
            name
            for plan in analysis.plans
            for statement in plan.statements
            for name in statement.reads | statement.defines
        }
        self.params_var = next(
            name for name in ("params", "parameters", "run_params", "params_") if name not in used
        )
        self.lifted = {
            found.value: found.lifted_to
            for found in analysis.paths
            if found.lifted_to and found.lifted_to not in self._cell_params()
        }

    def _cell_params(self) -> set[str]:
        lifted = {spec.name for spec in self.analysis.lifted_params}
        return self.param_names - lifted

    # -- modules ---------------------------------------------------------------------------

    def params_module(self) -> str:
        analysis = self.analysis
        where = (
            f"notebook cell {analysis.parameters_cell}"
            if analysis.parameters_cell is not None
            else "the notebook (it has no parameters cell)"
        )
        lines = [
            f'"""Parameters of {self.notebook_name}, from {where}.',
            "",
            "Override them with `train --param name=value` or `train --params-file f.yaml`.",
            '"""',
            "",
        ]
        needs_field = any(_mutable(spec.default) for spec in analysis.parameters)
        typing_names = sorted(
            {name for spec in analysis.parameters for name in _typing_names(spec.python_type)}
        )
        lines.append(
            "from dataclasses import dataclass, field"
            if needs_field
            else "from dataclasses import dataclass"
        )
        if typing_names:
            lines.append(f"from typing import {', '.join(typing_names)}")
        lines += ["", "", "@dataclass(frozen=True)", "class Params:"]
        lines.append(f'    """The notebook\'s parameters ({where})."""')
        if analysis.parameters:
            lines.append("")
        for spec in analysis.parameters:
            comment = f"  # {spec.comment}" if spec.comment else ""
            default = (
                f"field(default_factory=lambda: {spec.default_repr})"
                if _mutable(spec.default)
                else spec.default_repr
            )
            lines.append(f"    {spec.name}: {spec.python_type} = {default}{comment}")
        return "\n".join(lines) + "\n"

    def predict_module(self) -> str:
        analysis = self.analysis
        plan = analysis.plan(roles.PREDICT)
        io = analysis.predict_io
        statements = plan.statements if plan else ()
        cells = ", ".join(str(cell) for cell in (plan.cells if plan else ()))
        input_name = io.input or "inputs"
        body: list[str] = [
            f'"""Compute `{io.output}` from `{input_name}` as notebook cell {cells} does."""'
        ]
        body += [f'{name} = artifacts["{name}"]' for name in analysis.artifacts]
        function = self._function(
            "predict",
            f"artifacts: Mapping[str, Any], {input_name}: Any",
            "Any",
            body,
            statements,
            [f"return {io.output}"],
            rewrite_params=False,
        )
        header = [
            f'"""Prediction for {self.notebook_name}: new inputs → predictions (notebook cell '
            f"{cells}).",
            "",
            "This module imports nothing from training (data, train, pipeline): it and its",
            "imports are all that batch prediction and serving need.",
            '"""',
        ]
        artifact_names = ", ".join(f'"{name}"' for name in analysis.artifacts)
        if len(analysis.artifacts) == 1:
            artifact_names += ","
        code = [
            f"ARTIFACT_NAMES: tuple[str, ...] = ({artifact_names})\n"
            '"""The trained objects `predict` needs, saved with every model version."""',
            function,
        ]
        imports = [
            "from collections.abc import Mapping",
            "from typing import Any",
            *self._imports_for(statements, "predict"),
        ]
        return _assemble(header, imports, code)

    def stage_module(self, role: str) -> str:
        plan = self.analysis.plan(role)
        module = _MODULE_OF_ROLE[role]
        helpers = [h for h in self.analysis.helpers if h.module == module]
        statements = plan.statements if plan else ()
        cells = plan.cells if plan else ()
        header = [
            f'"""{_PURPOSE[role]}: the {role} stage of {self.notebook_name} '
            f"({_cells_text(cells)}).",
            '"""',
        ]
        code: list[str] = [_helper_code(h) for h in helpers]
        outputs_class = _outputs_dataclass(role, plan.outputs if plan else ())
        if outputs_class:
            code.append(outputs_class)
        code.append(self._stage_function(role, plan))
        imports = [
            "from dataclasses import dataclass" if outputs_class else "",
            "from typing import Any" if _uses_any(plan) else "",
            "from .params import Params",
            *self._imports_for(statements, module, helpers),
        ]
        return _assemble(header, imports, code)

    def features_module(self) -> str | None:
        helpers = [h for h in self.analysis.helpers if h.module == "features"]
        if not helpers:
            return None
        cells = sorted({h.statement.cell for h in helpers})
        header = [
            f'"""Helpers shared by training and prediction, from {self.notebook_name} '
            f"({_cells_text(cells)}).",
            "",
            "Classes live here so that a saved model can find them without importing training",
            "code.",
            '"""',
        ]
        imports = self._imports_for((), "features", helpers)
        return _assemble(header, imports, [_helper_code(h) for h in helpers])

    def pipeline_module(self, notebook_sha256: str) -> str:
        analysis = self.analysis
        io = analysis.predict_io
        prepare = analysis.plan(PREPARE)
        evaluate = analysis.plan(EVALUATE)
        helpers = [h for h in analysis.helpers if h.module == "pipeline"]
        header = [
            f'"""The training pipeline of {self.notebook_name}: load → train → predict on the '
            "held-out",
            "input → evaluate. The package's `train` command runs it and registers the result.",
            '"""',
        ]
        code: list[str] = [
            f'NOTEBOOK: dict[str, str] = {{"name": {self.notebook_name!r}, '
            f'"sha256": "{notebook_sha256}"}}\n'
            f'PREDICT_INPUT = "{io.input}"\n'
            f'PREDICT_OUTPUT = "{io.output}"',
            _TRAINING_RUN,
        ]
        code += [_helper_code(h) for h in helpers]
        if prepare is not None:
            outputs_class = _outputs_dataclass(PREPARE, prepare.outputs)
            if outputs_class:
                code.append(outputs_class)
            code.append(self._stage_function(PREPARE, prepare))
        if evaluate is not None:
            code.append(self._stage_function(EVALUATE, evaluate))
        code.append(self._run_function())
        if evaluate is not None:
            code.append(_NUMERIC)
        stage_modules = [
            module
            for role, module in ((roles.LOAD, "data"), (roles.TRAIN, "train"))
            if (plan := analysis.plan(role)) is not None and plan.statements
        ]
        statements = [
            *(prepare.statements if prepare else ()),
            *(evaluate.statements if evaluate else ()),
        ]
        imports = [
            "from dataclasses import dataclass",
            "from typing import Any",
            "import numbers" if evaluate is not None else "",
            f"from . import {', '.join(stage_modules)}" if stage_modules else "",
            "from .params import Params",
            "from .predict import predict",
            *self._imports_for(statements, "pipeline", helpers),
        ]
        return _assemble(header, imports, code)

    # -- pieces ----------------------------------------------------------------------------

    def _stage_function(self, role: str, plan: StagePlan | None) -> str:
        statements = plan.statements if plan else ()
        inputs = plan.inputs if plan else ()
        outputs = plan.outputs if plan else ()
        arguments = [f"{self.params_var}: Params", *(f"{name}: Any" for name in inputs)]
        docstring = f'"""{_PURPOSE[role]} ({_cells_text(plan.cells if plan else ())})."""'
        # A stage that rebinds a parameter (`data_dir = Path(data_dir)`) starts from its value.
        rebound = sorted(
            {name for st in statements for name in st.defines - st.mutates} & self.param_names
        )
        head = [docstring] + [f"{name} = {self.params_var}.{name}" for name in rebound]
        if role == EVALUATE:
            metric_names = sorted({name for st in statements for name in st.defines - st.mutates})
            entries = ", ".join(f'"{name}": {name}' for name in metric_names)
            tail = [f"return _numeric({{{entries}}})"]
            returns = "dict[str, float]"
        elif outputs:
            fields = ", ".join(f"{name}={name}" for name in outputs)
            tail = [f"return {_OUTPUTS_CLASS[role]}({fields})"]
            returns = _OUTPUTS_CLASS[role]
        else:
            tail, returns = [], "None"
        return self._function(
            _FUNCTION_OF_ROLE[role],
            ", ".join(arguments),
            returns,
            head,
            statements,
            tail,
            keep_names=frozenset(rebound),
        )

    def _run_function(self) -> str:
        analysis = self.analysis
        io = analysis.predict_io
        where: dict[str, str] = {}
        lines = ['"""Run the notebook\'s pipeline on `params` and return what to register."""']
        for role in (roles.LOAD, roles.TRAIN, PREPARE):
            plan = analysis.plan(role)
            if plan is None or not plan.statements:
                continue
            arguments = ["params", *(f"{name}={where.get(name, name)}" for name in plan.inputs)]
            module = _MODULE_OF_ROLE[role]
            call = f"{_FUNCTION_OF_ROLE[role]}({', '.join(arguments)})"
            call = call if module == "pipeline" else f"{module}.{call}"
            if plan.outputs:
                variable = _RESULT_VARIABLE[role]
                lines.append(f"{variable} = {call}")
                for name in plan.outputs:
                    where[name] = f"{variable}.{name}"
            else:
                lines.append(call)
        artifact_entries = []
        for name, source in analysis.artifact_sources:
            value = f"params.{name}" if source == roles.PARAMETERS else where.get(name, name)
            artifact_entries.append(f'"{name}": {value}')
        lines.append(f"artifacts: dict[str, Any] = {{{', '.join(artifact_entries)}}}")
        # Fixed local names: a notebook variable called `data` or `predict` must not shadow
        # the modules and functions this function calls.
        lines.append(f"sample_input = {where.get(io.input or '', io.input)}")
        lines.append("predictions = predict(artifacts, sample_input)")
        where[io.output or ""] = "predictions"
        evaluate = analysis.plan(EVALUATE)
        if evaluate is not None:
            arguments = ["params"]
            for name in evaluate.inputs:
                arguments.append(f"{name}={where.get(name, name)}")
            lines.append(f"metrics = evaluate({', '.join(arguments)})")
        else:
            lines.append("metrics: dict[str, float] = {}")
        files = ", ".join(analysis.input_files)
        lines.append(
            "return TrainingRun(artifacts=artifacts, sample_input=sample_input, "
            f"predictions=predictions, metrics=metrics, input_files=[{files}])"
        )
        body = "\n".join(f"    {line}" for line in lines)
        return f"def run(params: Params) -> TrainingRun:\n{body}\n"

    def _function(
        self,
        name: str,
        arguments: str,
        returns: str,
        head: list[str],
        statements: Iterable[Statement],
        tail: list[str],
        *,
        rewrite_params: bool = True,
        keep_names: frozenset[str] = frozenset(),
    ) -> str:
        """A function whose body is ``head``, the notebook statements, then ``tail``."""
        module = _MODULE_OF_FUNCTION[name]
        body: list[cst.BaseStatement] = [cst.parse_statement(line + "\n") for line in head]
        for index, statement in enumerate(statements):
            node = self._rewrite(statement, module, rewrite_params, keep_names)
            if index == 0 and isinstance(
                node, (cst.SimpleStatementLine, cst.BaseCompoundStatement)
            ):
                # Blank lines that opened the cell would open the function body: drop them,
                # keep comments.
                lines = list(node.leading_lines)
                while lines and lines[0].comment is None:
                    lines.pop(0)
                node = node.with_changes(leading_lines=lines)
            body.append(node)
        body += [cst.parse_statement(line + "\n") for line in tail]
        if len(body) == 0:
            body = [cst.parse_statement("pass\n")]
        stub = cst.parse_statement(f"def {name}({arguments}) -> {returns}:\n    pass\n")
        assert isinstance(stub, cst.FunctionDef)
        function = stub.with_changes(body=cst.IndentedBlock(body=body))
        return cst.Module(body=[function]).code

    def _rewrite(
        self,
        statement: Statement,
        module: str,
        rewrite_params: bool,
        keep_names: frozenset[str],
    ) -> cst.BaseStatement:
        replacements: dict[int, cst.BaseExpression] = {}
        for name, node in statement.read_nodes:
            # A helper named like this module's own function (`def train(...)` in a PyTorch
            # notebook) is called through its module instead.
            if name in RESERVED_NAMES[module] and self.helper_module.get(name) == "features":
                replacements[id(node)] = _params_attribute("features", name)
        if rewrite_params:
            for name, node in statement.read_nodes:
                if name in self.param_names and name not in keep_names:
                    replacements[id(node)] = _params_attribute(self.params_var, name)
            for value, _line, string in statement.strings:
                lifted = self.lifted.get(value)
                if lifted:
                    replacements[id(string)] = _params_attribute(self.params_var, lifted)
        if not replacements:
            return statement.node
        return typing.cast(cst.BaseStatement, statement.node.visit(_Replace(replacements)))

    def _imports_for(
        self,
        statements: Iterable[Statement],
        module: str,
        helpers: Iterable[Helper] = (),
    ) -> list[str]:
        used: set[str] = set()
        for statement in statements:
            used |= statement.reads
        local: set[str] = set()
        for helper in helpers:
            used |= helper.statement.reads | helper.statement.deferred_reads
            local |= helper.statement.defines
        lines = []
        for name in sorted(used - local):
            binding = self.imports.get(name)
            if binding is not None and name not in self._cell_params():
                lines.append(binding.render())
                continue
            home = self.helper_module.get(name)
            if home is not None and home != module:
                if name in RESERVED_NAMES.get(module, ()):
                    lines.append(f"from . import {home}")
                else:
                    lines.append(f"from .{home} import {name}")
        return lines


class _Replace(cst.CSTTransformer):
    def __init__(self, replacements: dict[int, cst.BaseExpression]) -> None:
        self.replacements = replacements

    def leave_Name(self, original_node: cst.Name, updated_node: cst.Name) -> cst.BaseExpression:
        return self.replacements.get(id(original_node), updated_node)

    def leave_SimpleString(
        self, original_node: cst.SimpleString, updated_node: cst.SimpleString
    ) -> cst.BaseExpression:
        return self.replacements.get(id(original_node), updated_node)


def _params_attribute(params_var: str, name: str) -> cst.Attribute:
    return cst.Attribute(value=cst.Name(params_var), attr=cst.Name(name))


def _helper_code(helper: Helper) -> str:
    node = typing.cast("cst.SimpleStatementLine | cst.BaseCompoundStatement", helper.statement.node)
    code = cst.Module(body=[node]).code
    return f"# From notebook cell {helper.statement.cell}.\n{code.lstrip()}"


def _outputs_dataclass(role: str, outputs: Iterable[str]) -> str:
    names = list(outputs)
    if not names:
        return ""
    fields = "\n".join(f"    {name}: Any" for name in names)
    return (
        "@dataclass(frozen=True)\n"
        f"class {_OUTPUTS_CLASS[role]}:\n"
        f'    """What the {role} stage hands to later stages."""\n\n'
        f"{fields}\n"
    )


def _uses_any(plan: StagePlan | None) -> bool:
    return plan is not None and bool(plan.inputs or plan.outputs)


def _cells_text(cells: Iterable[int]) -> str:
    """``notebook cells 3, 5-9, 12``: consecutive cells as ranges, so headers stay one line."""
    ordered = sorted(set(cells))
    if not ordered:
        return "no cells"
    runs: list[list[int]] = []
    for cell in ordered:
        if runs and cell == runs[-1][-1] + 1:
            runs[-1].append(cell)
        else:
            runs.append([cell])
    parts = [str(run[0]) if len(run) == 1 else f"{run[0]}-{run[-1]}" for run in runs]
    return ("notebook cell " if len(ordered) == 1 else "notebook cells ") + ", ".join(parts)


def _assemble(header: list[str], imports: list[str], code: list[str]) -> str:
    import_block = "\n".join(dict.fromkeys(line for line in imports if line))
    parts = ["\n".join(header), import_block, *[part.strip("\n") for part in code if part]]
    return "\n\n\n".join(part for part in parts if part) + "\n"


def _mutable(value: object) -> bool:
    return isinstance(value, (list, dict, set))


def _typing_names(annotation: str) -> set[str]:
    try:
        tree = ast.parse(annotation, mode="eval")
    except SyntaxError:
        return set()
    return {
        node.id
        for node in ast.walk(tree)
        if isinstance(node, ast.Name) and node.id in _TYPING_NAMES
    }


def _init_module(names: PackageNames, notebook_name: str) -> str:
    return (
        f'"""{names.module}: the production package of {notebook_name}, generated by nb2prod '
        f'{__version__}."""\n\n__version__ = "0.1.0"\n'
    )


_TRAINING_RUN = '''@dataclass
class TrainingRun:
    """What one training run produced: the artifacts to register and how to check them."""

    artifacts: dict[str, Any]
    sample_input: Any
    predictions: Any
    metrics: dict[str, float]
    input_files: list[str]
'''

_NUMERIC = '''def _numeric(values: dict[str, Any]) -> dict[str, float]:
    """Keep the numbers among the evaluation's results: they become the version's metrics."""
    return {
        name: float(value)
        for name, value in values.items()
        if isinstance(value, numbers.Real) and not isinstance(value, bool)
    }
'''


def _pyproject(names: PackageNames, notebook_name: str, requirements: Mapping[str, str]) -> str:
    dependencies = "\n".join(f'  "{dist}{spec}",' for dist, spec in requirements.items())
    return f"""[build-system]
requires = ["hatchling>=1.21"]
build-backend = "hatchling.build"

[project]
name = "{names.distribution}"
version = "0.1.0"
description = "Production package of {notebook_name}, generated by nb2prod"
readme = "README.md"
requires-python = ">=3.10"
dependencies = [
{dependencies}
]

[project.optional-dependencies]
test = ["pytest>=8"]

[project.scripts]
{names.distribution} = "{names.module}.cli:main"

[tool.hatch.build.targets.wheel]
packages = ["src/{names.module}"]

[tool.pytest.ini_options]
testpaths = ["tests"]
pythonpath = ["src"]

[tool.ruff]
line-length = 100

[tool.ruff.lint]
select = ["E4", "E7", "E9", "F", "W", "I"]
"""


def _requirements_txt(notebook_name: str, requirements: Mapping[str, str]) -> str:
    lines = [f"# Pinned from the environment where {notebook_name} was converted."]
    lines += [f"{dist}{spec}" for dist, spec in requirements.items()]
    return "\n".join(lines) + "\n"


def _readme(analysis: Analysis, names: PackageNames, notebook_name: str) -> str:
    io = analysis.predict_io
    command = names.distribution
    params = "\n".join(
        f"| `{spec.name}` | `{spec.python_type}` | `{spec.default_repr}` | {spec.comment} |"
        for spec in analysis.parameters
    )
    table = (
        "| name | type | default | note |\n|---|---|---|---|\n" + params
        if params
        else "The notebook has no parameters."
    )
    return f"""# {names.distribution}

The production package of `{notebook_name}`, generated by `nb2prod convert`. Training code
(`data.py`, `train.py`, `pipeline.py`) and prediction code (`predict.py`) are separate:
`predict.py` imports nothing from training.

## Use

```bash
pip install .
{command} train                      # load → train → evaluate → register a new version
{command} train --param name=value --seed 1
{command} predict --input new.csv --output predictions.csv
{command} models list
{command} models show production
{command} models promote v2          # alias `production` → v2
{command} models rollback            # `production` back to the version before
{command} serve --port 8000          # POST /predict, GET /health, /models, /metrics, POST /reload
{command} serve --shadow v3          # v3 also predicts every request, off the response path
{command} serve --canary v3:10       # 10% of callers (by X-Request-ID) get v3
{command} serve --prediction-log predictions.jsonl
{command} serve --allow-retrain      # POST /retrain runs `train` in a child process
```

`POST /predict` takes JSON records (`[{{"col": 1, ...}}, ...]`), `{{"columns": [...], "data":
[[...]]}}`, or `{{"instances": [...]}}` for array inputs; every response names the version that
served it in `X-Model-Version`. The server binds 127.0.0.1 unless told otherwise. Concurrent
requests share one `predict()` call when `train` found that `predict()` treats rows
independently (`row_independent` in `models show`); `serve --no-micro-batch` turns that off.

`POST /retrain` (only with `--allow-retrain`) takes `{{"params": {{...}}, "seed": N, "promote":
false}}`, checks the parameters, answers 202 with a job to poll at `GET /retrain/<id>`, and runs
`train` in a child process against the same model store. The new version is served only once
promoted (`"promote": true` promotes it to `production` and reloads). Set
`MLPROD_RETRAIN_TOKEN` to require `Authorization: Bearer <token>`; binding a non-loopback
address with `--allow-retrain` requires it.

Run `train` from the directory the notebook's relative data paths refer to (the notebook's
own directory), or pass the paths as parameters. Models go to `./models` (`--model-dir` or
`MLPROD_MODEL_DIR` to change it).

The predict input is `{io.input}` and the output `{io.output}`. The input's schema (columns and
dtypes, or array shape and dtype) is recorded at training time and enforced by `predict` and
`serve`.

## Parameters

{table}

## Tests

```bash
pip install ".[test]" && pytest
```
"""


def _smoke_test(names: PackageNames, data_dir_from_package: str) -> str:
    env = f"{names.module.upper()}_DATA_DIR"
    return f'''"""Smoke tests generated by nb2prod: train on the notebook's data, predict from a
file, and round-trip the input schema."""

import os
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from {names.module} import cli, pipeline, schema
from {names.module}.params import Params

# Where the notebook's relative data paths resolve; override with {env}.
DATA_DIR = Path(
    os.environ.get("{env}", Path(__file__).resolve().parents[1] / {data_dir_from_package!r})
)


@pytest.fixture
def in_data_dir(monkeypatch: pytest.MonkeyPatch) -> Path:
    if not DATA_DIR.is_dir():
        pytest.skip(f"the notebook's data directory {{DATA_DIR}} is not here; set {env}")
    monkeypatch.chdir(DATA_DIR)
    return DATA_DIR


def _write_input(sample: object, directory: Path) -> Path:
    if isinstance(sample, np.ndarray):
        path = directory / "input.npy"
        np.save(path, sample, allow_pickle=False)
    else:
        path = directory / "input.parquet"
        pd.DataFrame(sample).to_parquet(path)
    return path


def test_train_then_predict_reproduces_the_pipeline(in_data_dir: Path, tmp_path: Path) -> None:
    models = tmp_path / "models"
    assert cli.main(["train", "--model-dir", str(models), "--seed", "0"]) == 0
    run = pipeline.run(Params())
    source = _write_input(run.sample_input, tmp_path)
    output = tmp_path / "predictions.parquet"
    assert (
        cli.main(
            ["predict", "--input", str(source), "--output", str(output), "--model-dir", str(models)]
        )
        == 0
    )
    predicted = pd.read_parquet(output).iloc[:, 0].to_numpy()
    expected = np.asarray(run.predictions).reshape(len(predicted), -1)[:, 0]
    if np.issubdtype(expected.dtype, np.floating):
        np.testing.assert_allclose(predicted, expected, rtol=1e-9)
    else:
        assert list(predicted) == list(expected)


def test_schema_round_trip(in_data_dir: Path) -> None:
    run = pipeline.run(Params())
    recorded = schema.infer_schema(run.sample_input)
    conformed = schema.conform(run.sample_input, recorded)
    assert schema.n_rows(conformed) == schema.n_rows(run.sample_input)
    assert schema.infer_schema(conformed) == recorded
'''
