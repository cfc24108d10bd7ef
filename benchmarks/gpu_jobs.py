"""Several training jobs on one device: the aggregate throughput of k processes training at once.

    python benchmarks/gpu_jobs.py [--device cuda] [--jobs 1 2 4 8] [--model lstm] [--epochs 10] [--n-train 2000]

Each of k processes (one training job each, one CPU thread) generates the FSDD-like data of
benchmarks/train_step.py and trains one model with the project's loop (`train_plan`, as a training job does) for
--epochs on the device; the k processes start training together, once all have built their data and model.
Prints per k the aggregate examples per second (every process's training examples over the time from the first
start to the last end) and its ratio to one process; the last line is `ratio <the best aggregate over one
process's> at <its k> jobs`.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch
import yaml
from train_step import REPO, speech_like

from seqsuite.devices import resolve_device
from seqsuite.steps.runner import train_plan
from seqsuite.steps.train import DatasetRun

POLL_SECONDS = 0.01


def worker(args: argparse.Namespace) -> None:
    """Build the data and model, say so (a file), wait for the go file, train; print the start, end and examples."""
    torch.set_num_threads(1)
    settings = yaml.safe_load((REPO / "config" / "config.yaml").read_text())["training"]["speech"][args.model]
    settings = {**settings, "max_epochs": args.epochs, "patience": args.epochs}  # no early stop: every epoch runs
    features = speech_like({"train": args.n_train, "val": args.n_train // 5, "test": 8}, np.random.default_rng(0))
    plan = DatasetRun(features, args.model, 0, settings, resolve_device(args.device))
    folder = Path(args.worker)
    (folder / f"ready-{args.index}").touch()
    deadline = time.monotonic() + 600
    while not (folder / "go").exists() and time.monotonic() < deadline:
        time.sleep(POLL_SECONDS)
    started = time.time()
    train_plan(plan)
    print(json.dumps({"started": started, "ended": time.time(), "examples": args.epochs * args.n_train}))


def aggregate(args: argparse.Namespace, jobs: int) -> float:
    """Examples per second of `jobs` processes training together."""
    with tempfile.TemporaryDirectory() as folder:
        command = [sys.executable, __file__, "--worker", folder, "--device", args.device, "--model", args.model,
                   "--epochs", str(args.epochs), "--n-train", str(args.n_train)]
        processes = [subprocess.Popen([*command, "--index", str(i)], stdout=subprocess.PIPE, text=True)
                     for i in range(jobs)]
        deadline = time.monotonic() + 600
        while len(list(Path(folder).glob("ready-*"))) < jobs and time.monotonic() < deadline:
            if any(process.poll() not in (None, 0) for process in processes):
                break
            time.sleep(POLL_SECONDS)
        (Path(folder) / "go").touch()
        runs = []
        for process in processes:
            output, _ = process.communicate(timeout=1200)
            if process.returncode != 0:
                raise SystemExit(f"a training process failed (exit {process.returncode})")
            runs.append(json.loads(output.splitlines()[-1]))
    span = max(run["ended"] for run in runs) - min(run["started"] for run in runs)
    return sum(run["examples"] for run in runs) / span


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--device", default="cuda", help="auto, cpu or cuda")
    parser.add_argument("--jobs", nargs="+", type=int, default=[1, 2, 4, 8], help="processes at once, from 1")
    parser.add_argument("--model", default="lstm", help="a model of training.speech in config/config.yaml")
    parser.add_argument("--epochs", type=int, default=10)
    parser.add_argument("--n-train", type=int, default=2000, help="training examples (generated)")
    parser.add_argument("--worker", help=argparse.SUPPRESS)
    parser.add_argument("--index", type=int, default=0, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        worker(args)
        return
    device = resolve_device(args.device)
    print(f"device: {device}" + (f" ({torch.cuda.get_device_name(device)})" if device.type == "cuda" else ""))
    speeds = {jobs: aggregate(args, jobs) for jobs in args.jobs}
    for jobs, speed in speeds.items():
        print(f"{jobs:>3} jobs: {speed:9.0f} examples/s together, {speed / speeds[args.jobs[0]]:.2f}x {args.jobs[0]}",
              flush=True)
    best = max(speeds, key=speeds.get)
    print(f"ratio {speeds[best] / speeds[args.jobs[0]]:.2f} at {best} jobs")


if __name__ == "__main__":
    main()
