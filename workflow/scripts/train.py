"""Snakemake adapter: train one model (train_mlp, train_rnn, train_lstm) on one dataset and seed."""

import logging
import sys
from pathlib import Path

sys.stderr = open(snakemake.log[0], "w", buffering=1)
logging.basicConfig(stream=sys.stderr, level=logging.INFO, format="%(asctime)s %(message)s")

from seqsuite.pipeline import train

# Device and tracking say where a run happens and is recorded, not what it computes, so they are
# read from config rather than params: changing them must not retrain finished runs.
train(
    features_dir=Path(snakemake.input[0]).parent,
    model_name=snakemake.params.model,
    seed=int(snakemake.wildcards.seed),
    hyperparameters=dict(snakemake.params.hyperparameters),
    outputs=dict(snakemake.output.items()),
    device=snakemake.config["device"],
    threads=snakemake.threads,
    tracking=snakemake.config["mlflow"],
    rule=snakemake.rule,
    workflow_dir=Path(snakemake.scriptdir),
)
