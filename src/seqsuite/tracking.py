"""MLflow tracking: the only module that imports mlflow."""

from __future__ import annotations

import base64
import contextlib
import fcntl
import json
import logging
import os
import signal
import subprocess
import tempfile
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, TypeVar

import mlflow
import mlflow.pytorch
import numpy as np
from mlflow.data.http_dataset_source import HTTPDatasetSource
from mlflow.data.meta_dataset import MetaDataset
from mlflow.exceptions import MlflowException

from seqsuite.checkpoint import StoppedBySignal, TrainingInterrupted

Result = TypeVar("Result")
log = logging.getLogger("seqsuite")
_RETRY_SECONDS = 120.0
SERVER_WAIT_SECONDS = 120.0  # default of config's mlflow.server_wait_s


def _sqlite_path(uri: str) -> Path | None:
    return Path(uri.removeprefix("sqlite:///")) if uri.startswith("sqlite:///") else None


def _retry(call: Callable[..., Result], *args: Any, **kwargs: Any) -> Result:
    """Call, retrying with backoff while another job holds the SQLite write lock."""
    deadline, pause, retries = time.monotonic() + _RETRY_SECONDS, 0.2, 0
    while True:
        try:
            result = call(*args, **kwargs)
        except Exception as error:  # MlflowException or sqlalchemy's OperationalError
            if "database is locked" not in str(error) or time.monotonic() > deadline:
                raise
            retries += 1
            time.sleep(pause)
            pause = min(pause * 2, 5.0)
            continue
        if retries:  # counted, so that a load test (or a user) sees how often jobs waited for the lock
            log.info("MLflow %s waited for the SQLite write lock: %d retries", getattr(call, "__name__", call), retries)
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


def start_command(allowed_hosts: str) -> str:
    """The command that starts a tracking server the jobs can use, as the README gives it."""
    return (f"`mlflow server --host <its address> --port 5000 --allowed-hosts {allowed_hosts} "
            "--backend-store-uri sqlite:///mlflow.db` (README, 'Tracking server')")


SAME_RUN_TAGS = ("seqsuite.fingerprint", "seqsuite.workdir")


class ServerRefused(ConnectionError):
    """The tracking server answers but refuses this client: a Host header it does not allow, or no credentials."""


def check_server(uri: str) -> None:
    """One real API call (a search for one experiment), as every job's first call will be; raise ServerRefused
    naming the fix where the server refuses it. /health alone passes even where every API call is refused."""
    request = urllib.request.Request(f"{uri.rstrip('/')}/api/2.0/mlflow/experiments/search",
                                     data=json.dumps({"max_results": 1}).encode(), method="POST",
                                     headers={"Content-Type": "application/json", **_basic_auth()})
    try:
        with urllib.request.urlopen(request, timeout=10):
            return
    except urllib.error.HTTPError as error:
        host = urllib.parse.urlsplit(uri).netloc
        if error.code == 403:
            raise ServerRefused(
                f"the MLflow tracking server at {uri} refuses requests addressed to {host!r} (HTTP 403: it does not "
                f"allow that Host header). Start it with `--allowed-hosts {host}` (or list every name the nodes use, "
                f"comma-separated), e.g. {start_command(host)}."
            ) from error
        if error.code == 401:
            raise ServerRefused(
                f"the MLflow tracking server at {uri} asks for credentials (HTTP 401): export "
                "MLFLOW_TRACKING_USERNAME and MLFLOW_TRACKING_PASSWORD before running snakemake."
            ) from error
        raise


def wait_for_server(uri: str, timeout_s: float) -> None:
    """Return once a tracking server answers /health and a real API call, retrying with backoff while it does not
    answer; a refusal (ServerRefused) fails at once, naming the fix, as does a server never reached."""
    deadline, pause, tries = time.monotonic() + timeout_s, 0.5, 0
    while True:
        tries += 1
        try:
            with urllib.request.urlopen(f"{uri.rstrip('/')}/health", timeout=10) as response:
                if response.status == 200:
                    check_server(uri)
                    return
                problem = f"HTTP {response.status}"
        except ServerRefused:
            raise
        except OSError as error:  # refused, unreachable, timed out, HTTP errors
            problem = str(error)
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise ConnectionError(
                f"cannot reach the MLflow tracking server at {uri} ({tries} tries over {timeout_s:.0f} s; "
                f"last: {problem}). Start it on a host the jobs reach, e.g. "
                f"{start_command('<the host:port in mlflow.tracking_uri>')}, or point mlflow.tracking_uri in "
                "config/config.yaml at a running server (or at sqlite:///results/mlflow.db)."
            )
        time.sleep(min(pause, remaining))  # the last try comes at the deadline, not before it
        pause = min(pause * 2, 10.0)


