"""What a model is built from: its architecture hyperparameters and the shape of its inputs."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class ArchitectureConfig:
    """Architecture hyperparameters; the MLP uses hidden_sizes and dropout, the recurrent models the rest."""

    hidden_sizes: list[int] = field(default_factory=lambda: [256])
    hidden_size: int = 128
    num_layers: int = 1
    bidirectional: bool = False
    readout: str = "last"
    embedding_dim: int = 128
    dropout: float = 0.0
    forget_bias: float | None = None  # LSTMs: the initial forget-gate bias; None keeps PyTorch's


@dataclass(frozen=True)
class InputSpec:
    """What a model reads: token ids from a vocabulary or real-valued frames, and its fixed-size vector."""

    n_outputs: int  # classes, or 1 for a regression (the lab's adding problem)
    vocab_size: int | None = None  # text: token ids; None: frames of sequence_dim values
    sequence_dim: int | None = None
    tabular_dim: int | None = None
    pad_index: int = 0
