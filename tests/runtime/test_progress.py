"""runtime/progress.py: stage and count lines on a terminal, nothing anywhere else."""

from __future__ import annotations

import io

import pytest

from jupyter_mlprod.runtime.progress import Progress


class Terminal(io.StringIO):
    """A text stream that says it is a terminal."""

    def isatty(self) -> bool:
        return True


class Clock:
    """Seconds that move only when told to."""

    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_stages_show_their_name_then_their_time() -> None:
    screen, clock = Terminal(), Clock()
    progress = Progress(stream=screen, clock=clock)
    with progress.stage("load"):
        clock.now += 1.25
    with pytest.raises(ValueError), progress.stage("train"):
        clock.now += 61
        raise ValueError("boom")
    progress.finish("saved v1")
    lines = screen.getvalue().split("\n")
    assert lines[0].endswith("load done (1.2s)") and "load …" in lines[0]
    assert lines[1].endswith("train failed (1m01s)")
    assert lines[2].endswith("saved v1 in 1m02s")


def test_counts_are_redrawn_in_place_at_most_ten_times_a_second() -> None:
    screen, clock = Terminal(), Clock()
    progress = Progress(stream=screen, clock=clock)
    progress.count("predict", 1_000, 10_000, "rows")
    progress.count("predict", 2_000, 10_000, "rows")  # same instant: skipped
    clock.now += 0.2
    progress.count("predict", 3_000, 10_000, "rows")
    progress.count("predict", 10_000, 10_000, "rows")  # the last one always shows
    shown = screen.getvalue()
    assert "1,000/10,000 rows (10%)" in shown and "2,000" not in shown
    assert "3,000/10,000 rows (30%)" in shown
    assert shown.endswith("predict 10,000/10,000 rows (100%)\n")
    assert shown.count("\n") == 1  # the partial counts were overwritten, not stacked


@pytest.mark.parametrize("stream_is_terminal", [False, True])
def test_nothing_is_written_off_a_terminal_or_when_disabled(stream_is_terminal: bool) -> None:
    stream = Terminal() if stream_is_terminal else io.StringIO()
    progress = Progress(enabled=not stream_is_terminal, stream=stream)
    assert not progress.active
    with progress.stage("load"):
        progress.count("rows", 5, 10)
    progress.finish("done")
    assert stream.getvalue() == ""
