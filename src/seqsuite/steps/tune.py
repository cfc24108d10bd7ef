"""The tuning steps (target tune): one MLflow parent run per dataset and model, its random-search trials as child
runs scored on validation only, and the choice of the best trial's settings for the tuned runs."""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Any

import numpy as np
import torch

from seqsuite import tracking
from seqsuite.checkpoint import fingerprint
from seqsuite.devices import resolve_device
from seqsuite.features.store import FeatureSet, load_features
from seqsuite.files import atomic_path
from seqsuite.report.plots import learning_curves_png
from seqsuite.steps.runner import Conclusion, execute_runs
from seqsuite.steps.train import TUNE_RULES, DatasetRun, train, tuning_experiment
from seqsuite.training import FitResult, NonFiniteLossError
from seqsuite.tuning import best_trial, expected_curve

log = logging.getLogger("seqsuite")


def search_name(model: str) -> str:
    """The parent run's name: one per dataset and model."""
    return f"{model}-search"


def open_search(dataset: str, model: str, trials: list[dict[str, Any]], space: dict[str, Any], trial_seed: int,
                output: Path, settings: dict[str, Any], rule: str, workflow_dir: Path) -> None:
    """Create the parent run of a model's search on a dataset, with the space, the trials' count and seed as params,
    and write its ids and the trials' settings to output (search.json), which every trial reads. Anything that
    trains the trials again (their settings, seed or features) opens a new search, so a parent's children are the
    trials of one search."""
    params = {"model": model, "trials": len(trials), "trial_seed": trial_seed,
              **{f"space.{k}": json.dumps(v) for k, v in space.items()}}
    tags = tracking.run_tags(rule, TUNE_RULES, workflow_dir, fingerprint({**params, "drawn": trials}),
                             dataset=dataset, model=model, **{"seqsuite.stage": "search"})
    with tracking.training_run(settings["tracking_uri"], settings["artifact_root"], tuning_experiment(dataset),
                               search_name(model), params, tags, settings["server_wait_s"]) as logger:
        search = {"dataset": dataset, "model": model, "run_id": logger.run_id, "experiment_id": logger.experiment_id,
                  "knobs": list(space), "trials": trials}
    with atomic_path(output) as partial:
        partial.write_text(json.dumps(search, indent=1))


class TrialRun(DatasetRun):
    """One trial of a search: a child run of the search's parent, scored on validation only (the test split is
    never evaluated), no model logged."""

    def __init__(self, search: dict[str, Any], trial: int, seed: int, features: FeatureSet,
                 device: torch.device) -> None:
        super().__init__(features, search["model"], seed, search["trials"][trial], device, f"trial{trial}")
        self.trial = trial
        # the parent's id makes a trial of a new search a new run, never the resumed run of an earlier search
        self.params.update(trial=trial, search=search["run_id"])
        self.labels = {**self.labels, "mlflow.parentRunId": search["run_id"]}
        self.baseline = majority_accuracy(self.features.splits["train"].labels, self.features.splits["val"].labels)

    def record(self, validation: dict[str, float] | None, diverged: str | None, fitted: FitResult | None
               ) -> dict[str, Any]:
        """The trial's metrics.json: its validation scores (None when its loss became non-finite), settings and
        score, the validation accuracy that counts in the search: a diverged trial's is the accuracy of predicting
        the most frequent training label."""
        history = fitted.history if fitted else []
        return {"dataset": self.dataset, "model": self.model_name, "seed": self.seed, "trial": self.trial,
                "train_seconds": fitted.train_seconds if fitted else None,
                "best_epoch": fitted.kept_round if fitted else None, "epochs_run": len(history),
                "metrics": {"val": validation} if validation else {}, "history": history,
                "hyperparameters": self.hyperparameters, "diverged": diverged,
                "score": self.baseline if diverged else validation["accuracy"]}

    def conclude(self, fitted: FitResult) -> Conclusion:
        """Score the kept weights on validation."""
        validation = self.evaluate("val").metrics()
        diverged = self.divergence(fitted)
        run = self.record(validation, diverged, fitted)
        return Conclusion(
            results={"best_val": validation}, scalars={"train_seconds": fitted.train_seconds},
            record=run, figures={"learning_curves.png": learning_curves_png([run], self.dataset)},
            tags={"seqsuite.diverged": diverged} if diverged else {},
            message=f"{self.title}: validation accuracy {validation['accuracy']:.4f}"
                    + (f", DIVERGED ({diverged})" if diverged else ""),
        )

    def log_model(self, logger: tracking.RunLogger) -> None:
        """A trial keeps no model: only its score and settings matter."""
        return None


