"""Cluster resources: what each rule asks SLURM for, and the sbatch arguments the GPU setting produces."""

from __future__ import annotations

import re

import pytest
import yaml
from conftest import REPO, dry_run

from seqsuite.cluster import GROUPED_STEPS, STEP_LIMITS, job_resources


class Resources(dict):
    """Snakemake-style resources: dict access and attribute access."""

    __getattr__ = dict.__getitem__


class Job:
    """The part of a Snakemake job that the SLURM plugin reads to build sbatch's arguments."""

    def __init__(self, resources: dict, threads: int) -> None:
        self.resources = Resources(resources)
        self.threads = threads


def at_attempt(resources: dict, attempt: int) -> dict:
    """Resources as Snakemake evaluates them for a job's attempt."""
    return {name: value(None, attempt) if callable(value) else value for name, value in resources.items()}


def sbatch_call(resources: dict, threads: int, attempt: int = 1) -> str:
    """The sbatch command line the SLURM executor plugin builds for a job with these resources."""
    submit_string = pytest.importorskip("snakemake_executor_plugin_slurm.submit_string")
    utils = pytest.importorskip("snakemake_executor_plugin_slurm.utils")
    job = Job({"slurm_partition": "gpu", **at_attempt(resources, attempt)}, threads)
    params = {"run_uuid": "seqsuite-test", "slurm_logfile": "slurm.log", "comment_str": "train_lstm",
              "account": "", "partition": "-p gpu", "workdir": "/work"}
    return submit_string.get_submit_command(job, params) + utils.set_gres_string(job)


def test_training_on_cuda_asks_for_one_gpu_and_its_cpus_and_memory():
    call = sbatch_call(job_resources("train", threads=4, device="cuda"), threads=4)
    assert "--gpus=1" in call and "--cpus-per-task=4" in call
    assert f"--mem {STEP_LIMITS['train'][0]}" in call and f"-t {STEP_LIMITS['train'][1]}" in call


def test_memory_and_run_time_grow_with_each_attempt():
    first, third = (sbatch_call(job_resources("train", threads=1), threads=1, attempt=n) for n in (1, 3))
    mem_mb, runtime = STEP_LIMITS["train"]
    assert f"--mem {mem_mb}" in first and f"-t {runtime}" in first
    assert f"--mem {3 * mem_mb}" in third and f"-t {3 * runtime}" in third


def test_slurm_profile_hard_codes_no_partition_or_account():
    profile = (REPO / "profiles" / "slurm" / "config.yaml").read_text()
    settings = yaml.safe_load(profile)["default-resources"]
    assert "slurm_partition" not in settings and "slurm_account" not in settings


@pytest.mark.parametrize("device", ["cpu", "auto"])
def test_training_on_cpu_or_auto_asks_for_no_gpu(device):
    call = sbatch_call(job_resources("train", threads=1, device=device), threads=1)
    assert "--gpus" not in call and "--cpus-per-task=1" in call and "--ntasks=1" in call


def test_features_and_report_never_ask_for_a_gpu_and_training_needs_more_than_downloading():
    assert all("gpu" not in job_resources(step, 1, "cuda") for step in ("download", "features", "report"))
    assert at_attempt(job_resources("train", 1), 1)["mem_mb"] > at_attempt(job_resources("download", 1), 1)["mem_mb"]
    with pytest.raises(ValueError, match="unknown step 'fit'; steps are download, features, train, report"):
        job_resources("fit", 1)


def test_workflow_rules_declare_these_resources(tmp_path):
    result = dry_run(tmp_path, "datasets=[mr]", "seeds=[0]", "device=cuda", "threads={extract_features: 2, train: 3}")
    assert result.returncode == 0, result.stderr
    jobs = result.stdout.split("\nrule ")
    train = [j for j in jobs if j.startswith("train_")]
    assert len(train) == 3 and all("gpu=1" in j and "gpu_slots=1" in j and "cpus_per_task=3" in j for j in train)
    features = next(j for j in jobs if j.startswith("extract_features"))
    assert "gpu" not in features and "cpus_per_task=2" in features


def training_jobs(output: str, rule: str) -> list[str]:
    """The dry run's jobs of a rule, each its block of text."""
    return [job for job in output.split("\nrule ") if job.startswith(f"{rule}:")]


def test_a_training_job_trains_every_seed_in_each_runs_time_and_one_job_per_seed_splits_them(tmp_path):
    grouped = dry_run(tmp_path, "datasets=[mr]", "models=[lstm]", "seeds=[0, 1, 2]")
    assert grouped.returncode == 0, grouped.stderr[-3000:]
    (job,) = training_jobs(grouped.stdout, "train_lstm")
    assert "runtime=360" in job and all(f"results/models/lstm/mr/seed{seed}/metrics.json" in job for seed in range(3))
    single = dry_run(tmp_path, "datasets=[mr]", "models=[lstm]", "seeds=[0, 1, 2]", "one_job_per_seed=true")
    jobs = training_jobs(single.stdout, "train_lstm")
    assert len(jobs) == 3 and all("runtime=120" in job for job in jobs)
    assert sorted("".join(set(re.findall(r"/seed(\d)/metrics\.json", job))) for job in jobs) == ["0", "1", "2"]
    # the tuning page's default runs on tune.seeds (0-4): seeds 3 and 4 in a job of their own
    tune = dry_run(tmp_path, "datasets=[mr]", "models=[lstm]", "seeds=[0, 1, 2]", targets=("tune",))
    (extra,) = training_jobs(tune.stdout, "train_lstm_tune_seeds")
    assert set(re.findall(r"results/models/lstm/mr/seed(\d)/metrics.json", extra)) == {"3", "4"}
    assert len(training_jobs(tune.stdout, "train_tuned_lstm")) == 1


def test_a_search_trains_its_trials_in_one_job_and_one_job_per_seed_gives_each_trial_a_job(tmp_path):
    settings = ("datasets=[mr]", "models=[lstm]", "seeds=[0]", "tune={trials: 4}")
    grouped = dry_run(tmp_path, *settings, targets=("tune",))
    assert grouped.returncode == 0, grouped.stderr[-3000:]
    (job,) = training_jobs(grouped.stdout, "tune_trials")
    assert "runtime=480" in job and all(f"results/tune/mr/lstm/trial{k}/metrics.json" in job for k in range(4))
    single = dry_run(tmp_path, *settings, "one_job_per_seed=true", targets=("tune",))
    assert single.returncode == 0, single.stderr[-3000:]
    jobs = training_jobs(single.stdout, "tune_trials")
    assert len(jobs) == 4 and all("runtime=120" in job for job in jobs)
    assert sorted("".join(set(re.findall(r"/trial(\d)/metrics\.json", job))) for job in jobs) == ["0", "1", "2", "3"]


def test_a_job_of_several_runs_asks_for_each_runs_time_and_one_runs_memory():
    one, three = (at_attempt(job_resources("train_lab", 1, runs=runs), 2) for runs in (1, 3))
    assert three["runtime"] == 3 * one["runtime"] and three["mem_mb"] == one["mem_mb"]


def test_only_the_labs_data_steps_take_a_slot_of_their_group_job():
    assert all(job_resources(step, threads=1)["lab_slots"] == 1 for step in GROUPED_STEPS)
    assert not any("lab_slots" in job_resources(step, threads=1) for step in set(STEP_LIMITS) - set(GROUPED_STEPS))
