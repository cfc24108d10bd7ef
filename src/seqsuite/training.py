"""The one training loop: Adam with gradient clipping, validated after every round, stopped by a policy.

Two policies drive it: the datasets' (a round is an epoch over shuffled data; early stopping with patience,
the best validation weights kept) and the lab's (a round is eval_every random batches within an update
budget; it stops once validation meets the task's criterion).
"""

from __future__ import annotations

import copy
import random
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any, Protocol

import numpy as np
import torch
from scipy import sparse
from sklearn.metrics import f1_score
from torch import nn
from torch.nn import functional
from torch.nn.utils.rnn import pad_sequence

Inputs = tuple[torch.Tensor, ...]


class NonFiniteLossError(FloatingPointError):
    """The training loss became NaN or infinite."""


@dataclass(frozen=True)
class OptimConfig:
    """Optimiser settings (config: training.<kind>.<model>, or longdep.training with the task's batch size)."""

    lr: float = 1e-3
    weight_decay: float = 0.0
    batch_size: int = 32
    clip_norm: float | None = 1.0


class Batches(Protocol):
    """A split that hands out (model inputs, targets) for a set of example indices."""

    def __len__(self) -> int: ...

    def batch(self, index: Any) -> tuple[Inputs, torch.Tensor]: ...


@dataclass
class SequenceData:
    """Variable-length sequences (token ids (T,) or frames (T, C)), padded per batch."""

    sequences: list[torch.Tensor]
    labels: torch.Tensor
    pad_value: float = 0

    def __len__(self) -> int:
        return len(self.labels)

    def batch(self, index: np.ndarray) -> tuple[Inputs, torch.Tensor]:
        """Padded inputs (B, T[, C]) and their lengths (B,), with targets (B,)."""
        chosen = [self.sequences[i] for i in index]
        lengths = torch.tensor([len(s) for s in chosen], dtype=torch.long)
        padded = pad_sequence(chosen, batch_first=True, padding_value=self.pad_value)
        return (padded, lengths), self.labels[index]


@dataclass
class TabularData:
    """Fixed-size rows of a sparse matrix, made dense per batch."""

    matrix: sparse.csr_matrix
    labels: torch.Tensor

    def __len__(self) -> int:
        return len(self.labels)

    def batch(self, index: np.ndarray) -> tuple[Inputs, torch.Tensor]:
        """Dense inputs (B, D) with targets (B,)."""
        return (torch.from_numpy(self.matrix[index].toarray()),), self.labels[index]


@dataclass
class TensorData:
    """Equal-length sequences in one tensor x (N, T, C) with targets y (N,): the lab's generated sets."""

    x: torch.Tensor
    y: torch.Tensor

    def __len__(self) -> int:
        return len(self.y)

    def batch(self, index: torch.Tensor) -> tuple[Inputs, torch.Tensor]:
        """Inputs (B, T, C) with targets (B,)."""
        return (self.x[index],), self.y[index]


@dataclass(frozen=True)
class Objective:
    """What the loop minimises: cross-entropy over classes, or the MSE of one output (a regression)."""

    regression: bool = False

    def loss(self, outputs: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
        """The mean loss of a batch: outputs (B, n_outputs), targets (B,)."""
        if self.regression:
            return functional.mse_loss(outputs.squeeze(-1), targets)
        return functional.cross_entropy(outputs, targets)


class Patience:
    """The datasets' policy: a round is an epoch over shuffled data; the weights with the best validation
    (accuracy, then loss) are kept; stop after `patience` epochs without better ones or after max_epochs."""

    step_key = "epoch"

    def __init__(self, max_epochs: int, patience: int) -> None:
        self.max_epochs, self.patience = max_epochs, patience
        self.best_key: tuple[float, float] | None = None
        self.best_state: dict[str, torch.Tensor] | None = None
        self.kept_round, self.stale = 0, 0

    def rounds(self, n: int, batch_size: int, seed: int) -> Iterator[tuple[int, Iterable[np.ndarray]]]:
        """(epoch, its batches of example indices); each epoch's order is drawn when the epoch starts."""
        rng = np.random.default_rng(seed)
        for epoch in range(1, self.max_epochs + 1):
            yield epoch, batch_indices(n, batch_size, rng)

    def stop(self, record: dict[str, float], model: nn.Module) -> bool:
        """Keep the weights if this epoch's validation is the best so far; whether patience has run out."""
        key = (record["val_accuracy"], -record["val_loss"])
        if self.best_key is None or key > self.best_key:
            self.best_key, self.best_state = key, copy.deepcopy(model.state_dict())
            self.kept_round, self.stale = int(record[self.step_key]), 0
            return False
        self.stale += 1
        return self.stale >= self.patience

    def finish(self, model: nn.Module, last_round: int) -> None:
        """Leave the model holding its best validation weights."""
        model.load_state_dict(self.best_state)


class Budget:
    """The lab's policy: a round is eval_every batches drawn at random (with replacement), at most max_updates
    in all; stop once the validation score is at most solved_at. The final weights are kept."""

    step_key = "step"

    def __init__(self, max_updates: int, eval_every: int, solved_at: float) -> None:
        self.max_updates, self.eval_every, self.solved_at = max_updates, eval_every, solved_at
        self.kept_round = 0

    def rounds(self, n: int, batch_size: int, seed: int) -> Iterator[tuple[int, Iterable[torch.Tensor]]]:
        """(updates done at the round's end, its batches of example indices)."""
        sampler = torch.Generator().manual_seed(seed)
        done = 0
        while done < self.max_updates:
            size = min(self.eval_every, self.max_updates - done)
            done += size
            yield done, (torch.randint(0, n, (batch_size,), generator=sampler) for _ in range(size))

    def stop(self, record: dict[str, float], model: nn.Module) -> bool:
        """Whether validation meets the criterion."""
        return record["val_score"] <= self.solved_at

    def finish(self, model: nn.Module, last_round: int) -> None:
        """Keep the final weights."""
        self.kept_round = last_round


Policy = Patience | Budget


@dataclass
class FitResult:
    """Per-round history, updates taken, whether the policy stopped early, the round kept, the wall time."""

    history: list[dict[str, float]] = field(default_factory=list)
    updates: int = 0
    stopped_early: bool = False
    kept_round: int = 0
    train_seconds: float = 0.0


@dataclass
class Evaluation:
    """Loss, accuracy, macro-F1 and the predicted class of every example."""

    loss: float
    accuracy: float
    macro_f1: float
    predictions: np.ndarray

    def metrics(self) -> dict[str, float]:
        """The scalar metrics."""
        return {"accuracy": self.accuracy, "macro_f1": self.macro_f1, "loss": self.loss}


def seed_everything(seed: int) -> None:
    """Seed Python, NumPy and torch so that a run repeats on the CPU."""
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)


