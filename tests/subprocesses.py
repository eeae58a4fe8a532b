"""Running a command from a test: the output on success, its tail in the failure message."""

from __future__ import annotations

import subprocess
from pathlib import Path


def run_ok(command: list[str], cwd: Path, env: dict[str, str] | None = None) -> str:
    """Run ``command`` and return its stdout; fail the test with both streams' tails if it exits
    non-zero (a pip install or a package's own pytest can take minutes: 30 at most)."""
    done = subprocess.run(
        command, cwd=cwd, env=env, capture_output=True, text=True, timeout=1800, check=False
    )
    assert done.returncode == 0, (
        f"{' '.join(command)} exited {done.returncode}\n{done.stdout[-3000:]}\n"
        f"{done.stderr[-3000:]}"
    )
    return done.stdout


def git(repo: Path, *args: str) -> str:
    """Run git in ``repo`` with a throwaway identity; its stripped stdout."""
    return subprocess.run(
        ["git", "-c", "user.name=t", "-c", "user.email=t@t", *args],
        cwd=repo,
        check=True,
        capture_output=True,
        text=True,
    ).stdout.strip()
