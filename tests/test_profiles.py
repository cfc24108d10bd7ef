"""The workflow's default profile (profiles/default) is found by Snakemake and applies to every run."""

from __future__ import annotations

import subprocess
import sys

import yaml
from conftest import REPO, tiny_config, tiny_registry


def test_snakemake_applies_the_default_profile_by_itself(tmp_path):
    tiny_registry(tmp_path)
    tiny_config(tmp_path, ["digits"])
    settings = yaml.safe_load((REPO / "profiles" / "default" / "config.yaml").read_text())
    assert settings == {"cores": "all", "rerun-incomplete": True, "keep-going": True, "resources": {"gpu_slots": 8}}
    # no --cores: a run without the profile would refuse to start
    plain = [sys.executable, "-m", "snakemake", "-n", "--snakefile", str(REPO / "Snakefile"), "--directory",
             str(tmp_path), "--configfile", str(tmp_path / "config.yaml")]
    # from another folder: the profile beside the Snakefile is found, as for a user running a checkout elsewhere
    found = subprocess.run(plain, cwd=tmp_path, capture_output=True, text=True, timeout=120)
    assert found.returncode == 0, found.stderr[-3000:]
    assert f"Using workflow specific profile {REPO / 'profiles' / 'default'}" in found.stdout + found.stderr
    without = subprocess.run([*plain, "--workflow-profile", "none"], cwd=tmp_path, capture_output=True, text=True,
                             timeout=120)
    assert "workflow specific profile" not in without.stdout + without.stderr
