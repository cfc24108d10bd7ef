"""The datasets' training step: one model on one dataset's features, once per seed."""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import torch
from torch import nn

from seqsuite import serving
from seqsuite.batches import SequenceData, TabularData, model_batches
from seqsuite.config import from_config
from seqsuite.data import SPLITS
from seqsuite.devices import CPU, resolve_device
from seqsuite.features.store import FeatureSet, load_features
from seqsuite.models import model_entry
from seqsuite.models.build import ArchitectureConfig, InputSpec, build_model, count_parameters
from seqsuite.policies import Patience
from seqsuite.report.plots import confusion_matrix_png, learning_curves_png
from seqsuite.steps.runner import Conclusion, execute_runs
from seqsuite.tracking import RunLogger
from seqsuite.training import (
    Evaluation,
    FitResult,
    Objective,
    OptimConfig,
    evaluate,
    seed_everything,
)


def model_data(model_name: str, features: FeatureSet,
               device: torch.device = CPU) -> dict[str, SequenceData | TabularData]:
    """Each split as the model reads it on the device: rows for the MLP, sequences for the recurrent models."""
    tabular = model_entry(model_name).layer is None
    return {s: model_batches(tabular, features.splits[s].sequences, features.splits[s].tabular,
                             torch.from_numpy(features.splits[s].labels), features.meta["pad_index"], device)
            for s in SPLITS}


DIVERGED_FACTOR = 2.0


TUNE_RULES = "workflow/rules/tune.smk"  # the rules of a search's trials and the tuned runs


def tuning_experiment(dataset: str) -> str:
    """The MLflow experiment of a dataset's searches (a parent run per model, its trials as children) and tuned runs."""
    return f"{dataset}-tuning"


def divergence(train_loss: float, train_labels: np.ndarray) -> str | None:
    """Why a run counts as diverged, or None: its training loss at the kept epoch is above DIVERGED_FACTOR times
    the loss of always predicting the training labels' frequencies (their entropy), so it learned nothing."""
    frequencies = np.bincount(train_labels) / len(train_labels)
    frequencies = frequencies[frequencies > 0]
    baseline = float(-(frequencies * np.log(frequencies)).sum())
    if np.isfinite(train_loss) and train_loss <= DIVERGED_FACTOR * baseline:
        return None
    return (f"training loss {train_loss:.3g} at its kept epoch, above {DIVERGED_FACTOR:g} x {baseline:.3g} (the loss "
            "of predicting the label frequencies)")


