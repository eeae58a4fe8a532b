"""The generated package's Python modules (``params``, ``data``, ``train``, ``predict``,
``features``, ``pipeline``) rendered from an analysis, one method per module.

Which module and function each stage becomes, the class it returns its outputs in and the
words its docstring starts with all come from the stage table, :data:`jupyter_mlprod.roles.STAGES`;
the names each module binds itself are :data:`jupyter_mlprod.roles.RESERVED_NAMES`. Names
that come from the parameters cell are rewritten to ``params.<name>``, lifted path literals to
their new parameter; each module imports only the names its code uses.
"""

from __future__ import annotations

import ast
import typing
from collections.abc import Iterable

from .. import roles
from ..analysis import Analysis, StagePlan, Statement
from ..errors import cell_number
from ..roles import EVALUATE, PREDICT, PREPARE, RESERVED_NAMES, stage_spec
from .lifted import LiftedConstants
from .placement import SHARED_MODULE, Helper, place_helpers
from .rewrite import AttributeAccess, function_source, rewrite_statement
from .text import assemble, cells_text, helper_code, result_dataclass, template_text

_TYPING_NAMES = frozenset(name for name in dir(typing) if not name.startswith("_"))
# Stages `pipeline.run` calls before predicting, in run order, each handing its outputs on.
_STAGES_BEFORE_PREDICT = tuple(
    spec for spec in roles.STAGES if spec.order < stage_spec(PREDICT).order
)


