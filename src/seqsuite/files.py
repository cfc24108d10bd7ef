"""Writing outputs atomically: a file is written under a temporary name beside its place and renamed into it,
so that no output (features, model, metrics, checkpoint) looks complete when a kill or a full disk cut it short."""

from __future__ import annotations

import contextlib
import errno
import os
import shutil
from collections.abc import Iterator
from pathlib import Path

KEPT = "finished outputs and the last saved training state are kept"
FULL_DISK = (errno.ENOSPC, errno.EDQUOT)  # no space left, or the user's quota (usual on a cluster) used up


class DiskFullError(OSError):
    """No space left for a file: names the file, the folder's free space (when the write failed) and the fix."""

    def __init__(self, path: str | Path) -> None:
        super().__init__(errno.ENOSPC, os.strerror(errno.ENOSPC), str(path))
        folder = Path(path).parent
        self.free_mib = shutil.disk_usage(folder).free / 2**20 if folder.exists() else 0.0

    def __reduce__(self) -> tuple[type, tuple[str]]:
        return DiskFullError, (self.filename,)

    def __str__(self) -> str:
        folder = Path(self.filename).parent
        return (f"the disk is full: {self.filename} was not written ({self.free_mib:.1f} MiB free in {folder}, or "
                "your quota there is used up). Free space there (or move results/ or mlflow.artifact_root to a "
                f"larger disk) and rerun: {KEPT}")


def is_disk_full(error: BaseException) -> bool:
    """Whether an error, or one it was raised from or during, is a full disk."""
    while error is not None:
        if isinstance(error, OSError) and error.errno in FULL_DISK:
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
        if error.errno in FULL_DISK:
            raise DiskFullError(path) from error
        raise
    finally:
        partial.unlink(missing_ok=True)
