"""A progress bar for long commands (seed-demo, move-to-current-price), on a terminal only.

Click's bar writes its label once when stderr is not a terminal (a pipe, a log file, CI), which
reads as a stray line ("subscriptions") in the middle of the command's output. Off a terminal
there is no bar at all; the command's own lines say what was done.
"""

import contextlib
import sys
from collections.abc import Iterator
from typing import Protocol

import click


class Progress(Protocol):
    def update(self, n_steps: int) -> None: ...


class _Silent:
    def update(self, n_steps: int) -> None:
        pass


@contextlib.contextmanager
def progress_bar(length: int, label: str) -> Iterator[Progress]:
    """A bar of ``length`` steps on stderr when it is a terminal, else nothing."""
    if not sys.stderr.isatty():
        yield _Silent()
        return
    with click.progressbar(length=length, label=label, file=sys.stderr) as bar:
        yield bar
