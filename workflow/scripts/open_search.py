"""Snakemake adapter: open the MLflow parent run of one model's search on one dataset."""

from pathlib import Path

from seqsuite.steps.logs import logged_step
from seqsuite.steps.tune import open_search

with logged_step(snakemake.log[0]):
    open_search(
        dataset=snakemake.wildcards.dataset,
        model=snakemake.wildcards.model,
        trials=list(snakemake.params.trials),
        space=dict(snakemake.params.space),
        trial_seed=int(snakemake.params.trial_seed),
        output=Path(snakemake.output[0]),
        settings=snakemake.config["mlflow"],
        rule=snakemake.rule,
        workflow_dir=Path(snakemake.scriptdir),
    )
