"""Snakemake adapter: choose the best trial of a search and log the choice to its parent run."""

from pathlib import Path

from seqsuite.steps.logs import logged_step
from seqsuite.steps.tune import close_search

with logged_step(snakemake.log[0]):
    close_search(
        search_path=Path(snakemake.input.search),
        trial_paths=[Path(path) for path in snakemake.input.trials],
        output=Path(snakemake.output[0]),
        settings=snakemake.config["mlflow"],
        rule=snakemake.rule,
        workflow_dir=Path(snakemake.scriptdir),
    )
