"""MLflow tracking against a real SQLite store: finished and failed runs, parallel writers, logged models."""

from __future__ import annotations

import importlib.metadata
import multiprocessing
import re
import signal
import subprocess
import sys
import time
import uuid

import mlflow
import numpy as np
import pytest
from conftest import REPO, fill, run_outside_checkout, small_disk, unhandled
from mlflow.entities import LoggedModelStatus

from seqsuite import server, tracking
from seqsuite.checkpoint import StoppedBySignal, handling
from seqsuite.files import DiskFullError
from seqsuite.models.build import ArchitectureConfig, InputSpec, build_model

LOAD_TORCH_MODEL = """
import mlflow, numpy as np
mlflow.set_tracking_uri(sys.argv[2])
outputs = mlflow.pyfunc.load_model(sys.argv[3]).predict(np.array([[3, 4, 5, 0]]))
print(str(tuple(outputs.shape)).replace(" ", ""), sys.modules["seqsuite"].__file__)
"""


def client(store) -> mlflow.MlflowClient:
    return mlflow.MlflowClient(store[0])


def test_a_training_run_logs_system_metrics(tracking_store, monkeypatch):
    monkeypatch.setattr(tracking, "SYSTEM_METRICS_SECONDS", 0.5)
    with tracking.training_run(*tracking_store, f"system-{uuid.uuid4().hex[:6]}", "mlp-seed0", {}, {}) as logger:
        time.sleep(2.5)  # a job of 2.5 s: several samples
    metrics = client(tracking_store).get_run(logger.run_id).data.metrics
    assert {"system/cpu_utilization_percentage", "system/system_memory_usage_megabytes"} <= set(metrics)
    assert 0 < metrics["system/system_memory_usage_megabytes"]


def test_finished_run_has_params_tags_curves_results_dataset_and_model(tracking_store, tmp_path):
    experiment = f"finished-{uuid.uuid4().hex[:6]}"
    model = build_model("lstm", InputSpec(n_outputs=3, vocab_size=20), ArchitectureConfig(hidden_size=4,
                                                                                          embedding_dim=3))
    with tracking.training_run(*tracking_store, experiment, "lstm-seed0", {"lr": 0.01, "hidden_size": 4},
                               {"dataset": "toy", "model": "lstm", "seed": "0"}) as logger:
        for epoch in (1, 2, 3):
            logger.log_epoch({"epoch": epoch, "train_loss": 1.0 / epoch, "val_accuracy": 0.5 + epoch / 10})
        logger.log_results({"test": {"accuracy": 0.9}}, {"train_seconds": 1.5})
        logger.log_dataset("toy", "https://example.org/toy.tar.gz", "ab" * 32)
        logger.log_png("curve.png", b"\x89PNG\r\n\x1a\nfake")
        model.eval()
        logger.log_model(model, np.array([[3, 4, 5, 0]]))
    run_id = logger.run_id
    run = client(tracking_store).get_run(run_id)
    assert run.info.status == "FINISHED" and run.info.run_name == "lstm-seed0"
    assert run.info.experiment_id == logger.experiment_id
    assert run.data.params["lr"] == "0.01" and run.data.tags["dataset"] == "toy"
    assert run.data.metrics["test_accuracy"] == 0.9
    history = client(tracking_store).get_metric_history(run_id, "val_accuracy")
    assert [(m.step, round(m.value, 2)) for m in history] == [(1, 0.6), (2, 0.7), (3, 0.8)]
    dataset = run.inputs.dataset_inputs[0].dataset
    assert dataset.name == "toy" and dataset.digest == "ab" * 16
    assert "https://example.org/toy.tar.gz" in dataset.source
    assert [a.path for a in client(tracking_store).list_artifacts(run_id, "plots")] == ["plots/curve.png"]
    logged = client(tracking_store).search_logged_models(experiment_ids=[run.info.experiment_id])
    assert len(logged) == 1 and logged[0].source_run_id == run_id
    requirements = mlflow.artifacts.download_artifacts(artifact_uri=f"{logged[0].artifact_location}/requirements.txt")
    assert f"torch=={importlib.metadata.version('torch')}" in open(requirements).read().split()
    assert "+" not in open(requirements).read()  # torch.__version__'s local label (+cu130) is not on PyPI
    loaded = mlflow.pyfunc.load_model(logged[0].model_uri)
    assert loaded.metadata.signature is not None
    assert loaded.predict(np.array([[3, 4, 5, 0]])).shape == (1, 3)
    outside = run_outside_checkout(LOAD_TORCH_MODEL, tmp_path, tracking_store[0], logged[0].model_uri)
    assert outside.returncode == 0, outside.stderr[-3000:]
    shape, module = outside.stdout.split()[-2:]
    assert shape == "(1,3)" and not module.startswith(str(REPO)) and "/code/seqsuite/" in module


