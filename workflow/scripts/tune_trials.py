"""Snakemake adapter: train trials of a search (all of them, or one with one_job_per_seed), scored on validation
only."""

from pathlib import Path

from seqsuite.steps.logs import logged_step
from seqsuite.steps.tune import train_trials

# As for train.py: device and tracking are read from config, so changing them retrains nothing.
with logged_step(snakemake.log[0]):
    train_trials(
        search_path=Path(snakemake.input.search),
        trials=dict(snakemake.params.trials),
        seed=int(snakemake.params.seed),
        features_dir=Path(snakemake.input.features[0]).parent,
        device=snakemake.config["device"],
        threads=snakemake.threads,
        settings=snakemake.config["mlflow"],
        rule=snakemake.rule,
        workflow_dir=Path(snakemake.scriptdir),
        job_log=snakemake.log[0],
    )
