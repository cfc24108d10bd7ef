"""The recurrent models: a torch.nn recurrent layer (tanh RNN, LSTM, ...) over variable-length sequences,
read out by a linear head; the LSTMs' forget gate set up as the registry entry says."""

from __future__ import annotations

import torch
from torch import nn
from torch.nn.utils.rnn import PackedSequence, pack_padded_sequence, pad_packed_sequence

from seqsuite.devices import to_device
from seqsuite.models import ModelEntry
from seqsuite.models.config import ArchitectureConfig, InputSpec

READOUTS = ("last", "mean", "max")
# σ(30) is exactly 1.0 in float32 and its derivative exactly 0, so an nn.LSTM whose forget rows are zero
# with this bias computes the 1997 cell, keeps those rows fixed under training and runs at nn.LSTM's speed
# (GatedLSTMCell(forget_gate=False) reproduces it; tests/test_models.py checks both).
OPEN_FORGET_BIAS = 30.0


class SequenceClassifier(nn.Module):
    """The entry's recurrent layer over token embeddings or frames, then dropout and a linear head."""

    def __init__(self, entry: ModelEntry, inputs: InputSpec, arch: ArchitectureConfig) -> None:
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
        extra = {"nonlinearity": "tanh"} if entry.layer == "RNN" else {}
        self.recurrent = getattr(nn, entry.layer)(
            input_size,
            arch.hidden_size,
            num_layers=arch.num_layers,
            bidirectional=arch.bidirectional,
            dropout=arch.dropout if arch.num_layers > 1 else 0.0,
            batch_first=True,
            **extra,
        )
        if isinstance(self.recurrent, nn.LSTM):
            forget_bias = arch.forget_bias if entry.forget_bias is None else entry.forget_bias
            set_forget_gate(self.recurrent, forget_bias, entry.forget_gate)
        directions = 2 if arch.bidirectional else 1
        self.dropout = nn.Dropout(arch.dropout)
        self.head = nn.Linear(directions * arch.hidden_size, inputs.n_outputs)

    def forward(self, x: torch.Tensor, lengths: torch.Tensor | None = None) -> torch.Tensor:
        """Outputs (B, n_outputs) for padded ids (B, T) or frames (B, T, C) and their lengths (B,).

        Without lengths, token ids end where padding starts and frames fill all T steps (the lab's inputs).
        """
        inputs = self.embedding(x) if self.embedding is not None else x  # (B, T, C)
        if lengths is None and self.embedding is None:
            outputs, hidden = self.recurrent(inputs)  # (B, T, directions * H): nothing to pack
            lengths = torch.full((x.shape[0],), x.shape[1], dtype=torch.long)
        else:
            if lengths is None:
                lengths = (x != self.pad_index).sum(dim=1)
            lengths = lengths.clamp(min=1).cpu()
            packed = pack(inputs, lengths)
            outputs, hidden = self.recurrent(packed)
            if self.readout != "last":
                outputs = unpack(outputs)  # (B, T', directions * H)
        return self.head(self.dropout(self.read_out(outputs, hidden, lengths)))

    def read_out(self, outputs: torch.Tensor, hidden: torch.Tensor | tuple, lengths: torch.Tensor) -> torch.Tensor:
        """Features (B, directions * H): the final hidden state, or outputs pooled over the valid steps."""
        if self.readout == "last":
            h_n = hidden[0] if isinstance(hidden, tuple) else hidden  # (layers * directions, B, H)
            directions = 2 if self.recurrent.bidirectional else 1
            return torch.cat(list(h_n[-directions:]), dim=-1)
        # lengths are on the host (packing needs them there); copied to a GPU without waiting for its queued work
        lengths = to_device(lengths, outputs.device)
        mask = (torch.arange(outputs.shape[1], device=outputs.device)[None, :] < lengths[:, None])[..., None]
        if self.readout == "mean":
            return (outputs * mask).sum(dim=1) / lengths[:, None]
        return outputs.masked_fill(~mask, float("-inf")).max(dim=1).values


def pack(inputs: torch.Tensor, lengths: torch.Tensor) -> PackedSequence:
    """pack_padded_sequence(inputs, lengths, batch_first=True, enforce_sorted=False) for lengths on the host, its
    sort order and that order's inverse made there and copied to a GPU without waiting: torch's own copy waits for
    all the work queued on the GPU."""
    lengths, order = torch.sort(lengths, descending=True)
    inverse = torch.empty_like(order).scatter_(0, order, torch.arange(len(order)))
    order, inverse = to_device(order, inputs.device), to_device(inverse, inputs.device)
    packed = pack_padded_sequence(inputs.index_select(0, order), lengths, batch_first=True)
    return PackedSequence(packed.data, packed.batch_sizes, order, inverse)


def unpack(packed: PackedSequence) -> torch.Tensor:
    """pad_packed_sequence(packed, batch_first=True)'s padded outputs, without its copy of the order back to the
    host (which waits for the GPU)."""
    padded, _ = pad_packed_sequence(PackedSequence(packed.data, packed.batch_sizes), batch_first=True)
    return padded.index_select(0, packed.unsorted_indices)


def set_forget_gate(lstm: nn.LSTM, bias: float | None, learned: bool) -> None:
    """Start every forget gate at bias (None: PyTorch's initialisation), or fix it open (learned=False)."""
    if bias is None and learned:
        return
    forget = slice(lstm.hidden_size, 2 * lstm.hidden_size)  # PyTorch's gate order: input, forget, cell, output
    with torch.no_grad():
        for name, parameter in lstm.named_parameters():
            if name.startswith("bias_hh"):
                parameter[forget] = 0.0
            elif name.startswith("bias_ih"):
                parameter[forget] = bias if learned else OPEN_FORGET_BIAS
            elif not learned:
                parameter[forget] = 0.0  # the weights: f_t no longer depends on x_t or h_{t-1}
