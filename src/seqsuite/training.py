"""The one training loop: Adam with gradient clipping, validated after every round, stopped by a policy
(seqsuite.policies: Patience for the datasets, Budget for the lab), resumable from a checkpoint.
"""

from __future__ import annotations

import logging
import math
import random
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from itertools import islice
from typing import Any

import numpy as np
import torch
from sklearn.metrics import f1_score
from torch import nn
from torch.nn import functional

from seqsuite.batches import Batches, SequenceData, TabularData
from seqsuite.checkpoint import Checkpoint, TrainingInterrupted, rng_states, set_rng_states
from seqsuite.policies import Policy, batch_indices

log = logging.getLogger("seqsuite")


class NonFiniteLossError(FloatingPointError):
    """The training loss became NaN or infinite."""


@dataclass(frozen=True)
class OptimConfig:
    """Optimiser settings (config: training.<kind>.<model>, or longdep.training with the task's batch size)."""

    lr: float = 1e-3
    weight_decay: float = 0.0
    batch_size: int = 32
    clip_norm: float | None = 1.0


@dataclass(frozen=True)
class Objective:
    """What the loop minimises: cross-entropy over classes, or the MSE of one output (a regression)."""

    regression: bool = False

    def loss(self, outputs: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
        """The mean loss of a batch: outputs (B, n_outputs), targets (B,)."""
        if self.regression:
            return functional.mse_loss(outputs.squeeze(-1), targets)
        return functional.cross_entropy(outputs, targets)


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
    """Loss, accuracy and the predicted class of every example; macro-F1 on demand (the per-epoch validation
    records loss and accuracy only, and scikit-learn's F1 cost more than a small model's epoch)."""

    loss: float
    accuracy: float
    predictions: np.ndarray
    targets: np.ndarray

    @property
    def macro_f1(self) -> float:
        """The unweighted mean of the per-class F1 scores."""
        return float(f1_score(self.targets, self.predictions, average="macro", zero_division=0))

    def metrics(self) -> dict[str, float]:
        """The scalar metrics."""
        return {"accuracy": self.accuracy, "macro_f1": self.macro_f1, "loss": self.loss}


def seed_everything(seed: int) -> None:
    """Seed Python, NumPy and torch so that a run repeats on the CPU."""
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)


@torch.no_grad()
def evaluate(model: nn.Module, data: SequenceData | TabularData, batch_size: int) -> Evaluation:
    """Mean cross-entropy and accuracy of a classifier on a split already on the model's device, read once."""
    model.eval()
    losses, predictions = [], []
    for inputs, targets in data.batches(batch_indices(len(data), batch_size, None)):
        logits = model(*inputs)
        losses.append(functional.cross_entropy(logits, targets, reduction="sum"))
        predictions.append(logits.argmax(dim=1))
    predicted = torch.cat(predictions).cpu().numpy()
    targets = data.labels.cpu().numpy()
    return Evaluation(
        loss=sum(torch.stack(losses).tolist()) / len(targets),  # summed in batch order, as Python floats
        accuracy=float((predicted == targets).mean()),
        predictions=predicted,
        targets=targets,
    )


@torch.no_grad()
def class_probabilities(model: nn.Module, data: SequenceData | TabularData, batch_size: int) -> np.ndarray:
    """Softmax of a classifier's outputs (examples, classes), in example order."""
    model.eval()
    batches = [functional.softmax(model(*inputs), dim=1)
               for inputs, _ in data.batches(batch_indices(len(data), batch_size, None))]
    return torch.cat(batches).cpu().numpy()


@dataclass
class Progress:
    """Where the loop stands: the round under way (an index into the policy's positions), the batches done in it
    with their sums, the policy's generator as the round began, and everything recorded so far."""

    round: int = 0
    batches_done: int = 0
    round_rng: Any = None
    loss_sum: float = 0.0
    correct: int = 0
    seen: int = 0
    updates: int = 0
    train_seconds: float = 0.0
    history: list[dict[str, float]] = field(default_factory=list)
    stopped_early: bool = False
    done: bool = False


