"""The three architectures compared: an MLP on fixed-size features, a tanh RNN and an LSTM on sequences."""

from __future__ import annotations

from dataclasses import dataclass, field

import torch
from torch import nn
from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence

MODELS = ("mlp", "rnn", "lstm")
READOUTS = ("last", "mean", "max")


@dataclass(frozen=True)
class ArchitectureConfig:
    """Architecture hyperparameters; the MLP uses hidden_sizes, the recurrent models the rest."""

    hidden_sizes: list[int] = field(default_factory=lambda: [256])
    hidden_size: int = 128
    num_layers: int = 1
    bidirectional: bool = False
    readout: str = "last"
    embedding_dim: int = 128
    dropout: float = 0.0



@dataclass(frozen=True)
class InputSpec:
    """What a model reads: token ids from a vocabulary, or real-valued frames; plus the tabular size."""

    n_classes: int
    vocab_size: int | None = None  # text: token ids; None: frames of sequence_dim values
    sequence_dim: int | None = None
    tabular_dim: int | None = None
    pad_index: int = 0


class MLP(nn.Module):
    """Feed-forward classifier on a fixed-size vector (TF-IDF or frame statistics)."""

    def __init__(self, input_dim: int, hidden_sizes: list[int], n_classes: int, dropout: float) -> None:
        super().__init__()
        layers: list[nn.Module] = []
        for width in hidden_sizes:
            layers += [nn.Linear(input_dim, width), nn.ReLU(), nn.Dropout(dropout)]
            input_dim = width
        self.net = nn.Sequential(*layers, nn.Linear(input_dim, n_classes))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Logits (B, n_classes) for inputs (B, D)."""
        return self.net(x)


class RecurrentClassifier(nn.Module):
    """nn.RNN (tanh) or nn.LSTM over packed variable-length sequences, then a linear classifier."""

    def __init__(self, cell: str, inputs: InputSpec, arch: ArchitectureConfig) -> None:
        super().__init__()
        if arch.readout not in READOUTS:
            raise ValueError(f"unknown readout {arch.readout!r}; valid readouts are {', '.join(READOUTS)}")
        self.readout = arch.readout
        self.pad_index = inputs.pad_index
        self.embedding = None
        input_size = inputs.sequence_dim
        if inputs.vocab_size is not None:
            self.embedding = nn.Embedding(inputs.vocab_size, arch.embedding_dim, padding_idx=inputs.pad_index)
            input_size = arch.embedding_dim
        recurrent = {"rnn": nn.RNN, "lstm": nn.LSTM}[cell]
        extra = {"nonlinearity": "tanh"} if cell == "rnn" else {}
        self.rnn = recurrent(
            input_size,
            arch.hidden_size,
            num_layers=arch.num_layers,
            bidirectional=arch.bidirectional,
            dropout=arch.dropout if arch.num_layers > 1 else 0.0,
            batch_first=True,
            **extra,
        )
        directions = 2 if arch.bidirectional else 1
        self.dropout = nn.Dropout(arch.dropout)
        self.head = nn.Linear(directions * arch.hidden_size, inputs.n_classes)

    def forward(self, x: torch.Tensor, lengths: torch.Tensor | None = None) -> torch.Tensor:
        """Logits (B, n_classes) for padded inputs x: ids (B, T) or frames (B, T, C)."""
        if lengths is None:  # no lengths (e.g. MLflow's pyfunc): ids count up to padding, frames are all valid
            lengths = (x != self.pad_index).sum(dim=1) if self.embedding is not None else torch.full(
                (x.shape[0],), x.shape[1], dtype=torch.long
            )
        lengths = lengths.clamp(min=1).cpu()
        inputs = self.embedding(x) if self.embedding is not None else x  # (B, T, C)
        packed = pack_padded_sequence(inputs, lengths, batch_first=True, enforce_sorted=False)
        outputs, hidden = self.rnn(packed)
        if self.readout == "last":
            h_n = hidden[0] if isinstance(hidden, tuple) else hidden  # (layers * directions, B, H)
            directions = 2 if self.rnn.bidirectional else 1
            features = torch.cat(list(h_n[-directions:]), dim=-1)  # (B, directions * H)
        else:
            padded, _ = pad_packed_sequence(outputs, batch_first=True)  # (B, T', directions * H)
            mask = (torch.arange(padded.shape[1])[None, :] < lengths[:, None]).to(padded.device)[..., None]
            if self.readout == "mean":
                features = (padded * mask).sum(dim=1) / lengths.to(padded.device)[:, None]
            else:
                features = padded.masked_fill(~mask, float("-inf")).max(dim=1).values
        return self.head(self.dropout(features))


def build_model(name: str, inputs: InputSpec, arch: ArchitectureConfig) -> nn.Module:
    """The named model for these inputs; an unknown name lists the valid ones."""
    if name == "mlp":
        return MLP(inputs.tabular_dim, arch.hidden_sizes, inputs.n_classes, arch.dropout)
    if name in ("rnn", "lstm"):
        return RecurrentClassifier(name, inputs, arch)
    raise ValueError(f"unknown model {name!r}; valid models are {', '.join(MODELS)}")


def count_parameters(model: nn.Module) -> int:
    """Trainable parameters."""
    return sum(p.numel() for p in model.parameters() if p.requires_grad)
