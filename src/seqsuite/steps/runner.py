"""The one step runner of every training job, the datasets' and the lab's: an MLflow run around the training
loop, then the run's curves, results, plots, model and output files; a job's runs one after another."""

from __future__ import annotations

import contextlib
import json
import logging
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol, TypeVar

import pandas as pd
import psutil
import torch
from torch import nn

from seqsuite import tracking
from seqsuite.batches import Batches
from seqsuite.checkpoint import Checkpoint, fingerprint, input_stamp, save_torch, stop_on_signals
from seqsuite.files import atomic_path
from seqsuite.policies import Policy
from seqsuite.steps.clock import JobClock
from seqsuite.training import FitResult, NonFiniteLossError, Objective, OptimConfig, fit

log = logging.getLogger("seqsuite")
# beside a run's outputs while it trains, then a copy of its outputs until its job ends; not an output, so a
# failed job keeps it
RESUME_FILE = "resume.pt"


@dataclass
class Conclusion:
    """What a trained run reports, besides its model: MLflow metrics, metrics.json, tables and figures."""

    results: dict[str, dict[str, float]]  # final metrics by prefix: {"test": {"accuracy": ..}} -> test_accuracy
    scalars: dict[str, float]  # other final metrics (train_seconds, ...)
    record: dict[str, Any]  # metrics.json, to which the runner adds the MLflow run and experiment ids
    message: str  # the job log's last line
    tables: dict[str, pd.DataFrame] = field(default_factory=dict)  # output name -> its CSV
    figures: dict[str, bytes] = field(default_factory=dict)  # MLflow artifact plots/<name> -> PNG
    tags: dict[str, str] = field(default_factory=dict)  # MLflow tags the outcome adds (seqsuite.diverged)


class RunPlan(Protocol):
    """One training run, ready to train: its model, data, objective and policy, and what it reports."""

    title: str  # names the run in errors, e.g. "lstm on fsdd, seed 0"
    config_hint: str  # where its settings live, for an error that asks to change them
    experiment: str
    run_name: str
    rules_file: str
    params: dict[str, Any]
    labels: dict[str, str]  # MLflow tags that say what the run is
    model: nn.Module
    train: Batches
    objective: Objective
    optim: OptimConfig
    policy: Policy
    seed: int
    device: torch.device

    def validate(self, model: nn.Module) -> dict[str, float]: ...

    def prepare(self, logger: tracking.RunLogger) -> None: ...

    def conclude(self, fitted: FitResult) -> Conclusion: ...

    def log_model(self, logger: tracking.RunLogger) -> str | None: ...  # the logged model's models:/ URI, if any


Plan = TypeVar("Plan", bound=RunPlan)


def train_plan(plan: RunPlan, on_record: Callable[[dict[str, float]], None] | None = None,
               checkpoint: Checkpoint | None = None) -> FitResult:
    """Fit a plan's model with its data, objective and policy; a non-finite loss names the run and its settings."""
    try:
        return fit(plan.model, plan.train, plan.validate, plan.objective, plan.optim, plan.policy, plan.seed,
                   plan.device, on_record, checkpoint)
    except NonFiniteLossError as error:
        raise NonFiniteLossError(f"{plan.title}: {error} ({plan.config_hint})") from error


def round_reporter(plan: RunPlan, logger: tracking.RunLogger, clock: JobClock) -> Callable[[dict[str, float]], None]:
    """What happens after every round: its record goes to MLflow's curves and a line to the job's log
    (follow it with `tail -f logs/<rule>/...`)."""
    started = time.perf_counter()

    def report(record: dict[str, float]) -> None:
        with clock.phase("round_logging"):
            logger.log_epoch(record, plan.policy.step_key)
        values = ", ".join(f"{name} {value:.4g}" for name, value in record.items() if name != plan.policy.step_key)
        log.info("%s: %s %d: %s (%.1f s)", plan.title, plan.policy.step_key, record[plan.policy.step_key], values,
                 time.perf_counter() - started)

    return report


