"""Where a step's logging, warnings and errors go."""

from __future__ import annotations

import contextlib
import logging
import signal
import sys
import traceback
from collections.abc import Iterator

from seqsuite.files import KEPT, DiskFullError, is_disk_full


@contextlib.contextmanager
def logged_step(log_path: str) -> Iterator[None]:
    """Send a step's logging and warnings to its log file; show an error on the console as well."""
    console, handle = sys.stderr, open(log_path, "w", buffering=1)
    sys.stderr = handle
    logging.basicConfig(stream=handle, level=logging.INFO, format="%(asctime)s %(name)s %(message)s", force=True)
    warnings = logging.StreamHandler(console)  # seqsuite's warnings (a diverged run, an ignored checkpoint) too
    warnings.setLevel(logging.WARNING)
    warnings.setFormatter(logging.Formatter("seqsuite: warning: %(message)s"))
    logging.getLogger("seqsuite").addHandler(warnings)
    try:
        yield
    except BaseException as error:
        # the console line first: on a full disk the log (often on the same disk) may not take the traceback; a
        # closed terminal (SIGHUP) takes no line at all
        with contextlib.suppress(OSError):
            print(f"seqsuite: {console_message(error)}\n(full traceback in {log_path})", file=console)
        with contextlib.suppress(OSError):
            traceback.print_exc(file=handle)
        # the traceback is in the log; the console keeps the line above (and the copy's path stays out of it)
        raise SystemExit(exit_status(error)) from error
    finally:
        logging.getLogger("seqsuite").removeHandler(warnings)
        sys.stderr = console
        with contextlib.suppress(OSError):
            handle.close()


def console_message(error: BaseException) -> str:
    """An error as the console shows it; a full disk that only a library saw (SQLite, MLflow) is named as such."""
    if isinstance(error, KeyboardInterrupt):  # its message is empty
        return f"stopped by Ctrl-C (SIGINT); {KEPT}: rerun to go on"
    message = f"{type(error).__name__}: {error}"
    if not isinstance(error, DiskFullError) and (is_disk_full(error) or "database or disk is full" in str(error)):
        return f"the disk is full ({message.splitlines()[0]}). Free space and rerun: {KEPT}"
    return message


def exit_status(error: BaseException) -> int:
    """A failed step's exit status: a signal's 128 + its number (SIGTERM in or outside training, Ctrl-C), else 1."""
    if isinstance(error, SystemExit):
        return error.code if isinstance(error.code, int) else int(error.code is not None)
    if isinstance(status := getattr(error, "exit_status", None), int):  # checkpoint.TrainingInterrupted's
        return status
    return 128 + signal.SIGINT if isinstance(error, KeyboardInterrupt) else 1
