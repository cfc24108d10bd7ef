import itertools
import os
import sys
import uuid
from dataclasses import asdict
from datetime import datetime, timezone
from pathlib import Path

import yaml

from snakemake.logging import logger
from snakemake.utils import validate

# seqsuite from this checkout, installed or not (e.g. in `--sdm conda` environments): here, and through
# PYTHONPATH in every job's script, which inherits this environment (sbatch exports it too)
SRC = str(Path(workflow.basedir) / "src")
sys.path.insert(0, SRC)
os.environ.update(PYTHONPATH=os.pathsep.join(filter(None, [SRC, os.environ.get("PYTHONPATH")])))

from seqsuite.cluster import job_resources
from seqsuite.config import config_problems, typed_by_schema
from seqsuite.data.registry import DOWNLOAD_FIELDS, download_names, load_registry, select, user_files, user_folder
from seqsuite.features import FEATURE_FILES
from seqsuite.files import KEPT
from seqsuite.longdep import check_lab, lab_runs
from seqsuite.longdep.tasks import TASKS
from seqsuite.models import CHOICES, LSTM_MODELS
from seqsuite.server import cluster_store_warning
from seqsuite.tuning import draw_trials, space_problems

SCHEMA = yaml.safe_load(Path(workflow.basedir, "workflow", "schemas", "config.schema.yaml").read_text())
config.update(typed_by_schema(config, SCHEMA))
if problems := config_problems(config, SCHEMA):
    raise ValueError("invalid config:\n  " + "\n  ".join(problems) + "\nconfig/README.md explains every key")
validate(config, schema="../schemas/config.schema.yaml")  # and fills in the schema's defaults
check_lab(config["longdep"])
if problems := space_problems(config["tune"]["space"], config["training"], config["models"]):
    raise ValueError("invalid config:\n  " + "\n  ".join(problems) + "\nconfig/README.md explains every key")

# One id per `snakemake` invocation, tagged on its MLflow runs so the UI can group them. Jobs inherit
# the environment (sbatch exports it too), so a job that parses this file again keeps the same id.
os.environ.setdefault("SEQSUITE_INVOCATION", f"{datetime.now(timezone.utc):%Y%m%dT%H%M%SZ}-{uuid.uuid4().hex[:6]}")


def registry_path():
    """config's registry, relative to the working directory or else to the workflow's folder."""
    path = Path(config["registry"])
    return path if path.is_absolute() or path.exists() else Path(workflow.basedir) / path


onstart:
    # The executor is known only once the workflow runs (the executor plugin interface's executor_plugin); a
    # non-local one (SLURM) sends jobs to many nodes, where one SQLite file is not safe.
    executor = workflow.executor_plugin
    if executor is not None and not executor.common_settings.local_exec:
        warning = cluster_store_warning(config["mlflow"]["tracking_uri"], config["mlflow"]["single_node"])
        if warning:
            logger.warning(f"WARNING: {warning}")


onerror:
    # Snakemake's own lines about a failed job ("Removing output files of failed job ...", "might be corrupted")
    # read as if work were lost; say what is kept and how to go on.
    logger.error(
        f"seqsuite: {KEPT} (every finished job, and each finished run of a training job that stopped); "
        "fix what the error above names, if anything, and rerun the same command to go on"
    )


REGISTRY = load_registry(registry_path(), config["custom_datasets"])
DATASETS = {spec.name: spec for spec in select(REGISTRY, config["datasets"])}
for spec in DATASETS.values():  # a custom dataset's folder must exist before any job runs
    user_folder(spec)
DOWNLOADS = download_names(REGISTRY, list(DATASETS))  # dataset -> the registry entry whose files it reads


wildcard_constraints:
    dataset="|".join(DATASETS),
    download="|".join(sorted(set(DOWNLOADS.values()))),
    seed=r"\d+",
    task="|".join(TASKS),
    model="|".join(CHOICES),
    trial=r"\d+",
    T=r"\d+",


# Every path a rule writes, one function each; wildcards stay in where no value is given.
def dataset_folder(download="{download}"):
    return f"resources/datasets/{download}"


def provenance_path(download="{download}"):
    return f"resources/datasets/{download}.json"


def feature_path(name, dataset="{dataset}"):
    """One file (a FEATURE_FILES key) of a dataset's features."""
    return f"results/features/{dataset}/{FEATURE_FILES[name]}"


RUN_FILES = {"metrics": "metrics.json", "checkpoint": "model.pt", "predictions": "predictions.csv"}


def run_path(name, model, dataset="{dataset}", seed="{seed}"):
    """One output (a RUN_FILES key) of a dataset run: metrics, the best checkpoint, test predictions."""
    return f"results/models/{model}/{dataset}/seed{seed}/{RUN_FILES[name]}"


def lab_data_path(task="{task}", T="{T}", seed="{seed}"):
    """The fixed train, val and test sets of one lab task, gap length and seed."""
    return f"results/longdep/data/{task}/T{T}/seed{seed}.npz"


