"""jupyter-mlprod: take a tagged notebook to a production package."""

__version__ = "0.1.0"


def _jupyter_server_extension_points() -> list[dict[str, str]]:
    # Import-light on purpose: Jupyter calls this while listing extensions, and the handlers
    # (tornado, jupyter_server) load only when the server actually enables the extension.
    return [{"module": "jupyter_mlprod.server"}]


def _jupyter_labextension_paths() -> list[dict[str, str]]:
    return [{"src": "labextension", "dest": "jupyter-mlprod"}]
