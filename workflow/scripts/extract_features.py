"""Snakemake adapter: build one dataset's features for every model and seed."""

from pathlib import Path

from seqsuite.steps.data import extract
from seqsuite.steps.logs import logged_step

with logged_step(snakemake.log[0]):
    extract(
        entry=dict(snakemake.params.spec),
        dataset_dir=Path(snakemake.input.files),
        provenance=Path(snakemake.input.provenance),
        out_dir=Path(snakemake.output.meta).parent,
        settings=dict(snakemake.params.settings),
        split_seed=snakemake.params.split_seed,
        val_fraction=snakemake.params.val_fraction,
        threads=snakemake.threads,
    )
