"""What each workflow step asks a scheduler for: memory, run time, CPUs and, for training on CUDA, a GPU.

Memory and run time grow with Snakemake's attempt: a job that SLURM killed at its limit (TIMEOUT, or out of
memory) is resubmitted with twice as much, then three times, and resumes from its checkpoint.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

# (memory in MB, run time in minutes) per step; measured peaks here: about 0.7 GB for downloads and
# features, 1.2 GB for training (torch + MLflow), minutes per job on the default datasets.
STEP_LIMITS = {
    "download": (1024, 30),
    "features": (4096, 60),
    "train": (4096, 120),
    "report": (2048, 30),
    "generate": (1024, 10),
    "summarise": (2048, 30),
}


def grows_with_attempt(first: int) -> Callable[[Any, int], int]:
    """A resource for Snakemake: first on the first attempt, first * n on the n-th."""

    def amount(wildcards: Any, attempt: int) -> int:
        return first * attempt

    return amount


def job_resources(step: str, threads: int, device: str = "cpu") -> dict[str, Any]:
    """Snakemake resources for one step; training jobs on device 'cuda' ask for one GPU."""
    if step not in STEP_LIMITS:
        raise ValueError(f"unknown step {step!r}; steps are {', '.join(STEP_LIMITS)}")
    mem_mb, runtime = STEP_LIMITS[step]
    resources = {"mem_mb": grows_with_attempt(mem_mb), "runtime": grows_with_attempt(runtime),
                 "cpus_per_task": threads}
    if step == "train" and device == "cuda":
        resources["gpu"] = 1
    return resources
