"""Where a run's time goes: seconds per phase, from the process's start (the interpreter and imports) or the end of
the job's previous run to its outputs, written into metrics.json for benchmarks/overhead.py."""

from __future__ import annotations

import contextlib
import time
from collections.abc import Iterator

import psutil


class JobClock:
    """Seconds per named phase; `startup` is the time from `since` (a time.time(); by default the process's creation)
    to the clock's."""

    def __init__(self, since: float | None = None) -> None:
        now = time.time()
        self.seconds = {"startup": now - (psutil.Process().create_time() if since is None else since)}

    @contextlib.contextmanager
    def phase(self, name: str) -> Iterator[None]:
        """Add the block's seconds to the phase."""
        started = time.perf_counter()
        try:
            yield
        finally:
            self.seconds[name] = self.seconds.get(name, 0.0) + time.perf_counter() - started

    def rounded(self) -> dict[str, float]:
        """The phases to the millisecond."""
        return {name: round(seconds, 3) for name, seconds in self.seconds.items()}
