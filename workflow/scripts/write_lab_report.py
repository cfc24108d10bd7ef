"""Snakemake adapter: write the long-dependency lab's page of the report."""

from pathlib import Path

from seqsuite.steps.logs import logged_step
from seqsuite.steps.report import lab_report

with logged_step(snakemake.log[0]):
    lab_report(files=dict(snakemake.input.items()), html=Path(snakemake.output.html))