def execute_runs(runs: Iterable[tuple[Plan, dict[str, str]]], inputs: list[str | Path], settings: dict[str, Any],
                 rule: str, workflow_dir: Path, job_log: str,
                 on_nonfinite: Callable[[Plan, dict[str, str], NonFiniteLossError], None] | None = None) -> None:
    """Train a job's runs (each plan with its outputs) one after another in this process, each as `execute` does:
    the imports, MLflow's connection and the optimiser's set-up are paid once per job, not once per run.

    A run whose loss becomes non-finite ends the job with its error, or, given on_nonfinite, is handed to it (its
    MLflow run has ended FAILED), which writes the run's outputs; they are kept as a finished run's are, and the
    job goes on to its next run.

    Each finished run keeps a copy of its outputs in its resume.pt until the job's last run has finished, so that a
    job stopped halfway (Snakemake then deletes all of its outputs) restores those runs when it runs again instead
    of training them again, as long as the job's inputs (files or folders) and the code's commit are unchanged.
    `runs` may build each plan when it is asked for, so that one run's data are in memory at a time.
    """
    stamp = input_stamp(inputs, tracking.git_commit(workflow_dir))
    kept = []
    since = psutil.Process().create_time()
    for plan, outputs in runs:
        try:
            kept.append(execute(plan, outputs, settings, rule, workflow_dir, JobClock(since), job_log, stamp))
        except NonFiniteLossError as error:
            if on_nonfinite is None:
                raise
            on_nonfinite(plan, outputs, error)
            checkpoint = resume_checkpoint(plan, outputs)
            checkpoint.keep_outputs(outputs, stamp)
            kept.append(checkpoint.path)
        since = time.time()
        del plan  # before the next plan is built: the loop would rebind it only after
    for path in kept:
        path.unlink(missing_ok=True)


def resume_checkpoint(plan: RunPlan, outputs: dict[str, str]) -> Checkpoint:
    """Where a run's training state, then the copy of its outputs, is kept (resume.pt beside its metrics.json),
    for its settings alone."""
    return Checkpoint(Path(outputs["metrics"]).with_name(RESUME_FILE), fingerprint(plan.params))


def execute(plan: RunPlan, outputs: dict[str, str], settings: dict[str, Any], rule: str, workflow_dir: Path,
            clock: JobClock, job_log: str, inputs: str) -> Path:
    """Train a plan inside an MLflow run (config's mlflow settings) and write its outputs: checkpoint,
    metrics.json (with its job's log, which benchmarks/overhead.py matches to the job's time) and the plan's
    tables. Returns the run's resume.pt, which then holds a copy of the outputs (and `inputs`, execute_runs's
    stamp) until the caller removes it.

    The training state is saved beside the outputs (resume.pt) after every round, and at once on a stop
    signal (SIGTERM, Ctrl-C, SIGHUP); a job that finds one from the same settings resumes it and continues its MLflow
    run, or restores the outputs of a run that had finished.
    """
    checkpoint = resume_checkpoint(plan, outputs)
    if checkpoint.restore_outputs(outputs, inputs):
        log.info("%s: finished by an earlier attempt of this job; its outputs are restored from %s", plan.title,
                 checkpoint.path)
        record = json.loads(Path(outputs["metrics"]).read_text())
        record.pop("job_log", None)  # its time went to the attempt that trained it, not to this job (overhead.py)
        with atomic_path(outputs["metrics"]) as partial:
            partial.write_text(json.dumps(record, indent=1))
        return checkpoint.path
    tags = tracking.run_tags(rule, plan.rules_file, workflow_dir, checkpoint.digest, **plan.labels)
    run_id = checkpoint.saved["run_id"] if checkpoint.saved else None
    with contextlib.ExitStack() as run:
        with clock.phase("mlflow_setup"):
            logger = run.enter_context(tracking.training_run(
                settings["tracking_uri"], settings["artifact_root"], plan.experiment, plan.run_name, plan.params,
                tags, settings["server_wait_s"], run_id))
            checkpoint.extra["run_id"] = logger.run_id
            if run_id is None:  # a resumed run has its inputs logged already
                plan.prepare(logger)
        with clock.phase("training"), stop_on_signals() as checkpoint.stop:
            fitted = train_plan(plan, round_reporter(plan, logger, clock), checkpoint)
        with clock.phase("evaluation_and_plots"):
            conclusion = plan.conclude(fitted)
        with clock.phase("results_logging"):
            logger.log_results(conclusion.results, conclusion.scalars)
            logger.set_tags(conclusion.tags)
            for filename, png in conclusion.figures.items():
                logger.log_png(filename, png)
        with clock.phase("model_logging"):
            plan.model.cpu()
            model_uri = plan.log_model(logger)
        with clock.phase("outputs"):
            for name, frame in conclusion.tables.items():
                with atomic_path(outputs[name]) as partial:
                    frame.to_csv(partial, index=False)
            if "checkpoint" in outputs:
                save_torch(plan.model.state_dict(), outputs["checkpoint"])
        record = {**conclusion.record, "run_id": logger.run_id, "experiment_id": logger.experiment_id,
                  "model_uri": model_uri,
                  "job_seconds": clock.rounded(), "job_log": job_log}
        with atomic_path(outputs["metrics"]) as partial:
            partial.write_text(json.dumps(record, indent=1))
    checkpoint.keep_outputs(outputs, inputs)
    (log.warning if "seqsuite.diverged" in conclusion.tags else log.info)(conclusion.message)
    return checkpoint.path
