"""The workflow through a real two-node SLURM on this machine (.ci/slurm: slurmctld, and two slurmd of which the
second has its own network namespace and host name) with the repository's profile, every host reached by name."""

from __future__ import annotations

import concurrent.futures
import json
import os
import re
import shutil
import subprocess
import time
from pathlib import Path

import mlflow
import pytest
import yaml
from conftest import REPO, host_names, running_mlflow_server, snakemake, tiny_config, tiny_registry, write_mr_like
from test_longdep_workflow import tiny_lab

from seqsuite.data.download import manifest_sha256

DAEMONS = ("sbatch", "slurmctld", "slurmd", "munged", "nsenter")
MISSING = [name for name in DAEMONS if shutil.which(name) is None and not os.path.exists(f"/usr/sbin/{name}")]
HEAD, NODES = "seqsuite-head", ("seqsuite-node1", "seqsuite-node2")
# the head node (controller, tracking server) is also the first compute node; the second is a namespace of its own
HOSTS = {HEAD: "10.77.0.1", NODES[0]: "10.77.0.1", NODES[1]: "10.77.0.2"}
# a rule's log folder is rule_<rule>/, a group's group_<group>_<its rules>/
SUBMITTED = re.compile(r"has been submitted with SLURM jobid (\d+) \(log: \S*/(?:rule_(\w+)/|group_([a-z]+))")

pytestmark = [pytest.mark.slow]
if MISSING:
    # CI installs SLURM (.ci/run), so there a missing daemon is a failure, not a skip
    pytestmark.append(pytest.mark.skipif(not os.environ.get("CI"), reason=f"SLURM not installed: {MISSING}"))


@pytest.fixture(scope="module")
def cluster():
    """Two SLURM nodes started by .ci/slurm, their names in /etc/hosts while the module runs."""
    if os.geteuid() != 0:
        if os.environ.get("CI"):
            pytest.fail("CI must run as root to start slurmctld, slurmd and a network namespace")
        pytest.skip("starting slurmctld, slurmd and a network namespace needs root")
    script = ["bash", str(REPO / ".ci" / "slurm")]
    with host_names(HOSTS):
        subprocess.run([*script, "stop"], check=True, timeout=120)  # what a crashed run may have left
        subprocess.run([*script, "start"], check=True, timeout=120)
        try:
            yield
        finally:
            subprocess.run([*script, "stop"], check=True, timeout=120)


def slurm_profile(workdir: Path, **settings) -> Path:
    """The repository's SLURM profile with the site settings a user adds (partition) and settings for this cluster."""
    profile = yaml.safe_load((REPO / "profiles" / "slurm" / "config.yaml").read_text())
    # without accounting storage the plugin must ask squeue for job states; a short first wait keeps it quick
    profile.update({"slurm-status-command": "squeue", "slurm-init-seconds-before-status-checks": 2, "jobs": 4,
                    **settings})
    profile["default-resources"]["slurm_partition"] = "debug"
    (workdir / "profile").mkdir()
    (workdir / "profile" / "config.yaml").write_text(yaml.safe_dump(profile))
    return workdir / "profile"


def submitted(output: str) -> list[tuple[int, str]]:
    """(SLURM job id, rule or group) of every submission, in order (Snakemake may log a line twice)."""
    return [(int(job_id), rule or group) for job_id, rule, group in dict.fromkeys(SUBMITTED.findall(output))]


def job_facts(job_id: int) -> dict[str, str]:
    """JobState, NodeList, TimeLimit and TRES of a job as `scontrol show job` gives them."""
    shown = subprocess.run(["scontrol", "show", "job", str(job_id)], capture_output=True, text=True).stdout
    return dict(re.findall(r"\b(JobState|NodeList|TimeLimit|TRES)=(\S+)", shown))


def run_names_and_states(tracking_uri: str, experiment: str) -> list[tuple[str, str]]:
    client = mlflow.MlflowClient(tracking_uri)
    runs = client.search_runs([client.get_experiment_by_name(experiment).experiment_id])
    return sorted((r.info.run_name, r.info.status) for r in runs)


def test_jobs_run_on_both_nodes_and_log_to_one_tracking_server_by_name(cluster, tmp_path, capsys):
    tiny_registry(tmp_path)
    config = tiny_config(tmp_path, ["polarity"])
    (tmp_path / "server").mkdir()
    # the server listens on the head node's address only, so the second node reaches it over its veth, by name
    with running_mlflow_server(f"sqlite:///{tmp_path / 'server' / 'mlflow.db'}", tmp_path / "server",
                               "--allowed-hosts", f"{HEAD}:{{port}}", host=HEAD) as base:
        config["mlflow"]["tracking_uri"] = base
        (tmp_path / "config.yaml").write_text(yaml.safe_dump(config))
        started = time.monotonic()
        result = snakemake(tmp_path, "--profile", str(slurm_profile(tmp_path, retries=0)), timeout=1200)
        seconds = time.monotonic() - started
        output = result.stdout + result.stderr
        assert result.returncode == 0, output[-5000:]
        names_and_states = run_names_and_states(base, "polarity")

    jobs = {job_id: job_facts(job_id) for job_id, _ in submitted(output)}
    with capsys.disabled():  # shown in CI's log, for the record
        print(f"\nSLURM jobs (id: node): { {i: f['NodeList'] for i, f in jobs.items()} }; "
              f"workflow wall time through SLURM {seconds:.0f} s")
    assert len(jobs) == 5, output[-5000:]  # download, features, three training jobs (the report is a local rule)
    assert {facts["JobState"] for facts in jobs.values()} == {"COMPLETED"}, jobs
    assert {facts["NodeList"] for facts in jobs.values()} == set(NODES), jobs
    # device auto asks for no GPU (TRES lists gres/gpu where a job holds one)
    assert not any("gpu" in facts["TRES"] for facts in jobs.values())
    assert names_and_states == [("lstm-seed0", "FINISHED"), ("mlp-seed0", "FINISHED"), ("rnn-seed0", "FINISHED")]
    assert "SQLite" not in output  # no store warning where a tracking server is used
    assert not (tmp_path / "results" / "mlflow.db").exists()
    assert len((tmp_path / "results" / "report" / "summary.csv").read_text().splitlines()) == 1 + 3 * 8


