"""Snakemake adapter: register each dataset's best model as models:/seqsuite-<dataset>@champion."""

from pathlib import Path

from seqsuite.steps.champions import register_champions
from seqsuite.steps.logs import logged_step

# The tracking settings say where the registry is, not what is registered, so they are read from config.
with logged_step(snakemake.log[0]):
    register_champions(
        metrics=list(snakemake.input.metrics),
        summary=Path(snakemake.input.summary),
        out=Path(snakemake.output[0]),
        settings=snakemake.config["mlflow"],
    )
