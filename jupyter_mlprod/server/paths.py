"""Confining request paths to the server's root directory.

Every path the browser sends (notebook, output directory, runs directory) goes through
:func:`confine` before anything touches the disk. The check is made on the *resolved* path,
so ``..`` segments, absolute paths and symbolic links that lead outside the root are all
refused the same way, whatever spelling reached the server.
"""

from __future__ import annotations

import os
from pathlib import Path, PurePosixPath

from .responses import ApiError


def confine(root: str | Path, requested: object, *, what: str = "path") -> Path:
    """Resolve ``requested`` against ``root`` and refuse anything that ends up outside it.

    Args:
        root: the server's root directory.
        requested: the path from the request body: relative to ``root`` (POSIX or native
            separators), or absolute inside it.
        what: how the message names the path (``"notebook"``, ``"output_dir"``, ...).

    Returns:
        The absolute, resolved path inside ``root``. It may not exist yet.

    Raises:
        ApiError: 400 when ``requested`` is not a non-empty string; 403 when it resolves
            outside ``root``.
    """
    if not isinstance(requested, str) or not requested.strip():
        raise ApiError(400, f"`{what}` must be a non-empty path relative to the server root")
    if "\0" in requested:
        raise ApiError(400, f"`{what}` contains a NUL character")
    root_resolved = Path(root).resolve()
    candidate = Path(requested)
    if not candidate.is_absolute():
        candidate = root_resolved / PurePosixPath(requested.replace("\\", "/"))
    # resolve() follows symlinks of the parts that exist, so a link inside the root that
    # points elsewhere is caught here, not only a literal "..".
    resolved = candidate.resolve()
    if not resolved.is_relative_to(root_resolved):
        raise ApiError(
            403,
            f"{what} {requested!r} is outside the server's root directory; "
            "use a path relative to the directory Jupyter was started in",
        )
    return resolved


def is_hidden(root: str | Path, path: Path) -> bool:
    """Whether ``path`` (inside ``root``) is or lies in a dot-file or dot-directory."""
    return any(part.startswith(".") for part in path.relative_to(Path(root).resolve()).parts)


def relative_to_root(root: str | Path, path: Path) -> str:
    """The POSIX form of ``path`` relative to ``root``, as the browser names files."""
    relative = path.relative_to(Path(root).resolve()).as_posix()
    return "" if relative == "." else relative


def strip_root(text: str, root: str | Path) -> str:
    """``text`` with absolute paths inside ``root`` written relative to it.

    Errors from the converter and the runner name files by the absolute paths the server
    passed them; the browser knows files by their root-relative names.
    """
    prefix = str(Path(root).resolve()) + os.sep
    return text.replace(prefix, "")
