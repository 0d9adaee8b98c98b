"""Progress bars of the CLI (tqdm on standard error), drawn only on a terminal.

``safemap`` installs :class:`TerminalBars` for every command (:mod:`safemap.api.cli.group`),
so the stages library code marks (:mod:`safemap.layers.progress`) show as bars while a person
waits at a terminal; piped into a file, run by cron or CI, nothing is drawn.
"""

from __future__ import annotations

import sys
from typing import IO, Any

from tqdm import tqdm


class TerminalBars:
    """A :class:`safemap.layers.progress.Reporter` drawing one tqdm bar per stage."""

    def __init__(self, stream: IO[str] | None = None, *, force: bool = False) -> None:
        self.stream = stream if stream is not None else sys.stderr
        self.enabled = force or bool(getattr(self.stream, "isatty", lambda: False)())
        self.bar: Any = None

    def start(self, label: str, total: int | None) -> None:
        """Open a bar (a counter with elapsed time when ``total`` is unknown)."""
        self.finish()
        if not self.enabled:
            return
        self.bar = tqdm(
            total=total,
            desc=label,
            file=self.stream,
            unit="个",
            leave=False,
            dynamic_ncols=True,
            mininterval=0.2,
            bar_format="{desc}：{percentage:3.0f}%|{bar}| {n_fmt}/{total_fmt} [{elapsed}<{remaining}]"
            if total
            else "{desc}：{n_fmt} [{elapsed}]",
        )

    def advance(self, steps: int = 1) -> None:
        """Move the bar on."""
        if self.bar is not None:
            self.bar.update(steps)

    def finish(self) -> None:
        """Close the bar (it disappears: the command's own summary follows)."""
        if self.bar is not None:
            self.bar.close()
            self.bar = None
