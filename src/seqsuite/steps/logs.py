"""Where a step's logging, warnings and errors go."""

from __future__ import annotations

import contextlib
import logging
import sys
import traceback
from collections.abc import Iterator

from seqsuite.files import DiskFullError, is_disk_full


@contextlib.contextmanager
def logged_step(log_path: str) -> Iterator[None]:
    """Send a step's logging and warnings to its log file; show an error on the console as well."""
    console, handle = sys.stderr, open(log_path, "w", buffering=1)
    sys.stderr = handle
    logging.basicConfig(stream=handle, level=logging.INFO, format="%(asctime)s %(name)s %(message)s", force=True)
    try:
        yield
    except BaseException as error:
        traceback.print_exc(file=handle)
        print(f"seqsuite: {console_message(error)}\n(full traceback in {log_path})", file=console)
        raise
    finally:
        sys.stderr = console
        handle.close()


def console_message(error: BaseException) -> str:
    """An error as the console shows it; a full disk that only a library saw (SQLite, MLflow) is named as such."""
    message = f"{type(error).__name__}: {error}"
    if not isinstance(error, DiskFullError) and (is_disk_full(error) or "database or disk is full" in str(error)):
        return (f"the disk is full ({message.splitlines()[0]}). Free space and rerun: finished outputs and the last "
                "saved training state are kept")
    return message
