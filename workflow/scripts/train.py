"""Snakemake adapter: train one model (train_mlp, train_rnn, train_lstm, ...) on one dataset, once per seed."""

from pathlib import Path

from seqsuite.steps.logs import logged_step
from seqsuite.steps.train import train

# Device and tracking say where a run happens and is recorded, not what it computes, so they are
# read from config rather than params: changing them must not retrain finished runs.
with logged_step(snakemake.log[0]):
    train(
        features_dir=Path(snakemake.input[0]).parent,
        model_name=snakemake.params.model,
        hyperparameters=dict(snakemake.params.hyperparameters),
        runs=dict(snakemake.params.runs),
        device=snakemake.config["device"],
        threads=snakemake.threads,
        tracking=snakemake.config["mlflow"],
        rule=snakemake.rule,
        workflow_dir=Path(snakemake.scriptdir),
        job_log=snakemake.log[0],
    )
