"""The training loop's two stopping policies. Each says how a round's batches are drawn, when to stop, which
weights to keep, and keeps its state (random generator included) so that a run can resume mid-way.

Patience (datasets): a round is an epoch over shuffled data; the weights with the best validation (accuracy,
then loss) are kept; stop after `patience` epochs without better ones, or after max_epochs.
Budget (the lab): a round is eval_every batches drawn at random (with replacement), at most max_updates in all;
stop once the validation score is at most solved_at; the final weights are kept.
"""

from __future__ import annotations

import copy
from collections.abc import Iterable
from typing import Any

import numpy as np
import torch
from torch import nn


def batch_indices(n: int, batch_size: int, rng: np.random.Generator | None) -> list[np.ndarray]:
    """Indices 0..n-1 in batches, shuffled by rng (in order without one)."""
    order = rng.permutation(n) if rng is not None else np.arange(n)
    return [order[i : i + batch_size] for i in range(0, n, batch_size)]


class Patience:
    """Epochs with early stopping on validation accuracy; the best weights are kept."""

    step_key = "epoch"

    def __init__(self, max_epochs: int, patience: int) -> None:
        self.max_epochs, self.patience = max_epochs, patience
        self.rng = np.random.default_rng(0)
        self.best_key: tuple[float, float] | None = None
        self.best_state: dict[str, torch.Tensor] | None = None
        self.kept_round, self.stale = 0, 0

    def start(self, seed: int) -> None:
        """Seed the shuffling of every epoch."""
        self.rng = np.random.default_rng(seed)

    def positions(self) -> list[int]:
        """Each round's position: its epoch."""
        return list(range(1, self.max_epochs + 1))

    def batches(self, position: int, n: int, batch_size: int) -> Iterable[np.ndarray]:
        """The epoch's batches of example indices, in an order drawn now."""
        return batch_indices(n, batch_size, self.rng)

    def stop(self, record: dict[str, float], model: nn.Module) -> bool:
        """Keep the weights if this epoch's validation is the best so far; whether patience has run out."""
        key = (record["val_accuracy"], -record["val_loss"])
        if self.best_key is None or key > self.best_key:
            self.best_key, self.best_state = key, copy.deepcopy(model.state_dict())
            self.kept_round, self.stale = int(record[self.step_key]), 0
            return False
        self.stale += 1
        return self.stale >= self.patience

    def finish(self, model: nn.Module, last_position: int) -> None:
        """Leave the model holding its best validation weights."""
        model.load_state_dict(self.best_state)

    def rng_state(self) -> Any:
        return self.rng.bit_generator.state

    def set_rng_state(self, state: Any) -> None:
        self.rng.bit_generator.state = state

    def state_dict(self) -> dict[str, Any]:
        """What the policy has learnt so far, with its generator."""
        return {"rng": self.rng_state(), "best_key": self.best_key, "best_state": self.best_state,
                "kept_round": self.kept_round, "stale": self.stale}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.set_rng_state(state["rng"])
        self.best_key, self.best_state = state["best_key"], state["best_state"]
        self.kept_round, self.stale = state["kept_round"], state["stale"]


class Budget:
    """Random batches within an update budget, stopping once validation meets the criterion."""

    step_key = "step"

    def __init__(self, max_updates: int, eval_every: int, solved_at: float) -> None:
        self.max_updates, self.eval_every, self.solved_at = max_updates, eval_every, solved_at
        self.sampler = torch.Generator().manual_seed(0)
        self.kept_round = 0

    def start(self, seed: int) -> None:
        """Seed the drawing of batches."""
        self.sampler = torch.Generator().manual_seed(seed)

    def positions(self) -> list[int]:
        """Each round's position: the updates done at its end (every eval_every, and the last)."""
        return [*range(self.eval_every, self.max_updates, self.eval_every), self.max_updates]

    def batches(self, position: int, n: int, batch_size: int) -> Iterable[torch.Tensor]:
        """The round's batches, drawn one at a time as the loop asks for them."""
        size = position - (position - 1) // self.eval_every * self.eval_every
        return (torch.randint(0, n, (batch_size,), generator=self.sampler) for _ in range(size))

    def stop(self, record: dict[str, float], model: nn.Module) -> bool:
        """Whether validation meets the criterion."""
        return record["val_score"] <= self.solved_at

    def finish(self, model: nn.Module, last_position: int) -> None:
        """Keep the final weights."""
        self.kept_round = last_position

    def rng_state(self) -> Any:
        return self.sampler.get_state()

    def set_rng_state(self, state: Any) -> None:
        self.sampler.set_state(state)

    def state_dict(self) -> dict[str, Any]:
        """Its generator: the kept round is the last, known once it finishes."""
        return {"rng": self.rng_state()}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.set_rng_state(state["rng"])


Policy = Patience | Budget