def long_training_config(workdir: Path) -> dict:
    """One LSTM run of about two minutes on one core: 90 epochs of 1.3 s on 3,000 sentences."""
    tiny_registry(workdir)
    folder = write_mr_like(workdir / "mirror" / "polarity", per_label=1500)
    registry = yaml.safe_load((workdir / "registry.yaml").read_text())
    registry["polarity"]["manifest_sha256"] = manifest_sha256(folder)
    (workdir / "registry.yaml").write_text(yaml.safe_dump(registry))
    config = tiny_config(workdir, ["polarity"])
    config["models"] = ["lstm"]
    config["training"]["text"]["lstm"].update(hidden_size=128, batch_size=16, max_epochs=90, patience=90)
    (workdir / "config.yaml").write_text(yaml.safe_dump(config))
    return config


def test_a_job_stopped_at_its_time_limit_resumes_with_a_longer_one_and_ends_as_if_never_stopped(cluster, tmp_path,
                                                                                                 capsys):
    cut, whole = tmp_path / "slurm", tmp_path / "local"
    cut.mkdir(), whole.mkdir()
    config = long_training_config(cut)
    (whole / "config.yaml").write_text(yaml.safe_dump(config))  # the same data and settings, run uninterrupted
    # SLURM's shortest limit, one minute, growing with each attempt as the README's --set-resources does
    profile = slurm_profile(cut, retries=2, **{"set-resources": ["train_lstm:runtime=attempt"]})
    with concurrent.futures.ThreadPoolExecutor(2) as pool:
        uninterrupted = pool.submit(snakemake, whole, "--cores", "1", timeout=1200)
        result = snakemake(cut, "--profile", str(profile), timeout=1200)
        assert uninterrupted.result().returncode == 0, uninterrupted.result().stderr[-3000:]
    output = result.stdout + result.stderr
    assert result.returncode == 0, output[-5000:]

    training = [job_id for job_id, name in submitted(output) if name == "train_lstm"]
    facts = [job_facts(job_id) for job_id in training]
    with capsys.disabled():
        print(f"\ntrain_lstm through SLURM: {list(zip(training, facts, strict=True))}")
    assert facts[0]["JobState"] == "TIMEOUT" and facts[0]["TimeLimit"] == "00:01:00", facts
    assert facts[-1]["JobState"] == "COMPLETED" and facts[-1]["TimeLimit"] == f"00:0{len(facts)}:00", facts
    # the store warning came before the first job went to SLURM
    assert output.index("SQLite") < output.index("has been submitted with SLURM jobid"), output[:3000]

    log = (cut / "logs" / "train_lstm" / "polarity.log").read_text()
    resumed_at = int(re.search(r"resuming from \S+resume\.pt at update \d+ \(epoch (\d+)\)", log).group(1))
    assert resumed_at > 1, log[:2000]
    metrics = [json.loads((workdir / "results/models/lstm/polarity/seed0/metrics.json").read_text())
               for workdir in (cut, whole)]
    for run in metrics:
        del run["run_id"], run["model_uri"], run["train_seconds"], run["job_seconds"]  # where and how long, not what
    assert metrics[0] == metrics[1]
    tracking_uri = f"sqlite:///{cut / 'results' / 'mlflow.db'}"
    assert run_names_and_states(tracking_uri, "polarity") == [("lstm-seed0", "FINISHED")]


def test_the_labs_short_jobs_go_to_slurm_as_one_per_model_and_a_group_of_data_jobs(cluster, tmp_path, capsys):
    tiny_registry(tmp_path)
    config = tiny_lab(tiny_config(tmp_path, ["digits"]))
    config["mlflow"]["single_node"] = True  # both nodes share this machine's file system
    (tmp_path / "config.yaml").write_text(yaml.safe_dump(config))
    result = snakemake(tmp_path, "--profile", str(slurm_profile(tmp_path, retries=0)), "--", "longdep", timeout=1200)
    output = result.stdout + result.stderr
    assert result.returncode == 0, output[-5000:]
    assert "SQLite" not in output  # declared single-node: no store warning

    runs = len(list((tmp_path / "results" / "longdep" / "runs").glob("*/T*/*/seed*/metrics.json")))
    data = len(list((tmp_path / "results" / "longdep" / "data").rglob("*.npz")))
    jobs = {job_id: job_facts(job_id) for job_id, _ in submitted(output)}
    with capsys.disabled():
        print(f"\nthe lab's {runs} runs and {data} data sets went to SLURM as {len(jobs)} jobs: {jobs}")
    # three (task, T) data sets in one SLURM job (four data jobs fit in one), 3 * 3 + 2 ablation runs in one job per
    # model; then the lab's summary
    assert (runs, data) == (11, 3), output[-3000:]
    assert sorted(name for _, name in submitted(output)) == [
        "longdep", "summarise_longdep", *(f"train_longdep_{model}" for model in (
            "lstm", "lstm_forget_bias0", "lstm_no_forget_gate", "mlp", "rnn"))], output[-3000:]
    assert {facts["JobState"] for facts in jobs.values()} == {"COMPLETED"}
    assert all("cpu=1," in facts["TRES"] for facts in jobs.values())  # one lab slot or one training thread
    assert (tmp_path / "results" / "report" / "longdep.html").exists()