LAB_RUN_FILES = {
    "metrics": "metrics.json",
    "gradients": "gradient_norms.csv",
    "checkpoint": "model.pt",
    "gates": "gates.csv",
}


def lab_run_path(name, model, task="{task}", T="{T}", seed="{seed}"):
    """One output (a LAB_RUN_FILES key) of a lab run."""
    return f"results/longdep/runs/{task}/T{T}/{model}/seed{seed}/{LAB_RUN_FILES[name]}"


LAB_SUMMARY_FILES = {
    "summary": "summary.csv",
    "gradients": "gradient_norms.csv",
    "decay": "decay_rates.csv",
    "gradient_plot": "gradient_norms.png",
    "gate_plot": "gates.png",
    "settings": "settings.json",
}


def lab_summary_path(name):
    """One file (a LAB_SUMMARY_FILES key) of the lab's summary."""
    return f"results/longdep/{LAB_SUMMARY_FILES[name]}"


def search_path(name, model="{model}", dataset="{dataset}"):
    """A search's ids and drawn trials (name "search") or its choice (name "chosen")."""
    return f"results/tune/{dataset}/{model}/{dict(search='search.json', chosen='best.json')[name]}"


def trial_path(model="{model}", dataset="{dataset}", trial="{trial}"):
    """One trial's metrics.json."""
    return f"results/tune/{dataset}/{model}/trial{trial}/metrics.json"


def tuned_run_path(name, model, dataset="{dataset}", seed="{seed}"):
    """One output (a RUN_FILES key) of a run with a model's tuned settings."""
    return f"results/tune/models/{model}/{dataset}/seed{seed}/{RUN_FILES[name]}"


REPORT_FILES = {
    "index": "index.html",
    "summary": "summary.csv",
    "lab": "longdep.html",
    "champions": "champions.json",
    "tuning": "tuning.html",
    "tuned_summary": "tuned_summary.csv",
}


def report_path(name):
    """One page or table (a REPORT_FILES key) of the report."""
    return f"results/report/{REPORT_FILES[name]}"


def get_final_output():
    """The datasets' report, summary table and registered champions, and the lab's page where longdep.enabled."""
    lab = [report_path("lab")] if config["longdep"]["enabled"] else []
    return [report_path("index"), report_path("summary"), report_path("champions"), *lab]


# What each step reads of a registry entry: a step reruns only when its own part changes (a new
# citation reruns the report, not the download; a new split reruns features, not the download).
READING_FIELDS = ("name", "kind", "format", "url", "path", "read", "split")


def downloaded(wildcards):
    """A dataset's files and their provenance, from its download (which it may share: FSDD's speaker folds)."""
    download = DOWNLOADS[wildcards.dataset]
    return {"files": dataset_folder(download), "provenance": provenance_path(download)}


def custom_dataset_files(wildcards):
    """A custom dataset's own files, its copy's input: a change to them reruns the copy and all that follows.
    Listed only for the jobs that need them, not at every parse (each cluster job parses this file again)."""
    return user_files(REGISTRY[wildcards.download])


def registry_fields(names, wildcard="dataset"):
    """An input function: the named fields of the registry entry the wildcard names, as plain data for params."""
    return lambda wildcards: {k: v for k, v in asdict(REGISTRY[getattr(wildcards, wildcard)]).items() if k in names}


def dataset_credits():
    """Licence and citation of every dataset in the run, and the group of held-out folds it belongs to, for the
    report."""
    return {
        name: {"licence": spec.licence, "citation": spec.citation, "group": spec.group, "held_out": spec.held_out}
        for name, spec in DATASETS.items()
    }


def feature_settings(wildcards):
    """The feature settings for the dataset's kind (text or speech)."""
    return config["features"][DATASETS[wildcards.dataset].kind]


def training_settings(model):
    """An input function: the hyperparameters of a model for the dataset's kind."""
    return lambda wildcards: config["training"][DATASETS[wildcards.dataset].kind][model]


def default_seed_jobs():
    """The default settings' jobs per dataset and model, by rule-name suffix -> their seeds: one job for config's
    seeds and one for the tune seeds not among them (the tuning page compares both settings on the same seeds), if
    any; with one_job_per_seed, a job per seed, whose seed is the {seed} wildcard (seeds None)."""
    if config["one_job_per_seed"]:
        return {"": None}
    extra = [seed for seed in config["tune"]["seeds"] if seed not in config["seeds"]]
    return {"": config["seeds"], **({"_tune_seeds": extra} if extra else {})}


def seed_job_runs(path, model, seeds, dataset="{dataset}", seed="{seed}"):
    """Each run of a job of a model on a dataset: its seed -> its outputs (RUN_FILES key -> path); path is run_path
    or tuned_run_path; seeds None: the job of one seed, `seed`."""
    return {
        s: {name: path(name, model, dataset, s) for name in RUN_FILES} for s in ([seed] if seeds is None else seeds)
    }


def seed_run_outputs(path, model, seeds):
    """Every output of a job of a model's runs on a dataset, with its wildcards."""
    return [file for outputs in seed_job_runs(path, model, seeds).values() for file in outputs.values()]


