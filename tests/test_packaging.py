"""pyproject.toml and environment.yml install the same packages."""

from __future__ import annotations

import re
import tomllib
from importlib import metadata

import yaml
from conftest import REPO


def names(requirements: list[str]) -> dict[str, str]:
    """Package name -> version specifier."""
    parsed = (re.match(r"^([A-Za-z0-9_.-]+)\s*(.*)$", r.strip()) for r in requirements)
    return {m.group(1).lower(): m.group(2).replace(" ", "") for m in parsed}


def test_environment_yml_lists_the_same_packages_and_floors_as_pyproject_with_its_slurm_extra():
    project = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]
    env = yaml.safe_load((REPO / "environment.yml").read_text())["dependencies"]
    conda = [d for d in env if isinstance(d, str) and not re.match(r"^(python|pip)\b", d)]
    pip = next(d["pip"] for d in env if isinstance(d, dict))
    assert names(conda + pip) == names(project["dependencies"] + project["optional-dependencies"]["slurm"])
    assert f"python{project['requires-python']}" in env


def test_the_installed_torch_and_torchaudio_are_the_pinned_working_pair():
    project = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]
    deps = names(project["dependencies"])
    for package in ("torch", "torchaudio"):
        assert metadata.version(package).split("+")[0] == deps[package].removeprefix("==")
    import torch
    import torchaudio

    frames = torchaudio.transforms.MFCC(sample_rate=8000, n_mfcc=13)(torch.randn(8000))
    assert frames.shape[0] == 13  # the pair loads and computes (a mismatched pair fails at import)
