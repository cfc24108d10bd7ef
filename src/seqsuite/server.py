"""Reaching an MLflow tracking server: a readiness check that makes a real API call, refusals named with their
fix, client retries bounded by server_wait_s, and the warning for cluster jobs that would share one SQLite file."""

from __future__ import annotations

import base64
import json
import math
import os
import time
import urllib.error
import urllib.parse
import urllib.request


def start_command(allowed_hosts: str) -> str:
    """The command that starts a tracking server the jobs can use, as the README gives it."""
    return (f"`mlflow server --host <its address> --port 5000 --allowed-hosts {allowed_hosts} "
            "--backend-store-uri sqlite:///mlflow.db` (README, 'Tracking server')")


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


def http_retry_settings(server_wait_s: float) -> dict[str, str]:
    """MLflow client settings that give up on a lost tracking server within about server_wait_s (by default it
    retries for about 8 minutes): waits of 0, 2, 4, ... s between tries, 30 s or more per try."""
    retries = max(1, int(math.log2(max(server_wait_s, 2.0))) - 1)
    return {"MLFLOW_HTTP_REQUEST_MAX_RETRIES": str(retries), "MLFLOW_HTTP_REQUEST_BACKOFF_FACTOR": "1",
            "MLFLOW_HTTP_REQUEST_BACKOFF_JITTER": "0",
            "MLFLOW_HTTP_REQUEST_TIMEOUT": str(max(30, round(server_wait_s / (retries + 1))))}
