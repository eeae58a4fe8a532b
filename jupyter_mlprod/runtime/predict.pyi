# The contract of the generated ``predict.py`` (not copied; lets mypy check the runtime).
from collections.abc import Mapping
from typing import Any

ARTIFACT_NAMES: tuple[str, ...]

def predict(artifacts: Mapping[str, Any], data: Any, /) -> Any: ...