def resolve_device(name: str) -> torch.device:
    """auto picks CUDA when present; cuda without a GPU is an error that says so."""
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if name == "cuda" and not torch.cuda.is_available():
        raise RuntimeError("device 'cuda' was asked for but no CUDA GPU is visible; set device: auto or cpu")
    return torch.device(name)


def batch_indices(n: int, batch_size: int, rng: np.random.Generator | None) -> list[np.ndarray]:
    """Indices 0..n-1 in batches, shuffled by rng (in order without one)."""
    order = rng.permutation(n) if rng is not None else np.arange(n)
    return [order[i : i + batch_size] for i in range(0, n, batch_size)]


def _to(device: torch.device, inputs: Inputs) -> Inputs:
    return tuple(t.to(device) for t in inputs)


@torch.no_grad()
def evaluate(model: nn.Module, data: SequenceData | TabularData, batch_size: int, device: torch.device) -> Evaluation:
    """Mean cross-entropy, accuracy and macro-F1 of a classifier on a split."""
    model.eval()
    losses, predictions = [], []
    for index in batch_indices(len(data), batch_size, None):
        inputs, targets = data.batch(index)
        logits = model(*_to(device, inputs))
        losses.append(functional.cross_entropy(logits, targets.to(device), reduction="sum").item())
        predictions.append(logits.argmax(dim=1).cpu().numpy())
    predicted = np.concatenate(predictions)
    targets = data.labels.numpy()
    return Evaluation(
        loss=sum(losses) / len(targets),
        accuracy=float((predicted == targets).mean()),
        macro_f1=float(f1_score(targets, predicted, average="macro", zero_division=0)),
        predictions=predicted,
    )


def fit(model: nn.Module, train: Batches, validate: Callable[[nn.Module], dict[str, float]], objective: Objective,
        optim: OptimConfig, policy: Policy, seed: int, device: torch.device,
        on_record: Callable[[dict[str, float]], None] | None = None) -> FitResult:
    """Train until the policy stops; each round ends with a record of its mean training loss (and accuracy,
    for classes) and the validation metrics that validate returns, passed to on_record."""
    model.to(device)
    optimizer = torch.optim.Adam(model.parameters(), lr=optim.lr, weight_decay=optim.weight_decay)
    result, position = FitResult(), 0
    started = time.perf_counter()
    for position, batches in policy.rounds(len(train), optim.batch_size, seed):
        model.train()
        loss_sum, correct, seen = 0.0, 0, 0
        for index in batches:
            inputs, targets = train.batch(index)
            targets = targets.to(device)
            outputs = model(*_to(device, inputs))
            loss = objective.loss(outputs, targets)
            if not torch.isfinite(loss):
                raise NonFiniteLossError(
                    f"training loss became {loss.item()} at update {result.updates + 1} ({policy.step_key} "
                    f"{position}); lower the learning rate (lr) or set clip_norm for this model"
                )
            optimizer.zero_grad()
            loss.backward()
            if optim.clip_norm:
                nn.utils.clip_grad_norm_(model.parameters(), optim.clip_norm)
            optimizer.step()
            result.updates += 1
            loss_sum += loss.item() * len(index)
            seen += len(index)
            if not objective.regression:
                correct += (outputs.argmax(dim=1) == targets).sum().item()
        record = {policy.step_key: position, "train_loss": loss_sum / seen}
        if not objective.regression:
            record["train_accuracy"] = correct / seen
        record.update(validate(model))
        result.history.append(record)
        if on_record is not None:
            on_record(record)
        if policy.stop(record, model):
            result.stopped_early = True
            break
    result.train_seconds = time.perf_counter() - started
    policy.finish(model, position)
    result.kept_round = policy.kept_round
    return result
