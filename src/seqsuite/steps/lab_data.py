"""The lab's data step, apart from its training step (seqsuite.steps.lab) so that a data job imports NumPy and not
torch or MLflow (README, "Where the time goes")."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from seqsuite.longdep.tasks import generate


def generate_data(task: str, length: int, seed: int, sizes: dict[str, int], out: Path) -> None:
    """Write the fixed train, val and test sets of (task, T, seed) that every model of the sweep reads."""
    np.savez_compressed(out, **generate(task, length, seed, sizes))
