"""Snakemake adapter: build one dataset's features for every model and seed."""

import sys
from pathlib import Path

# seqsuite from this checkout, also where it is not pip-installed (e.g. in `--sdm conda` environments)
sys.path.insert(0, str(Path(snakemake.scriptdir).parents[1] / "src"))

from seqsuite.pipeline import extract, logged_step

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
