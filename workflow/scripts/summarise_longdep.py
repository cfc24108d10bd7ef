"""Snakemake adapter: the lab's summary.csv, gradient_norms.csv, decay rates and figures."""

from seqsuite.steps.lab import summarise
from seqsuite.steps.logs import logged_step

with logged_step(snakemake.log[0]):
    summarise(
        metrics=list(snakemake.input.metrics),
        gradients=list(snakemake.input.gradients),
        gates=list(snakemake.input.gates),
        settings=dict(snakemake.params.settings),
        outputs=dict(snakemake.output.items()),
    )
