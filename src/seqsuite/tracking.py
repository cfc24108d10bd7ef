"""MLflow tracking: with seqsuite.serving (the logged models' own code), the only module that imports mlflow."""

from __future__ import annotations

import contextlib
import fcntl
import importlib.metadata
import logging
import os
import signal
import subprocess
import tempfile
import time
import urllib.parse
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, TypeVar

import mlflow
import mlflow.pyfunc
import mlflow.pytorch
import numpy as np
from mlflow.data.http_dataset_source import HTTPDatasetSource
from mlflow.data.meta_dataset import MetaDataset
from mlflow.exceptions import MlflowException
from mlflow.store.artifact.artifact_repository_registry import get_artifact_repository

from seqsuite.checkpoint import StoppedBySignal, TrainingInterrupted, handling, stop_signals
from seqsuite.files import DiskFullError, is_disk_full
from seqsuite.server import http_retry_settings, wait_for_server

Result = TypeVar("Result")
log = logging.getLogger("seqsuite")
_RETRY_SECONDS = 120.0
SERVER_WAIT_SECONDS = 120.0  # default of config's mlflow.server_wait_s
# CPU, memory, disk and network (GPU with nvidia-ml-py) of every training run, as MLflow's system/ metrics; MLflow's
# own period, which keeps the extra writes to a shared SQLite store few
SYSTEM_METRICS_SECONDS = 10.0
# seqsuite itself, shipped with every logged model (code_paths): their pickles name its classes
CODE_PATH = str(Path(__file__).parent)


def pinned(*distributions: str) -> list[str]:
    """Requirements at the installed distributions' versions: torch 2.14.1, not torch.__version__ 2.14.1+cu130,
    which PyPI does not have (MLflow warned in every job that the environment did not match it)."""
    return [f"{name}=={importlib.metadata.version(name)}" for name in distributions]


MODEL_REQUIREMENTS = pinned("torch")


def _sqlite_path(uri: str) -> Path | None:
    return Path(uri.removeprefix("sqlite:///")) if uri.startswith("sqlite:///") else None


# Errors that another job's write causes and that the same call then gets past: the SQLite write lock held, and a
# dataset that another job's run logged between MLflow's look for it and its insert (the retry finds it; seen with
# three jobs on a tracking server)
TRANSIENT_ERRORS = ("database is locked", "UNIQUE constraint failed: datasets.")


def _retry(call: Callable[..., Result], *args: Any, **kwargs: Any) -> Result:
    """Call, retrying with backoff while another job's write gets in the way (TRANSIENT_ERRORS)."""
    deadline, pause, retries = time.monotonic() + _RETRY_SECONDS, 0.2, 0
    while True:
        try:
            result = call(*args, **kwargs)
        except Exception as error:  # MlflowException or sqlalchemy's OperationalError
            if not any(text in str(error) for text in TRANSIENT_ERRORS) or time.monotonic() > deadline:
                raise
            retries += 1
            time.sleep(pause)
            pause = min(pause * 2, 5.0)
            continue
        if retries:  # counted, so that a load test (or a user) sees how often jobs waited for the lock
            log.info("MLflow %s waited for another job's write: %d retries", getattr(call, "__name__", call), retries)
        return result


