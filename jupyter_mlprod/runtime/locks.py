"""Advisory file locks across processes: writers' temporary files, and removing what a killed
writer left behind.

A writer that can be killed (``train`` building a version in a staging directory, ``predict``
writing its output to a temporary file) holds an exclusive lock for as long as it writes. The
operating system drops the lock when the process dies, however it dies, so the next run can
tell an abandoned leftover from one a live writer still owns: :func:`remove_abandoned`
removes a leftover only when nobody holds its lock *and* it has not changed for
:data:`ABANDONED_AFTER_SECONDS`. The age covers the instant between creating a file and
locking it, and writers from runtimes that did not lock yet.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import shutil
import sys
import time
from collections.abc import Iterable, Iterator
from pathlib import Path

ABANDONED_AFTER_SECONDS = 15 * 60
"""How long a leftover must be unchanged (and unlocked) before the next run removes it."""


@contextlib.contextmanager
def exclusive(path: Path) -> Iterator[None]:
    """Hold an exclusive lock on ``path`` (created if missing), waiting for other holders."""
    with open(path, "a+b") as handle:
        acquire(handle.fileno())
        try:
            yield
        finally:
            release(handle.fileno())


def create_locked(directory: Path, prefix: str, suffix: str = "") -> tuple[Path, int]:
    """Create a new file ``<prefix><random><suffix>`` in ``directory``, locked exclusively.

    ``os.open`` with mode 0666 lets the umask decide the permissions, as for any file a tool
    creates (``mkstemp`` would force 0600 on the predictions or the manifests).

    Returns:
        The path and the open descriptor holding the lock; closing the descriptor releases it.

    Raises:
        OSError: If the directory does not let the file be created.
    """
    flags = os.O_CREAT | os.O_EXCL | os.O_WRONLY | getattr(os, "O_BINARY", 0)
    while True:
        path = directory / f"{prefix}{secrets.token_hex(4)}{suffix}"
        try:
            descriptor = os.open(path, flags, 0o666)
        except FileExistsError:
            continue
        break
    try:
        acquire(descriptor)
    except BaseException:
        os.close(descriptor)
        path.unlink(missing_ok=True)
        raise
    return path, descriptor


def is_locked(path: Path) -> bool:
    """Whether another open file holds the lock on ``path`` (False when it does not exist)."""
    try:
        handle = open(path, "rb")
    except OSError:
        return False
    with handle:
        if not try_acquire(handle.fileno()):
            return True
        release(handle.fileno())
        return False


def remove_abandoned(
    leftovers: Iterable[tuple[Path, Path]], *, older_than: float = ABANDONED_AFTER_SECONDS
) -> list[Path]:
    """Remove the leftovers of killed writers: unlocked, and unchanged for ``older_than`` s.

    Args:
        leftovers: ``(leftover, its lock file)`` pairs: a directory (removed with its
            contents) or a file, and the file its writer locks (often the file itself).
        older_than: Minimum age in seconds of the newest modification time of the leftover
            (of anything in it, for a directory).

    Returns:
        The paths removed. Anything that vanishes or cannot be removed meanwhile is skipped:
        cleaning up is a courtesy and never fails the run that does it.
    """
    removed = []
    now = time.time()
    for leftover, lock_file in leftovers:
        try:
            if now - _last_change(leftover) < older_than or is_locked(lock_file):
                continue
            if leftover.is_dir() and not leftover.is_symlink():
                shutil.rmtree(leftover)
            else:
                leftover.unlink()
        except OSError:
            continue
        removed.append(leftover)
    return removed


def _last_change(path: Path) -> float:
    """The newest modification time of ``path`` and, for a directory, of anything in it: a
    file still being written inside keeps its directory fresh."""
    newest = path.lstat().st_mtime
    if path.is_dir() and not path.is_symlink():
        for folder, _, files in os.walk(path):
            for name in files:
                with contextlib.suppress(OSError):
                    newest = max(newest, os.lstat(os.path.join(folder, name)).st_mtime)
    return newest


if sys.platform == "win32":  # pragma: no cover - exercised on Windows only
    import msvcrt

    def acquire(descriptor: int) -> None:
        """Lock an open file exclusively, waiting for other holders."""
        while not try_acquire(descriptor):
            time.sleep(0.05)

    def try_acquire(descriptor: int) -> bool:
        """Lock an open file exclusively if nobody holds it; never waits."""
        os.lseek(descriptor, 0, os.SEEK_SET)
        try:
            msvcrt.locking(descriptor, msvcrt.LK_NBLCK, 1)
        except OSError:
            return False
        return True

    def release(descriptor: int) -> None:
        """Release a lock taken by :func:`acquire` or :func:`try_acquire`."""
        os.lseek(descriptor, 0, os.SEEK_SET)
        msvcrt.locking(descriptor, msvcrt.LK_UNLCK, 1)

else:
    import fcntl

    def acquire(descriptor: int) -> None:
        """Lock an open file exclusively, waiting for other holders."""
        fcntl.flock(descriptor, fcntl.LOCK_EX)

    def try_acquire(descriptor: int) -> bool:
        """Lock an open file exclusively if nobody holds it; never waits."""
        try:
            fcntl.flock(descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return False
        return True

    def release(descriptor: int) -> None:
        """Release a lock taken by :func:`acquire` or :func:`try_acquire`."""
        fcntl.flock(descriptor, fcntl.LOCK_UN)
