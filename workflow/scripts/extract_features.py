"""Snakemake adapter: build one dataset's features for every model and seed."""

import logging
import sys
from pathlib import Path

sys.stderr = open(snakemake.log[0], "w", buffering=1)
logging.basicConfig(stream=sys.stderr, level=logging.INFO, format="%(asctime)s %(message)s")

from seqsuite.pipeline import extract

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