def test_a_model_cut_short_by_a_full_disk_leaves_no_artifacts_and_is_named(tracking_store, tmp_path):
    """The model copy hits ENOSPC on a real 1 MiB artifact disk: no MLmodel is left beside a truncated weights
    file, the logged model is FAILED, the run FAILED, and the error names the disk."""
    experiment = f"disk-full-{uuid.uuid4().hex[:6]}"
    model = build_model("lstm", InputSpec(n_outputs=2, sequence_dim=8), ArchitectureConfig(hidden_size=256))
    with small_disk(tmp_path / "artifacts", "1M") as disk:
        fill(disk, 256 * 1024)  # the plot fits, the model (1.1 MB of weights) does not
        with pytest.raises(DiskFullError, match=rf"disk is full: {disk}/.*/models/m-\w+/artifacts was not written"):
            with tracking.training_run(tracking_store[0], str(disk), experiment, "lstm-seed0", {}, {}) as logger:
                logger.log_png("curve.png", b"\x89PNG\r\n\x1a\nfake")
                logger.log_model(model, np.zeros((1, 5, 8), dtype=np.float32))
        assert client(tracking_store).get_run(logger.run_id).info.status == "FAILED"
        logged = client(tracking_store).search_logged_models(experiment_ids=[logger.experiment_id])
        assert [m.status for m in logged] == [LoggedModelStatus.FAILED]
        assert not list(disk.rglob("MLmodel")) and not list(disk.rglob("*.pth"))
        assert [a.path for a in client(tracking_store).list_artifacts(logger.run_id, "plots")] == ["plots/curve.png"]


def test_failing_block_ends_its_run_as_failed(tracking_store):
    experiment = f"failed-{uuid.uuid4().hex[:6]}"
    with pytest.raises(FloatingPointError):
        with tracking.training_run(*tracking_store, experiment, "rnn-seed1", {}, {}) as logger:
            raise FloatingPointError("nan")
    assert client(tracking_store).get_run(logger.run_id).info.status == "FAILED"


def test_a_terminals_second_hangup_while_the_run_is_marked_killed_does_not_leave_it_running(tracking_store,
                                                                                            monkeypatch):
    mark = tracking._end_run_after_error

    def hangup_again(status):
        signal.raise_signal(signal.SIGHUP)  # the shell's hangup after the kernel's
        mark(status)

    monkeypatch.setattr(tracking, "_end_run_after_error", hangup_again)
    with handling([signal.SIGHUP], unhandled):  # as in a terminal, where the tests may run under nohup
        with pytest.raises(StoppedBySignal, match="stopped by SIGHUP"):
            with tracking.training_run(*tracking_store, f"hangup-{uuid.uuid4().hex[:6]}", "lstm-seed0", {},
                                       {}) as logger:
                signal.raise_signal(signal.SIGHUP)
        assert signal.getsignal(signal.SIGHUP) is unhandled
    assert client(tracking_store).get_run(logger.run_id).info.status == "KILLED"


KILLED_JOB = """
import sys, time
from seqsuite import server, tracking
from seqsuite.steps.logs import logged_step
with logged_step(sys.argv[3]):
    with tracking.training_run(sys.argv[1], sys.argv[2], "killed", "lstm-seed0", {}, {}) as logger:
        print(logger.run_id, flush=True)
        time.sleep(120)
"""