@contextlib.contextmanager
def _store_lock(uri: str) -> Iterator[None]:
    """Serialise store creation across processes for an SQLite file (a server does this itself)."""
    path = _sqlite_path(uri)
    if path is None:
        yield
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(f"{path}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


SAME_RUN_TAGS = ("seqsuite.fingerprint", "seqsuite.workdir")


def _connect(uri: str, server_wait_s: float) -> None:
    """Point MLflow at the store; a tracking server gets client retries bounded by server_wait_s and must answer
    before the first call."""
    os.environ.setdefault("MLFLOW_DISABLE_TELEMETRY", "true")
    mlflow.set_tracking_uri(uri)
    if _sqlite_path(uri) is None:
        os.environ.update(http_retry_settings(server_wait_s))
        wait_for_server(uri, server_wait_s)


def experiment_id(uri: str, artifact_root: str, name: str, server_wait_s: float = SERVER_WAIT_SECONDS) -> str:
    """Connect to the tracking store (creating its tables once) and get or create an experiment."""
    _connect(uri, server_wait_s)
    with _store_lock(uri):
        client = mlflow.MlflowClient(uri)
        experiment = client.get_experiment_by_name(name)
        if experiment is not None:
            return experiment.experiment_id
        location = (Path(artifact_root).resolve() / name).as_uri() if _sqlite_path(uri) else None
        try:
            return client.create_experiment(name, artifact_location=location)
        except MlflowException:  # created meanwhile by a job on another node
            return client.get_experiment_by_name(name).experiment_id


def git_commit(folder: Path) -> str | None:
    """The commit checked out in folder, or None outside a git checkout."""
    try:
        return subprocess.run(["git", "-C", str(folder), "rev-parse", "HEAD"], capture_output=True,
                              text=True, check=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return None


def run_tags(rule: str, rules_file: str, workflow_dir: Path, fingerprint: str, **labels: str) -> dict[str, str]:
    """A run's labels plus the rule and rules file that made it, the invocation id, the git commit, and what makes
    it the same run as another (SAME_RUN_TAGS): its settings' fingerprint and the working directory."""
    tags = {**labels, "snakemake_rule": rule, "mlflow.source.name": f"{rules_file} ({rule})",
            "seqsuite.fingerprint": fingerprint, "seqsuite.workdir": str(Path.cwd())}
    if os.environ.get("SEQSUITE_INVOCATION"):
        tags["snakemake_invocation"] = os.environ["SEQSUITE_INVOCATION"]
    commit = git_commit(workflow_dir)
    if commit:
        tags["mlflow.source.git.commit"] = commit
    return tags


class RunLogger:
    """Logs one training run's curves, results, plots, dataset and model."""

    def __init__(self, run_id: str, experiment_id: str) -> None:
        self.run_id = run_id
        self.experiment_id = experiment_id

    def log_epoch(self, record: dict[str, float], step_key: str = "epoch") -> None:
        """Curves: the record's metrics at step record[step_key] (an epoch, or an update of the lab's runs)."""
        metrics = {k: float(v) for k, v in record.items() if k != step_key}
        _retry(mlflow.log_metrics, metrics, step=int(record[step_key]))

    def log_results(self, results: dict[str, dict[str, float]], extra: dict[str, float]) -> None:
        """Final metrics by prefix ({"test": {"accuracy": ..}} -> test_accuracy) and scalars such as train_seconds."""
        flat = {f"{split}_{name}": value for split, values in results.items() for name, value in values.items()}
        _retry(mlflow.log_metrics, {**flat, **extra})

    def log_dataset(self, name: str, source: str, manifest_sha256: str, context: str = "training") -> None:
        """The dataset as a run input: its source and manifest digest."""
        dataset = MetaDataset(source=HTTPDatasetSource(source), name=name, digest=manifest_sha256[:32])
        _retry(mlflow.log_input, dataset, context=context, tags={"manifest_sha256": manifest_sha256})

    def log_file(self, path: Path, folder: str) -> None:
        """A file as an artifact under folder/."""
        with _whole_or_removed(lambda: mlflow.get_artifact_uri(f"{folder}/{path.name}")):
            _retry(mlflow.log_artifact, str(path), artifact_path=folder)

    def has_metric(self, name: str) -> bool:
        """Whether the run has logged the metric already."""
        return name in _retry(mlflow.get_run, self.run_id).data.metrics

    def set_tags(self, tags: dict[str, str]) -> None:
        if tags:
            _retry(mlflow.set_tags, tags)

    def log_png(self, filename: str, png: bytes) -> None:
        """A plot, as an artifact under plots/."""
        with tempfile.TemporaryDirectory() as folder:
            path = Path(folder) / filename
            path.write_bytes(png)
            self.log_file(path, "plots")

    def log_model(self, model: Any, input_example: np.ndarray) -> str:
        """A torch model with the code its pickle needs and a signature inferred from one input example; MLflow
        marks it FAILED if that fails. Returns its models:/ URI."""
        with _whole_or_removed(self._unfinished_model_uri):
            return _retry(mlflow.pytorch.log_model, model, name="model", input_example=input_example,
                          code_paths=[CODE_PATH], pip_requirements=MODEL_REQUIREMENTS,
                          serialization_format="pickle").model_uri

    def log_pyfunc(self, python_model: Any, artifacts: dict[str, str], signature: Any, input_example: Any,
                   requirements: list[str]) -> str:
        """A python_model (seqsuite.serving.Classifier) with its artifacts and code. Returns its models:/ URI."""
        with _whole_or_removed(self._unfinished_model_uri):
            return _retry(mlflow.pyfunc.log_model, name="model", python_model=python_model, artifacts=artifacts,
                          signature=signature, input_example=input_example, code_paths=[CODE_PATH],
                          pip_requirements=requirements).model_uri

    def _unfinished_model_uri(self) -> str | None:
        logged = mlflow.last_logged_model()
        return logged.artifact_location if logged and logged.source_run_id == self.run_id else None


@contextlib.contextmanager
def _whole_or_removed(artifact_uri: Callable[[], str | None]) -> Iterator[None]:
    """An upload that fails leaves nothing at artifact_uri(): a model's MLmodel beside a truncated weights file
    looked complete. A full disk raises DiskFullError naming the place."""
    try:
        yield
    except BaseException as error:  # a signal (SIGTERM, Ctrl-C) mid-upload too
        uri = None
        try:
            uri = artifact_uri()
            if uri:
                get_artifact_repository(uri).delete_artifacts()
        except Exception as cleanup_error:  # logged, so that the error that stopped the upload is the one shown
            log.warning("could not remove a partial artifact %s (%s)", uri, cleanup_error)
        parsed = urllib.parse.urlparse(uri or "")
        if uri and is_disk_full(error) and parsed.scheme in ("", "file"):
            raise DiskFullError(urllib.parse.unquote(parsed.path)) from error
        raise


@contextlib.contextmanager
def training_run(
    uri: str,
    artifact_root: str,
    experiment: str,
    run_name: str,
    params: dict[str, Any],
    tags: dict[str, str],
    server_wait_s: float = SERVER_WAIT_SECONDS,
    run_id: str | None = None,
) -> Iterator[RunLogger]:
    """An MLflow run that ends FINISHED; KILLED when a signal or an interruption ends the block, FAILED when
    anything else raises. With run_id, the run of an interrupted attempt continues."""
    exp_id = experiment_id(uri, artifact_root, experiment, server_wait_s)
    mlflow.set_system_metrics_sampling_interval(SYSTEM_METRICS_SECONDS)
    if run_id:
        run = _retry(mlflow.start_run, run_id=run_id, log_system_metrics=True)
    else:
        retire_earlier_runs(exp_id, run_name, tags)
        run = _retry(mlflow.start_run, experiment_id=exp_id, run_name=run_name, tags=tags, log_system_metrics=True)
    # a job stopped by Snakemake or SLURM (SIGTERM), or whose terminal closed, unwinds through here, so its run ends
    # KILLED; Ctrl-C raises KeyboardInterrupt here already
    with handling([signum for signum in stop_signals() if signum != signal.SIGINT], _exit_on_signal) as signums:
        try:
            _retry(mlflow.log_params, {k: str(v) for k, v in params.items()})
            yield RunLogger(run.info.run_id, exp_id)
        except (TrainingInterrupted, SystemExit, KeyboardInterrupt):
            # a terminal's hangup comes twice (kernel, then shell): the second must not cut the marking short
            with handling(signums, signal.SIG_IGN):
                _end_run_after_error("KILLED")
            raise
        except BaseException:
            _end_run_after_error("FAILED")
            raise
    _retry(mlflow.end_run, status="FINISHED")



CHAMPION = "champion"  # the registry alias of each dataset's best model


def register_champion(uri: str, name: str, model_uri: str, description: str,
                      server_wait_s: float = SERVER_WAIT_SECONDS) -> int:
    """Register a logged model as a version of name, with the alias CHAMPION and a description; a version made
    from the same model already is reused, so rerunning registers nothing new. Returns the version number."""
    _connect(uri, server_wait_s)
    client = mlflow.MlflowClient(uri)
    with _store_lock(uri):
        made = [v for v in _retry(client.search_model_versions, f"name = '{name}'") if v.source == model_uri]
        version = made[0] if made else _retry(mlflow.register_model, model_uri, name)
        _retry(client.update_model_version, name, version.version, description=description)
        _retry(client.set_registered_model_alias, name, CHAMPION, version.version)
    return int(version.version)

def retire_earlier_runs(exp_id: str, run_name: str, tags: dict[str, str]) -> None:
    """Runs this fresh run replaces, found by name and SAME_RUN_TAGS (same settings, same working directory): one
    still RUNNING, left by a job that died (SIGKILL) before its first checkpoint, ends KILLED; a FINISHED one, whose
    outputs Snakemake discarded (an incomplete job, a forced rerun), is deleted, restorable with `mlflow runs
    restore`. So each run name keeps one FINISHED run. Runs without those tags retire nothing."""
    if not all(key in tags for key in SAME_RUN_TAGS):
        return
    # the working directory is compared here, not in the filter, where a quote in its path would break the query
    runs = _retry(mlflow.search_runs, experiment_ids=[exp_id], output_format="list",
                  filter_string=f"attributes.run_name = '{run_name}' and "
                                f"tags.`seqsuite.fingerprint` = '{tags['seqsuite.fingerprint']}'")
    client = mlflow.MlflowClient()
    for run in (r for r in runs if r.data.tags.get("seqsuite.workdir") == tags["seqsuite.workdir"]):
        if run.info.status == "RUNNING":
            _retry(client.set_terminated, run.info.run_id, "KILLED")
        elif run.info.status == "FINISHED":
            _retry(client.delete_run, run.info.run_id)


def _end_run_after_error(status: str) -> None:
    """Mark the run; if the store cannot be reached either, say so and let the first error be the one shown."""
    try:
        _retry(mlflow.end_run, status=status)
    except Exception as error:
        log.warning("could not mark the MLflow run %s (%s); the error that stopped the job follows", status, error)


def _exit_on_signal(signum: int, frame: Any) -> None:
    raise StoppedBySignal(signum)
