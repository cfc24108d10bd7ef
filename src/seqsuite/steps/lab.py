"""The lab's steps: train one model on each of its (task, T, seed), summarise the sweep (its data:
seqsuite.steps.lab_data)."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import torch

from seqsuite.batches import TensorData
from seqsuite.data import SPLITS
from seqsuite.longdep.measures import gate_frame, gradient_norms, task_scores
from seqsuite.longdep.plots import gates_png, gradient_norms_png, history_png, message_png
from seqsuite.longdep.summary import GRADIENT_COLUMNS, SUMMARY_COLUMNS, decay_rates, gradient_rows, summary_row
from seqsuite.longdep.tasks import TASKS
from seqsuite.models import LSTM_MODELS, MODELS
from seqsuite.models.build import ArchitectureConfig, InputSpec, build_model
from seqsuite.policies import Budget
from seqsuite.steps.runner import Conclusion, execute_runs
from seqsuite.tracking import RunLogger
from seqsuite.training import FitResult, Objective, OptimConfig, seed_everything

PROBE_SIZE = 256  # test sequences over which gradient norms and gate means are averaged


def load_data(path: Path) -> dict[str, TensorData]:
    """The generated splits as tensors."""
    with np.load(path) as arrays:
        return {split: TensorData(torch.from_numpy(arrays[f"{split}_x"]), torch.from_numpy(arrays[f"{split}_y"]))
                for split in SPLITS}


def lab_architecture(settings: dict[str, Any]) -> ArchitectureConfig:
    """Every lab model's sizes (config: longdep.training): one layer, one direction, read out from h_T."""
    return ArchitectureConfig(hidden_sizes=list(settings["mlp_hidden_sizes"]), hidden_size=settings["hidden_size"],
                              forget_bias=settings["forget_bias"])


class LabRun:
    """A plan for the step runner: one lab model on one task, T and seed, with its gradient norms (and gates)."""

    rules_file = "workflow/rules/longdep.smk"
    device = torch.device("cpu")
    config_hint = "lower longdep.training.lr or clip_norm in your config file"

    def __init__(self, data: dict[str, TensorData], task: str, length: int, model_name: str, seed: int,
                 settings: dict[str, Any]) -> None:
        self.data, self.task, self.length, self.model_name, self.seed = data, TASKS[task], length, model_name, seed
        self.settings = settings
        self.title = f"{MODELS[model_name].title}, {self.task.title}, T = {length}, seed {seed}"
        self.experiment, self.run_name = f"longdep-{task}", f"{model_name}-T{length}-seed{seed}"
        self.params = {"task": task, "T": length, "model": model_name, "seed": seed, "device": "cpu", **settings,
                       **{f"n_{split}": len(split_data) for split, split_data in data.items()}}
        self.labels = {"task": task, "T": str(length), "model": model_name, "seed": str(seed)}
        self.probe = TensorData(data["test"].x[:PROBE_SIZE], data["test"].y[:PROBE_SIZE])
        seed_everything(seed)
        channels = data["train"].x.shape[2]
        inputs = InputSpec(n_outputs=self.task.n_outputs, sequence_dim=channels, tabular_dim=length * channels)
        self.model = build_model(model_name, inputs, lab_architecture(settings))
        measuring = time.perf_counter()
        self.norms = {"init": gradient_norms(self.model, self.task, self.probe.x, self.probe.y)}
        self.measure_seconds = time.perf_counter() - measuring  # the lab's measurements, besides training
        self.train = data["train"]
        self.objective = Objective(regression=self.task.regression)
        self.optim = OptimConfig(lr=settings["lr"], batch_size=settings["batch_size"], clip_norm=settings["clip_norm"])
        self.policy = Budget(settings["max_updates"], settings["eval_every"], self.task.solved_at)

    def validate(self, model: torch.nn.Module) -> dict[str, float]:
        """The validation scores recorded every eval_every updates."""
        scores = task_scores(model, self.task, self.data["val"].x, self.data["val"].y)
        return {f"val_{name}": score for name, score in scores.items()}

    def prepare(self, logger: RunLogger) -> None:
        """Nothing to log before training: the data are generated, not downloaded."""

    def conclude(self, fitted: FitResult) -> Conclusion:
        """Score on test, measure the trained gradient norms (and the LSTMs' gates), and plot them."""
        test = task_scores(self.model, self.task, self.data["test"].x, self.data["test"].y)
        solved = test["score"] <= self.task.solved_at
        measuring = time.perf_counter()
        self.norms["trained"] = gradient_norms(self.model, self.task, self.probe.x, self.probe.y)
        run = {"task": self.task.name, "T": self.length, "model": self.model_name, "seed": self.seed,
               "solved": int(solved), "test": test, "steps": fitted.updates, "stopped_solved": fitted.stopped_early,
               "train_seconds": fitted.train_seconds, "history": fitted.history, "settings": self.settings}
        tables = {"gradients": gradient_rows(run, self.norms)}
        if self.model_name in LSTM_MODELS:
            tables["gates"] = gate_frame(self.model, self.task.name, self.probe.x, run)
        run["measure_seconds"] = self.measure_seconds + time.perf_counter() - measuring
        figures = {"learning_curves.png": history_png(fitted.history, self.task.name, self.title),
                   "gradient_norms.png": gradient_norms_png(tables["gradients"])}
        if "gates" in tables:
            figures["gates.png"] = gates_png(tables["gates"], f"gates of the trained {self.title}")
        return Conclusion(
            results={"test": test},
            scalars={"solved": float(solved), "steps": fitted.updates, "train_seconds": fitted.train_seconds},
            record=run, tables=tables, figures=figures,
            message=f"{self.title}: {self.task.score_name} {test['score']:.4g} after {fitted.updates} updates "
                    f"({'solved' if solved else 'not solved'})",
        )

    def log_model(self, logger: RunLogger) -> str:
        """The torch model with seqsuite's code, its signature from one test sequence (a batch of one)."""
        return logger.log_model(self.model, self.probe.x[:1].numpy())


