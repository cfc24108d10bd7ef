import os
import sys
import uuid
from dataclasses import asdict
from datetime import datetime, timezone
from pathlib import Path

import yaml

from snakemake.utils import validate

# seqsuite from this checkout, installed or not (e.g. in `--sdm conda` environments): here, and through
# PYTHONPATH in every job's script, which inherits this environment (sbatch exports it too)
SRC = str(Path(workflow.basedir) / "src")
sys.path.insert(0, SRC)
os.environ.update(PYTHONPATH=os.pathsep.join(filter(None, [SRC, os.environ.get("PYTHONPATH")])))

from seqsuite.cluster import job_resources
from seqsuite.config import typed_by_schema
from seqsuite.data.registry import load_registry, select


SCHEMA = yaml.safe_load(Path(workflow.basedir, "workflow", "schemas", "config.schema.yaml").read_text())
config.update(typed_by_schema(config, SCHEMA))
validate(config, schema="../schemas/config.schema.yaml")

# One id per `snakemake` invocation, tagged on its MLflow runs so the UI can group them. Jobs inherit
# the environment (sbatch exports it too), so a job that parses this file again keeps the same id.
os.environ.setdefault(
    "SEQSUITE_INVOCATION", f"{datetime.now(timezone.utc):%Y%m%dT%H%M%SZ}-{uuid.uuid4().hex[:6]}"
)

def registry_path():
    """config's registry, relative to the working directory or else to the workflow's folder."""
    path = Path(config["registry"])
    return path if path.is_absolute() or path.exists() else Path(workflow.basedir) / path


REGISTRY = load_registry(registry_path(), config["custom_datasets"])
DATASETS = {spec.name: spec for spec in select(REGISTRY, config["datasets"])}


wildcard_constraints:
    dataset="|".join(DATASETS),
    seed=r"\d+",


def get_final_output():
    """The report and everything it summarises."""
    return ["results/report/index.html", "results/report/summary.csv"]


# What each step reads of a registry entry: a step reruns only when its own part changes (a new
# citation reruns the report, not the download; a new split reruns features, not the download).
IDENTITY = ("name", "kind", "format", "url", "path")
DOWNLOAD_FIELDS = (*IDENTITY, "archive_sha256", "archive_md5", "archive_root", "keep", "mirror_dir", "manifest_sha256")
READING_FIELDS = (*IDENTITY, "read", "split")


def registry_fields(names):
    """An input function: the named fields of the dataset's registry entry, as plain data for params."""
    return lambda wildcards: {k: v for k, v in asdict(DATASETS[wildcards.dataset]).items() if k in names}


def dataset_credits():
    """Licence and citation of every dataset in the run, for the report."""
    return {name: {"licence": spec.licence, "citation": spec.citation} for name, spec in DATASETS.items()}


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
