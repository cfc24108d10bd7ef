"""Train every default model and seed on extracted features on one device and compare with a CPU run.

    python benchmarks/gpu_vs_cpu.py --device cuda --features results/features/fsdd results/features/mr \\
        [--reference results/report/summary.csv]

Prints, per dataset and model, mean test accuracy over seeds and mean training seconds on this device,
and, given a reference summary.csv (from a CPU run of the workflow), the CPU figures and the ratios.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import pandas as pd
import torch
import yaml

from seqsuite.devices import resolve_device
from seqsuite.features.store import load_features
from seqsuite.models import CHOICES
from seqsuite.steps.runner import train_plan
from seqsuite.steps.train import DatasetRun

REPO = Path(__file__).resolve().parents[1]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--device", default="cuda", help="auto, cpu or cuda")
    parser.add_argument("--features", nargs="+", type=Path, required=True, help="results/features/<dataset>")
    parser.add_argument("--models", nargs="+", default=list(CHOICES), choices=CHOICES, help="models to train")
    parser.add_argument("--seeds", nargs="+", type=int, default=[0, 1, 2], help="training seeds")
    parser.add_argument("--reference", type=Path, help="summary.csv of a CPU run to compare with")
    args = parser.parse_args()
    config = yaml.safe_load((REPO / "config" / "config.yaml").read_text())
    device = resolve_device(args.device)
    rows = []
    for folder in args.features:
        features = load_features(folder)
        for model in args.models:
            hyperparameters = config["training"][features.meta["kind"]][model]
            for seed in args.seeds:
                started = time.perf_counter()
                plan = DatasetRun(features, model, seed, hyperparameters, device)
                fitted = train_plan(plan)
                rows.append({"dataset": features.meta["dataset"], "model": model, "seed": seed,
                             "accuracy": plan.evaluate("test").accuracy, "train_seconds": fitted.train_seconds,
                             "wall_seconds": time.perf_counter() - started})
                print(rows[-1], flush=True)
    table = pd.DataFrame(rows).groupby(["dataset", "model"], sort=False).agg(
        n=("seed", "size"), accuracy=("accuracy", "mean"), accuracy_sd=("accuracy", "std"),
        train_seconds=("train_seconds", "mean"))
    if args.reference is not None:
        summary = pd.read_csv(args.reference)
        test = summary[summary["split"] == "test"].pivot_table(index=["dataset", "model"], columns="metric",
                                                               values="value", aggfunc="mean")
        table["cpu_accuracy"] = test["accuracy"]
        table["cpu_train_seconds"] = test["train_seconds"]
        table["speedup"] = table["cpu_train_seconds"] / table["train_seconds"]
    print(f"device: {device} ({torch.cuda.get_device_name(device) if device.type == 'cuda' else 'cpu'})")
    print(table.to_string(float_format=lambda x: f"{x:.4f}"))


if __name__ == "__main__":
    main()
