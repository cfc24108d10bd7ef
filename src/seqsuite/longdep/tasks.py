"""Generated long-dependency tasks, deterministic by seed: the adding problem and the temporal-order problem.

TASKS is the one list of the lab's tasks: their generators, how they are scored and what counts as solved.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

ADDING_BASELINE_MSE = 1 / 6  # predicting the constant 1.0: Var(u1 + u2) for u ~ U[0, 1]
SYMBOLS = ("a", "b", "c", "d", "B", "E", "X", "Y")  # distractors, start and end markers, the two relevant symbols
ORDER_CLASSES = ("XX", "XY", "YX", "YY")


def adding_problem(n: int, length: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Inputs (n, T, 2): a value from U[0, 1] and a marker that is 1 at one step in each half; target: their sum."""
    if length < 2:
        raise ValueError(f"the adding problem needs T >= 2, got {length}")
    values = rng.uniform(0.0, 1.0, size=(n, length)).astype(np.float32)
    first = rng.integers(0, length // 2, size=n)
    second = rng.integers(length // 2, length, size=n)
    markers = np.zeros((n, length), dtype=np.float32)
    markers[np.arange(n), first] = 1.0
    markers[np.arange(n), second] = 1.0
    targets = (values[np.arange(n), first] + values[np.arange(n), second]).astype(np.float32)
    return np.stack([values, markers], axis=-1), targets


def temporal_order(n: int, length: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Hochreiter & Schmidhuber (1997) task 6a, scaled to length T: one-hot symbols (n, T, 8), class 0-3.

    A sequence starts with B and ends with E; between them are random distractors a-d, except two
    positions, one in [0.1 T, 0.2 T) and one in [0.5 T, 0.6 T), that hold X or Y. The class is the order
    of those two symbols (XX, XY, YX or YY); everything else is noise.
    """
    if length < 10:
        raise ValueError(f"the temporal-order problem needs T >= 10, got {length}")
    ids = rng.integers(0, 4, size=(n, length))
    ids[:, 0], ids[:, -1] = SYMBOLS.index("B"), SYMBOLS.index("E")
    first = rng.integers(max(1, length // 10), max(2, length // 5), size=n)
    second = rng.integers(length // 2, max(length // 2 + 1, 3 * length // 5), size=n)
    first_is_y, second_is_y = rng.integers(0, 2, size=n), rng.integers(0, 2, size=n)
    ids[np.arange(n), first] = SYMBOLS.index("X") + first_is_y
    ids[np.arange(n), second] = SYMBOLS.index("X") + second_is_y
    one_hot = np.eye(len(SYMBOLS), dtype=np.float32)[ids]
    return one_hot, (2 * first_is_y + second_is_y).astype(np.int64)


@dataclass(frozen=True)
class TaskSpec:
    """A task: its generator, its outputs (1: a regression on MSE; more: classes), and when it is solved."""

    name: str
    title: str
    make: Callable[[int, int, np.random.Generator], tuple[np.ndarray, np.ndarray]]
    n_outputs: int
    score_name: str  # the score is test MSE or error rate: lower is better
    solved_at: float  # solved when the score is at most this

    @property
    def regression(self) -> bool:
        """Whether the task is a regression (one output, MSE) rather than a classification."""
        return self.n_outputs == 1


TASKS = {spec.name: spec for spec in (
    TaskSpec("adding", "adding problem", adding_problem, n_outputs=1, score_name="test MSE", solved_at=0.01),
    TaskSpec("temporal_order", "temporal-order problem", temporal_order, n_outputs=len(ORDER_CLASSES),
             score_name="test error rate", solved_at=0.01),
)}


def generate(task: str, length: int, seed: int, sizes: dict[str, int]) -> dict[str, np.ndarray]:
    """Fixed train, val and test sets for (task, T, seed): arrays {split}_x and {split}_y."""
    if task not in TASKS:
        raise ValueError(f"unknown task {task!r}; tasks are {', '.join(TASKS)}")
    rng = np.random.default_rng([seed, length, list(TASKS).index(task)])
    arrays = {}
    for split, n in sizes.items():
        arrays[f"{split}_x"], arrays[f"{split}_y"] = TASKS[task].make(n, length, rng)
    return arrays
