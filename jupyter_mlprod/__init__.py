"""jupyter-mlprod: take a tagged notebook to a production package."""

__version__ = "0.1.0"
