"""The training loop under both policies: it learns, repeats with a seed, keeps the best validation weights
(patience), stops on its criterion or budget (budget), and names a NaN loss."""

from __future__ import annotations

import warnings
from collections.abc import Callable

import numpy as np
import pytest
import torch
from scipy import sparse

from seqsuite import batches
from seqsuite.batches import Batches, SequenceData, TabularData, TensorData
from seqsuite.devices import resolve_device
from seqsuite.models.build import ArchitectureConfig, InputSpec, build_model
from seqsuite.policies import Budget, Patience
from seqsuite.steps.train import divergence
from seqsuite.training import (
    NonFiniteLossError,
    Objective,
    OptimConfig,
    evaluate,
    fit,
    seed_everything,
)

CPU = torch.device("cpu")


def order_task(n: int, seed: int) -> SequenceData:
    """Class 1 when the first value of a variable-length sequence is positive: needs memory, not the last step."""
    rng = np.random.default_rng(seed)
    sequences, labels = [], []
    for _ in range(n):
        values = rng.standard_normal((rng.integers(3, 8), 2)).astype(np.float32)
        sequences.append(torch.from_numpy(values))
        labels.append(int(values[0, 0] > 0))
    return SequenceData(sequences, torch.tensor(labels))


def validation(data: SequenceData | TabularData, batch_size: int = 32):
    """The datasets' per-epoch validation record."""
    def validate(model: torch.nn.Module) -> dict[str, float]:
        result = evaluate(model, data, batch_size)
        return {"val_loss": result.loss, "val_accuracy": result.accuracy}
    return validate


def train_lstm(seed: int, epochs: int = 12):
    seed_everything(seed)
    model = build_model("lstm", InputSpec(n_outputs=2, sequence_dim=2),
                        ArchitectureConfig(hidden_size=16, readout="last"))
    result = fit(model, order_task(256, 0), validation(order_task(64, 1)), Objective(),
                 OptimConfig(lr=0.01, batch_size=32), Patience(epochs, epochs), seed, CPU)
    return model, result


def test_lstm_learns_a_task_that_needs_memory():
    model, result = train_lstm(seed=0)
    assert result.history[0]["val_accuracy"] < 0.85
    assert evaluate(model, order_task(128, 2), 64).accuracy > 0.9


def test_same_seed_repeats_exactly_and_another_seed_differs():
    first, second, other = train_lstm(3, epochs=3)[1], train_lstm(3, epochs=3)[1], train_lstm(4, epochs=3)[1]
    assert first.history == second.history
    assert first.history != other.history


def test_model_keeps_the_weights_of_its_best_validation_epoch():
    model, result = train_lstm(seed=1, epochs=6)
    best = max(result.history, key=lambda r: (r["val_accuracy"], -r["val_loss"]))
    assert result.kept_round == best["epoch"]
    evaluation = evaluate(model, order_task(64, 1), 32)
    assert evaluation.accuracy == pytest.approx(best["val_accuracy"])
    assert evaluation.loss == pytest.approx(best["val_loss"], rel=1e-5)


def test_early_stopping_stops_after_patience_epochs_without_improvement():
    seed_everything(0)
    model = build_model("mlp", InputSpec(n_outputs=2, tabular_dim=3), ArchitectureConfig(hidden_sizes=[4]))
    rng = np.random.default_rng(0)
    noise = TabularData(sparse.csr_matrix(rng.standard_normal((64, 3)).astype(np.float32)),
                        torch.from_numpy(rng.integers(0, 2, 64)))
    result = fit(model, noise, validation(noise), Objective(), OptimConfig(lr=0.0), Patience(50, 3), 0, CPU)
    assert len(result.history) == 4 and result.kept_round == 1  # lr 0: nothing ever improves
    assert result.stopped_early and result.updates == 4 * 2


def sparse_task(n: int, seed: int) -> TabularData:
    """TF-IDF-like rows: 200 columns, a few non-zero in each, the label in which of two column ranges they fall."""
    rng = np.random.default_rng(seed)
    labels = rng.integers(0, 2, n)
    rows = [rng.choice(100, 4, replace=False) + 100 * label for label in labels]
    values = rng.uniform(0.1, 1, (n, 4)).astype(np.float32)
    matrix = sparse.csr_matrix((values.ravel(), np.concatenate(rows), np.arange(0, 4 * n + 1, 4)), shape=(n, 200))
    return TabularData(matrix, torch.from_numpy(labels))


def store_rows(monkeypatch, layout: str) -> None:
    """Make TabularData keep its rows dense, padded, or on the host (as a split too large to make dense once and
    too uneven to pad)."""
    monkeypatch.setattr(batches, "DENSE_TABULAR_LIMIT", 2**25 if layout == "dense" else 0)
    if layout == "host":
        monkeypatch.setattr(batches, "PADDED_ROWS_GROWTH", 0)
        monkeypatch.setattr(batches, "PADDED_ROWS_FLOOR", 0)


