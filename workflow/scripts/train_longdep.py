"""Snakemake adapter: train one lab model (MLP, RNN, LSTM or an ablation) on one task, T and seed."""

from pathlib import Path

from seqsuite.steps.lab import train_lab_run
from seqsuite.steps.logs import logged_step

# Tracking says where a run is recorded, not what it computes: read from config, not params.
with logged_step(snakemake.log[0]):
    train_lab_run(
        data_path=Path(snakemake.input.data),
        task=snakemake.wildcards.task,
        length=int(snakemake.wildcards.T),
        model_name=snakemake.params.model,
        seed=int(snakemake.wildcards.seed),
        settings=dict(snakemake.params.settings),
        outputs=dict(snakemake.output.items()),
        threads=snakemake.threads,
        tracking=snakemake.config["mlflow"],
        rule=snakemake.rule,
        workflow_dir=Path(snakemake.scriptdir),
    )
