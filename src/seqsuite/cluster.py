"""What each workflow step asks a scheduler for: memory, run time, CPUs and, for training on CUDA, a GPU."""

from __future__ import annotations

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


def job_resources(step: str, threads: int, device: str = "cpu") -> dict[str, Any]:
    """Snakemake resources for one step; training jobs on device 'cuda' ask for one GPU."""
    if step not in STEP_LIMITS:
        raise ValueError(f"unknown step {step!r}; steps are {', '.join(STEP_LIMITS)}")
    mem_mb, runtime = STEP_LIMITS[step]
    resources = {"mem_mb": mem_mb, "runtime": runtime, "cpus_per_task": threads}
    if step == "train" and device == "cuda":
        resources["gpu"] = 1
    return resources
