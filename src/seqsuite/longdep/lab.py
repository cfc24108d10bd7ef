"""Models, training and measurements of the long-dependency lab.

Every model reads a whole generated sequence and answers once, after its last step: the MLP sees the
sequence flattened, the recurrent models answer from their final hidden state h_T, so whatever they
need from the marked steps must survive the gap.
"""

from __future__ import annotations

import copy
import math
import time
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import torch
from torch import nn
from torch.nn import functional

from seqsuite.longdep import LSTM_MODELS, MODELS
from seqsuite.longdep.cells import GatedLSTMCell, TanhRNNCell, hidden_gradient_norms, unroll
from seqsuite.longdep.tasks import SYMBOLS
from seqsuite.training import NonFiniteLossError

# σ(30) is exactly 1.0 in float32 and its derivative exactly 0, so an nn.LSTM whose forget rows are
# zero with this bias computes the 1997 cell, keeps those rows fixed under training and runs at
# nn.LSTM's speed (GatedLSTMCell(forget_gate=False) reproduces it; tests/test_longdep_lab.py checks both).
OPEN_FORGET_BIAS = 30.0


@dataclass(frozen=True)
class LabConfig:
    """One optimiser and budget for every model of a task (config: longdep.training and longdep.tasks)."""

    hidden_size: int
    mlp_hidden_sizes: tuple[int, ...]
    lr: float
    clip_norm: float
    forget_bias: float
    batch_size: int
    max_updates: int
    eval_every: int


@dataclass(frozen=True)
class TaskSpec:
    """How a task's answers are scored, and what counts as solved (score at most solved_at)."""

    name: str
    outputs: int
    score_name: str
    solved_at: float

    def loss(self, output: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        if self.outputs == 1:
            return functional.mse_loss(output.squeeze(-1), target)
        return functional.cross_entropy(output, target)

    def scores(self, output: torch.Tensor, target: torch.Tensor) -> dict[str, float]:
        """The score (test MSE, or error rate) and, for regression, the 1997 criterion: |error| < 0.04."""
        if self.outputs == 1:
            error = output.squeeze(-1) - target
            return {"score": float((error**2).mean()), "frac_within_0.04": float((error.abs() < 0.04).float().mean())}
        return {"score": float((output.argmax(dim=1) != target).float().mean())}


TASK_SPECS = {
    "adding": TaskSpec("adding", outputs=1, score_name="test MSE", solved_at=0.01),
    "temporal_order": TaskSpec("temporal_order", outputs=4, score_name="test error rate", solved_at=0.01),
}


class FlatMLP(nn.Module):
    """An MLP on the whole sequence flattened: every step is a separate input, nothing is shared over time."""

    def __init__(self, length: int, input_size: int, hidden_sizes: tuple[int, ...], outputs: int) -> None:
        super().__init__()
        layers: list[nn.Module] = [nn.Flatten()]
        width = length * input_size
        for size in hidden_sizes:
            layers += [nn.Linear(width, size), nn.ReLU()]
            width = size
        self.body = nn.Sequential(*layers)
        self.head = nn.Linear(width, outputs)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.body(x))


class FinalStateNet(nn.Module):
    """A one-layer nn.RNN (tanh) or nn.LSTM read out from its final hidden state h_T."""

    def __init__(self, recurrent: nn.RNN | nn.LSTM, outputs: int) -> None:
        super().__init__()
        self.recurrent = recurrent
        self.head = nn.Linear(recurrent.hidden_size, outputs)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        states, _ = self.recurrent(x)
        return self.head(states[:, -1])


def build_lab_model(model: str, length: int, input_size: int, outputs: int, config: LabConfig) -> nn.Module:
    """A fresh model for one run; call after seeding torch, which decides its initial weights."""
    if model == "mlp":
        return FlatMLP(length, input_size, config.mlp_hidden_sizes, outputs)
    if model == "rnn":
        return FinalStateNet(nn.RNN(input_size, config.hidden_size, nonlinearity="tanh", batch_first=True), outputs)
    if model not in LSTM_MODELS:
        raise ValueError(f"unknown lab model {model!r}; models are {', '.join(MODELS)}")
    lstm = nn.LSTM(input_size, config.hidden_size, batch_first=True)
    forget = slice(config.hidden_size, 2 * config.hidden_size)  # PyTorch's gate order: input, forget, cell, output
    with torch.no_grad():
        lstm.bias_hh_l0[forget] = 0.0
        if model == "lstm_no_forget_gate":
            lstm.weight_ih_l0[forget] = 0.0
            lstm.weight_hh_l0[forget] = 0.0
            lstm.bias_ih_l0[forget] = OPEN_FORGET_BIAS
        else:
            lstm.bias_ih_l0[forget] = 0.0 if model == "lstm_forget_bias0" else config.forget_bias
    return FinalStateNet(lstm, outputs)


def explicit_cell(model: nn.Module) -> GatedLSTMCell | TanhRNNCell:
    """The trained recurrent layer as a step-by-step cell with the same weights."""
    recurrent = model.recurrent
    if isinstance(recurrent, nn.LSTM):
        open_gate = bool(torch.all(recurrent.bias_ih_l0[recurrent.hidden_size:2 * recurrent.hidden_size]
                                   == OPEN_FORGET_BIAS))
        return GatedLSTMCell.from_lstm(recurrent, forget_gate=not open_gate)
    return TanhRNNCell(recurrent)


@dataclass
class LabResult:
    """What one run reached: updates taken, whether validation met the criterion, the eval history."""

    steps: int
    stopped_solved: bool
    train_seconds: float
    history: list[dict[str, float]]


