"""Entry points of the lab's workflow steps: generate a task's data, train one run, summarise the sweep."""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import torch

from seqsuite.config import from_config
from seqsuite.longdep import LSTM_MODELS
from seqsuite.longdep.lab import (
    TASK_SPECS,
    LabConfig,
    aligned_probe,
    build_lab_model,
    gate_means,
    gradient_norms,
    scores,
    train_lab,
)
from seqsuite.longdep.summary import (
    GRADIENT_COLUMNS,
    MODEL_TITLES,
    SUMMARY_COLUMNS,
    TASK_TITLES,
    decay_rates,
    gradient_rows,
    summary_row,
)
from seqsuite.longdep.tasks import generate
from seqsuite.training import NonFiniteLossError, seed_everything

log = logging.getLogger("seqsuite")
PROBE_SIZE = 256  # test sequences over which gradient norms and gate means are averaged
GATE_COLUMNS = ["task", "T", "model", "seed", "units", "step", "input", "forget", "output", "marker"]


def generate_data(task: str, length: int, seed: int, sizes: dict[str, int], out: Path) -> None:
    """Write the fixed train, val and test sets of (task, T, seed) that every model of the sweep reads."""
    np.savez_compressed(out, **generate(task, length, seed, sizes))


def load_data(path: Path) -> dict[str, tuple[torch.Tensor, torch.Tensor]]:
    """The generated splits as tensors: {split: (x, y)}."""
    with np.load(path) as arrays:
        return {split: (torch.from_numpy(arrays[f"{split}_x"]), torch.from_numpy(arrays[f"{split}_y"]))
                for split in ("train", "val", "test")}


def train_run(data_path: Path, task: str, length: int, model_name: str, seed: int, settings: dict[str, Any],
              outputs: dict[str, str], threads: int, tracking: dict[str, Any], rule: str,
              workflow_dir: Path) -> None:
    """Train one lab model on one (task, T, seed), measure its gradients (and gates), log it to MLflow."""
    from seqsuite import tracking as mlflow_tracking
    from seqsuite.longdep.plots import gates_png, gradient_norms_png, history_png

    torch.set_num_threads(threads)
    spec, config = TASK_SPECS[task], from_config(LabConfig, settings)
    data = load_data(data_path)
    probe_x, probe_y = (part[:PROBE_SIZE] for part in data["test"])
    seed_everything(seed)
    model = build_lab_model(model_name, length, probe_x.shape[2], spec.outputs, config)
    norms = {"init": gradient_norms(model, spec, probe_x, probe_y)}
    title = f"{MODEL_TITLES[model_name]}, {TASK_TITLES[task]}, T = {length}, seed {seed}"
    params = {"task": task, "T": length, "model": model_name, "seed": seed, "device": "cpu", **settings,
              **{f"n_{split}": len(xy[0]) for split, xy in data.items()}}
    tags = mlflow_tracking.run_tags(rule, "workflow/rules/longdep.smk", workflow_dir,
                                    task=task, T=str(length), model=model_name, seed=str(seed))
    with mlflow_tracking.training_run(tracking["tracking_uri"], tracking["artifact_root"], f"longdep-{task}",
                                      f"{model_name}-T{length}-seed{seed}", params, tags,
                                      tracking["server_wait_s"]) as logger:
        try:
            result = train_lab(model, spec, data["train"], data["val"], config, seed,
                               on_eval=lambda record: logger.log_epoch(record, step_key="step"))
        except NonFiniteLossError as error:
            raise NonFiniteLossError(f"{model_name} on {task}, T = {length}, seed {seed}: {error}; lower "
                                     "longdep.training.lr or clip_norm in config/config.yaml") from error
        test = scores(model, spec, *data["test"])
        solved = test["score"] <= spec.solved_at
        norms["trained"] = gradient_norms(model, spec, probe_x, probe_y)
        run = {"task": task, "T": length, "model": model_name, "seed": seed, "run_id": logger.run_id,
               "experiment_id": logger.experiment_id, "solved": int(solved), "test": test,
               "steps": result.steps, "stopped_solved": result.stopped_solved,
               "train_seconds": result.train_seconds, "history": result.history, "settings": settings}
        logger.log_results({"test": test}, {"solved": float(solved), "steps": result.steps,
                                            "train_seconds": result.train_seconds})
        gradients = gradient_rows(run, norms)
        gradients.to_csv(outputs["gradients"], index=False)
        logger.log_png("learning_curves.png", history_png(result.history, task, title))
        logger.log_png("gradient_norms.png", gradient_norms_png(gradients))
        if model_name in LSTM_MODELS:
            gates = gate_frame(model, task, probe_x, run)
            gates.to_csv(outputs["gates"], index=False)
            logger.log_png("gates.png", gates_png(gates, f"gates of the trained {title}"))
        torch.save(model.state_dict(), outputs["checkpoint"])
        logger.log_file(Path(outputs["checkpoint"]), "model")
        Path(outputs["metrics"]).write_text(json.dumps(run, indent=1))
    log.info("%s: %s %.4g after %d updates (%s)", title, spec.score_name, test["score"], result.steps,
             "solved" if solved else "not solved")


def gate_frame(model: torch.nn.Module, task: str, x: torch.Tensor, run: dict[str, Any]) -> pd.DataFrame:
    """Gate means of a trained LSTM over sequences aligned on their deciding steps, with those steps marked."""
    probe, positions = aligned_probe(task, x)
    steps = np.arange(1, probe.shape[1] + 1)
    frames = [pd.DataFrame({"units": units, "step": steps, **means, "marker": np.isin(steps, positions).astype(int)})
              for units, means in gate_means(model, probe).items()]
    gates = pd.concat(frames, ignore_index=True)
    for key in ("task", "T", "model", "seed"):
        gates[key] = run[key]
    return gates[GATE_COLUMNS]


def summarise(metrics: list[str], gradients: list[str], gates: list[str], settings: dict[str, Any],
              outputs: dict[str, str]) -> None:
    """Write the sweep's summary.csv, gradient_norms.csv, decay_rates.csv, its two figures and the settings
    it ran with (settings.json, which the report states)."""
    from seqsuite.longdep.plots import gates_png, gradient_norms_png, message_png

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
        png = gates_png(shown, f"gates of the trained {MODEL_TITLES[run['model']]}, {TASK_TITLES[run['task']]}, "
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