def train_mlp_on_rows(layout: str, monkeypatch) -> tuple[torch.nn.Module, list[dict[str, float]]]:
    store_rows(monkeypatch, layout)
    train, val = sparse_task(96, 0), sparse_task(32, 1)
    assert (train.dense is not None, train.columns is not None) == (layout == "dense", layout == "padded")
    seed_everything(0)
    model = build_model("mlp", InputSpec(n_outputs=2, tabular_dim=200), ArchitectureConfig(hidden_sizes=[8]))
    result = fit(model, train, validation(val), Objective(), OptimConfig(lr=0.01, batch_size=16), Patience(4, 4),
                 0, CPU)
    return model, result.history


@pytest.mark.parametrize("layout", ["padded", "host"])
def test_padded_or_host_rows_make_the_same_dense_batches_as_scipy_empty_unsorted_and_repeated_columns_included(
        layout, monkeypatch):
    store_rows(monkeypatch, layout)
    # row 0: columns 3, 1, 3 (3 twice: summed) and a stored -0.0; row 1 empty; row 2: one entry; row 3 empty
    matrix = sparse.csr_matrix((np.array([1, 2, 4, -0.0, -0.5], np.float32), [3, 1, 3, 4, 0], [0, 4, 4, 5, 5]),
                               shape=(4, 5))
    data = TabularData(matrix, torch.arange(4))
    assert data.dense is None
    # padded: the longest row has three distinct columns
    assert data.columns is None if layout == "host" else data.columns.shape == (4, 3)
    order = [np.array([3, 0]), np.array([2, 1, 0])]
    made = list(data.batches(order))
    for index, ((rows,), targets) in zip(order, made, strict=True):
        expected = torch.from_numpy(matrix[index].toarray())
        assert torch.equal(rows, expected) and torch.equal(rows.signbit(), expected.signbit())
        assert targets.tolist() == index.tolist()
    assert list(data.batches([])) == []


@pytest.mark.parametrize("layout", ["padded", "host"])
def test_rows_too_large_to_make_dense_once_train_to_the_last_digit_as_dense_ones(layout, monkeypatch):
    dense_model, dense_history = train_mlp_on_rows("dense", monkeypatch)
    sparse_model, sparse_history = train_mlp_on_rows(layout, monkeypatch)
    assert sparse_history == dense_history and dense_history[-1]["val_accuracy"] > 0.9
    assert all(torch.equal(a, b) for a, b in zip(dense_model.state_dict().values(),
                                                 sparse_model.state_dict().values(), strict=True))


def test_padded_rows_are_kept_unless_one_long_row_makes_them_many_times_the_entries(monkeypatch):
    rows = np.zeros((100, 1000), np.float32)
    rows[:, :10] = 1  # every row 10 entries: 1,000 slots for 1,000 entries
    even = sparse.csr_matrix(rows)
    rows[0, :50] = 1  # one row of 50: 5,000 slots for 1,040 entries
    uneven = sparse.csr_matrix(rows)
    assert batches.pads_well(even) and batches.pads_well(uneven)  # both under the floor's 2**24 slots
    monkeypatch.setattr(batches, "PADDED_ROWS_FLOOR", 0)
    assert batches.pads_well(even) and not batches.pads_well(uneven)
    monkeypatch.setattr(batches, "PADDED_ROWS_FLOOR", 5000)
    assert batches.pads_well(uneven)


def test_data_on_another_device_than_the_model_trains_on_is_named():
    model = build_model("mlp", InputSpec(n_outputs=2, tabular_dim=200), ArchitectureConfig(hidden_sizes=[8]))
    data = sparse_task(16, 0)
    with pytest.raises(ValueError, match="the training data are on cpu but the model is to train on meta: make "
                                         "them with device=meta"):
        fit(model, data, validation(data), Objective(), OptimConfig(), Patience(1, 1), 0, torch.device("meta"))


def test_nan_loss_stops_with_advice():
    seed_everything(0)
    model = build_model("mlp", InputSpec(n_outputs=2, tabular_dim=2), ArchitectureConfig(hidden_sizes=[4]))
    data = TabularData(sparse.csr_matrix(np.array([[np.nan, 1.0], [0.0, 1.0]], dtype=np.float32)),
                       torch.tensor([0, 1]))
    with pytest.raises(NonFiniteLossError, match=r"loss became nan at update 1 \(epoch 1\); lower the learning rate"):
        fit(model, data, validation(data), Objective(), OptimConfig(), Patience(5, 5), 0, CPU)


def sum_task(n: int, seed: int) -> TensorData:
    """A regression on equal-length sequences: the sum of the first channel."""
    x = torch.from_numpy(np.random.default_rng(seed).uniform(0, 1, (n, 6, 2)).astype(np.float32))
    return TensorData(x, x[:, :, 0].sum(dim=1))


