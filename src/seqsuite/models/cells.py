"""Recurrent layers written out step by step, so that every hidden state and gate can be read and differentiated.

GatedLSTMCell follows the equations of Hochreiter & Schmidhuber (1997) with the forget gate of Gers,
Schmidhuber & Cummins (2000), in PyTorch's gate order (input, forget, candidate, output):

    i_t = σ(W_i x_t + U_i h_{t-1} + b_i)      input gate: what enters the cell
    f_t = σ(W_f x_t + U_f h_{t-1} + b_f)      forget gate: what the cell keeps (1 without a forget gate)
    g_t = tanh(W_g x_t + U_g h_{t-1} + b_g)   candidate content
    o_t = σ(W_o x_t + U_o h_{t-1} + b_o)      output gate: what the cell shows
    c_t = f_t ⊙ c_{t-1} + i_t ⊙ g_t           the cell state: an additive path through time
    h_t = o_t ⊙ tanh(c_t)

GRUStepCell follows PyTorch's GRU (Cho et al. 2014), gates in its order (reset, update, candidate):

    r_t = σ(W_r x_t + b_ir + U_r h_{t-1} + b_hr)          reset gate: how much of h_{t-1} the candidate sees
    z_t = σ(W_z x_t + b_iz + U_z h_{t-1} + b_hz)          update gate: how much of h_{t-1} is kept
    n_t = tanh(W_n x_t + b_in + r_t ⊙ (U_n h_{t-1} + b_hn))
    h_t = (1 − z_t) ⊙ n_t + z_t ⊙ h_{t-1}                 a gated, additive path through time
"""

from __future__ import annotations

from collections.abc import Callable

import torch
from torch import nn

from seqsuite.models.recurrent import OPEN_FORGET_BIAS

Gates = dict[str, torch.Tensor]


class GatedLSTMCell(nn.Module):
    """One LSTM layer, one step at a time; forget_gate=False gives the 1997 cell (f_t = 1). State: (h, c)."""

    n_states = 2

    def __init__(self, input_size: int, hidden_size: int, forget_gate: bool = True) -> None:
        super().__init__()
        self.hidden_size = hidden_size
        self.forget_gate = forget_gate
        self.weight_ih = nn.Parameter(torch.empty(4 * hidden_size, input_size))  # W: (4H, D)
        self.weight_hh = nn.Parameter(torch.empty(4 * hidden_size, hidden_size))  # U: (4H, H)
        self.bias = nn.Parameter(torch.zeros(4 * hidden_size))  # b_ih + b_hh: (4H,)
        bound = hidden_size**-0.5
        nn.init.uniform_(self.weight_ih, -bound, bound)
        nn.init.uniform_(self.weight_hh, -bound, bound)

    @classmethod
    def from_layer(cls, lstm: nn.LSTM) -> GatedLSTMCell:
        """The first layer of a unidirectional nn.LSTM; a forget gate fixed open (the 1997 cell) is read as such."""
        forget = slice(lstm.hidden_size, 2 * lstm.hidden_size)
        return cls.from_lstm(lstm, forget_gate=not bool(torch.all(lstm.bias_ih_l0[forget] == OPEN_FORGET_BIAS)))

    @classmethod
    def from_lstm(cls, lstm: nn.LSTM, forget_gate: bool = True) -> GatedLSTMCell:
        """The first layer of a unidirectional nn.LSTM with its weights (without a forget gate, its rows go unused)."""
        if lstm.bidirectional or lstm.proj_size:
            raise ValueError("GatedLSTMCell reads a unidirectional nn.LSTM without projections")
        cell = cls(lstm.input_size, lstm.hidden_size, forget_gate).to(lstm.weight_ih_l0.dtype)
        with torch.no_grad():
            cell.weight_ih.copy_(lstm.weight_ih_l0)
            cell.weight_hh.copy_(lstm.weight_hh_l0)
            if lstm.bias:
                cell.bias.copy_(lstm.bias_ih_l0 + lstm.bias_hh_l0)
        return cell

    def forward(self, x: torch.Tensor, state: tuple[torch.Tensor, ...]) -> tuple[tuple[torch.Tensor, ...], Gates]:
        """One step: x (B, D), state (h, c) each (B, H) -> the new (h, c) and the gates, each (B, H)."""
        h, c = state
        pre = x @ self.weight_ih.T + h @ self.weight_hh.T + self.bias  # (B, 4H)
        i, f, g, o = pre.chunk(4, dim=1)
        i, g, o = torch.sigmoid(i), torch.tanh(g), torch.sigmoid(o)
        f = torch.sigmoid(f) if self.forget_gate else torch.ones_like(c)
        c = f * c + i * g
        h = o * torch.tanh(c)
        return (h, c), {"input": i, "forget": f, "output": o}


