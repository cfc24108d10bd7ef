"""The feed-forward model: an MLP on one fixed-size vector per example."""

from __future__ import annotations

import torch
from torch import nn


class MLP(nn.Module):
    """ReLU layers on a fixed-size input: TF-IDF, frame statistics, or a whole sequence flattened (the lab's),
    where every step is a separate input and nothing is shared over time."""

    def __init__(self, input_dim: int, hidden_sizes: list[int], n_outputs: int, dropout: float) -> None:
        super().__init__()
        layers: list[nn.Module] = [nn.Flatten()]  # (B, T, C) -> (B, T * C); (B, D) stays as it is
        for width in hidden_sizes:
            layers += [nn.Linear(input_dim, width), nn.ReLU(), nn.Dropout(dropout)]
            input_dim = width
        self.net = nn.Sequential(*layers, nn.Linear(input_dim, n_outputs))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Outputs (B, n_outputs) for inputs (B, D) or (B, T, C)."""
        return self.net(x)