def majority_accuracy(train_labels: np.ndarray, val_labels: np.ndarray) -> float:
    """The validation accuracy of always predicting the most frequent training label."""
    return float(np.mean(val_labels == np.bincount(train_labels).argmax()))


def train_trials(search_path: Path, trials: dict[int, dict[str, str]], seed: int, features_dir: Path, device: str,
                 threads: int, settings: dict[str, Any], rule: str, workflow_dir: Path, job_log: str) -> None:
    """Train trials of a search (trials: trial -> its outputs) one after another in this process, and write each
    one's metrics.json. A trial whose loss becomes non-finite is a result of its settings, not a failure: it is
    recorded as diverged (its MLflow run ends FAILED) and the search goes on."""
    torch.set_num_threads(threads)
    search, features = json.loads(search_path.read_text()), load_features(features_dir)
    resolved = resolve_device(device)
    plans = ((TrialRun(search, trial, seed, features, resolved), outputs) for trial, outputs in trials.items())
    execute_runs(plans, [features_dir, search_path], settings, rule, workflow_dir, job_log, record_diverged)


def record_diverged(plan: TrialRun, outputs: dict[str, str], error: NonFiniteLossError) -> None:
    """Write the metrics.json of a trial whose loss became non-finite."""
    log.warning("DIVERGED: %s; it counts as diverged in the search", error)  # the error names the trial
    with atomic_path(outputs["metrics"]) as partial:
        partial.write_text(json.dumps(plan.record(None, str(error), None), indent=1))


def train_tuned(chosen_path: Path, **arguments: Any) -> None:
    """Train a model with the settings its search chose (best.json) on each seed: runs like the default settings'
    (seqsuite.steps.train.train), in the dataset's tuning experiment."""
    train(hyperparameters=json.loads(chosen_path.read_text())["hyperparameters"], stage="tuned", **arguments)


def choose(search: dict[str, Any], trials: list[dict[str, Any]]) -> dict[str, Any]:
    """The search's outcome: the best trial's settings and the expected best validation accuracy per number of
    trials, over every trial's score (a diverged trial's too: it was a trial spent)."""
    best = best_trial(trials, f"{search['model']} on {search['dataset']}")
    scores = [trial["score"] for trial in sorted(trials, key=lambda t: int(t["trial"]))]
    return {
        "dataset": search["dataset"], "model": search["model"], "run_id": search["run_id"],
        "experiment_id": search["experiment_id"], "n_trials": len(trials), "best_trial": int(best["trial"]),
        "best_val_accuracy": best["metrics"]["val"]["accuracy"], "hyperparameters": best["hyperparameters"],
        "knobs": search["knobs"],
        "val_accuracy": scores, "diverged_trials": [int(t["trial"]) for t in trials if t.get("diverged")],
        "expected_best": [{"n": n, "mean": mean, "sd": sd} for n, mean, sd in expected_curve(scores)],
    }


def close_search(search_path: Path, trial_paths: list[Path], output: Path, settings: dict[str, Any], rule: str,
                 workflow_dir: Path) -> None:
    """Choose the best trial, log the curve of expected best validation accuracy and the choice to the parent run,
    and write the choice (best.json), which the tuned runs read."""
    search = json.loads(search_path.read_text())
    chosen = choose(search, [json.loads(Path(path).read_text()) for path in trial_paths])
    with atomic_path(output) as partial:
        partial.write_text(json.dumps(chosen, indent=1))
    params = {"model": search["model"], "trials": len(search["trials"])}
    with tracking.training_run(settings["tracking_uri"], settings["artifact_root"],
                               tuning_experiment(search["dataset"]), search_name(search["model"]), params, {},
                               settings["server_wait_s"], search["run_id"]) as logger:
        # MLflow appends to a metric's history: a search closed again (a forced rerun) keeps its first curve, and
        # search/best.json, which is replaced, holds the current one
        for point in [] if logger.has_metric("expected_best_val_accuracy") else chosen["expected_best"]:
            logger.log_epoch({"n": point["n"], "expected_best_val_accuracy": point["mean"],
                              "expected_best_val_accuracy_sd": point["sd"]}, "n")
        logger.log_results({"best_val": {"accuracy": chosen["best_val_accuracy"]}},
                           {"best_trial": chosen["best_trial"]})
        logger.log_file(output, "search")
