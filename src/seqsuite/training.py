"""Fit and evaluate a classifier: Adam, gradient clipping, early stopping on validation accuracy."""

from __future__ import annotations

import copy
import random
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Protocol

import numpy as np
import torch
from scipy import sparse
from sklearn.metrics import f1_score
from torch import nn
from torch.nn.utils.rnn import pad_sequence


class NonFiniteLossError(FloatingPointError):
    """The training loss became NaN or infinite."""


@dataclass(frozen=True)
class OptimConfig:
    """Optimiser and stopping settings."""

    lr: float = 1e-3
    weight_decay: float = 0.0
    batch_size: int = 32
    max_epochs: int = 10
    patience: int = 3
    clip_norm: float | None = 1.0



class Batches(Protocol):
    """A split that hands out (model inputs, targets) for a set of example indices."""

    labels: torch.Tensor

    def batch(self, index: np.ndarray) -> tuple[tuple[torch.Tensor, ...], torch.Tensor]: ...


@dataclass
class SequenceData:
    """Variable-length sequences (token ids (T,) or frames (T, C)), padded per batch."""

    sequences: list[torch.Tensor]
    labels: torch.Tensor
    pad_value: float = 0

    def batch(self, index: np.ndarray) -> tuple[tuple[torch.Tensor, ...], torch.Tensor]:
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

    def batch(self, index: np.ndarray) -> tuple[tuple[torch.Tensor, ...], torch.Tensor]:
        """Dense inputs (B, D) with targets (B,)."""
        return (torch.from_numpy(self.matrix[index].toarray()),), self.labels[index]


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


@dataclass
class FitResult:
    """Per-epoch history, the epoch whose weights were kept, and the wall time."""

    history: list[dict[str, float]] = field(default_factory=list)
    best_epoch: int = 0
    train_seconds: float = 0.0


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


def _batch_indices(n: int, batch_size: int, rng: np.random.Generator | None) -> list[np.ndarray]:
    order = rng.permutation(n) if rng is not None else np.arange(n)
    return [order[i : i + batch_size] for i in range(0, n, batch_size)]


def _to(device: torch.device, inputs: tuple[torch.Tensor, ...]) -> tuple[torch.Tensor, ...]:
    return tuple(t.to(device) for t in inputs)


@torch.no_grad()
def evaluate(model: nn.Module, data: Batches, batch_size: int, device: torch.device) -> Evaluation:
    """Mean cross-entropy, accuracy and macro-F1 of the model on a split."""
    model.eval()
    losses, predictions = [], []
    for index in _batch_indices(len(data.labels), batch_size, None):
        inputs, targets = data.batch(index)
        logits = model(*_to(device, inputs))
        losses.append(nn.functional.cross_entropy(logits, targets.to(device), reduction="sum").item())
        predictions.append(logits.argmax(dim=1).cpu().numpy())
    predicted = np.concatenate(predictions)
    targets = data.labels.numpy()
    return Evaluation(
        loss=sum(losses) / len(targets),
        accuracy=float((predicted == targets).mean()),
        macro_f1=float(f1_score(targets, predicted, average="macro", zero_division=0)),
        predictions=predicted,
    )


def fit(
    model: nn.Module,
    train: Batches,
    val: Batches,
    optim: OptimConfig,
    seed: int,
    device: torch.device,
    on_epoch: Callable[[dict[str, float]], None] | None = None,
) -> FitResult:
    """Train with Adam until patience runs out; leave the model holding its best validation weights."""
    rng = np.random.default_rng(seed)
    model.to(device)
    optimizer = torch.optim.Adam(model.parameters(), lr=optim.lr, weight_decay=optim.weight_decay)
    result, best_key, best_state, stale = FitResult(), None, None, 0
    started = time.perf_counter()
    for epoch in range(1, optim.max_epochs + 1):
        model.train()
        loss_sum, correct = 0.0, 0
        for index in _batch_indices(len(train.labels), optim.batch_size, rng):
            inputs, targets = train.batch(index)
            targets = targets.to(device)
            logits = model(*_to(device, inputs))
            loss = nn.functional.cross_entropy(logits, targets)
            if not torch.isfinite(loss):
                raise NonFiniteLossError(
                    f"training loss became {loss.item()} in epoch {epoch}; lower the learning rate (lr) "
                    "or set clip_norm for this model"
                )
            optimizer.zero_grad()
            loss.backward()
            if optim.clip_norm:
                nn.utils.clip_grad_norm_(model.parameters(), optim.clip_norm)
            optimizer.step()
            loss_sum += loss.item() * len(index)
            correct += (logits.argmax(dim=1) == targets).sum().item()
        validation = evaluate(model, val, optim.batch_size, device)
        record = {
            "epoch": epoch,
            "train_loss": loss_sum / len(train.labels),
            "train_accuracy": correct / len(train.labels),
            "val_loss": validation.loss,
            "val_accuracy": validation.accuracy,
        }
        result.history.append(record)
        if on_epoch is not None:
            on_epoch(record)
        key = (validation.accuracy, -validation.loss)
        if best_key is None or key > best_key:
            best_key, best_state, result.best_epoch, stale = key, copy.deepcopy(model.state_dict()), epoch, 0
        else:
            stale += 1
            if stale >= optim.patience:
                break
    result.train_seconds = time.perf_counter() - started
    model.load_state_dict(best_state)
    return result
