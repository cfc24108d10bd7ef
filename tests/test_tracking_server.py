"""Tracking-server mode: every job logs to one `mlflow server`, as on a cluster; a dead server is named."""

from __future__ import annotations

import json
import os
import time
import urllib.error
import urllib.request

import pytest
import yaml
from conftest import free_port, host_names, running_mlflow_server, snakemake, tiny_config, tiny_registry

from seqsuite import server, tracking


def rest(base: str, path: str, body: dict | None = None) -> dict:
    """One call of MLflow's REST API."""
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(f"{base}/api/2.0/mlflow/{path}", data=data,
                                     headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=30) as response:
        return json.loads(response.read())


@pytest.mark.slow
def test_workflow_logs_every_run_to_a_tracking_server(tmp_path):
    tiny_registry(tmp_path)
    config = tiny_config(tmp_path, ["polarity"])
    (tmp_path / "server").mkdir()
    with running_mlflow_server(f"sqlite:///{tmp_path / 'server' / 'mlflow.db'}", tmp_path / "server") as base:
        config["mlflow"]["tracking_uri"] = base
        (tmp_path / "config.yaml").write_text(yaml.safe_dump(config))
        result = snakemake(tmp_path, "--cores", "2")
        assert result.returncode == 0, result.stderr[-3000:]
        experiment = rest(base, "experiments/get-by-name?experiment_name=polarity")["experiment"]
        runs = rest(base, "runs/search", {"experiment_ids": [experiment["experiment_id"]]})["runs"]
        assert sorted(r["info"]["run_name"] for r in runs) == ["lstm-seed0", "mlp-seed0", "rnn-seed0"]
        assert {r["info"]["status"] for r in runs} == {"FINISHED"}
        for run in runs:
            metrics = {m["key"] for m in run["data"]["metrics"]}
            assert {"test_accuracy", "val_accuracy", "train_seconds"} <= metrics
            artifacts = rest(base, f"artifacts/list?run_id={run['info']['run_id']}&path=plots")["files"]
            assert {a["path"] for a in artifacts} == {"plots/confusion_matrix.png", "plots/learning_curves.png"}
    assert not (tmp_path / "results" / "mlflow.db").exists()  # nothing went to the local default store
    report = json.loads((tmp_path / "results" / "models" / "mlp" / "polarity" / "seed0" / "metrics.json").read_text())
    assert report["run_id"] in {r["info"]["run_id"] for r in runs}


def test_a_refused_tracking_server_is_retried_then_named():
    uri = f"http://127.0.0.1:{free_port()}"
    started = time.monotonic()
    with pytest.raises(ConnectionError, match=f"cannot reach the MLflow tracking server at {uri}.*mlflow server"):
        with tracking.training_run(uri, "unused", "toy", "mlp-seed0", {}, {}, server_wait_s=2):
            pass
    assert 2 <= time.monotonic() - started < 30  # it kept retrying, with backoff, for server_wait_s


def test_a_server_refusing_its_host_name_is_named_and_allowed_hosts_fixes_it(tmp_path):
    """MLflow 3.17 answers /health but refuses every API call addressed to a host name it does not allow (HTTP 403),
    as it does for a cluster's head node; the jobs' readiness check makes a real call and names the fix."""
    if os.geteuid() != 0:
        pytest.skip("naming a host in /etc/hosts needs root")
    name = "seqsuite-tracking"
    database = f"sqlite:///{tmp_path / 'mlflow.db'}"
    with host_names({name: "127.0.0.1"}):
        with running_mlflow_server(database, tmp_path) as base:
            by_name = base.replace("127.0.0.1", name)
            with urllib.request.urlopen(f"{by_name}/health", timeout=10) as response:
                assert response.status == 200  # the old readiness check passed here
            with pytest.raises(urllib.error.HTTPError, match="403"):
                rest(by_name, "experiments/search", {"max_results": 1})
            host = by_name.removeprefix("http://")
            with pytest.raises(server.ServerRefused, match=f"HTTP 403.*--allowed-hosts {host}"):
                server.wait_for_server(by_name, timeout_s=5)
        with running_mlflow_server(database, tmp_path, "--allowed-hosts", f"{name}:*,localhost:*") as base:
            by_name = base.replace("127.0.0.1", name)
            server.wait_for_server(by_name, timeout_s=5)
            with tracking.training_run(by_name, "unused", "by-name", "mlp-seed0", {"lr": 0.1}, {}) as logger:
                logger.log_results({"test": {"accuracy": 0.5}}, {})
            assert rest(by_name, f"runs/get?run_id={logger.run_id}")["run"]["info"]["status"] == "FINISHED"


def test_client_retries_end_within_server_wait_s():
    for wait in (2, 8, 120, 600):
        settings = server.http_retry_settings(wait)
        retries = int(settings["MLFLOW_HTTP_REQUEST_MAX_RETRIES"])
        sleeps = sum(2 ** n for n in range(1, retries))  # urllib3: none before the first retry, then 2, 4, ...
        assert retries >= 1 and sleeps <= wait and int(settings["MLFLOW_HTTP_REQUEST_TIMEOUT"]) >= 30


def test_a_server_lost_mid_run_fails_the_job_within_server_wait_s_showing_the_first_error(tmp_path, caplog):
    lost_server = running_mlflow_server(f"sqlite:///{tmp_path / 'mlflow.db'}", tmp_path)
    base = lost_server.__enter__()
    with pytest.raises(Exception) as error, caplog.at_level("WARNING", logger="seqsuite"):
        with tracking.training_run(base, "unused", "lost", "mlp-seed0", {}, {}, server_wait_s=8) as logger:
            logger.log_epoch({"epoch": 1, "train_loss": 0.5})
            lost_server.__exit__(None, None, None)  # the head node's server goes away mid-run
            started = time.monotonic()
            logger.log_epoch({"epoch": 2, "train_loss": 0.4})
    assert time.monotonic() - started < 30  # MLflow's own retries took 8 minutes
    assert "log-batch" in str(error.value) and "runs/update" not in str(error.value)  # the first failure
    assert "could not mark the MLflow run FAILED" in caplog.text