def mse_validation(data: TensorData):
    def validate(model: torch.nn.Module) -> dict[str, float]:
        with torch.no_grad():
            return {"val_score": float(((model(data.x).squeeze(-1) - data.y) ** 2).mean())}
    return validate


def fit_sum(solved_at: float, max_updates: int = 250, seed: int = 0, checkpoint=None):
    seed_everything(seed)
    model = build_model("mlp", InputSpec(n_outputs=1, tabular_dim=12), ArchitectureConfig(hidden_sizes=[16]))
    policy = Budget(max_updates=max_updates, eval_every=40, solved_at=solved_at)
    return fit(model, sum_task(512, 0), mse_validation(sum_task(128, 1)), Objective(regression=True),
               OptimConfig(lr=0.01, batch_size=16), policy, seed, CPU, checkpoint=checkpoint)


def test_budget_policy_validates_every_eval_every_updates_and_after_the_last():
    result = fit_sum(solved_at=0.0)  # never met: the budget runs out
    assert [r["step"] for r in result.history] == [40, 80, 120, 160, 200, 240, 250]
    assert result.updates == 250 and not result.stopped_early and result.kept_round == 250
    assert result.history[-1]["val_score"] < result.history[0]["val_score"] / 4  # it learns the sum


def test_budget_policy_stops_once_validation_meets_the_criterion_and_repeats_with_its_seed():
    unsolved = fit_sum(solved_at=0.0)
    threshold = unsolved.history[2]["val_score"]
    solved = fit_sum(solved_at=threshold)
    assert solved.stopped_early and solved.updates == 120 and len(solved.history) == 3
    assert solved.history == unsolved.history[:3]  # the same seed draws the same batches
    assert fit_sum(solved_at=0.0, seed=1).history != unsolved.history


def test_device_auto_falls_back_to_cpu_and_cuda_without_gpu_says_so():
    if torch.cuda.is_available():
        pytest.skip("a GPU is present")
    assert resolve_device("auto") == CPU
    with pytest.raises(RuntimeError, match="no CUDA GPU is visible; set device: auto or cpu"):
        resolve_device("cuda")


def test_a_run_whose_training_loss_stays_above_twice_the_label_entropy_counts_as_diverged():
    labels = np.array([0, 1] * 50)
    assert divergence(0.5, labels) is None and divergence(1.38, labels) is None  # ln 2 = 0.693
    assert divergence(1.3e16, labels) == ("training loss 1.3e+16 at its kept epoch, above 2 x 0.693 (the loss of "
                                          "predicting the label frequencies)")
    assert divergence(float("inf"), labels) is not None


def token_task(n: int, seed: int) -> SequenceData:
    """order_task's sequences as token ids (1 or 2 by each value's sign, 0 pads): a text model's input."""
    task = order_task(n, seed)
    return SequenceData([(s[:, 0] > 0).long() + 1 for s in task.sequences], task.labels)


def gpu_waits(model_name: str, task: Callable[[int, int], Batches], readout: str, n_train: int) -> list[str]:
    """Where the host waited for the GPU while a model trained for two epochs on n_train examples."""
    cuda = torch.device("cuda")
    train, val = task(n_train, 0), task(50, 1)
    if isinstance(train, TabularData):
        train, val = (TabularData(split.matrix, split.labels, cuda) for split in (train, val))
    else:
        train, val = (SequenceData(split.sequences, split.labels, device=cuda) for split in (train, val))
    inputs = {sparse_task: InputSpec(n_outputs=2, tabular_dim=200), order_task: InputSpec(n_outputs=2, sequence_dim=2),
              token_task: InputSpec(n_outputs=2, vocab_size=3, pad_index=0)}[task]
    seed_everything(0)
    model = build_model(model_name, inputs, ArchitectureConfig(hidden_sizes=[8], hidden_size=8, embedding_dim=4,
                                                               readout=readout))
    torch.cuda.set_sync_debug_mode("warn")
    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            fit(model, train, validation(val), Objective(), OptimConfig(batch_size=10), Patience(2, 2), 0, cuda)
    finally:
        torch.cuda.set_sync_debug_mode("default")
    return [f"{w.filename}:{w.lineno}" for w in caught if "synchronizing" in str(w.message)]


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU")
@pytest.mark.parametrize(("model_name", "task", "readout"), [
    ("mlp", sparse_task, "last"), ("lstm", order_task, "mean"), ("rnn", order_task, "last"),
    ("lstm", token_task, "max"),
])
def test_on_a_gpu_the_host_waits_a_few_times_a_round_however_many_updates_it_has(model_name, task, readout,
                                                                                   monkeypatch):
    monkeypatch.setattr(batches, "DENSE_TABULAR_LIMIT", 0)  # the MLP reads padded rows, as MR's on a GPU
    few, many = (gpu_waits(model_name, task, readout, n) for n in (100, 400))  # 10 and 40 updates a round
    # the model's copy to the GPU, then each round's reads: its losses and correct count, the validation's
    assert len(few) == len(many) < 20, many
