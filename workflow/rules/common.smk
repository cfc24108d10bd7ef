import itertools
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
from seqsuite.longdep import LSTM_MODELS, TASK_NAMES, check_lab, lab_runs


SCHEMA = yaml.safe_load(Path(workflow.basedir, "workflow", "schemas", "config.schema.yaml").read_text())
config.update(typed_by_schema(config, SCHEMA))
validate(config, schema="../schemas/config.schema.yaml")
check_lab(config["longdep"])

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
    task="|".join(TASK_NAMES),
    T=r"\d+",


def get_final_output():
    """The report and everything it summarises (the lab's summary too where longdep.enabled)."""
    lab = list(rules.summarise_longdep.output) if config["longdep"]["enabled"] else []
    return ["results/report/index.html", "results/report/summary.csv", *lab]


def lab_only():
    """Whether this invocation is `snakemake longdep`: the lab alone, which must neither wait for nor
    retrain the dataset runs."""
    return set(workflow.dag_settings.targets) == {"longdep"}


def lab_requested():
    """Whether this invocation runs the lab: longdep.enabled, or the target longdep."""
    return config["longdep"]["enabled"] or "longdep" in workflow.dag_settings.targets


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


def report_input(name):
    """An input function: one output of every dataset run, unless this invocation runs the lab alone."""
    return lambda wildcards: [] if lab_only() else all_run_outputs(name)


def report_features(wildcards):
    """Every dataset's feature metadata (its sizes and kind), unless this invocation runs the lab alone."""
    return [] if lab_only() else expand(rules.extract_features.output.meta, dataset=config["datasets"])


def carried_results(wildcards):
    """Finished results of the part this invocation does not run, for the report to show without making
    them inputs (which would rerun them, or wait for them): the dataset runs during `snakemake longdep`,
    the lab's summary during a `snakemake` without the lab."""
    carried = {}
    if lab_only():
        carried["datasets"] = finished_dataset_runs()
    lab_files = {name: str(path) for name, path in rules.summarise_longdep.output.items()}  # plain, picklable
    if not lab_requested() and all(Path(path).exists() for path in lab_files.values()):
        carried["lab"] = lab_files
    return carried


def finished_dataset_runs():
    """metrics and predictions of every dataset run in the config that has finished, with the features'
    metadata of their datasets."""
    finished = {"metrics": [], "predictions": [], "features": []}
    for model, dataset, seed in itertools.product(config["models"], config["datasets"], config["seeds"]):
        outputs = {name: path.format(dataset=dataset, seed=seed) for name, path in run_outputs(model).items()}
        meta = rules.extract_features.output.meta.format(dataset=dataset)
        if all(Path(path).exists() for path in (outputs["metrics"], outputs["predictions"], meta)):
            finished["metrics"].append(outputs["metrics"])
            finished["predictions"].append(outputs["predictions"])
            finished["features"] += [] if meta in finished["features"] else [meta]
    return finished


def all_run_outputs(name):
    """One output (a RUN_FILES key) of every training run in the config."""
    return expand(
        f"{RUN_FOLDER}/{RUN_FILES[name]}",
        model=config["models"],
        dataset=config["datasets"],
        seed=config["seeds"],
    )


# The long-dependency lab: one fixed data set per task, T and seed; one run per model on each.
LONGDEP_DATA = "results/longdep/data/{task}/T{T}/seed{seed}.npz"
LONGDEP_RUN_FOLDER = "results/longdep/runs/{task}/T{T}/{model}/seed{seed}"
LONGDEP_RUN_FILES = {"metrics": "metrics.json", "gradients": "gradient_norms.csv", "checkpoint": "model.pt"}


def longdep_run_outputs(model):
    """What one lab run writes; the LSTMs also write their gate activations."""
    folder = LONGDEP_RUN_FOLDER.replace("{model}", model)
    files = {**LONGDEP_RUN_FILES, "gates": "gates.csv"} if model in LSTM_MODELS else LONGDEP_RUN_FILES
    return {name: f"{folder}/{filename}" for name, filename in files.items()}


def longdep_outputs(name):
    """One output (a longdep_run_outputs key) of every lab run that writes it."""
    return [outputs[name].format(task=task, T=length, seed=seed) for task, length, model, seed in
            lab_runs(config["longdep"]) if name in (outputs := longdep_run_outputs(model))]


def longdep_settings(wildcards):
    """The optimiser, sizes and the task's batch size and budget, for one lab run."""
    task = config["longdep"]["tasks"][wildcards.task]
    return {**config["longdep"]["training"], "batch_size": task["batch_size"], "max_updates": task["max_updates"]}


def lab_report_input(name):
    """An input function: one output of the lab's summary, where this invocation runs the lab."""
    return lambda wildcards: getattr(rules.summarise_longdep.output, name) if lab_requested() else []
