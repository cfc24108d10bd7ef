"""Build any model of the registry (seqsuite.models) by name."""

from __future__ import annotations

from torch import nn

from seqsuite.models import model_entry
from seqsuite.models.config import ArchitectureConfig, InputSpec
from seqsuite.models.mlp import MLP
from seqsuite.models.recurrent import SequenceClassifier


def build_model(name: str, inputs: InputSpec, arch: ArchitectureConfig) -> nn.Module:
    """The named model for these inputs; call after seeding torch, which decides its initial weights."""
    entry = model_entry(name)
    if entry.layer is None:
        return MLP(inputs.tabular_dim, arch.hidden_sizes, inputs.n_outputs, arch.dropout)
    return SequenceClassifier(entry, inputs, arch)


def count_parameters(model: nn.Module) -> int:
    """Trainable parameters."""
    return sum(p.numel() for p in model.parameters() if p.requires_grad)
