"""The workflow through a real SLURM (slurmctld and slurmd on this machine) with the repository's profile."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import time

import mlflow
import pytest
import yaml
from conftest import REPO, snakemake, tiny_config, tiny_registry

DAEMONS = ("sbatch", "slurmctld", "slurmd", "munged")
MISSING = [name for name in DAEMONS if shutil.which(name) is None and not os.path.exists(f"/usr/sbin/{name}")]

pytestmark = [pytest.mark.slow]
if MISSING:
    # CI installs SLURM (.ci/run), so there a missing daemon is a failure, not a skip
    pytestmark.append(pytest.mark.skipif(not os.environ.get("CI"), reason=f"SLURM not installed: {MISSING}"))


@pytest.fixture(scope="module")
def slurm():
    """A one-node SLURM started by .ci/slurm and stopped by process id afterwards."""
    if os.geteuid() != 0:
        if os.environ.get("CI"):
            pytest.fail("CI must run as root to start slurmctld and slurmd")
        pytest.skip("starting slurmctld and slurmd needs root")
    subprocess.run(["bash", str(REPO / ".ci" / "slurm"), "start"], check=True, timeout=120)
    yield
    subprocess.run(["bash", str(REPO / ".ci" / "slurm"), "stop"], check=True, timeout=60)


def test_profile_submits_every_job_through_sbatch(slurm, tmp_path, capsys):
    tiny_registry(tmp_path)
    tiny_config(tmp_path, ["polarity"])
    profile = yaml.safe_load((REPO / "workflow" / "profiles" / "slurm" / "config.yaml").read_text())
    # without accounting storage the plugin must ask squeue for job states; a short first wait keeps it quick
    profile.update({"slurm-status-command": "squeue", "slurm-init-seconds-before-status-checks": 2,
                    "jobs": 4, "retries": 0})
    profile["default-resources"]["slurm_partition"] = "debug"
    (tmp_path / "profile").mkdir()
    (tmp_path / "profile" / "config.yaml").write_text(yaml.safe_dump(profile))

    started = time.monotonic()
    result = snakemake(tmp_path, "--profile", str(tmp_path / "profile"), timeout=1200)
    seconds = time.monotonic() - started
    output = result.stdout + result.stderr
    assert result.returncode == 0, output[-5000:]

    job_ids = sorted({int(i) for i in re.findall(r"has been submitted with SLURM jobid (\d+)", output)})
    with capsys.disabled():  # shown in CI's log, for the record
        print(f"\nSLURM job ids: {job_ids}; workflow wall time through SLURM {seconds:.0f} s")
    # download, features, three training jobs (the report is a local rule)
    assert len(job_ids) == 5, output[-5000:]
    for job_id in job_ids:
        state = subprocess.run(["scontrol", "show", "job", str(job_id)], capture_output=True, text=True)
        assert "JobState=COMPLETED" in state.stdout, state.stdout + state.stderr

    client = mlflow.MlflowClient(f"sqlite:///{tmp_path / 'results' / 'mlflow.db'}")
    experiment = client.get_experiment_by_name("polarity")
    runs = client.search_runs([experiment.experiment_id])
    assert sorted(r.info.run_name for r in runs) == ["lstm-seed0", "mlp-seed0", "rnn-seed0"]
    assert {r.info.status for r in runs} == {"FINISHED"}
    assert (tmp_path / "results" / "report" / "index.html").exists()
    assert len((tmp_path / "results" / "report" / "summary.csv").read_text().splitlines()) == 1 + 3 * 8
