"""The tables of cell roles and package stages, shared by the analyser, codegen, the report
and the lab extension.

Roles are plain strings in ``cell.metadata.tags`` so papermill and JupyterLab's own tag
editor interoperate; ``labextension/src/tokens.ts`` mirrors the role table and the stage
order (a test keeps them in step). :data:`STAGES` is the one place that says which generated
module and function each stage becomes; :data:`GENERATED_MODULES` says which names each
generated module defines or imports itself.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

PARAMETERS = "parameters"
LOAD = "load"
TRAIN = "train"
PREDICT = "predict"
SKIP = "skip"

# Pseudo-stages the analyser makes from the predict cells: statements that build the predict
# input from load-time data ("prepare") and statements that score the predictions
# ("evaluate"). No cell carries them as tags.
PREPARE = "prepare"
EVALUATE = "evaluate"


@dataclass(frozen=True)
class Role:
    """One cell role: its tag, what it becomes, and how the UI shows it."""

    tag: str
    becomes: str
    colour: str
    exported: bool


ROLES: tuple[Role, ...] = (
    Role(PARAMETERS, "params.Params dataclass", "#7b61ff", True),
    Role(LOAD, "data.load(params)", "#1f9d55", True),
    Role(TRAIN, "train.train(params, ...)", "#e07b00", True),
    Role(PREDICT, "predict.predict(artifacts, input)", "#0b7bd6", True),
    Role(SKIP, "nothing (exploration)", "#8a8a8a", False),
)

ROLE_TAGS: frozenset[str] = frozenset(role.tag for role in ROLES)


@dataclass(frozen=True)
class StageSpec:
    """One stage of the generated package: where its code goes and what it hands on.

    Attributes:
        role: the cell role (``load``, ``train``, ``predict``) or pseudo-stage (``prepare``,
            ``evaluate``) whose statements make the stage.
        module: the stem of the generated module holding the stage's function.
        function: the name of that function.
        result_class: the dataclass the function returns its outputs in, or None when it
            returns a value of its own (predictions, scores).
        result_variable: the variable ``pipeline.run`` keeps that result in, or None.
        order: the position in the run; a stage may read only from stages with a lower order
            (the parameters, order 0, come before every stage).
        purpose: the first words of the function's docstring, or None when the module writes
            its own (predict).
    """

    role: str
    module: str
    function: str
    result_class: str | None
    result_variable: str | None
    order: int
    purpose: str | None

    @property
    def tagged(self) -> bool:
        """Whether cells are tagged with this stage's role (False for pseudo-stages)."""
        return self.role in ROLE_TAGS


# The package's stages, in run order.
STAGES: tuple[StageSpec, ...] = (
    StageSpec(LOAD, "data", "load", "Loaded", "loaded", 1, "Read and prepare the data"),
    StageSpec(TRAIN, "train", "train", "Trained", "trained", 2, "Fit the model"),
    StageSpec(
        PREPARE, "pipeline", "prepare_input", "Prepared", "prepared", 3,
        "Build the predict input from the loaded data",
    ),
    StageSpec(PREDICT, "predict", "predict", None, None, 4, None),
    StageSpec(EVALUATE, "pipeline", "evaluate", None, None, 5, "Score the predictions"),
)  # fmt: skip

PARAMETERS_ORDER = 0

# The stages made from cells tagged with their role, in run order.
TAGGED_STAGES: tuple[str, ...] = tuple(spec.role for spec in STAGES if spec.tagged)

# The order in which the generated package runs the exported roles (mirrored in tokens.ts).
STAGE_ORDER: tuple[str, ...] = (PARAMETERS, *TAGGED_STAGES)

_STAGES_BY_ROLE: dict[str, StageSpec] = {spec.role: spec for spec in STAGES}
_STAGES_BY_FUNCTION: dict[str, StageSpec] = {spec.function: spec for spec in STAGES}


def stage_spec(role: str) -> StageSpec:
    """The stage a role or pseudo-stage becomes.

    Raises:
        KeyError: ``role`` is not a stage (``parameters``, ``skip`` or an unknown string).
    """
    return _STAGES_BY_ROLE[role]


def stage_of_function(function: str) -> StageSpec:
    """The stage whose generated function is called ``function``.

    Raises:
        KeyError: no stage generates a function of that name.
    """
    return _STAGES_BY_FUNCTION[function]


def run_order(role: str) -> int:
    """The run position of a role: 0 for the parameters, the stage's order otherwise.

    Raises:
        KeyError: ``role`` is neither the parameters nor a stage.
    """
    return PARAMETERS_ORDER if role == PARAMETERS else _STAGES_BY_ROLE[role].order


@dataclass(frozen=True)
class GeneratedModule:
    """A module of the generated package and the names it binds beyond its stage functions.

    Attributes:
        name: the module's file stem.
        own_names: what the module defines or imports besides the functions and result
            classes of its stages (those come from :data:`STAGES`).
    """

    name: str
    own_names: frozenset[str]

    @property
    def reserved_names(self) -> frozenset[str]:
        """Every name the module binds itself: a notebook helper of the same name must live
        elsewhere and be called through its module."""
        from_stages = {
            name
            for spec in STAGES
            if spec.module == self.name
            for name in (spec.function, spec.result_class)
            if name is not None
        }
        return self.own_names | from_stages


GENERATED_MODULES: tuple[GeneratedModule, ...] = (
    # `features`: a module reaches a helper named like its own function (`def train`) there.
    GeneratedModule("data", frozenset({"Params", "dataclass", "Any", "features"})),
    GeneratedModule("train", frozenset({"Params", "dataclass", "Any", "features"})),
    GeneratedModule("predict", frozenset({"ARTIFACT_NAMES", "Mapping", "Any", "features"})),
    GeneratedModule(
        "pipeline",
        frozenset(
            {
                "run",
                "TrainingRun",
                "_numeric",
                "NOTEBOOK",
                "PREDICT_INPUT",
                "PREDICT_OUTPUT",
                "data",
                "train",
                "predict",
                "Params",
                "numbers",
                "dataclass",
                "Any",
                "features",
            }
        ),
    ),
    GeneratedModule("features", frozenset()),
)

# What the generated `params.py` binds or reads besides the parameters and their annotations.
# A parameter named so would shadow it in the class body for the fields after it, so the
# analysis refuses such a parameter (renaming it is not sound: the name is the `--param` name,
# a params file's key and the notebook's own code).
PARAMS_MODULE_NAMES: frozenset[str] = frozenset({"Params", "dataclass", "field"})

# Module stem → the names it binds itself (derived from the two tables above).
RESERVED_NAMES: Mapping[str, frozenset[str]] = {
    module.name: module.reserved_names for module in GENERATED_MODULES
}

# The metadata key (``notebook.metadata[MLPROD_KEY]``) holding predict input/output.
MLPROD_KEY = "mlprod"
MLPROD_FIELDS: frozenset[str] = frozenset({"predict_input", "predict_output"})
# Its key holding quality floors (``["acc>=0.8"]``), read by ``jupyter_mlprod.quality``.
MLPROD_QUALITY = "quality"