def scores(model: nn.Module, task: TaskSpec, x: torch.Tensor, y: torch.Tensor, batch: int = 1000) -> dict[str, float]:
    """A task's scores over a whole split, in batches."""
    model.eval()
    with torch.no_grad():
        output = torch.cat([model(x[i:i + batch]) for i in range(0, len(x), batch)])
    model.train()
    return task.scores(output, y)


def train_lab(model: nn.Module, task: TaskSpec, train: tuple[torch.Tensor, torch.Tensor],
              val: tuple[torch.Tensor, torch.Tensor], config: LabConfig, seed: int,
              on_eval: Callable[[dict[str, float]], None] | None = None) -> LabResult:
    """Adam with gradient clipping for at most max_updates, stopping once validation meets the criterion.

    Every eval_every updates (and after the last) the validation score is measured; each record holds the
    update, the mean training loss since the previous record and the validation scores.
    """
    optimiser = torch.optim.Adam(model.parameters(), lr=config.lr)
    sampler = torch.Generator().manual_seed(seed)
    x, y = train
    history: list[dict[str, float]] = []
    losses: list[float] = []
    start = time.perf_counter()
    for step in range(1, config.max_updates + 1):
        index = torch.randint(0, len(x), (config.batch_size,), generator=sampler)
        optimiser.zero_grad()
        loss = task.loss(model(x[index]), y[index])
        value = loss.item()
        if not math.isfinite(value):
            raise NonFiniteLossError(f"the training loss became {value} at update {step}")
        loss.backward()
        nn.utils.clip_grad_norm_(model.parameters(), config.clip_norm)
        optimiser.step()
        losses.append(value)
        if step % config.eval_every == 0 or step == config.max_updates:
            val_scores = scores(model, task, *val)
            record = {"step": step, "train_loss": float(np.mean(losses)),
                      **{f"val_{name}": score for name, score in val_scores.items()}}
            history.append(record)
            losses = []
            if on_eval is not None:
                on_eval(record)
            if val_scores["score"] <= task.solved_at:
                return LabResult(step, True, time.perf_counter() - start, history)
    return LabResult(config.max_updates, False, time.perf_counter() - start, history)


def gradient_norms(model: nn.Module, task: TaskSpec, x: torch.Tensor, y: torch.Tensor) -> np.ndarray:
    """‖∂L/∂h_t‖ averaged over the batch, indexed by distance from the output (index 0: h_T), shape (T,).

    Measured in float64 on a copy, so a vanishing gradient is seen falling to 1e-100 rather than flooring at
    float32's 1e-45. The MLP has no state per step; its row is ‖∂L/∂x_t‖, how strongly the loss depends on
    input step t.
    """
    model = copy.deepcopy(model).double()
    x = x.double()
    y = y.double() if y.is_floating_point() else y

    def loss(output: torch.Tensor) -> torch.Tensor:
        return task.loss(output, y)

    if isinstance(model, FlatMLP):
        inputs = x.clone().requires_grad_(True)
        loss(model(inputs)).backward()
        by_step = inputs.grad.norm(dim=2).mean(dim=0)
    else:
        by_step = hidden_gradient_norms(explicit_cell(model), model.head, x, loss)
    return by_step.detach().numpy()[::-1].copy()


def marker_positions(task: str, sequence: torch.Tensor) -> list[int]:
    """The steps (1-based) that decide the answer: the adding problem's markers, the X/Y symbols."""
    if task == "adding":
        hits = sequence[:, 1] > 0
    else:
        hits = sequence[:, SYMBOLS.index("X"):SYMBOLS.index("Y") + 1].sum(dim=1) > 0
    return [int(t) + 1 for t in torch.nonzero(hits).flatten()]


def aligned_probe(task: str, x: torch.Tensor) -> tuple[torch.Tensor, list[int]]:
    """Every sequence with its deciding steps moved to where the first sequence has them, so that gate means
    over the batch line up: the adding problem's markers, the temporal-order problem's X/Y symbols (which
    swap places with the distractors that were there)."""
    positions = marker_positions(task, x[0])
    probe = x.clone()
    if task == "adding":
        probe[:, :, 1] = 0.0
        probe[:, [t - 1 for t in positions], 1] = 1.0
        return probe, positions
    for sequence in probe:
        own = [t - 1 for t in marker_positions(task, sequence)]
        target = [t - 1 for t in positions]
        sequence[own + target] = sequence[target + own].clone()
    return probe, positions


def readout_units(model: nn.Module) -> torch.Tensor:
    """The hidden units the answer is read from: readout weight norm at least half the largest."""
    weight = model.head.weight.detach().norm(dim=0)
    return torch.nonzero(weight >= weight.max() / 2).flatten()


def gate_means(model: nn.Module, x: torch.Tensor) -> dict[str, dict[str, np.ndarray]]:
    """Input, forget and output gates of a trained LSTM over x (B, T, D), averaged over the batch: (T,) each.

    Under "all" the gates are averaged over every unit; under "readout" over the readout units only, the
    memory cells that carry the answer, where the gates' roles show most clearly.
    """
    cell = explicit_cell(model)
    if not isinstance(cell, GatedLSTMCell):
        raise ValueError("gate means need an LSTM")
    with torch.no_grad():
        _, gates = unroll(cell, x)
    chosen = readout_units(model)
    return {"all": {name: values.mean(dim=(0, 2)).numpy() for name, values in gates.items()},
            "readout": {name: values[:, :, chosen].mean(dim=(0, 2)).numpy() for name, values in gates.items()}}
