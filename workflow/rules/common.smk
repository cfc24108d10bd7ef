import os
import uuid
from dataclasses import asdict
from datetime import datetime, timezone

from snakemake.utils import validate

from seqsuite.cluster import job_resources
from seqsuite.config import typed_values
from seqsuite.data.registry import load_registry, select


config.update(typed_values(config))
validate(config, schema="../schemas/config.schema.yaml")

# One id per `snakemake` invocation, tagged on its MLflow runs so the UI can group them. Jobs inherit
# the environment (sbatch exports it too), so a job that parses this file again keeps the same id.
os.environ.setdefault(
    "SEQSUITE_INVOCATION", f"{datetime.now(timezone.utc):%Y%m%dT%H%M%SZ}-{uuid.uuid4().hex[:6]}"
)

REGISTRY = load_registry(config["registry"], config["custom_datasets"])
DATASETS = {spec.name: spec for spec in select(REGISTRY, config["datasets"])}


wildcard_constraints:
    dataset="|".join(DATASETS),
    seed=r"\d+",


def get_final_output():
    """The report and everything it summarises."""
    return ["results/report/index.html", "results/report/summary.csv"]


def dataset_entry(wildcards):
    """The registry entry of a dataset, as plain data for params."""
    return asdict(DATASETS[wildcards.dataset])


def feature_settings(wildcards):
    """The feature settings for the dataset's kind (text or speech)."""
    return config["features"][DATASETS[wildcards.dataset].kind]


def training_settings(model):
    """An input function: the hyperparameters of a model for the dataset's kind."""
    return lambda wildcards: config["training"][DATASETS[wildcards.dataset].kind][model]


RUN_FOLDER = "results/models/{model}/{dataset}/seed{seed}"
RUN_FILES = {"metrics": "metrics.json", "checkpoint": "model.pt", "predictions": "predictions.csv"}


def run_outputs(model):
    """What one training run writes: metrics, the best checkpoint, test predictions."""
    folder = RUN_FOLDER.replace("{model}", model)
    return {name: f"{folder}/{filename}" for name, filename in RUN_FILES.items()}


def all_run_outputs(name):
    """One output (a RUN_FILES key) of every training run in the config."""
    return expand(
        f"{RUN_FOLDER}/{RUN_FILES[name]}",
        model=config["models"],
        dataset=config["datasets"],
        seed=config["seeds"],
    )