def test_a_killed_job_ends_its_run_as_killed_and_names_the_signal(tracking_store, tmp_path):
    job = subprocess.Popen([sys.executable, "-c", KILLED_JOB, *tracking_store, str(tmp_path / "job.log")],
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    run_id = job.stdout.readline().strip()
    job.send_signal(signal.SIGTERM)
    assert job.wait(timeout=60) == 128 + signal.SIGTERM
    assert client(tracking_store).get_run(run_id).info.status == "KILLED"
    assert "seqsuite: StoppedBySignal: stopped by SIGTERM (a time limit, preemption" in job.stderr.read()


def log_runs(uri: str, artifacts: str, experiment: str, worker: int, n_runs: int) -> None:
    for i in range(n_runs):
        with tracking.training_run(uri, artifacts, experiment, f"w{worker}-{i}", {"i": i}, {}) as logger:
            for epoch in range(1, 6):
                logger.log_epoch({"epoch": epoch, "loss": 1.0 / epoch})


def test_parallel_jobs_share_one_sqlite_file_without_losing_runs(tracking_store):
    experiment = f"parallel-{uuid.uuid4().hex[:6]}"
    context = multiprocessing.get_context("spawn")
    workers = [context.Process(target=log_runs, args=(*tracking_store, experiment, w, 4)) for w in range(3)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(timeout=300)
    assert [w.exitcode for w in workers] == [0, 0, 0]
    exp = client(tracking_store).get_experiment_by_name(experiment)
    runs = client(tracking_store).search_runs([exp.experiment_id], max_results=100)
    assert len(runs) == 12 and {r.info.status for r in runs} == {"FINISHED"}
    assert all(len(client(tracking_store).get_metric_history(r.info.run_id, "loss")) == 5 for r in runs)


@pytest.mark.skipif(not (REPO / ".git").exists(), reason="needs a git checkout")
def test_git_commit_is_read_from_a_checkout_and_none_elsewhere(tmp_path):
    assert re.fullmatch(r"[0-9a-f]{40}", tracking.git_commit(REPO / "workflow" / "scripts"))
    assert tracking.git_commit(tmp_path) is None


def test_a_cluster_run_logging_to_sqlite_is_warned_unless_declared_single_node():
    warning = server.cluster_store_warning("sqlite:///results/mlflow.db", single_node=False)
    assert "sqlite:///results/mlflow.db" in warning and "network file system" in warning
    assert "mlflow server" in warning and "--allowed-hosts" in warning and "{single_node: true}" in warning
    assert server.cluster_store_warning("sqlite:///results/mlflow.db", single_node=True) is None
    assert server.cluster_store_warning("http://seqsuite-head:5000", single_node=False) is None


def test_a_fresh_run_retires_the_runs_of_the_same_settings_it_replaces(tracking_store, tmp_path):
    """A job that died before its first checkpoint left its run RUNNING; an incomplete or forced rerun discards a
    FINISHED run's outputs: the new run ends the first as KILLED and deletes the second. Other settings stay."""
    experiment = f"retire-{uuid.uuid4().hex[:6]}"
    same = tracking.run_tags("train_mlp", "train.smk", tmp_path, "digest-a", model="mlp")
    other = tracking.run_tags("train_mlp", "train.smk", tmp_path, "digest-b", model="mlp")
    with tracking.training_run(*tracking_store, experiment, "mlp-seed0", {}, same) as finished:
        pass
    with tracking.training_run(*tracking_store, experiment, "mlp-seed0", {}, other) as other_settings:
        pass
    exp_id = finished.experiment_id
    dead = client(tracking_store).create_run(exp_id, tags=same, run_name="mlp-seed0")  # as SIGKILL leaves it
    with tracking.training_run(*tracking_store, experiment, "mlp-seed0", {}, same) as fresh:
        pass
    runs = {run.info.run_id: run.info for run in
            client(tracking_store).search_runs([exp_id], run_view_type=mlflow.entities.ViewType.ALL)}
    assert runs[finished.run_id].lifecycle_stage == "deleted"
    assert runs[dead.info.run_id].status == "KILLED"
    assert runs[fresh.run_id].status == runs[other_settings.run_id].status == "FINISHED"
    active = client(tracking_store).search_runs([exp_id], filter_string="attributes.status = 'FINISHED'")
    assert sorted(run.info.run_id for run in active) == sorted([fresh.run_id, other_settings.run_id])


def test_waits_for_the_sqlite_lock_are_retried_and_counted_in_the_log(caplog):
    failures = iter([RuntimeError("(sqlite3.OperationalError) database is locked")] * 2)

    def log_metric() -> str:
        failure = next(failures, None)
        if failure:
            raise failure
        return "logged"

    with caplog.at_level("INFO", logger="seqsuite"):
        assert tracking._retry(log_metric) == "logged"
    assert "MLflow log_metric waited for another job's write: 2 retries" in caplog.text


def test_a_dataset_that_another_job_logged_first_is_retried_and_other_errors_are_not():
    # as a tracking server answered when three jobs logged the same dataset at once
    race = RuntimeError("RestException: BAD_REQUEST: (sqlite3.IntegrityError) UNIQUE constraint failed: "
                        "datasets.experiment_id, datasets.name, datasets.digest")
    failures = iter([race])

    def log_input() -> str:
        failure = next(failures, None)
        if failure:
            raise failure
        return "logged"

    assert tracking._retry(log_input) == "logged"
    other = RuntimeError("(sqlite3.IntegrityError) UNIQUE constraint failed: runs.run_uuid")

    def log_run() -> None:
        raise other

    with pytest.raises(RuntimeError, match="runs.run_uuid"):
        tracking._retry(log_run)
