# The contract of the generated ``params.py`` (not copied; lets mypy check the runtime).
from dataclasses import dataclass

@dataclass
class Params: ...
