"""What a dataset run costs outside training in an interpreter of its own, and as a later run of a shared one (as
a training job runs a model's seeds now).

    python benchmarks/runs_per_process.py [WORKDIR] [--dataset fsdd] [--models mlp rnn lstm] [--seeds 0 1 2]

WORKDIR is a folder where the default job ran; its results/features/<dataset>/ are read. Every (model, seed)
run is trained twice with the workflow's own step (`seqsuite.steps.train.train`) and settings
(config/config.yaml): once in a fresh interpreter per run, and once with all of a model's seeds one after another
in one interpreter, as a Snakemake training job trains them. Both write to a temporary MLflow store and folder,
never to WORKDIR's. A run's time outside training is its wall time less `train_seconds`: in its own
interpreter from the start of the interpreter to its exit; in the shared one from the end of the previous run
to its own end, when its metrics.json was written (the first run there pays the start-up, as in its own
interpreter). Prints both per model and
seed and whether the two test predictions are the same bytes; the last line is `ratio <median outside training
of the shared interpreter's later runs / median outside training in an interpreter of its own>`.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import yaml

from seqsuite.steps.train import train
from seqsuite.tracking import experiment_id

REPO = Path(__file__).resolve().parents[1]
OUTPUTS = {"metrics": "metrics.json", "checkpoint": "model.pt", "predictions": "predictions.csv"}


def run_file(folder: str, seed: int, name: str) -> Path:
    """One output (an OUTPUTS key) of a seed's run under a worker's folder."""
    return Path(folder) / f"seed{seed}" / OUTPUTS[name]


def worker(spec: dict) -> None:
    """Train spec's seeds one after another in this interpreter; print each run's end time and training time."""
    runs = {seed: {name: str(run_file(spec["folder"], seed, name)) for name in OUTPUTS} for seed in spec["seeds"]}
    train(features_dir=Path(spec["features"]), model_name=spec["model"], runs=runs,
          hyperparameters=spec["hyperparameters"], device="cpu", threads=1, tracking=spec["tracking"],
          rule=f"train_{spec['model']}", workflow_dir=REPO / "workflow" / "scripts", job_log="runs_per_process")
    for seed, outputs in runs.items():
        metrics = Path(outputs["metrics"])
        print(json.dumps({"seed": seed, "ended": metrics.stat().st_mtime,
                          "train_seconds": json.loads(metrics.read_text())["train_seconds"]}), flush=True)


def run_worker(spec: dict) -> tuple[float, float, list[dict]]:
    """A fresh interpreter running worker(spec): its start and end times and the runs it printed."""
    started = time.time()
    done = subprocess.run([sys.executable, __file__, "--worker", json.dumps(spec)], capture_output=True, text=True)
    ended = time.time()
    if done.returncode != 0:
        raise SystemExit(f"a benchmark run failed:\n{done.stderr[-3000:]}")
    return started, ended, [json.loads(line) for line in done.stdout.splitlines() if line.startswith("{")]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("workdir", nargs="?", type=Path, default=Path("."))
    parser.add_argument("--dataset", default="fsdd")
    parser.add_argument("--models", nargs="+", default=["mlp", "rnn", "lstm"])
    parser.add_argument("--seeds", nargs="+", type=int, default=[0, 1, 2])
    parser.add_argument("--worker", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        worker(json.loads(args.worker))
        return
    features = (args.workdir / "results" / "features" / args.dataset).resolve()
    if not (features / "meta.json").exists():
        raise SystemExit(f"no features in {features}: run the default job in {args.workdir} first")
    config = yaml.safe_load((REPO / "config" / "config.yaml").read_text())
    kind = json.loads((features / "meta.json").read_text())["kind"]
    own, shared = [], []
    with tempfile.TemporaryDirectory() as scratch:
        tracking = {**config["mlflow"], "tracking_uri": f"sqlite:///{scratch}/mlflow.db",
                    "artifact_root": f"{scratch}/mlartifacts"}
        experiment_id(tracking["tracking_uri"], tracking["artifact_root"], args.dataset)  # the tables, untimed
        for model in args.models:
            spec = {"features": str(features), "model": model, "tracking": tracking,
                    "hyperparameters": config["training"][kind][model]}
            own_folder, shared_folder = f"{scratch}/own/{model}", f"{scratch}/shared/{model}"
            for seed in args.seeds:
                started, ended, (run,) = run_worker({**spec, "seeds": [seed], "folder": own_folder})
                own.append(ended - started - run["train_seconds"])
                print(f"{model} seed {seed}: own interpreter {own[-1]:.2f} s outside training "
                      f"({run['train_seconds']:.2f} s training)")
            previous, _, runs = run_worker({**spec, "seeds": args.seeds, "folder": shared_folder})
            for position, run in enumerate(runs):
                outside = run["ended"] - previous - run["train_seconds"]
                previous = run["ended"]
                if position:
                    shared.append(outside)
                same = (run_file(own_folder, run["seed"], "predictions").read_bytes()
                        == run_file(shared_folder, run["seed"], "predictions").read_bytes())
                print(f"{model} seed {run['seed']}: shared interpreter, run {position + 1}: {outside:.2f} s outside "
                      f"training; test predictions {'the same' if same else 'DIFFERENT'}")
    print(f"median outside training: own interpreter {statistics.median(own):.2f} s, later run of a shared one "
          f"{statistics.median(shared):.2f} s")
    print(f"ratio {statistics.median(shared) / statistics.median(own):.3f}")


if __name__ == "__main__":
    main()