def train_lab_runs(model_name: str, runs: list[dict[str, Any]], threads: int, tracking: dict[str, Any], rule: str,
                   workflow_dir: Path, job_log: str) -> None:
    """Train one lab model on each of its runs (dicts of task, T, seed, settings, data and outputs), one after
    another in this process: measure its gradients (and gates), log it to MLflow, write its outputs."""
    torch.set_num_threads(threads)
    plans = ((LabRun(load_data(Path(run["data"])), run["task"], run["T"], model_name, run["seed"], run["settings"]),
              run["outputs"]) for run in runs)
    execute_runs(plans, sorted({run["data"] for run in runs}), tracking, rule, workflow_dir, job_log)


def summarise(metrics: list[str], gradients: list[str], gates: list[str], settings: dict[str, Any],
              outputs: dict[str, str]) -> None:
    """Write the sweep's summary.csv, gradient_norms.csv, decay_rates.csv, its two figures and the settings
    it ran with (settings.json, which the report states)."""
    runs = [json.loads(Path(path).read_text()) for path in metrics]
    summary = pd.DataFrame([summary_row(run) for run in runs], columns=SUMMARY_COLUMNS)
    summary.sort_values(["task", "T", "model", "seed"]).to_csv(outputs["summary"], index=False)
    norms = pd.concat([pd.read_csv(path) for path in gradients], ignore_index=True)[GRADIENT_COLUMNS]
    norms.to_csv(outputs["gradients"], index=False)
    decay_rates(norms).to_csv(outputs["decay"], index=False)
    Path(outputs["gradient_plot"]).write_bytes(gradient_norms_png(norms))
    shown = shown_gates(pd.concat([pd.read_csv(path) for path in gates], ignore_index=True)) if gates else None
    if shown is None:
        png = message_png("No LSTM among the lab's runs: no gates to show.")
    else:
        run = shown.iloc[0]
        png = gates_png(shown, f"gates of the trained {MODELS[run['model']].title}, {TASKS[run['task']].title}, "
                               f"T = {run['T']}, seed {run['seed']}")
    Path(outputs["gate_plot"]).write_bytes(png)
    Path(outputs["settings"]).write_text(json.dumps(settings, indent=1))


def shown_gates(gates: pd.DataFrame) -> pd.DataFrame:
    """The gates of the run the report shows: the default LSTM first, the adding problem first, then the
    longest gap and the lowest seed."""
    runs = gates[["task", "T", "model", "seed"]].drop_duplicates()
    order = runs.assign(rank_model=runs["model"] != "lstm", rank_task=runs["task"] != "adding", rank_T=-runs["T"])
    chosen = order.sort_values(["rank_model", "rank_task", "rank_T", "seed"]).iloc[0]
    keys = ["task", "T", "model", "seed"]
    return gates[(gates[keys] == chosen[keys]).all(axis=1)]
