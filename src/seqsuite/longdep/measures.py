"""What the lab measures on a model: its task score, ‖∂L/∂h_t‖ by distance from the output, and the LSTM's
gates over time on sequences whose deciding steps are aligned."""

from __future__ import annotations

import copy

import numpy as np
import pandas as pd
import torch
from torch import nn

from seqsuite.longdep.tasks import SYMBOLS, TaskSpec
from seqsuite.models.cells import GatedLSTMCell, explicit_cell, hidden_gradient_norms, unroll
from seqsuite.models.mlp import MLP
from seqsuite.training import Objective

GATE_COLUMNS = ["task", "T", "model", "seed", "units", "step", "input", "forget", "output", "marker"]


def task_scores(model: nn.Module, task: TaskSpec, x: torch.Tensor, y: torch.Tensor,
                batch: int = 1000) -> dict[str, float]:
    """The task's score over a whole split (test MSE, or error rate) and, for the regression, the 1997
    criterion: the fraction with |error| < 0.04."""
    model.eval()
    with torch.no_grad():
        output = torch.cat([model(x[i:i + batch]) for i in range(0, len(x), batch)])
    model.train()
    if task.regression:
        error = output.squeeze(-1) - y
        return {"score": float((error**2).mean()), "frac_within_0.04": float((error.abs() < 0.04).float().mean())}
    return {"score": float((output.argmax(dim=1) != y).float().mean())}


def gradient_norms(model: nn.Module, task: TaskSpec, x: torch.Tensor, y: torch.Tensor) -> np.ndarray:
    """‖∂L/∂h_t‖ averaged over the batch, indexed by distance from the output (index 0: h_T), shape (T,).

    Measured in float64 on a copy, so a vanishing gradient is seen falling to 1e-100 rather than flooring at
    float32's 1e-45. The MLP has no state per step; its row is ‖∂L/∂x_t‖, how strongly the loss depends on
    input step t.
    """
    model = copy.deepcopy(model).double()
    x = x.double()
    y = y.double() if y.is_floating_point() else y
    objective = Objective(regression=task.regression)

    def loss(output: torch.Tensor) -> torch.Tensor:
        return objective.loss(output, y)

    if isinstance(model, MLP):
        inputs = x.clone().requires_grad_(True)
        loss(model(inputs)).backward()
        by_step = inputs.grad.norm(dim=2).mean(dim=0)
    else:
        by_step = hidden_gradient_norms(explicit_cell(model.recurrent), model.head, x, loss)
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
    cell = explicit_cell(model.recurrent)
    if not isinstance(cell, GatedLSTMCell):
        raise ValueError("gate means need an LSTM")
    with torch.no_grad():
        _, gates = unroll(cell, x)
    chosen = readout_units(model)
    return {"all": {name: values.mean(dim=(0, 2)).numpy() for name, values in gates.items()},
            "readout": {name: values[:, :, chosen].mean(dim=(0, 2)).numpy() for name, values in gates.items()}}


def gate_frame(model: nn.Module, task: str, x: torch.Tensor, run: dict) -> pd.DataFrame:
    """Gate means of a trained LSTM over sequences aligned on their deciding steps, with those steps marked."""
    probe, positions = aligned_probe(task, x)
    steps = np.arange(1, probe.shape[1] + 1)
    frames = [pd.DataFrame({"units": units, "step": steps, **means, "marker": np.isin(steps, positions).astype(int)})
              for units, means in gate_means(model, probe).items()]
    gates = pd.concat(frames, ignore_index=True)
    for key in ("task", "T", "model", "seed"):
        gates[key] = run[key]
    return gates[GATE_COLUMNS]
