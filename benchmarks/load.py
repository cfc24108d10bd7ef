"""Load on one SQLite MLflow store: many short training jobs at once, through Snakemake.

    python benchmarks/load.py [--jobs 64] [--cores 32] [--workdir /tmp/seqsuite-load]

Builds a small text dataset of its own (a custom dataset, so no download), trains the MLP with `--jobs`
seeds, one job each (`one_job_per_seed`), at `--cores` jobs at once on a fresh SQLite store, and prints the wall
time, the runs by status (every seed must have exactly one FINISHED run), the jobs that failed, the 'database is
locked' errors in the job logs and the waits for the SQLite write lock that the jobs retried and logged.
"""

from __future__ import annotations

import argparse
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

import mlflow
import numpy as np
import yaml

REPO = Path(__file__).resolve().parents[1]
WORDS = {"pos": ["good", "great", "fine", "superb"], "neg": ["bad", "awful", "poor", "dull"]}


def write_dataset(folder: Path, n: int = 400, seed: int = 0) -> None:
    """reviews.csv: text, label and split columns, the label given away by one word."""
    rng = np.random.default_rng(seed)
    rows = ["review,sentiment,part"]
    for i in range(n):
        label = "pos" if i % 2 else "neg"
        words = [*rng.choice(["the", "film", "was", "a", "plot"], size=5), rng.choice(WORDS[label])]
        rows.append(f"{' '.join(words)},{label},{'test' if i % 5 == 0 else 'train'}")
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "reviews.csv").write_text("\n".join(rows) + "\n")


def write_config(workdir: Path, jobs: int) -> None:
    config = yaml.safe_load((REPO / "config" / "config.yaml").read_text())
    config["training"]["text"]["mlp"].update(hidden_sizes=[16], max_epochs=3, batch_size=32)
    config.update(datasets=["reviews"], models=["mlp"], seeds=list(range(jobs)), one_job_per_seed=True,
                  custom_datasets={"reviews": {
        "kind": "text", "format": "text_table", "path": str(workdir / "mine"),
        "read": {"file": "reviews.csv", "text_column": "review", "label_column": "sentiment"},
        "split": {"method": "column", "column": "part"}}})
    (workdir / "config.yaml").write_text(yaml.safe_dump(config))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--jobs", type=int, default=64)
    parser.add_argument("--cores", type=int, default=32)
    parser.add_argument("--workdir", type=Path, default=Path("/tmp/seqsuite-load"))
    args = parser.parse_args()
    shutil.rmtree(args.workdir, ignore_errors=True)
    write_dataset(args.workdir / "mine")
    write_config(args.workdir, args.jobs)
    started = time.monotonic()
    result = subprocess.run(
        [sys.executable, "-m", "snakemake", "--snakefile", str(REPO / "Snakefile"), "--directory", str(args.workdir),
         "--configfile", str(args.workdir / "config.yaml"), "--cores", str(args.cores), "--keep-going"],
        capture_output=True, text=True)
    seconds = time.monotonic() - started
    client = mlflow.MlflowClient(f"sqlite:///{args.workdir / 'results' / 'mlflow.db'}")
    runs = client.search_runs([client.get_experiment_by_name("reviews").experiment_id], max_results=10 * args.jobs)
    statuses: dict[str, int] = {}
    for run in runs:
        statuses[run.info.status] = statuses.get(run.info.status, 0) + 1
    per_seed = {run.info.run_name for run in runs if run.info.status == "FINISHED"}
    logs = "".join(path.read_text() for path in (args.workdir / "logs").rglob("*.log"))
    waited = "waited for another job's write"  # seqsuite.tracking's log line for a retried call
    locked = logs.count("database is locked") - logs.count(waited)
    retries = sum(int(n) for n in re.findall(waited + r": (\d+) retries", logs))
    print(f"{args.jobs} training jobs at --cores {args.cores}: snakemake exit {result.returncode}, {seconds:.0f} s")
    print(f"runs by status {statuses}; seeds with one FINISHED run {len(per_seed)}/{args.jobs}")
    print(f"failed jobs {result.stderr.count('Error in rule')}; 'database is locked' errors {max(locked, 0)}; "
          f"lock waits retried {retries} (in {logs.count(waited)} calls)")


if __name__ == "__main__":
    main()