class ModuleRenderer:
    """Renders each generated Python module of one analysis.

    Args:
        analysis: an analysis with no errors.
        notebook_name: the notebook's file name, quoted in docstrings and ``NOTEBOOK``.
    """

    def __init__(self, analysis: Analysis, notebook_name: str) -> None:
        self.analysis = analysis
        self.notebook_name = notebook_name
        self.imports = {binding.name: binding for binding in analysis.imports}
        self.lifts = LiftedConstants.of(analysis)
        self.helpers = place_helpers(analysis.carried, analysis.plans, self.lifts.pinned)
        self.helper_module = {
            name: helper.module for helper in self.helpers for name in helper.statement.defines
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
        self.shared_alias = self._shared_aliases()

    def _shared_aliases(self) -> dict[str, str]:
        """Module → the name it reaches ``features`` by: ``features_module`` where the
        notebook's own code in that module uses the name ``features`` (a column list, often)."""
        analysis = self.analysis
        used: dict[str, set[str]] = {module.name: set() for module in roles.GENERATED_MODULES}
        for plan in analysis.plans:
            names = used[stage_spec(plan.role).module]
            names.update(plan.inputs, plan.outputs, self._names_of(plan.statements))
        used[stage_spec(PREDICT).module].update(
            analysis.artifacts, [analysis.predict_io.input or ""]
        )
        for helper in self.helpers:
            statement = helper.statement
            used[helper.module] |= statement.reads | statement.deferred_reads | statement.defines
        return {
            module: f"{SHARED_MODULE}_module" if SHARED_MODULE in names else SHARED_MODULE
            for module, names in used.items()
        }

    def _cell_params(self) -> set[str]:
        lifted = {spec.name for spec in self.analysis.lifted_params}
        return self.param_names - lifted

    # -- modules ---------------------------------------------------------------------------

    def params_module(self) -> str:
        """``params.py``: the ``Params`` dataclass, one field per parameter."""
        analysis = self.analysis
        where = (
            f"notebook cell {cell_number(analysis.parameters_cell)}"
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
        """``predict.py``: ``predict(artifacts, input)`` and ``ARTIFACT_NAMES``, importing
        nothing from training."""
        analysis = self.analysis
        spec = stage_spec(PREDICT)
        plan = analysis.plan(PREDICT)
        io = analysis.predict_io
        statements = plan.statements if plan else ()
        cells = ", ".join(str(cell_number(cell)) for cell in (plan.cells if plan else ()))
        input_name = io.input or "inputs"
        body: list[str] = [
            f'"""Compute `{io.output_expression}` from `{input_name}` as notebook cell {cells} '
            'does."""'
        ]
        body += [f'{name} = artifacts["{name}"]' for name in analysis.artifacts]
        copies_input = plan is not None and io.input is not None and plan.mutates(io.input)
        copy_module = "copy" if "copy" not in self._names_of(statements) else "copy_module"
        if copies_input:
            body.append(
                f"# The notebook changes `{input_name}` in place; the caller's object must not.\n"
                f"{input_name} = {copy_module}.copy({input_name})"
            )
        function, routed = self._function(
            spec.function,
            f"artifacts: Mapping[str, Any], {input_name}: Any",
            "Any",
            body,
            statements,
            [f"return {io.output_expression}"],
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
            ("import copy" if copy_module == "copy" else "import copy as copy_module")
            if copies_input
            else "",
            "from collections.abc import Mapping",
            "from typing import Any",
            *self._imports_for(statements, spec.module, routed=routed),
        ]
        return assemble(header, imports, code)

    def stage_module(self, role: str) -> str:
        """The module of a stage with a module of its own (``data.py``, ``train.py``): the
        helpers placed there, the stage's result class and its function."""
        spec = stage_spec(role)
        plan = self.analysis.plan(role)
        helpers = [h for h in self.helpers if h.module == spec.module]
        statements = plan.statements if plan else ()
        cells = plan.cells if plan else ()
        header = [
            f'"""{spec.purpose}: the {role} stage of {self.notebook_name} ({cells_text(cells)}).',
            '"""',
        ]
        code: list[str] = [self._helper_code(h) for h in helpers]
        outputs_class = self._result_dataclass(role, plan)
        if outputs_class:
            code.append(outputs_class)
        function, routed = self._stage_function(role, plan)
        code.append(function)
        imports = [
            "from dataclasses import dataclass" if outputs_class else "",
            "from typing import Any" if _uses_any(plan) else "",
            "from .params import Params",
            *self._imports_for(statements, spec.module, helpers, routed=routed),
        ]
        return assemble(header, imports, code)

    def features_module(self) -> str | None:
        """``features.py``: the classes and shared helpers, or None when there are none."""
        helpers = [h for h in self.helpers if h.module == SHARED_MODULE]
        if not helpers:
            return None
        cells = sorted({h.statement.cell for h in helpers})
        header = [
            f'"""Helpers shared by training and prediction, from {self.notebook_name} '
            f"({cells_text(cells)}).",
            "",
            "Classes live here so that a saved model can find them without importing training",
            "code.",
            '"""',
        ]
        imports = self._imports_for((), SHARED_MODULE, helpers)
        code = [self._helper_code(h) for h in helpers]
        if self.lifts:
            function, reads = self.lifts.use_params_source(h.statement for h in helpers)
            code.append(function)
            imports += ["from .params import Params"]
            imports += self._imports_for((), SHARED_MODULE, helpers, extra_reads=reads)
        return assemble(header, sorted(set(imports), key=imports.index), code)

    def pipeline_module(self, notebook_sha256: str) -> str:
        """``pipeline.py``: ``NOTEBOOK``, the predict names, ``TrainingRun``, the prepare and
        evaluate stages, and ``run(params)``."""
        analysis = self.analysis
        io = analysis.predict_io
        prepare = analysis.plan(PREPARE)
        evaluate = analysis.plan(EVALUATE)
        helpers = [h for h in self.helpers if h.module == "pipeline"]
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
            f"PREDICT_OUTPUT = {io.output_expression!r}",
            template_text("training_run.py.tmpl"),
        ]
        code += [self._helper_code(h) for h in helpers]
        routed: frozenset[str] = frozenset()
        if prepare is not None:
            outputs_class = self._result_dataclass(PREPARE, prepare)
            if outputs_class:
                code.append(outputs_class)
            function, routed = self._stage_function(PREPARE, prepare)
            code.append(function)
        if evaluate is not None:
            function, routed_by_evaluate = self._stage_function(EVALUATE, evaluate)
            code.append(function)
            routed |= routed_by_evaluate
        code.append(self._run_function())
        if evaluate is not None:
            code.append(template_text("numeric.py.tmpl"))
        stage_modules = [
            spec.module
            for spec in _STAGES_BEFORE_PREDICT
            if spec.module != "pipeline"
            and (plan := analysis.plan(spec.role)) is not None
            and plan.statements
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
            f"from .{stage_spec(PREDICT).module} import {stage_spec(PREDICT).function}",
            *self._imports_for(statements, "pipeline", helpers, routed=routed),
        ]
        return assemble(header, imports, code)

    # -- pieces ----------------------------------------------------------------------------

    def _result_dataclass(self, role: str, plan: StagePlan | None) -> str:
        class_name = stage_spec(role).result_class
        if class_name is None or plan is None:
            return ""
        return result_dataclass(class_name, role, plan.outputs)

    def _stage_function(self, role: str, plan: StagePlan | None) -> tuple[str, frozenset[str]]:
        spec = stage_spec(role)
        statements = plan.statements if plan else ()
        inputs = plan.inputs if plan else ()
        outputs = plan.outputs if plan else ()
        arguments = [f"{self.params_var}: Params", *(f"{name}: Any" for name in inputs)]
        docstring = f'"""{spec.purpose} ({cells_text(plan.cells if plan else ())})."""'
        # A stage that rebinds a parameter (`data_dir = Path(data_dir)`) starts from its value.
        rebound = sorted(
            {name for st in statements for name in st.defines - st.mutates} & self.param_names
        )
        head = [docstring] + [f"{name} = {self.params_var}.{name}" for name in rebound]
        if self.lifts:
            # The helpers' lifted constants take this run's values before any helper runs.
            shared = self.shared_alias[spec.module]
            head.append(f"{shared}.{self._use_params_name()}({self.params_var})")
        if role == EVALUATE:
            metric_names = sorted({name for st in statements for name in st.defines - st.mutates})
            entries = ", ".join(f'"{name}": {name}' for name in metric_names)
            tail = [f"return _numeric({{{entries}}})"]
            returns = "dict[str, float]"
        elif outputs and spec.result_class is not None:
            fields = ", ".join(f"{name}={name}" for name in outputs)
            tail = [f"return {spec.result_class}({fields})"]
            returns = spec.result_class
        else:
            tail, returns = [], "None"
        function, routed = self._function(
            spec.function,
            ", ".join(arguments),
            returns,
            head,
            statements,
            tail,
            keep_names=frozenset(rebound),
        )
        if self.lifts:
            routed |= {self._use_params_name()}
        return function, routed

    def _run_function(self) -> str:
        analysis = self.analysis
        io = analysis.predict_io
        where: dict[str, str] = {}
        lines = ['"""Run the notebook\'s pipeline on `params` and return what to register."""']
        for spec in _STAGES_BEFORE_PREDICT:
            plan = analysis.plan(spec.role)
            if plan is None or not plan.statements:
                continue
            arguments = ["params", *(f"{name}={where.get(name, name)}" for name in plan.inputs)]
            call = f"{spec.function}({', '.join(arguments)})"
            call = call if spec.module == "pipeline" else f"{spec.module}.{call}"
            if plan.outputs and spec.result_variable is not None:
                lines.append(f"{spec.result_variable} = {call}")
                for name in plan.outputs:
                    where[name] = f"{spec.result_variable}.{name}"
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
        lines.append(f"predictions = {stage_spec(PREDICT).function}(artifacts, sample_input)")
        evaluate = analysis.plan(EVALUATE)
        scoring_lines: list[str] = []
        if io.output_column is None:
            where[io.output or ""] = "predictions"
        elif evaluate is not None and io.output in evaluate.inputs:
            # The evaluation reads the input frame with the predictions added, as the notebook
            # left it (predict itself works on a copy).
            scoring_lines.append(
                f"scored = sample_input.assign(**{{{io.output_column!r}: predictions}})"
            )
            where[io.output or ""] = "scored"
        if evaluate is not None:
            arguments = ["params"]
            for name in evaluate.inputs:
                arguments.append(f"{name}={where.get(name, name)}")
            # One function scores this run's predictions and, for `train --promote-if-better`,
            # another version's predictions on the same held-out input.
            scoring = [
                "",
                "def evaluate_predictions(predictions: Any) -> dict[str, float]:",
                '    """The metrics of `predictions` made on this run\'s held-out input."""',
                *(f"    {line}" for line in scoring_lines),
                f"    return {stage_spec(EVALUATE).function}({', '.join(arguments)})",
                "",
            ]
            lines += [*scoring, "metrics = evaluate_predictions(predictions)"]
            score = ", score=evaluate_predictions"
        else:
            lines.append("metrics: dict[str, float] = {}")
            score = ""
        files = ", ".join(analysis.input_files)
        lines.append(
            "return TrainingRun(artifacts=artifacts, sample_input=sample_input, "
            f"predictions=predictions, metrics=metrics, input_files=[{files}]{score})"
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
    ) -> tuple[str, frozenset[str]]:
        """A stage function whose body is ``head``, the notebook statements, then ``tail``.

        Returns:
            The function's source, and the shared helpers it calls through their module.
        """
        module = roles.stage_of_function(name).module
        statements = tuple(statements)
        shared = self.shared_alias[module]
        # A helper named like this module's own function (`def train(...)` in a PyTorch
        # notebook) is called through its module instead.
        names: dict[str, AttributeAccess] = {
            helper: (shared, helper)
            for helper, home in self.helper_module.items()
            if home == SHARED_MODULE and helper in RESERVED_NAMES[module]
        }
        strings: dict[str, AttributeAccess] = {}
        if rewrite_params:
            names |= {
                param: (self.params_var, param)
                for param in self.param_names
                if param not in keep_names
            }
            strings = {value: (self.params_var, lifted) for value, lifted in self.lifted.items()}
        routed = self._reads_before_binding(arguments, head, statements)
        body = [
            (rewrite_params and self.lifts.stage_copy(statement, self.params_var))
            or rewrite_statement(
                statement, names | {helper: (shared, helper) for helper in early}, strings
            )
            for statement, early in zip(statements, routed, strict=True)
        ]
        reads = {name for statement in statements for name in statement.reads}
        through_module = frozenset(reads & names.keys() & self.helper_module.keys()).union(*routed)
        return function_source(name, arguments, returns, head, body, tail), through_module

    def _reads_before_binding(
        self, arguments: str, head: Iterable[str], statements: tuple[Statement, ...]
    ) -> list[frozenset[str]]:
        """Per statement, the shared helpers it reads whose name the function also binds, and
        the lifted constants (``--lift-paths``) it reads that the function has not bound.

        Python makes a name the function binds anywhere local to the whole function, so a
        call of the helper `model(x)` before `model = LinearRegression()` would fail with
        UnboundLocalError: those reads go through the helper's module instead. Reads after
        the binding are the function's own value and stay as they are. A lifted constant is
        read from its module (``features.DATA_PATH``) so that it has the run's value, which a
        name imported before the run would not.
        """
        local = {name for st in statements for name in st.defines - st.mutates}
        helpers = {
            name
            for name, home in self.helper_module.items()
            if home == SHARED_MODULE and name in local
        } | self.lifts.pinned
        if not helpers:
            return [frozenset() for _ in statements]
        bound = _bound_names(arguments, head)
        result = []
        for statement in statements:
            result.append(frozenset((statement.reads & helpers) - bound))
            bound |= statement.defines - statement.mutates
        return result

    def _helper_code(self, helper: Helper) -> str:
        """A carried helper's code, with what ``--lift-paths`` changes in it."""
        node, note = self.lifts.helper_node(helper.statement)
        note = note or self.lifts.constant_note(helper.statement)
        return helper_code(helper, node, note)

    def _use_params_name(self) -> str:
        shared = [h.statement for h in self.helpers if h.module == SHARED_MODULE]
        return self.lifts.function_name(name for st in shared for name in st.defines)

    @staticmethod
    def _names_of(statements: Iterable[Statement]) -> set[str]:
        return {name for st in statements for name in st.reads | st.defines}

    def _imports_for(
        self,
        statements: Iterable[Statement],
        module: str,
        helpers: Iterable[Helper] = (),
        *,
        routed: frozenset[str] = frozenset(),
        extra_reads: Iterable[str] = (),
    ) -> list[str]:
        """The import lines of a module: what its stage code, its helpers and ``extra_reads``
        read, and its shared module when ``routed`` (helpers its stage functions call
        through it) is set."""
        used: set[str] = set(extra_reads)
        stage_locals: set[str] = set()
        for statement in statements:
            used |= statement.reads
            stage_locals |= statement.defines - statement.mutates
        # A helper whose name the stage code binds is the stage's own value after the
        # binding and reached through its module before it (`routed`): no name import. So
        # are lifted constants.
        used -= (stage_locals & self.helper_module.keys()) | self.lifts.pinned
        local: set[str] = set()
        for helper in helpers:
            used |= helper.statement.reads | helper.statement.deferred_reads
            local |= helper.statement.defines
        lines = []
        if routed:
            lines.append(_module_import(SHARED_MODULE, self.shared_alias[module]))
        for name in sorted(used - local):
            binding = self.imports.get(name)
            if binding is not None and name not in self._cell_params():
                lines.append(binding.render())
                continue
            home = self.helper_module.get(name)
            if home is not None and home != module:
                if name in RESERVED_NAMES.get(module, ()):
                    lines.append(_module_import(home, self.shared_alias[module]))
                else:
                    lines.append(f"from .{home} import {name}")
        return lines


def _module_import(module: str, alias: str) -> str:
    return f"from . import {module}" if alias == module else f"from . import {module} as {alias}"


def _bound_names(arguments: str, head: Iterable[str]) -> set[str]:
    """The names a generated function's arguments and head lines bind."""
    lines = [part for line in head for part in line.splitlines()]
    tree = ast.parse(f"def _({arguments}):\n" + "".join(f" {line}\n" for line in lines) + " pass")
    function = tree.body[0]
    assert isinstance(function, ast.FunctionDef)
    bound = {arg.arg for arg in function.args.args}
    for node in ast.walk(function):
        if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store):
            bound.add(node.id)
    return bound


def _uses_any(plan: StagePlan | None) -> bool:
    return plan is not None and bool(plan.inputs or plan.outputs)


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