def fit(model: nn.Module, train: Batches, validate: Callable[[nn.Module], dict[str, float]], objective: Objective,
        optim: OptimConfig, policy: Policy, seed: int, device: torch.device,
        on_record: Callable[[dict[str, float]], None] | None = None,
        checkpoint: Checkpoint | None = None) -> FitResult:
    """Train until the policy stops; each round ends with a record of its mean training loss (and accuracy, for
    classes) and the validation metrics that validate returns, passed to on_record.

    With a checkpoint, the loop's state is saved after every round and, when its stop request is set (a stop
    signal: SIGTERM, Ctrl-C, SIGHUP), after the update under way, which then raises TrainingInterrupted (as does a
    request that came after the last update); a saved state is resumed from.
    """
    if train.device.type != device.type:
        raise ValueError(f"the training data are on {train.device} but the model is to train on {device}: make "
                         f"them with device={device}")
    model.to(device)
    optimizer = torch.optim.Adam(model.parameters(), lr=optim.lr, weight_decay=optim.weight_decay)
    policy.start(seed)
    progress = (resume(checkpoint, model, optimizer, policy) if checkpoint else None) or Progress()
    if checkpoint:
        checkpoint.stop.training = True
    try:
        train_rounds(model, train, validate, objective, optim, policy, optimizer, progress, on_record, checkpoint)
    finally:
        if checkpoint:
            checkpoint.stop.training = False
    if checkpoint and checkpoint.stop.requested:  # asked during the last round's validation, logging or save
        raise interrupted(checkpoint, f"its last round ({policy.step_key} {policy.positions()[progress.round]}, "
                                      f"update {progress.updates})", "finish")
    policy.finish(model, policy.positions()[progress.round])
    return FitResult(progress.history, progress.updates, progress.stopped_early, policy.kept_round,
                     progress.train_seconds)


def train_rounds(model: nn.Module, train: Batches, validate: Callable[[nn.Module], dict[str, float]],
                 objective: Objective, optim: OptimConfig, policy: Policy, optimizer: torch.optim.Optimizer,
                 progress: Progress, on_record: Callable[[dict[str, float]], None] | None,
                 checkpoint: Checkpoint | None) -> None:
    """The rounds from where progress stands until the policy stops or its rounds run out."""
    started = time.perf_counter() - progress.train_seconds
    positions = policy.positions()
    while not progress.done:
        position = positions[progress.round]
        if progress.batches_done:  # resuming mid-round: the round's batches are drawn again
            policy.set_rng_state(progress.round_rng)
        else:
            progress.round_rng = policy.rng_state()
        # losses and correct counts are read once per round (no per-update synchronisation of a GPU); a
        # non-finite loss is raised then, naming its update
        sums = RoundSums(first_update=progress.updates + 1)
        model.train()
        # those done are drawn (the policy's generator moves on as it did) but not made again
        indices = islice(policy.batches(position, len(train), optim.batch_size), progress.batches_done, None)
        for inputs, targets in train.batches(indices):
            outputs = model(*inputs)
            loss = objective.loss(outputs, targets)
            optimizer.zero_grad()
            loss.backward()
            if optim.clip_norm:
                nn.utils.clip_grad_norm_(model.parameters(), optim.clip_norm)
            optimizer.step()
            progress.updates += 1
            progress.batches_done += 1
            sums.add(loss, outputs, targets, objective.regression)
            if checkpoint and checkpoint.stop.requested:
                sums.read_into(progress, policy.step_key, position)
                progress.train_seconds = time.perf_counter() - started
                save(checkpoint, progress, model, optimizer, policy)
                raise interrupted(checkpoint, f"update {progress.updates} ({policy.step_key} {position})", "resume")
        sums.read_into(progress, policy.step_key, position)
        record = {policy.step_key: position, "train_loss": progress.loss_sum / progress.seen}
        if not objective.regression:
            record["train_accuracy"] = progress.correct / progress.seen
        record.update(validate(model))
        progress.history.append(record)
        if on_record is not None:
            on_record(record)
        progress.stopped_early = policy.stop(record, model)
        progress.done = progress.stopped_early or progress.round + 1 == len(positions)
        progress.round += 0 if progress.done else 1
        progress.batches_done, progress.loss_sum, progress.correct, progress.seen = 0, 0.0, 0, 0
        progress.train_seconds = time.perf_counter() - started
        if checkpoint:
            save(checkpoint, progress, model, optimizer, policy)


