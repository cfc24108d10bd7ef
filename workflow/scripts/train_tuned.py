"""Snakemake adapter: train one model (train_tuned_mlp, train_tuned_rnn, ...) on one dataset, once per seed with the
settings its search chose."""

from pathlib import Path

from seqsuite.steps.logs import logged_step
from seqsuite.steps.tune import train_tuned

# As for train.py: device and tracking are read from config, so changing them retrains nothing.
with logged_step(snakemake.log[0]):
    train_tuned(
        chosen_path=Path(snakemake.input.chosen),
        features_dir=Path(snakemake.input.features[0]).parent,
        model_name=snakemake.params.model,
        runs=dict(snakemake.params.runs),
        device=snakemake.config["device"],
        threads=snakemake.threads,
        tracking=snakemake.config["mlflow"],
        rule=snakemake.rule,
        workflow_dir=Path(snakemake.scriptdir),
        job_log=snakemake.log[0],
    )
