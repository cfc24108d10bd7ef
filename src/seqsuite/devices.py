"""Where tensors live: the device a run asks for, and copies to it that do not stall a GPU."""

from __future__ import annotations

import torch

CPU = torch.device("cpu")


def resolve_device(name: str) -> torch.device:
    """auto picks CUDA when present; cuda without a GPU is an error that says so."""
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if name == "cuda" and not torch.cuda.is_available():
        raise RuntimeError("device 'cuda' was asked for but no CUDA GPU is visible; set device: auto or cpu")
    return torch.device(name)


def to_device(tensor: torch.Tensor, device: torch.device) -> torch.Tensor:
    """A tensor on the device; to a GPU through pinned memory, without waiting: a copy from pageable memory first
    waits for all the work queued on the GPU, which stalled the loop at every update."""
    if device.type != "cuda" or tensor.device.type != "cpu":
        return tensor.to(device)
    return tensor.pin_memory().to(device, non_blocking=True)
