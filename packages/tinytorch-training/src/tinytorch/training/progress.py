"""A one-line progress display for long runs: steps per second and the running loss."""

from __future__ import annotations

import sys
import time
from typing import TextIO

__all__ = ["Progress"]


class Progress:
    """Redraws one status line on ``stream`` (stderr), at most every ``interval`` seconds.

    ``enabled=None`` (the default) shows it only when ``stream`` is a terminal, so logs and
    pipes stay clean. Nothing is drawn during the first ``interval`` seconds, so short runs
    print nothing at all.

    Example:
        >>> import io
        >>> bar = Progress(enabled=True, stream=io.StringIO(), interval=0.0)
        >>> bar.start(epoch=1, epochs=2, total=10)
        >>> bar.update(step=5, loss=0.25)
        >>> "loss 0.2500" in bar.stream.getvalue()
        True
    """

    def __init__(
        self, enabled: bool | None = None, stream: TextIO | None = None, interval: float = 0.5
    ) -> None:
        self.stream = stream if stream is not None else sys.stderr
        if enabled is None:
            isatty = getattr(self.stream, "isatty", None)
            enabled = bool(isatty and isatty())
        self.enabled = enabled
        self.interval = interval
        self._drawn = False
        self._start = self._last = 0.0
        self._epoch = self._epochs = 0
        self._total: int | None = None

    def start(self, epoch: int, epochs: int, total: int | None) -> None:
        """Begin an epoch of ``total`` steps (``None`` when the batches have no length)."""
        self._epoch, self._epochs, self._total = epoch, epochs, total
        self._start = self._last = time.perf_counter()
        self._drawn = False

    def update(self, step: int, loss: float) -> None:
        """Report that ``step`` batches of this epoch are done; redraw if it is time."""
        if not self.enabled:
            return
        now = time.perf_counter()
        if now - self._last < self.interval:
            return
        self._last = now
        rate = step / max(now - self._start, 1e-9)
        of = f"/{self._total}" if self._total is not None else ""
        line = (
            f"epoch {self._epoch}/{self._epochs}  step {step}{of}  {rate:.1f} steps/s  "
            f"loss {loss:.4f}"
        )
        self.stream.write("\r" + line.ljust(70))
        self.stream.flush()
        self._drawn = True

    def end(self, summary: str) -> None:
        """Close the epoch's line with ``summary`` (only if a line was drawn)."""
        if self.enabled and self._drawn:
            self.stream.write("\r" + summary.ljust(70) + "\n")
            self.stream.flush()
        self._drawn = False
