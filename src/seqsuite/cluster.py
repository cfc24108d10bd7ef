"""What each workflow step asks a scheduler for: memory, run time, CPUs and, for training on CUDA, a GPU.

Memory and run time grow with Snakemake's attempt: a job that SLURM killed at its limit (TIMEOUT, or out of
memory) is resubmitted with twice as much, then three times, and resumes from its checkpoint.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

# (memory in MB, run time in minutes) per step, and per run for the training steps, whose jobs train several runs
# one after another; measured peaks here: about 0.7 GB for downloads and features, 1.2 GB for training (torch +
# MLflow), minutes per run on the default datasets.
STEP_LIMITS = {
    "download": (1024, 30),
    "features": (4096, 60),
    "train": (4096, 120),
    "report": (2048, 30),
    "generate": (1024, 10),
    "summarise": (2048, 30),
    # the lab's runs: at most 1.1 GB and a minute or two each (README, "The long-dependency lab")
    "train_lab": (2048, 10),
}
# The lab's data jobs run in SLURM jobs of several (rule group "longdep"); each takes one of its job's lab_slots,
# which the SLURM profile sets per job, so that a group's jobs share the CPUs it asks for.
GROUPED_STEPS = ("generate",)


def grows_with_attempt(first: int) -> Callable[[Any, int], int]:
    """A resource for Snakemake: first on the first attempt, first * n on the n-th."""

    def amount(wildcards: Any, attempt: int) -> int:
        return first * attempt

    return amount


def job_resources(step: str, threads: int, device: str = "cpu", runs: int = 1) -> dict[str, Any]:
    """Snakemake resources for one step (a job of `runs` runs, one after another); training jobs on device 'cuda'
    ask for one GPU and one of its slots."""
    if step not in STEP_LIMITS:
        raise ValueError(f"unknown step {step!r}; steps are {', '.join(STEP_LIMITS)}")
    mem_mb, runtime = STEP_LIMITS[step]
    resources = {"mem_mb": grows_with_attempt(mem_mb), "runtime": grows_with_attempt(runtime * runs),
                 "cpus_per_task": threads}
    if step == "train" and device == "cuda":
        # a whole GPU from SLURM; locally one of the GPU's gpu_slots (profiles/default), so that several jobs share it
        resources.update(gpu=1, gpu_slots=1)
    if step in GROUPED_STEPS:
        # no --cpus-per-task (SLURM's default, one CPU): Snakemake would sum it over a group's runs, and sum it
        # again inside the SLURM job over all the node's CPUs, asking srun for more than the job holds
        resources.update(lab_slots=1, cpus_per_task=-1)
    return resources
