"""The table of cell roles, shared by the analyser, the CLI and the lab extension.

Roles are plain strings in ``cell.metadata.tags`` so papermill and JupyterLab's own tag
editor interoperate; ``labextension/src/tokens.ts`` mirrors this table (a test keeps the
two in step).
"""

from __future__ import annotations

from dataclasses import dataclass

PARAMETERS = "parameters"
LOAD = "load"
TRAIN = "train"
PREDICT = "predict"
SKIP = "skip"


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

# The order in which the generated package runs the exported stages.
STAGE_ORDER: tuple[str, ...] = (PARAMETERS, LOAD, TRAIN, PREDICT)

# The metadata key (``notebook.metadata[MLPROD_KEY]``) holding predict input/output.
MLPROD_KEY = "mlprod"
MLPROD_FIELDS: frozenset[str] = frozenset({"predict_input", "predict_output"})
