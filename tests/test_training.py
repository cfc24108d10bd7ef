"""Training: it learns, repeats with a seed, keeps the best validation weights, and names a NaN loss."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from scipy import sparse

from seqsuite.models import ArchitectureConfig, InputSpec, build_model
from seqsuite.training import (
    NonFiniteLossError,
    OptimConfig,
    SequenceData,
    TabularData,
    evaluate,
    fit,
    resolve_device,
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


def train_lstm(seed: int, epochs: int = 12):
    seed_everything(seed)
    model = build_model("lstm", InputSpec(n_classes=2, sequence_dim=2),
                        ArchitectureConfig(hidden_size=16, readout="last"))
    result = fit(model, order_task(256, 0), order_task(64, 1),
                 OptimConfig(lr=0.01, batch_size=32, max_epochs=epochs, patience=epochs), seed, CPU)
    return model, result


def test_lstm_learns_a_task_that_needs_memory():
    model, result = train_lstm(seed=0)
    assert result.history[0]["val_accuracy"] < 0.85
    assert evaluate(model, order_task(128, 2), 64, CPU).accuracy > 0.9


def test_same_seed_repeats_exactly_and_another_seed_differs():
    first, second, other = train_lstm(3, epochs=3)[1], train_lstm(3, epochs=3)[1], train_lstm(4, epochs=3)[1]
    assert first.history == second.history
    assert first.history != other.history


def test_model_keeps_the_weights_of_its_best_validation_epoch():
    model, result = train_lstm(seed=1, epochs=6)
    best = max(result.history, key=lambda r: (r["val_accuracy"], -r["val_loss"]))
    assert result.best_epoch == best["epoch"]
    evaluation = evaluate(model, order_task(64, 1), 32, CPU)
    assert evaluation.accuracy == pytest.approx(best["val_accuracy"])
    assert evaluation.loss == pytest.approx(best["val_loss"], rel=1e-5)


def test_early_stopping_stops_after_patience_epochs_without_improvement():
    seed_everything(0)
    model = build_model("mlp", InputSpec(n_classes=2, tabular_dim=3), ArchitectureConfig(hidden_sizes=[4]))
    rng = np.random.default_rng(0)
    noise = TabularData(sparse.csr_matrix(rng.standard_normal((64, 3)).astype(np.float32)),
                        torch.from_numpy(rng.integers(0, 2, 64)))
    result = fit(model, noise, noise, OptimConfig(lr=0.0, max_epochs=50, patience=3), 0, CPU)
    assert len(result.history) == 4 and result.best_epoch == 1  # lr 0: nothing ever improves


def test_nan_loss_stops_with_advice():
    seed_everything(0)
    model = build_model("mlp", InputSpec(n_classes=2, tabular_dim=2), ArchitectureConfig(hidden_sizes=[4]))
    data = TabularData(sparse.csr_matrix(np.array([[np.nan, 1.0], [0.0, 1.0]], dtype=np.float32)),
                       torch.tensor([0, 1]))
    with pytest.raises(NonFiniteLossError, match=r"loss became nan in epoch 1; lower the learning rate"):
        fit(model, data, data, OptimConfig(), 0, CPU)


def test_device_auto_falls_back_to_cpu_and_cuda_without_gpu_says_so():
    if torch.cuda.is_available():
        pytest.skip("a GPU is present")
    assert resolve_device("auto") == CPU
    with pytest.raises(RuntimeError, match="no CUDA GPU is visible; set device: auto or cpu"):
        resolve_device("cuda")