def seed_runs(path, model, seeds):
    """An input function for params: the job's seed_job_runs, by integer seed."""
    return lambda wildcards: {
        int(seed): outputs
        for seed, outputs in seed_job_runs(path, model, seeds, wildcards.dataset, wildcards.get("seed")).items()
    }


def seed_job_name(seeds):
    """What names a job of seed_job_runs in its log and benchmark paths."""
    return "{dataset}" if seeds else "{dataset}/seed{seed}"


def all_run_paths(name, datasets=None, seeds=None):
    """One output (a RUN_FILES key) of every dataset run in the config (or of these datasets, or seeds)."""
    return [
        run_path(name, model, dataset, seed)
        for model, dataset, seed in itertools.product(
            config["models"],
            config["datasets"] if datasets is None else datasets,
            config["seeds"] if seeds is None else seeds,
        )
    ]


def registered_datasets():
    """The datasets whose best model is registered: not the folds of a held-out study, made to be compared."""
    return [dataset for dataset in config["datasets"] if DATASETS[dataset].group is None]


def search_trials(wildcards):
    """The settings of every trial of a model's search on a dataset, drawn from tune.space (seqsuite.tuning)."""
    kind, tune = DATASETS[wildcards.dataset].kind, config["tune"]
    return draw_trials(
        tune["space"][kind][wildcards.model],
        config["training"][kind][wildcards.model],
        tune["draw_seed"],
        f"{wildcards.dataset}/{wildcards.model}",
        tune["trials"],
    )


def search_trial_paths(wildcards):
    """Every trial's metrics.json of a model's search on a dataset."""
    return [trial_path(wildcards.model, wildcards.dataset, trial) for trial in range(config["tune"]["trials"])]


def trial_jobs():
    """The trials of a search's job: all of them (a trial's start-up costs as much as a small trial's training), or
    None (a job per trial, the {trial} wildcard) with one_job_per_seed."""
    return None if config["one_job_per_seed"] else list(range(config["tune"]["trials"]))


def trial_job_outputs(trials):
    """Every output of a job of trial_jobs, with its wildcards."""
    return [trial_path(trial=trial) for trial in (["{trial}"] if trials is None else trials)]


def trial_runs(trials):
    """An input function for params: a job's trials, by integer trial -> its outputs."""
    return lambda wildcards: {
        int(trial): {"metrics": trial_path(wildcards.model, wildcards.dataset, trial)}
        for trial in ([wildcards.trial] if trials is None else trials)
    }


def trial_job_name(trials):
    """What names a job of trial_jobs in its log and benchmark paths."""
    return "{dataset}/{model}" if trials is not None else "{dataset}/{model}/trial{trial}"


def tuned_seeds():
    """The tuned runs' seeds per job: all tune seeds, or None (a job per seed) with one_job_per_seed."""
    return None if config["one_job_per_seed"] else config["tune"]["seeds"]


def all_tuned_run_paths(name):
    """One output (a RUN_FILES key) of every tuned run: each compared dataset, model and tune seed."""
    return [
        tuned_run_path(name, model, dataset, seed)
        for model, dataset, seed in itertools.product(config["models"], registered_datasets(), config["tune"]["seeds"])
    ]


def lab_run_files(model):
    """The LAB_RUN_FILES keys a lab run of this model writes: only the LSTMs write their gates."""
    return [name for name in LAB_RUN_FILES if name != "gates" or model in LSTM_MODELS]


def lab_models():
    """The models the lab runs (longdep.models and the enabled ablations), in the order of its runs."""
    return list(dict.fromkeys(model for _, _, model, _ in lab_runs(config["longdep"])))


def lab_model_runs(model):
    """(task, T, seed) of each lab run of a model."""
    return [(task, length, seed) for task, length, run_model, seed in lab_runs(config["longdep"]) if run_model == model]


def lab_run_outputs(model):
    """Every output of a lab model's runs."""
    return [file for run in lab_job_runs(model) for file in run["outputs"].values()]


def all_lab_run_paths(name):
    """One output (a LAB_RUN_FILES key) of every lab run in the config that writes it."""
    return [
        lab_run_path(name, model, task, length, seed)
        for task, length, model, seed in lab_runs(config["longdep"])
        if name in lab_run_files(model)
    ]


def lab_settings(task):
    """The optimiser, sizes and the task's batch size and budget, for a lab run on the task."""
    settings = config["longdep"]["tasks"][task]
    return {
        **config["longdep"]["training"],
        "batch_size": settings["batch_size"],
        "max_updates": settings["max_updates"],
    }


def lab_job_runs(model):
    """Each run of a lab model's job (params): its task, T, seed, settings, data and outputs."""
    return [
        {
            "task": task,
            "T": length,
            "seed": seed,
            "settings": lab_settings(task),
            "data": lab_data_path(task, length, seed),
            "outputs": {name: lab_run_path(name, model, task, length, seed) for name in lab_run_files(model)},
        }
        for task, length, seed in lab_model_runs(model)
    ]
