"""Where a finished workflow's job time went: training, and everything else, by rule and by phase.

    python benchmarks/overhead.py [WORKDIR]      # the folder snakemake ran in (default: .)

Reads every job's wall time from results/benchmarks/ (Snakemake's `benchmark:` files) and, for training jobs,
`train_seconds` and the per-phase seconds (`job_seconds`) from the metrics.json of each run the job trained (a
run names its job's log, logs/<X>.log, and every rule times itself to results/benchmarks/<X>.tsv). Prints per
rule the jobs and runs, their wall, training and outside-training seconds (sum and median per job), then the
training jobs' phases summed: startup (interpreter, imports, reading the inputs, building the model; for a
job's later runs, from the end of the one before), MLflow setup, per-round logging (inside training), evaluation
and plots (the lab's measurements of the trained model are here, of the untrained one in start-up), results and
plot logging, model logging, outputs, and what no phase covers (Snakemake's script wrapper, the interpreter's
exit; a search trial whose loss became non-finite, which records no phases, is all outside training). The
lab's measurements (`measure_seconds`: the gradient norms before and after training, the LSTMs'
gates) are work the lab exists for, not overhead: the last
line is `outside <share of all job time spent neither training nor measuring>`.
"""

from __future__ import annotations

import argparse
import json
from collections import defaultdict
from pathlib import Path

import pandas as pd


def runs_by_job(results: Path) -> dict[str, list[dict]]:
    """The metrics.json records of every training run under results, by the log of the job that trained it."""
    runs = defaultdict(list)
    for path in sorted(results.rglob("metrics.json")):
        record = json.loads(path.read_text())
        if "job_log" in record:
            runs[record["job_log"]].append(record)
    return runs


def job_log(results: Path, benchmark: Path) -> str:
    """The log of the job a benchmark file times: logs/<X>.log for results/benchmarks/<X>.tsv."""
    return (Path("logs") / benchmark.relative_to(results / "benchmarks")).with_suffix(".log").as_posix()


def job_table(results: Path) -> pd.DataFrame:
    """One row per job: rule, wall seconds, training seconds and its phases (training jobs)."""
    rows, runs = [], runs_by_job(results)
    for benchmark in sorted((results / "benchmarks").rglob("*.tsv")):
        wall = float(pd.read_csv(benchmark, sep="\t")["s"].iloc[-1])
        row = {"rule": benchmark.relative_to(results / "benchmarks").parts[0], "wall": wall, "training": 0.0,
               "measuring": 0.0, "runs": 0}
        for record in runs.get(job_log(results, benchmark), []):
            row["runs"] += 1
            row["training"] += float(record["train_seconds"])
            row["measuring"] += float(record.get("measure_seconds", 0.0))
            for name, seconds in record["job_seconds"].items():
                row[f"phase:{name}"] = row.get(f"phase:{name}", 0.0) + seconds
        rows.append(row)
    if not rows:
        raise SystemExit(f"no benchmark files under {results / 'benchmarks'}: run the workflow there first")
    jobs = pd.DataFrame(rows)
    jobs["outside"] = jobs["wall"] - jobs["training"] - jobs["measuring"]
    return jobs


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("workdir", nargs="?", type=Path, default=Path("."))
    results = parser.parse_args().workdir / "results"
    jobs = job_table(results)
    by_rule = jobs.groupby("rule").agg(jobs=("wall", "size"), runs=("runs", "sum"), wall=("wall", "sum"),
                                       training=("training", "sum"), measuring=("measuring", "sum"),
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
    print(f"\nall jobs: {total:.1f} s, training {jobs['training'].sum():.1f} s, the lab's measurements "
          f"{jobs['measuring'].sum():.1f} s, outside both {jobs['outside'].sum():.1f} s")
    print(f"outside {jobs['outside'].sum() / total:.3f}")


if __name__ == "__main__":
    main()
