"""Resumable training: the training loop's whole state in one file beside a run's outputs, written atomically
after every round, and the request (from SIGTERM, Ctrl-C or a closed terminal) that stops the loop between two
updates to save it."""

from __future__ import annotations

import contextlib
import functools
import hashlib
import io
import json
import logging
import random
import signal
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

import numpy as np
import torch

from seqsuite.files import atomic_path

log = logging.getLogger("seqsuite")


class TrainingInterrupted(Exception):
    """Training stopped at a signal's request after saving its state; rerunning the job resumes it."""

    def __init__(self, message: str, signum: int) -> None:
        super().__init__(message)
        self.exit_status = 128 + signum  # the job's, as for any job a signal stopped


# why a job gets each signal it stops at
SIGNAL_CAUSES = {
    signal.SIGTERM: "a time limit, preemption, or Snakemake or you stopping the job",
    signal.SIGINT: "Ctrl-C",
    signal.SIGHUP: "its terminal closed",
}


def stop_signals() -> list[signal.Signals]:
    """The signals a job stops at, saving first where it trains; Ctrl-C's and a closed terminal's not where the job
    was started ignoring them (`cmd &` in a script ignores SIGINT, `nohup` SIGHUP), which it goes on ignoring."""
    return [signal.SIGTERM, *(signum for signum in (signal.SIGINT, signal.SIGHUP)
                              if signal.getsignal(signum) != signal.SIG_IGN)]


class StoppedBySignal(SystemExit):
    """A job ended by a signal outside the training loop; it exits with status 128 + the signal's number."""

    def __init__(self, signum: int) -> None:
        super().__init__(128 + signum)
        self.signal_name = signal.Signals(signum).name
        self.cause = SIGNAL_CAUSES.get(signum, "a signal")

    def __str__(self) -> str:
        return f"stopped by {self.signal_name} ({self.cause}); what it had finished is kept: rerun to go on"


class StopRequest:
    """Set by a stop signal (SIGTERM, Ctrl-C's SIGINT, a closed terminal's SIGHUP) while the loop trains (checked
    after every update); outside the loop, or at a second Ctrl-C, the signal stops the job at once."""

    def __init__(self) -> None:
        self.signum: int | None = None
        self.training = False

    @property
    def requested(self) -> bool:
        return self.signum is not None

    @property
    def signal_name(self) -> str:
        return signal.Signals(self.signum).name if self.signum else "no signal"

    def handle(self, signum: int, frame: Any) -> None:
        """The signal handler."""
        if not self.training or (self.requested and signum == signal.SIGINT):
            raise StoppedBySignal(signum)
        self.signum = signum


@contextlib.contextmanager
def handling(signums: Iterable[int], handler: Any) -> Iterator[list[int]]:
    """The handler (a function, or signal.SIG_IGN) for the signals while the block runs, their own again after."""
    previous = {signum: signal.signal(signum, handler) for signum in signums}
    try:
        yield list(previous)
    finally:
        for signum, earlier in previous.items():
            signal.signal(signum, earlier)


@contextlib.contextmanager
def stop_on_signals() -> Iterator[StopRequest]:
    """A StopRequest that the stop signals (SIGTERM: a time limit, preemption, Snakemake stopping a job; Ctrl-C; a
    closed terminal) set while the block runs."""
    request = StopRequest()
    with handling(stop_signals(), request.handle):
        yield request


def input_stamp(paths: Iterable[str | Path], commit: str | None) -> str:
    """A digest of the files under paths (each path, size and modification time) and the code's commit: a kept copy
    of a finished run is restored only while neither changed."""
    files = sorted(file for path in map(Path, paths) for file in ([path] if path.is_file() else path.rglob("*"))
                   if file.is_file())
    return fingerprint({"files": {str(file): [file.stat().st_size, file.stat().st_mtime_ns] for file in files},
                        "commit": commit})


def fingerprint(settings: dict[str, Any]) -> str:
    """A digest of what a run computes (its params and data): a checkpoint resumes only the same computation."""
    return hashlib.sha256(json.dumps(settings, sort_keys=True, default=str).encode()).hexdigest()


def rng_states() -> dict[str, Any]:
    """Every global random number generator's state: Python's, NumPy's, torch's (and CUDA's where present)."""
    states = {"python": random.getstate(), "numpy": np.random.get_state(), "torch": torch.get_rng_state()}
    if torch.cuda.is_available():
        states["cuda"] = torch.cuda.get_rng_state_all()
    return states


def set_rng_states(states: dict[str, Any]) -> None:
    """Restore what rng_states returned."""
    random.setstate(states["python"])
    np.random.set_state(states["numpy"])
    torch.set_rng_state(states["torch"])
    if "cuda" in states and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(states["cuda"])


class Checkpoint:
    """Where one run keeps its training state between attempts, and the fingerprint a saved state must match."""

    def __init__(self, path: Path, digest: str, stop: StopRequest | None = None) -> None:
        self.path, self.digest, self.stop = Path(path), digest, stop or StopRequest()
        self.extra: dict[str, Any] = {}  # kept with every save, e.g. the MLflow run id

    @functools.cached_property
    def saved(self) -> dict[str, Any] | None:
        """The state an earlier attempt saved, read once when first asked for; None when there is none or it
        belongs to other settings (then it is ignored)."""
        if not self.path.exists():
            return None
        state = torch.load(self.path, weights_only=False)
        if state.get("fingerprint") != self.digest:
            log.warning("ignoring %s: it was saved by a run with other settings or data", self.path)
            return None
        return state

    def save(self, state: dict[str, Any]) -> None:
        """Write the state atomically: a half-written checkpoint never takes the place of a whole one."""
        save_torch({**state, **self.extra, "fingerprint": self.digest}, self.path)

    def keep_outputs(self, outputs: dict[str, str], inputs: str) -> None:
        """Replace the training state by a copy of the finished run's outputs (name -> path) and the stamp of the
        inputs and code they came from (input_stamp): Snakemake deletes every output of a job that fails, so a job
        of several runs stopped after this one restores it on its next attempt instead of training it again."""
        self.save({"outputs": {name: Path(path).read_bytes() for name, path in outputs.items()}, "inputs": inputs})

    def restore_outputs(self, outputs: dict[str, str], inputs: str) -> bool:
        """Write back the outputs an earlier attempt kept for the same settings, inputs and code; False when it kept
        none. A copy from other inputs or code, or of other outputs, is ignored (and the run trains afresh)."""
        kept = (self.saved or {}).get("outputs")
        if kept is None:
            return False
        if set(kept) != set(outputs) or self.saved.get("inputs") != inputs:
            log.warning("ignoring %s: a finished run's copy from other inputs, code or outputs", self.path)
            self.__dict__["saved"] = None  # the cached_property's value: nothing to resume either
            return False
        for name, path in outputs.items():
            with atomic_path(path) as partial:
                partial.write_bytes(kept[name])
        return True


def save_torch(state: Any, path: str | Path) -> None:
    """torch.save, atomically. Serialised in memory first: torch's own file writer reports a full disk as
    "unexpected pos 63232 vs 63120", a plain write as ENOSPC."""
    buffer = io.BytesIO()
    torch.save(state, buffer)
    with atomic_path(path) as partial:
        partial.write_bytes(buffer.getbuffer())
