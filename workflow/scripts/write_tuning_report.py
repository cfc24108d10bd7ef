"""Snakemake adapter: write the tuning page and the tuned runs' summary table."""

from pathlib import Path

from seqsuite.steps.logs import logged_step
from seqsuite.steps.report import tuning_report

with logged_step(snakemake.log[0]):
    tuning_report(
        searches=list(snakemake.input.searches),
        tuned={"metrics": list(snakemake.input.tuned_metrics), "predictions": list(snakemake.input.tuned_predictions)},
        default={
            "metrics": list(snakemake.input.default_metrics),
            "predictions": list(snakemake.input.default_predictions),
        },
        feature_metas=list(snakemake.input.features),
        credits=dict(snakemake.params.credits),
        settings=dict(snakemake.params.settings),
        html=Path(snakemake.output.html),
        summary=Path(snakemake.output.summary),
        tracking_uri=snakemake.config["mlflow"]["tracking_uri"],
    )