class DatasetRun:
    """A plan for the step runner: build, fit and evaluate one model on one dataset with one seed."""

    rules_file = "workflow/rules/train.smk"
    objective = Objective()

    def __init__(self, features: FeatureSet, model_name: str, seed: int, hyperparameters: dict[str, Any],
                 device: torch.device, stage: str | None = None) -> None:
        """stage: None for a run with the config's settings, else what the run is to a search ("tuned", "trial3"),
        which puts it in the dataset's tuning experiment."""
        meta = features.meta
        self.features, self.model_name, self.seed, self.device = features, model_name, seed, device
        self.dataset, self.hyperparameters = meta["dataset"], hyperparameters
        self.title = f"{model_name} on {self.dataset}, seed {seed}" + (f" ({stage})" if stage else "")
        self.config_hint = f"training.{meta['kind']}.{model_name} in your config file" + (
            "" if stage is None else f", or narrow its range in tune.space.{meta['kind']}.{model_name}")
        self.experiment = self.dataset if stage is None else tuning_experiment(self.dataset)
        self.rules_file = self.rules_file if stage is None else TUNE_RULES
        self.run_name = f"{model_name}-seed{seed}" if stage is None else f"{model_name}-{stage}-seed{seed}"
        self.params = {"model": model_name, "seed": seed, "device": str(device), **hyperparameters,
                       **{f"features.{k}": v for k, v in meta["settings"].items()},
                       **{k: meta[k] for k in ("n_train", "n_val", "n_test")}}
        self.labels = {"dataset": self.dataset, "model": model_name, "seed": str(seed),
                       **({"seqsuite.stage": stage} if stage else {})}
        seed_everything(seed)
        self.inputs = InputSpec(n_outputs=len(meta["labels"]), vocab_size=meta["vocab_size"],
                                sequence_dim=meta["sequence_dim"], tabular_dim=meta["tabular_dim"],
                                pad_index=meta["pad_index"])
        self.architecture = from_config(ArchitectureConfig, hyperparameters)
        self.model = build_model(model_name, self.inputs, self.architecture)
        self.optim = from_config(OptimConfig, hyperparameters)
        self.policy = Patience(hyperparameters["max_epochs"], hyperparameters["patience"])
        self.data = model_data(model_name, features, device)
        self.train = self.data["train"]

    def evaluate(self, split: str) -> Evaluation:
        """The model's loss, accuracy and macro-F1 on a split."""
        return evaluate(self.model, self.data[split], self.optim.batch_size)

    def validate(self, model: nn.Module) -> dict[str, float]:
        """The validation loss and accuracy recorded after every epoch."""
        validation = evaluate(model, self.data["val"], self.optim.batch_size)
        return {"val_loss": validation.loss, "val_accuracy": validation.accuracy}

    def divergence(self, fitted: FitResult) -> str | None:
        """Why the fitted run counts as diverged (see divergence), judged at its kept epoch, or None."""
        kept = next(r for r in fitted.history if r[self.policy.step_key] == fitted.kept_round)
        return divergence(kept["train_loss"], self.features.splits["train"].labels)

    def prepare(self, logger: RunLogger) -> None:
        """Log the dataset (source and manifest digest) as the run's input."""
        meta = self.features.meta
        logger.log_dataset(self.dataset, meta["source"], meta["manifest_sha256"])

    def conclude(self, fitted: FitResult) -> Conclusion:
        """Score the kept weights on validation and test; the run's record, predictions and figures."""
        evaluations = {s: self.evaluate(s) for s in ("val", "test")}
        results = {s: e.metrics() for s, e in evaluations.items()}
        n_params = count_parameters(self.model)
        diverged = self.divergence(fitted)
        run = {"dataset": self.dataset, "model": self.model_name, "seed": self.seed, "n_params": n_params,
               "train_seconds": fitted.train_seconds, "best_epoch": fitted.kept_round,
               "epochs_run": len(fitted.history), "labels": self.features.meta["labels"], "metrics": results,
               "history": fitted.history, "hyperparameters": self.hyperparameters, "diverged": diverged}
        predictions = self.predictions(evaluations["test"])
        figures = {
            "learning_curves.png": learning_curves_png([run], self.dataset),
            "confusion_matrix.png": confusion_matrix_png(predictions, self.features.meta["labels"],
                                                         title=f"{self.dataset}: {self.model_name}, seed {self.seed}"),
        }
        # best_val_*, not val_*: the per-epoch validation curve already owns those keys
        return Conclusion(
            results={"best_val": results["val"], "test": results["test"]},
            scalars={"train_seconds": fitted.train_seconds, "n_params": n_params, "best_epoch": fitted.kept_round},
            record=run, tables={"predictions": predictions}, figures=figures,
            tags={"seqsuite.diverged": diverged} if diverged else {},
            message=(f"{self.title}: DIVERGED, {diverged}; the report leaves it out: lower lr or set clip_norm in "
                     f"{self.config_hint}" if diverged else
                     f"{self.title}: test accuracy {results['test']['accuracy']:.4f}"),
        )

    def predictions(self, evaluation: Evaluation) -> pd.DataFrame:
        """Test-set targets and predictions with each input's length (frames or tokens)."""
        test = self.features.splits["test"]
        return pd.DataFrame({
            "index": np.arange(len(test.labels)),
            "target": test.labels,
            "prediction": evaluation.predictions,
            "length": [len(x) for x in test.sequences],
        })

    def log_model(self, logger: RunLogger) -> str:
        """The model as a pyfunc that labels raw texts or audio (seqsuite.serving), with its input path."""
        settings = serving.model_settings(self.model_name, self.features.meta["labels"], self.inputs,
                                          self.architecture, self.optim.batch_size, self.features.inputs)
        with tempfile.TemporaryDirectory() as folder:
            artifacts = serving.write_artifacts(Path(folder), self.model, settings)
            return logger.log_pyfunc(serving.Classifier(), artifacts, serving.signature(self.features.meta["kind"]),
                                     serving.input_example(self.features.inputs), serving.requirements())

def train(features_dir: Path, model_name: str, runs: dict[int, dict[str, str]], hyperparameters: dict[str, Any],
          device: str, threads: int, tracking: dict[str, Any], rule: str, workflow_dir: Path, job_log: str,
          stage: str | None = None) -> None:
    """Train one model on one dataset once per seed (runs: seed -> that run's outputs), one after another in this
    process; log each run to MLflow and write its outputs."""
    torch.set_num_threads(threads)
    features, resolved = load_features(features_dir), resolve_device(device)
    plans = ((DatasetRun(features, model_name, seed, hyperparameters, resolved, stage), outputs)
             for seed, outputs in runs.items())
    execute_runs(plans, [features_dir], tracking, rule, workflow_dir, job_log)
