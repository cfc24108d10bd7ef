"""Writing outputs atomically: a file is written under a temporary name beside its place and renamed into it,
so that no output (features, model, metrics, checkpoint) looks complete when a kill or a full disk cut it short."""

from __future__ import annotations

import contextlib
import errno
import io
import os
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import torch


class DiskFullError(OSError):
    """No space left for a file: names the file, the folder's free space and what to do."""

    def __init__(self, path: str | Path) -> None:
        super().__init__(errno.ENOSPC, os.strerror(errno.ENOSPC), str(path))

    def __str__(self) -> str:
        folder = Path(self.filename).parent
        free = shutil.disk_usage(folder).free / 2**20 if folder.exists() else 0.0
        return (f"the disk is full: {self.filename} was not written ({free:.1f} MiB free in {folder}). Free space "
                "there (or move results/ or mlflow.artifact_root to a larger disk) and rerun: finished outputs and "
                "the last saved training state are kept")


def is_disk_full(error: BaseException) -> bool:
    """Whether an error, or one it was raised from or during, is a full disk."""
    while error is not None:
        if isinstance(error, OSError) and error.errno == errno.ENOSPC:
            return True
        error = error.__cause__ or error.__context__
    return False


@contextlib.contextmanager
def atomic_path(path: str | Path) -> Iterator[Path]:
    """A temporary path to write to; renamed to path when the block ends, removed when it raises. A full disk
    raises DiskFullError naming path."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(f".{path.name}.partial{path.suffix}")  # same suffix: np.savez would add .npz
    try:
        yield partial
        os.replace(partial, path)
    except OSError as error:
        if error.errno == errno.ENOSPC:
            raise DiskFullError(path) from error
        raise
    finally:
        partial.unlink(missing_ok=True)


def save_torch(state: Any, path: str | Path) -> None:
    """torch.save, atomically. Serialised in memory first: torch's own file writer reports a full disk as
    "unexpected pos 63232 vs 63120", a plain write as ENOSPC."""
    buffer = io.BytesIO()
    torch.save(state, buffer)
    with atomic_path(path) as partial:
        partial.write_bytes(buffer.getbuffer())
