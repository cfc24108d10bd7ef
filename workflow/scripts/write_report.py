"""Snakemake adapter: write the comparison report and summary.csv."""

from pathlib import Path

from seqsuite.steps.logs import logged_step
from seqsuite.steps.report import comparison_report

# The tracking URI only decides where the run links point, so it is read from config, not params.
with logged_step(snakemake.log[0]):
    comparison_report(
        metrics=list(snakemake.input.metrics),
        predictions=list(snakemake.input.predictions),
        feature_metas=list(snakemake.input.features),
        credits=dict(snakemake.params.credits),
        html=Path(snakemake.output.html),
        summary=Path(snakemake.output.summary),
        tracking_uri=snakemake.config["mlflow"]["tracking_uri"],
    )
