"""Snakemake adapter: write the comparison report and summary.csv (with the lab's section where given)."""

from pathlib import Path

from seqsuite.pipeline import logged_step, report

# Results this invocation did not produce come as params (see carried_results in common.smk).
carried = snakemake.params.carried
datasets = carried.get("datasets", {})
lab = carried.get("lab") or {
    name.removeprefix("lab_"): path for name, path in snakemake.input.items() if name.startswith("lab_") and path
}

# The tracking URI only decides where the run links point, so it is read from config, not params.
with logged_step(snakemake.log[0]):
    report(
        metrics=[*snakemake.input.metrics, *datasets.get("metrics", [])],
        predictions=[*snakemake.input.predictions, *datasets.get("predictions", [])],
        feature_metas=[*snakemake.input.features, *datasets.get("features", [])],
        credits=dict(snakemake.params.credits),
        html=Path(snakemake.output.html),
        summary=Path(snakemake.output.summary),
        tracking_uri=snakemake.config["mlflow"]["tracking_uri"],
        lab=lab or None,
    )
