"""The project's training loop against a bare PyTorch loop: same model, same data, same epochs with validation.

    python benchmarks/train_step.py [--device cpu|cuda|auto] [--epochs 2] [--seconds 2] [--n-train 1000]
        [--features results/features/fsdd results/features/mr]

The bare loop keeps its inputs ready on the device (padded once, or one dense matrix), copies an epoch's
indices there at once, keeps the sequences' lengths on the host, sums its loss and correct predictions on the
device, and synchronises once per epoch; the project loop is `seqsuite.training.fit` as a
training job runs it (per-batch padding, the policy, the checkpointable progress). Without --features the data
are generated with the shapes of the default datasets' features (FSDD: 40 MFCCs per 10 ms frame, 80 summary
values; MR: token ids of a 20,000-word vocabulary, TF-IDF over 50,000 n-grams). Each loop runs as many epochs
as last about --seconds (at least --epochs), three times, alternating with the other, and keeps its fastest.
Prints examples per second of both and their ratio (project / bare) per dataset and model; the last line is
`ratio <the minimum over them>`.
"""

from __future__ import annotations

import argparse
import math
import time
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import torch
import yaml
from scipy import sparse
from torch import nn
from torch.nn import functional
from torch.nn.utils.rnn import pad_sequence

from seqsuite.batches import SequenceData, TabularData
from seqsuite.devices import resolve_device, to_device
from seqsuite.features.store import FeatureSet, SplitFeatures, load_features
from seqsuite.steps.runner import train_plan
from seqsuite.steps.train import DatasetRun

REPO = Path(__file__).resolve().parents[1]
MODELS = ("mlp", "rnn", "lstm")


def speech_like(n: dict[str, int], rng: np.random.Generator) -> FeatureSet:
    """FSDD's shapes: 10 digits, 25-100 frames of 40 MFCCs, 80 summary values per recording."""
    splits = {}
    for name, count in n.items():
        sequences = [rng.standard_normal((int(rng.integers(25, 101)), 40)).astype(np.float32) for _ in range(count)]
        tabular = sparse.csr_matrix(np.stack([np.concatenate([s.mean(0), s.std(0)]) for s in sequences]))
        splits[name] = SplitFeatures(sequences, tabular, rng.integers(0, 10, count))
    return FeatureSet(splits, meta(kind="speech", labels=10, vocab_size=None, sequence_dim=40, tabular_dim=80))


def text_like(n: dict[str, int], rng: np.random.Generator) -> FeatureSet:
    """MR's shapes: 2 labels, 5-60 token ids of 20,000 words, TF-IDF rows of about 40 of 50,000 n-grams."""
    splits = {}
    for name, count in n.items():
        sequences = [rng.integers(2, 20_000, int(rng.integers(5, 61))) for _ in range(count)]
        tabular = sparse.random(count, 50_000, density=40 / 50_000, format="csr", dtype=np.float32, random_state=rng)
        splits[name] = SplitFeatures(sequences, tabular, rng.integers(0, 2, count))
    return FeatureSet(splits, meta(kind="text", labels=2, vocab_size=20_000, sequence_dim=None, tabular_dim=50_000))


def meta(kind: str, labels: int, **dims: int | None) -> dict:
    return {"dataset": f"{kind}-like", "kind": kind, "labels": [str(i) for i in range(labels)], "pad_index": 0,
            "settings": {}, "n_train": 0, "n_val": 0, "n_test": 0, **dims}


def on_device(data: SequenceData | TabularData, device: torch.device) -> tuple[torch.Tensor, np.ndarray | None]:
    """The whole split ready on the device: the padded sequences, or the dense matrix; and, for sequences, their
    lengths on the host (to cut a batch to its longest sequence, and for packing, without asking the device)."""
    if isinstance(data, TabularData):
        return torch.from_numpy(data.matrix.toarray()).to(device), None
    padded = pad_sequence(data.sequences, batch_first=True, padding_value=data.pad_value)
    return padded.to(device), np.array([len(s) for s in data.sequences])


