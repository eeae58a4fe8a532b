"""Seed every random number generator a notebook is likely to use.

Seeding happens once, before ``pipeline.run``, so that ``train --seed N`` twice gives the
same model. torch is seeded only when the pipeline has already imported it: importing it
here would make every package pay for a library it may not use.
"""

from __future__ import annotations

import os
import random
import sys

DEFAULT_SEED = 0


def seed_everything(seed: int = DEFAULT_SEED) -> list[str]:
    """Seed Python's ``random``, NumPy's global generator and torch's (when imported).

    Args:
        seed: The seed; must fit in 32 bits because NumPy's legacy generator requires it.

    Returns:
        The names of the generators that were seeded, for the model manifest.
    """
    seeded = ["random"]
    random.seed(seed)
    # Hash randomisation only affects child processes started after this point.
    os.environ.setdefault("PYTHONHASHSEED", str(seed))
    try:
        import numpy as np
    except ImportError:  # pragma: no cover - numpy is a runtime requirement
        pass
    else:
        np.random.seed(seed % 2**32)
        seeded.append("numpy")
    torch = sys.modules.get("torch")
    if torch is not None:
        torch.manual_seed(seed)
        seeded.append("torch")
    return seeded
