"""Where a step's logging, warnings and errors go."""

from __future__ import annotations

import contextlib
import logging
import sys
import traceback
from collections.abc import Iterator


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
        print(f"seqsuite: {type(error).__name__}: {error}\n(full traceback in {log_path})", file=console)
        raise
    finally:
        sys.stderr = console
        handle.close()
