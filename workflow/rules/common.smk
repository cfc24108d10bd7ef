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
    task="adding|temporal_order",
    T=r"\d+",


def get_final_output():
    """The report and everything it summarises (the lab's summary too where longdep.enabled)."""
    lab = list(rules.summarise_longdep.output) if config["longdep"]["enabled"] else []
    return ["results/report/index.html", "results/report/summary.csv", *lab]


def invoked_for(target):
    """Whether this `snakemake` invocation names target (a rule or file) on its command line."""
    return target in workflow.dag_settings.targets


def report_datasets():
    """Whether the report covers the datasets: always, except for `snakemake longdep` alone on a
    workflow whose dataset runs are not all done (the lab must not wait for them)."""
    only_lab = set(workflow.dag_settings.targets) == {"longdep"}
    return not only_lab or all(Path(path).exists() for path in all_run_outputs("metrics"))


def report_lab():
    """Whether the report has the lab's section: when it is enabled or asked for, and once it has run
    (so that a later plain `snakemake` keeps the section rather than rewriting the report without it)."""
    return config["longdep"]["enabled"] or invoked_for("longdep") or Path(LONGDEP_SUMMARY).exists()


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
    """An input function: one output of every dataset run, where the report covers the datasets."""
    return lambda wildcards: all_run_outputs(name) if report_datasets() else []


def report_features(wildcards):
    """Every dataset's feature metadata (its sizes and kind), where the report covers the datasets."""
    return expand("results/features/{dataset}/meta.json", dataset=config["datasets"]) if report_datasets() else []


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
LONGDEP_SUMMARY = "results/longdep/summary.csv"
ABLATIONS = {"forget_bias0": "lstm_forget_bias0", "no_forget_gate": "lstm_no_forget_gate"}


def longdep_run_outputs(model):
    """What one lab run writes; the LSTMs also write their gate activations."""
    folder = LONGDEP_RUN_FOLDER.replace("{model}", model)
    files = {**LONGDEP_RUN_FILES, "gates": "gates.csv"} if model.startswith("lstm") else LONGDEP_RUN_FILES
    return {name: f"{folder}/{filename}" for name, filename in files.items()}


def longdep_runs():
    """(task, T, model, seed) of every lab run: the sweep, then the enabled ablations at their lengths."""
    lab = config["longdep"]
    runs = [(task, length, model, seed) for task, settings in lab["tasks"].items() for length in settings["T"]
            for model in lab["models"] for seed in lab["seeds"]]
    ablations = [model for switch, model in ABLATIONS.items() if lab["ablations"][switch]]
    runs += [(task, length, model, seed) for task, lengths in lab["ablations"]["at"].items()
             if task in lab["tasks"] for length in lengths for model in ablations for seed in lab["seeds"]]
    return runs


def longdep_outputs(name, lstm_only=False):
    """One output (a longdep_run_outputs key) of every lab run, in longdep_runs order."""
    return [longdep_run_outputs(model)[name].format(task=task, T=length, seed=seed)
            for task, length, model, seed in longdep_runs() if model.startswith("lstm") or not lstm_only]


def longdep_gate_keys():
    """task/T/model/seed of each LSTM run, in the order of longdep_outputs("gates", lstm_only=True)."""
    return [f"{task}/{length}/{model}/{seed}" for task, length, model, seed in longdep_runs()
            if model.startswith("lstm")]


def longdep_settings(wildcards):
    """The optimiser, sizes and the task's batch size and budget, for one lab run."""
    task = config["longdep"]["tasks"][wildcards.task]
    return {**config["longdep"]["training"], "batch_size": task["batch_size"], "max_updates": task["max_updates"]}


def lab_report_input(name):
    """An input function: one output of the lab's summary, where the report has the lab's section."""
    return lambda wildcards: getattr(rules.summarise_longdep.output, name) if report_lab() else []


def lab_report_settings(wildcards):
    """The lab's settings that the report states (budgets, optimiser), where it has the lab's section."""
    return {key: config["longdep"][key] for key in ("tasks", "training", "sizes")} if report_lab() else {}
