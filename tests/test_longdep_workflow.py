"""The lab through Snakemake: `snakemake longdep` runs it alone and writes its own page of the report, the
default job leaves it out unless enabled, and neither reruns anything of the other."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import mlflow
import pandas as pd
import pytest
import yaml
from conftest import REPO, SNAKEMAKE, dry_run, snakemake, tiny_config, tiny_registry

from seqsuite.longdep.summary import GRADIENT_COLUMNS, SUMMARY_COLUMNS


def job_counts(output: str) -> dict[str, int]:
    """The job stats table of a dry run: rule -> count."""
    table = output[output.index("Job stats:"):]
    return {rule: int(n) for rule, n in re.findall(r"^(\w+)\s+(\d+)$", table, flags=re.MULTILINE) if rule != "total"}


def dry_run_target(workdir: Path, target: str, *config: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [*SNAKEMAKE, target, "-n", "--cores", "1", "--directory", str(workdir), "--snakefile",
         str(REPO / "Snakefile"), "--configfile", str(REPO / "config" / "config.yaml"),
         *(["--config", *config] if config else [])],
        capture_output=True, text=True, timeout=120,
    )


def test_longdep_target_runs_the_whole_lab_and_no_dataset_job(tmp_path):
    result = dry_run_target(tmp_path, "longdep")
    assert result.returncode == 0, result.stderr[-3000:]
    jobs = job_counts(result.stdout)
    # adding T = 20, 50, 100, 200 and temporal order T = 20, 50, 100; 3 seeds; two ablations at adding T = 200;
    # one job per model, for all of its runs
    assert jobs["generate_longdep_data"] == 7 * 3
    models = ("mlp", "rnn", "lstm", "lstm_forget_bias0", "lstm_no_forget_gate")
    assert all(jobs[f"train_longdep_{model}"] == 1 for model in models)
    outputs = re.findall(r"results/longdep/runs/(\w+)/T(\d+)/(\w+)/seed(\d)/metrics\.json", result.stdout)
    runs = {model: {(task, length, seed) for task, length, run_model, seed in outputs if run_model == model}
            for model in models}
    assert all(len(runs[model]) == 7 * 3 for model in ("mlp", "rnn", "lstm"))
    assert runs["lstm_forget_bias0"] == runs["lstm_no_forget_gate"] == {("adding", "200", seed) for seed in "012"}
    assert jobs["summarise_longdep"] == jobs["write_lab_report"] == 1
    assert not {"download_dataset", "extract_features", "train_mlp", "train_lstm", "write_report"} & set(jobs)


def test_default_job_leaves_the_lab_out_unless_enabled(tmp_path):
    default = job_counts(dry_run(tmp_path).stdout)
    assert "train_mlp" in default and not any(rule.startswith("train_longdep") for rule in default)
    enabled = dry_run(tmp_path, "longdep={enabled: true, seeds: [0], ablations: {no_forget_gate: false}}")
    assert enabled.returncode == 0, enabled.stderr[-3000:]
    jobs = job_counts(enabled.stdout)
    assert jobs["train_mlp"] == default["train_mlp"] and jobs["train_longdep_rnn"] == 1
    assert jobs["train_longdep_lstm_forget_bias0"] == 1 and "train_longdep_lstm_no_forget_gate" not in jobs
    assert jobs["write_report"] == jobs["write_lab_report"] == 1


def test_longer_gaps_come_from_the_config_and_a_too_short_one_is_named(tmp_path):
    result = dry_run_target(tmp_path, "longdep", "longdep={tasks: {adding: {T: [200, 800]}, temporal_order: {T: []}}}")
    assert result.returncode == 0, result.stderr[-3000:]
    assert "results/longdep/runs/adding/T800/lstm/seed2/metrics.json" in result.stdout
    assert "results/longdep/runs/temporal_order" not in result.stdout
    bad = dry_run_target(tmp_path, "longdep", "longdep={tasks: {adding: {T: [5]}}}")
    assert bad.returncode != 0 and "5 is less than the minimum of 10" in bad.stdout + bad.stderr
    # the ablations run at adding T = 200 by default, beside the LSTM at the same T
    unmatched = dry_run_target(tmp_path, "longdep", "longdep={tasks: {adding: {T: [400]}}}")
    assert unmatched.returncode != 0
    message = "longdep.ablations.at.adding: T [200] not in longdep.tasks.adding.T [400]"
    assert message in unmatched.stdout + unmatched.stderr  # Snakemake 9.0 prints it to stderr, later ones to stdout


def tiny_lab(config: dict) -> dict:
    """Lab settings that finish in seconds: short sequences, few updates, one seed."""
    lab = config["longdep"]
    lab.update(seeds=[0], sizes={"train": 300, "val": 60, "test": 60})
    lab["tasks"] = {"adding": {"T": [10, 12], "batch_size": 16, "max_updates": 40},
                    "temporal_order": {"T": [10], "batch_size": 16, "max_updates": 40}}
    lab["ablations"]["at"] = {"adding": [12]}
    lab["training"].update(hidden_size=8, mlp_hidden_sizes=[16], eval_every=20)
    return config


@pytest.mark.slow
def test_lab_alone_then_datasets_then_lab_again_keeps_both_pages(tmp_path):
    tiny_registry(tmp_path)
    config = tiny_lab(tiny_config(tmp_path, ["digits"]))
    config["models"] = ["mlp"]
    (tmp_path / "config.yaml").write_text(yaml.safe_dump(config))

    lab = snakemake(tmp_path, "--cores", "2", "--", "longdep")
    assert lab.returncode == 0, lab.stderr[-5000:]
    assert not (tmp_path / "resources").exists()  # no dataset was downloaded for the lab
    report = tmp_path / "results" / "report"
    lab_page = (report / "longdep.html").read_text()
    assert "Long-range dependencies" in lab_page and not (report / "index.html").exists()
    summary = pd.read_csv(tmp_path / "results" / "longdep" / "summary.csv")
    assert list(summary.columns) == SUMMARY_COLUMNS and len(summary) == 3 * 3 + 2
    assert set(summary["model"]) == {"mlp", "rnn", "lstm", "lstm_forget_bias0", "lstm_no_forget_gate"}
    norms = pd.read_csv(tmp_path / "results" / "longdep" / "gradient_norms.csv")
    assert list(norms.columns) == GRADIENT_COLUMNS and set(norms["phase"]) == {"init", "trained"}
    client = mlflow.MlflowClient(f"sqlite:///{tmp_path / 'results' / 'mlflow.db'}")
    for task, n_runs in (("adding", 2 * 3 + 2), ("temporal_order", 3)):
        experiment = client.get_experiment_by_name(f"longdep-{task}")
        runs = client.search_runs([experiment.experiment_id])
        assert len(runs) == n_runs and {r.info.status for r in runs} == {"FINISHED"}
    again = snakemake(tmp_path, "--cores", "2", "-n", "--", "longdep")
    assert "Nothing to be done" in again.stdout + again.stderr

    datasets = snakemake(tmp_path, "--cores", "2")
    assert datasets.returncode == 0, datasets.stderr[-5000:]
    assert not re.search(r"rule (train_longdep|generate_longdep|write_lab_report)", datasets.stdout + datasets.stderr)
    page = (report / "index.html").read_text()
    assert "digits" in page and 'href="longdep.html"' in page
    assert (report / "longdep.html").read_text() == lab_page
    again = snakemake(tmp_path, "--cores", "2", "-n")
    assert "Nothing to be done" in again.stdout + again.stderr
    # the default job does not run the lab: a changed lab setting reruns nothing there
    changed = snakemake(tmp_path, "--cores", "2", "-n", "--config", "longdep={training: {lr: 0.005}}")
    assert "Nothing to be done" in changed.stdout + changed.stderr
    # and the lab alone reruns nothing either: both pages stand as they were
    lab_again = snakemake(tmp_path, "--cores", "2", "-n", "--", "longdep")
    assert "Nothing to be done" in lab_again.stdout + lab_again.stderr
    assert len(pd.read_csv(report / "summary.csv")) == 8  # the digits MLP run
