"""Long-dependency lab: the generated tasks, the explicit LSTM cell, and gradient norms through time."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from torch import nn

from seqsuite.longdep.tasks import ADDING_BASELINE_MSE, ORDER_CLASSES, SYMBOLS, adding_problem, generate
from seqsuite.models.cells import GatedLSTMCell, TanhRNNCell, hidden_gradient_norms, unroll


def test_adding_problem_marks_one_step_per_half_and_sums_them():
    x, y = adding_problem(2000, 50, np.random.default_rng(0))
    assert x.shape == (2000, 50, 2) and y.shape == (2000,)
    markers = x[:, :, 1]
    assert (markers.sum(axis=1) == 2).all()
    assert (markers[:, :25].sum(axis=1) == 1).all() and (markers[:, 25:].sum(axis=1) == 1).all()
    np.testing.assert_allclose(y, (x[:, :, 0] * markers).sum(axis=1), rtol=1e-6)
    assert np.mean((y - 1.0) ** 2) == pytest.approx(ADDING_BASELINE_MSE, abs=0.02)


def test_temporal_order_class_is_the_order_of_x_and_y():
    arrays = generate("temporal_order", 100, seed=3, sizes={"test": 500})
    x, y = arrays["test_x"], arrays["test_y"]
    ids = x.argmax(axis=-1)
    assert (ids[:, 0] == SYMBOLS.index("B")).all() and (ids[:, -1] == SYMBOLS.index("E")).all()
    relevant = np.isin(ids, [SYMBOLS.index("X"), SYMBOLS.index("Y")])
    assert (relevant.sum(axis=1) == 2).all()
    first, second = (ids[relevant].reshape(-1, 2) == SYMBOLS.index("Y")).T
    assert (y == 2 * first + second).all() and set(y) == set(range(len(ORDER_CLASSES)))
    positions = np.argwhere(relevant)[:, 1].reshape(-1, 2)
    assert positions[:, 0].max() < 20 and positions[:, 1].min() >= 50  # the gap spans ~0.3-0.5 T


def test_generated_sets_repeat_by_seed_and_differ_across_seeds_and_lengths():
    sizes = {"train": 50, "test": 20}
    first, again = generate("adding", 30, 1, sizes), generate("adding", 30, 1, sizes)
    assert all(np.array_equal(first[k], again[k]) for k in first)
    assert not np.array_equal(first["train_x"], generate("adding", 30, 2, sizes)["train_x"])
    with pytest.raises(ValueError, match="unknown task 'copy'; tasks are adding, temporal_order"):
        generate("copy", 30, 1, sizes)


def test_gated_cell_reproduces_a_trained_nn_lstm():
    torch.manual_seed(0)
    lstm = nn.LSTM(3, 8, batch_first=True)
    optimizer = torch.optim.Adam(lstm.parameters(), lr=0.05)
    x = torch.randn(16, 12, 3)
    for _ in range(20):  # move the weights away from their initial values
        optimizer.zero_grad()
        lstm(x)[0].pow(2).mean().backward()
        optimizer.step()
    expected, _ = lstm(x)
    hidden, gates = unroll(GatedLSTMCell.from_lstm(lstm), x)
    torch.testing.assert_close(torch.stack(hidden, dim=1), expected, rtol=0, atol=1e-6)
    assert set(gates) == {"input", "forget", "output"} and gates["forget"].shape == (16, 12, 8)


def test_cell_without_forget_gate_keeps_its_cell_state():
    cell = GatedLSTMCell(2, 4, forget_gate=False)
    _, gates = unroll(cell, torch.randn(3, 5, 2))
    assert torch.equal(gates["forget"], torch.ones(3, 5, 4))


def test_tanh_cell_reproduces_nn_rnn():
    torch.manual_seed(1)
    rnn = nn.RNN(3, 6, batch_first=True)
    x = torch.randn(4, 9, 3)
    hidden, _ = unroll(TanhRNNCell(rnn), x)
    torch.testing.assert_close(torch.stack(hidden, dim=1), rnn(x)[0], rtol=0, atol=1e-6)


def test_gradient_reaches_only_the_last_state_without_recurrence_and_fades_in_a_contracting_rnn():
    torch.manual_seed(2)
    rnn = nn.RNN(2, 16, batch_first=True)
    head = nn.Linear(16, 1)
    x = torch.randn(8, 30, 2)

    def loss(prediction: torch.Tensor) -> torch.Tensor:
        return prediction.pow(2).mean()

    with torch.no_grad():
        rnn.weight_hh_l0.zero_()
    norms = hidden_gradient_norms(TanhRNNCell(rnn), head, x, loss)
    assert norms.shape == (30,) and norms[-1] > 0 and torch.all(norms[:-1] == 0)
    with torch.no_grad():
        rnn.weight_hh_l0.copy_(0.3 * torch.eye(16))
    norms = hidden_gradient_norms(TanhRNNCell(rnn), head, x, loss)
    assert torch.all(norms[1:] > norms[:-1])  # each step further from the output gets less
    assert norms[0] < 1e-10 * norms[-1]  # 0.3 ** 29 and tanh' <= 1
