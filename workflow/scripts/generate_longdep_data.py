"""Snakemake adapter: generate one lab task's fixed train, val and test sets for one T and seed."""

from pathlib import Path

from seqsuite.steps.lab_data import generate_data
from seqsuite.steps.logs import logged_step

with logged_step(snakemake.log[0]):
    generate_data(
        task=snakemake.wildcards.task,
        length=int(snakemake.wildcards.T),
        seed=int(snakemake.wildcards.seed),
        sizes=dict(snakemake.params.sizes),
        out=Path(snakemake.output[0]),
    )