def bare_loop(plan: DatasetRun, epochs: int) -> float:
    """Seconds for the epochs: Adam, clipping, validation accuracy after each epoch, one synchronisation each."""
    model, device, optim = plan.model.to(plan.device), plan.device, plan.optim
    optimizer = torch.optim.Adam(model.parameters(), lr=optim.lr, weight_decay=optim.weight_decay)
    splits = {s: (*on_device(plan.data[s], device), plan.data[s].labels.to(device)) for s in ("train", "val")}
    rng = np.random.default_rng(plan.seed)

    def batches(split: str, order: np.ndarray) -> Iterator[tuple[tuple[torch.Tensor, ...], torch.Tensor]]:
        """The split's batches in this order: its indices cross to the device in one copy."""
        tensor, host_lengths, labels = splits[split]
        on_device_order = to_device(torch.from_numpy(order), device)
        for start in range(0, len(order), optim.batch_size):
            index, chosen = order[start:start + optim.batch_size], on_device_order[start:start + optim.batch_size]
            if host_lengths is None:
                yield (tensor[chosen],), labels[chosen]
            else:
                lengths = torch.from_numpy(host_lengths[index])
                yield (tensor[chosen][:, :lengths.max()], lengths), labels[chosen]

    started = time.perf_counter()
    for _ in range(epochs):
        model.train()
        loss_sum = torch.zeros((), device=device)
        for batch, targets in batches("train", rng.permutation(len(plan.data["train"]))):
            loss = functional.cross_entropy(model(*batch), targets)
            optimizer.zero_grad()
            loss.backward()
            if optim.clip_norm:
                nn.utils.clip_grad_norm_(model.parameters(), optim.clip_norm)
            optimizer.step()
            loss_sum += loss.detach()
        model.eval()
        correct = torch.zeros((), dtype=torch.int64, device=device)
        with torch.no_grad():
            for batch, targets in batches("val", np.arange(len(plan.data["val"]))):
                correct += (model(*batch).argmax(1) == targets).sum()
        float(loss_sum), int(correct)  # noqa: B018 - the one synchronisation per epoch
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--device", default="cpu", help="auto, cpu or cuda")
    parser.add_argument("--epochs", type=int, default=2, help="at least this many epochs per loop")
    parser.add_argument("--seconds", type=float, default=2.0, help="at least about this long per loop")
    parser.add_argument("--n-train", type=int, default=1000, help="training examples (generated data)")
    parser.add_argument("--features", nargs="*", type=Path, default=[], help="results/features/<dataset> to use")
    parser.add_argument("--threads", type=int, default=1, help="torch threads (a training job's default is 1)")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    device = resolve_device(args.device)
    config = yaml.safe_load((REPO / "config" / "config.yaml").read_text())
    sizes = {"train": args.n_train, "val": args.n_train // 5, "test": 8}
    rng = np.random.default_rng(0)
    datasets = [load_features(folder) for folder in args.features] or [speech_like(sizes, rng), text_like(sizes, rng)]
    print(f"device: {device}" + (f" ({torch.cuda.get_device_name(device)})" if device.type == "cuda" else
                                 f", {args.threads} thread(s)"))
    ratios = []
    for features in datasets:
        n_train = len(features.splits["train"].labels)
        for model in MODELS:
            settings = config["training"][features.meta["kind"]][model]
            # enough epochs for a loop to last about --seconds (a fast model's epoch takes milliseconds)
            epoch = bare_loop(DatasetRun(features, model, 0, settings, device), 1)
            epochs = max(args.epochs, math.ceil(args.seconds / epoch))
            settings = {**settings, "max_epochs": epochs, "patience": epochs}
            seconds = {"project": [], "bare": []}
            for _ in range(3):
                seconds["bare"].append(bare_loop(DatasetRun(features, model, 0, settings, device), epochs))
                seconds["project"].append(train_plan(DatasetRun(features, model, 0, settings, device)).train_seconds)
            speed = {loop: epochs * n_train / min(times) for loop, times in seconds.items()}
            ratios.append(speed["project"] / speed["bare"])
            print(f"{features.meta['dataset']:>12} {model:>5}: project {speed['project']:9.0f} ex/s, "
                  f"bare {speed['bare']:9.0f} ex/s, ratio {ratios[-1]:.3f}", flush=True)
    print(f"ratio {min(ratios):.3f}")


if __name__ == "__main__":
    main()
