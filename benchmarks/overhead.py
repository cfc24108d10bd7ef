"""Where a finished workflow's job time went: training, and everything else, by rule and by phase.

    python benchmarks/overhead.py [WORKDIR]      # the folder snakemake ran in (default: .)

Reads every job's wall time from results/benchmarks/ (Snakemake's `benchmark:` files) and, for training jobs,
`train_seconds` and the per-phase seconds (`job_seconds`) from the run's metrics.json. Prints per rule the jobs,
their wall, training and outside-training seconds (sum and median per job), then the training jobs' phases
summed: startup (interpreter, imports, reading the inputs, building the model), MLflow setup, per-round logging
(inside training), evaluation and plots (the lab's gradient and gate measurements are here), results and plot
logging, model logging, outputs, and what no phase covers (Snakemake's script wrapper, the interpreter's exit).
The last line is `outside <share of all job time spent outside training>`.
"""

from __future__ import annotations

import argparse
import json
import re
from pathlib import Path

import pandas as pd

# a training job's benchmark file and its metrics.json, relative to results/
RUN_METRICS = {
    re.compile(r"benchmarks/train_longdep_(?P<model>\w+)/(?P<task>\w+)/(?P<T>T\d+)/(?P<seed>seed\d+)\.tsv"):
        "longdep/runs/{task}/{T}/{model}/{seed}/metrics.json",
    re.compile(r"benchmarks/train_tuned_(?P<model>\w+)/(?P<dataset>[^/]+)/(?P<seed>seed\d+)\.tsv"):
        "tune/models/{model}/{dataset}/{seed}/metrics.json",
    re.compile(r"benchmarks/tune_trial/(?P<dataset>[^/]+)/(?P<model>\w+)/(?P<trial>trial\d+)\.tsv"):
        "tune/{dataset}/{model}/{trial}/metrics.json",
    re.compile(r"benchmarks/train_(?!tuned_|longdep_)(?P<model>\w+)/(?P<dataset>[^/]+)/(?P<seed>seed\d+)\.tsv"):
        "models/{model}/{dataset}/{seed}/metrics.json",
}


def metrics_path(results: Path, benchmark: Path) -> Path | None:
    """The metrics.json of a training job's benchmark file; None for other jobs."""
    relative = benchmark.relative_to(results).as_posix()
    for pattern, template in RUN_METRICS.items():
        if match := pattern.fullmatch(relative):
            return results / template.format(**match.groupdict())
    return None


def job_table(results: Path) -> pd.DataFrame:
    """One row per job: rule, wall seconds, training seconds and its phases (training jobs)."""
    rows = []
    for benchmark in sorted((results / "benchmarks").rglob("*.tsv")):
        wall = float(pd.read_csv(benchmark, sep="\t")["s"].iloc[-1])
        row = {"rule": benchmark.relative_to(results / "benchmarks").parts[0], "wall": wall, "training": 0.0}
        metrics = metrics_path(results, benchmark)
        if metrics is not None and metrics.exists():
            record = json.loads(metrics.read_text())
            # None: a trial stopped by a NaN loss, whose time all counts as outside training (not recorded)
            row["training"] = float(record["train_seconds"] or 0)
            row.update({f"phase:{name}": seconds for name, seconds in record.get("job_seconds", {}).items()})
        rows.append(row)
    if not rows:
        raise SystemExit(f"no benchmark files under {results / 'benchmarks'}: run the workflow there first")
    jobs = pd.DataFrame(rows)
    jobs["outside"] = jobs["wall"] - jobs["training"]
    return jobs


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("workdir", nargs="?", type=Path, default=Path("."))
    results = parser.parse_args().workdir / "results"
    jobs = job_table(results)
    by_rule = jobs.groupby("rule").agg(jobs=("wall", "size"), wall=("wall", "sum"), training=("training", "sum"),
                                       outside=("outside", "sum"), median_outside=("outside", "median"))
    print(by_rule.to_string(float_format=lambda x: f"{x:.1f}"))
    phases = [c for c in jobs.columns if c.startswith("phase:")]
    if phases:
        trained = jobs[jobs["training"] > 0]
        summed = trained[phases].sum().rename(lambda c: c.removeprefix("phase:"))
        covered = summed.drop("round_logging", errors="ignore").sum()
        summed["not covered by a phase"] = trained["wall"].sum() - covered
        print(f"\ntraining jobs ({len(trained)}): seconds per phase, summed (round_logging is part of training)")
        print(summed.to_string(float_format=lambda x: f"{x:.1f}"))
    total = jobs["wall"].sum()
    print(f"\nall jobs: {total:.1f} s, training {jobs['training'].sum():.1f} s, outside training "
          f"{jobs['outside'].sum():.1f} s")
    print(f"outside {jobs['outside'].sum() / total:.3f}")


if __name__ == "__main__":
    main()
