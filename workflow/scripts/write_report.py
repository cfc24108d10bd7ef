"""Snakemake adapter: write the comparison report and summary.csv (with the lab's section where given)."""

from pathlib import Path

from seqsuite.pipeline import logged_step, report

LAB_INPUTS = {"summary": "lab_summary", "decay": "lab_decay", "gradient_plot": "lab_gradient_plot",
              "gate_plot": "lab_gate_plot"}

# The tracking URI only decides where the run links point, so it is read from config, not params.
with logged_step(snakemake.log[0]):
    lab = None
    if snakemake.params.lab:
        lab = {key: getattr(snakemake.input, name) for key, name in LAB_INPUTS.items()}
        lab["settings"] = snakemake.params.lab
    report(
        metrics=list(snakemake.input.metrics),
        predictions=list(snakemake.input.predictions),
        feature_metas=list(snakemake.input.features),
        credits=dict(snakemake.params.credits),
        html=Path(snakemake.output.html),
        summary=Path(snakemake.output.summary),
        tracking_uri=snakemake.config["mlflow"]["tracking_uri"],
        lab=lab,
    )
