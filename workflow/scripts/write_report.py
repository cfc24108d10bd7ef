"""Snakemake adapter: write the comparison report and summary.csv."""

import logging
import sys
from pathlib import Path

sys.stderr = open(snakemake.log[0], "w", buffering=1)
logging.basicConfig(stream=sys.stderr, level=logging.INFO, format="%(asctime)s %(message)s")

from seqsuite.pipeline import report

report(
    metrics=list(snakemake.input.metrics),
    predictions=list(snakemake.input.predictions),
    feature_metas=list(snakemake.input.features),
    html=Path(snakemake.output.html),
    summary=Path(snakemake.output.summary),
)
