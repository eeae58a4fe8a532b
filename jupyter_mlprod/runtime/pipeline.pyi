# The contract of the generated ``pipeline.py`` (not copied; lets mypy check the runtime).
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from .params import Params

NOTEBOOK: dict[str, str]
PREDICT_INPUT: str
PREDICT_OUTPUT: str

@dataclass
class TrainingRun:
    artifacts: dict[str, Any]
    sample_input: Any
    predictions: Any
    metrics: dict[str, float]
    input_files: list[str]
    score: Callable[[Any], dict[str, float]] | None = None

def run(params: Params) -> TrainingRun: ...