def interrupted(checkpoint: Checkpoint, after: str, rerun_to: str) -> TrainingInterrupted:
    """The stop that the checkpoint's signal asked for, once its state is saved: the signal, where the loop stood
    and what a rerun does."""
    return TrainingInterrupted(f"stopped by {checkpoint.stop.signal_name} after {after}; its state is saved in "
                               f"{checkpoint.path}: rerun to {rerun_to} from there", checkpoint.stop.signum)


@dataclass
class RoundSums:
    """The updates of a round not yet read: each batch's mean loss and predicted classes stay on the device until
    read_into, once per round, which sums the losses on the host in update order, as float(loss) * batch size (the
    same arithmetic, to the last digit, as reading every update), and counts the correct predictions. An update
    launches one operation for this (argmax): a small model's update on a GPU is a few dozen launches."""

    first_update: int
    losses: list[torch.Tensor] = field(default_factory=list)
    sizes: list[int] = field(default_factory=list)
    predicted: list[torch.Tensor] = field(default_factory=list)
    targets: list[torch.Tensor] = field(default_factory=list)

    def add(self, loss: torch.Tensor, outputs: torch.Tensor, targets: torch.Tensor, regression: bool) -> None:
        """One update's batch."""
        self.losses.append(loss.detach())
        self.sizes.append(len(targets))
        if not regression:
            self.predicted.append(outputs.argmax(dim=1))
            self.targets.append(targets)

    def read_into(self, progress: Progress, step_key: str, position: int) -> None:
        """Add the updates to progress's sums (one synchronisation); a non-finite loss raises NonFiniteLossError
        naming its update."""
        losses = torch.stack(self.losses).tolist() if self.losses else []
        for number, (loss, size) in enumerate(zip(losses, self.sizes, strict=True)):
            if not math.isfinite(loss):
                raise NonFiniteLossError(
                    f"training loss became {loss} at update {self.first_update + number} ({step_key} {position}); "
                    "lower the learning rate (lr) or set clip_norm for this model"
                )
            progress.loss_sum += loss * size
        if self.predicted:
            progress.correct += int((torch.cat(self.predicted) == torch.cat(self.targets)).sum())
        progress.seen += sum(self.sizes)
        self.first_update += len(losses)
        self.losses, self.sizes, self.predicted, self.targets = [], [], [], []


def save(checkpoint: Checkpoint, progress: Progress, model: nn.Module, optimizer: torch.optim.Optimizer,
         policy: Policy) -> None:
    """Save the loop's whole state: progress, weights, optimiser, policy and every random generator."""
    checkpoint.save({"progress": asdict(progress), "model": model.state_dict(), "optimizer": optimizer.state_dict(),
                     "policy": policy.state_dict(), "rng": rng_states()})


def resume(checkpoint: Checkpoint, model: nn.Module, optimizer: torch.optim.Optimizer,
           policy: Policy) -> Progress | None:
    """Load a saved state into the model, optimiser, policy and generators; its progress, or None without one."""
    state = checkpoint.saved
    if state is None:
        return None
    model.load_state_dict(state["model"])
    optimizer.load_state_dict(state["optimizer"])
    policy.load_state_dict(state["policy"])
    set_rng_states(state["rng"])
    progress = Progress(**state["progress"])
    log.info("resuming from %s at update %d (%s %d)", checkpoint.path, progress.updates, policy.step_key,
             policy.positions()[progress.round])
    return progress