class TanhRNNCell(nn.Module):
    """h_t = tanh(W x_t + U h_{t-1} + b): the plain RNN, one step at a time. State: (h,)."""

    n_states = 1

    def __init__(self, rnn: nn.RNN) -> None:
        super().__init__()
        if rnn.bidirectional or rnn.nonlinearity != "tanh":
            raise ValueError("TanhRNNCell reads a unidirectional tanh nn.RNN")
        self.hidden_size = rnn.hidden_size
        self.weight_ih = nn.Parameter(rnn.weight_ih_l0.detach().clone())
        self.weight_hh = nn.Parameter(rnn.weight_hh_l0.detach().clone())
        bias = rnn.bias_ih_l0 + rnn.bias_hh_l0 if rnn.bias else torch.zeros(rnn.hidden_size)
        self.bias = nn.Parameter(bias.detach().clone())

    def forward(self, x: torch.Tensor, state: tuple[torch.Tensor, ...]) -> tuple[tuple[torch.Tensor, ...], Gates]:
        """One step: x (B, D), state (h,) with h (B, H) -> the new (h,); no gates."""
        (h,) = state
        return (torch.tanh(x @ self.weight_ih.T + h @ self.weight_hh.T + self.bias),), {}


class GRUStepCell(nn.Module):
    """The first layer of a unidirectional nn.GRU, one step at a time. State: (h,)."""

    n_states = 1

    def __init__(self, gru: nn.GRU) -> None:
        super().__init__()
        if gru.bidirectional:
            raise ValueError("GRUStepCell reads a unidirectional nn.GRU")
        self.hidden_size = gru.hidden_size
        self.weight_ih = nn.Parameter(gru.weight_ih_l0.detach().clone())  # (3H, D): r, z, n
        self.weight_hh = nn.Parameter(gru.weight_hh_l0.detach().clone())  # (3H, H)
        zeros = torch.zeros(3 * gru.hidden_size, dtype=gru.weight_ih_l0.dtype)
        self.bias_ih = nn.Parameter((gru.bias_ih_l0 if gru.bias else zeros).detach().clone())
        self.bias_hh = nn.Parameter((gru.bias_hh_l0 if gru.bias else zeros).detach().clone())

    def forward(self, x: torch.Tensor, state: tuple[torch.Tensor, ...]) -> tuple[tuple[torch.Tensor, ...], Gates]:
        """One step: x (B, D), state (h,) with h (B, H) -> the new (h,) and the reset and update gates (B, H)."""
        (h,) = state
        x_r, x_z, x_n = (x @ self.weight_ih.T + self.bias_ih).chunk(3, dim=1)
        h_r, h_z, h_n = (h @ self.weight_hh.T + self.bias_hh).chunk(3, dim=1)
        r, z = torch.sigmoid(x_r + h_r), torch.sigmoid(x_z + h_z)
        n = torch.tanh(x_n + r * h_n)
        return ((1 - z) * n + z * h,), {"reset": r, "update": z}


# The torch layers that have an explicit cell, and how to make it from a trained layer.
EXPLICIT_CELLS = {nn.LSTM: GatedLSTMCell.from_layer, nn.RNN: TanhRNNCell, nn.GRU: GRUStepCell}


def explicit_cell(recurrent: nn.Module) -> nn.Module:
    """The first layer of a trained recurrent layer as a step-by-step cell with the same weights."""
    if type(recurrent) not in EXPLICIT_CELLS:
        raise ValueError(f"no explicit cell for {type(recurrent).__name__}; there are cells for "
                         + ", ".join(f"nn.{layer.__name__}" for layer in EXPLICIT_CELLS))
    return EXPLICIT_CELLS[type(recurrent)](recurrent)


def unroll(cell: nn.Module, x: torch.Tensor) -> tuple[list[torch.Tensor], dict[str, torch.Tensor]]:
    """Run a cell over x (B, T, D): every hidden state h_1..h_T (each (B, H)) and the gates stacked (B, T, H)."""
    state = tuple(x.new_zeros(x.shape[0], cell.hidden_size) for _ in range(cell.n_states))
    hidden, gates = [], {}
    for t in range(x.shape[1]):
        state, step_gates = cell(x[:, t], state)
        hidden.append(state[0])
        for name, value in step_gates.items():
            gates.setdefault(name, []).append(value)
    return hidden, {name: torch.stack(values, dim=1) for name, values in gates.items()}


def hidden_gradient_norms(cell: nn.Module, head: nn.Module, x: torch.Tensor,
                          loss: Callable[[torch.Tensor], torch.Tensor]) -> torch.Tensor:
    """‖∂L/∂h_t‖ for every step t, averaged over the batch: (T,); the readout sees only h_T.

    Index T - 1 - d is the state d steps before the output (distance d), so a gradient that vanishes
    over time falls off towards index 0.
    """
    hidden, _ = unroll(cell, x)
    for h in hidden:
        h.retain_grad()
    loss(head(hidden[-1])).backward()
    return torch.stack([h.grad.norm(dim=1).mean() for h in hidden]).detach()
