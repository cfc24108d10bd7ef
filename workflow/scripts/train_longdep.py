"""Snakemake adapter: train one lab model (MLP, RNN, LSTM or an ablation) on each of its tasks, T and seeds."""

from pathlib import Path

from seqsuite.steps.lab import train_lab_runs
from seqsuite.steps.logs import logged_step

# Tracking says where a run is recorded, not what it computes: read from config, not params.
with logged_step(snakemake.log[0]):
    train_lab_runs(
        model_name=snakemake.params.model,
        runs=list(snakemake.params.runs),
        threads=snakemake.threads,
        tracking=snakemake.config["mlflow"],
        rule=snakemake.rule,
        workflow_dir=Path(snakemake.scriptdir),
        job_log=snakemake.log[0],
    )