def cluster_store_warning(tracking_uri: str, single_node: bool) -> str | None:
    """What to tell a user whose cluster jobs would all write one SQLite file; None for a tracking server, or where
    the user declared that every job runs on one node."""
    if single_node or not tracking_uri.startswith("sqlite:"):
        return None
    return (
        f"mlflow.tracking_uri is an SQLite file ({tracking_uri}) and the jobs go to a cluster: SQLite's file locks "
        "are not safe on a network file system, so jobs on several nodes can corrupt the store or fail with "
        "'database is locked'. Log to one tracking server instead: "
        f"{start_command('<head-node>:5000')}, then --config mlflow='{{tracking_uri: http://<head-node>:5000}}'. "
        "If every job runs on this one node, say so with --config mlflow='{single_node: true}'."
    )


def _basic_auth() -> dict[str, str]:
    """The Authorization header MLflow's client would send, from MLFLOW_TRACKING_USERNAME and _PASSWORD."""
    user, password = os.environ.get("MLFLOW_TRACKING_USERNAME"), os.environ.get("MLFLOW_TRACKING_PASSWORD")
    if not user:
        return {}
    return {"Authorization": "Basic " + base64.b64encode(f"{user}:{password or ''}".encode()).decode()}


def experiment_id(uri: str, artifact_root: str, name: str, server_wait_s: float = SERVER_WAIT_SECONDS) -> str:
    """Connect to the tracking store (creating its tables once) and get or create an experiment."""
    mlflow.set_tracking_uri(uri)
    if _sqlite_path(uri) is None:
        wait_for_server(uri, server_wait_s)
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
        _retry(mlflow.log_artifact, str(path), artifact_path=folder)

    def set_tags(self, tags: dict[str, str]) -> None:
        if tags:
            _retry(mlflow.set_tags, tags)

    def log_png(self, filename: str, png: bytes) -> None:
        """A plot, as an artifact under plots/."""
        with tempfile.TemporaryDirectory() as folder:
            path = Path(folder) / filename
            path.write_bytes(png)
            _retry(mlflow.log_artifact, str(path), artifact_path="plots")

    def log_model(self, model: Any, input_example: np.ndarray, requirements: list[str]) -> None:
        """The model with a signature inferred from one input example."""
        _retry(mlflow.pytorch.log_model, model, name="model", input_example=input_example,
               pip_requirements=requirements, serialization_format="pickle")


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
    os.environ.setdefault("MLFLOW_DISABLE_TELEMETRY", "true")
    exp_id = experiment_id(uri, artifact_root, experiment, server_wait_s)
    if run_id:
        run = _retry(mlflow.start_run, run_id=run_id)
    else:
        retire_earlier_runs(exp_id, run_name, {key: tags[key] for key in SAME_RUN_TAGS if key in tags})
        run = _retry(mlflow.start_run, experiment_id=exp_id, run_name=run_name, tags=tags)
    # a job stopped by Snakemake or SLURM (SIGTERM) unwinds through here, so its run ends KILLED
    previous = signal.signal(signal.SIGTERM, _exit_on_sigterm)
    try:
        _retry(mlflow.log_params, {k: str(v) for k, v in params.items()})
        yield RunLogger(run.info.run_id, exp_id)
    except (TrainingInterrupted, SystemExit, KeyboardInterrupt):
        _retry(mlflow.end_run, status="KILLED")
        raise
    except BaseException:
        _retry(mlflow.end_run, status="FAILED")
        raise
    finally:
        signal.signal(signal.SIGTERM, previous)
    _retry(mlflow.end_run, status="FINISHED")


def retire_earlier_runs(exp_id: str, run_name: str, identity: dict[str, str]) -> None:
    """Runs this fresh run replaces, found by name and identity (SAME_RUN_TAGS: same settings, same working
    directory): one still RUNNING, left by a job that died (SIGKILL) before its first checkpoint, ends KILLED; a
    FINISHED one, whose outputs Snakemake discarded (an incomplete job, a forced rerun), is deleted, restorable
    with `mlflow runs restore`. So each run name keeps one FINISHED run."""
    if set(identity) != set(SAME_RUN_TAGS):
        return
    matches = " and ".join(f"tags.`{key}` = '{value}'" for key, value in identity.items())
    runs = _retry(mlflow.search_runs, experiment_ids=[exp_id], output_format="list",
                  filter_string=f"attributes.run_name = '{run_name}' and {matches}")
    client = mlflow.MlflowClient()
    for run in runs:
        if run.info.status == "RUNNING":
            _retry(client.set_terminated, run.info.run_id, "KILLED")
        elif run.info.status == "FINISHED":
            _retry(client.delete_run, run.info.run_id)


def _exit_on_sigterm(signum: int, frame: Any) -> None:
    raise StoppedBySignal(signum)
