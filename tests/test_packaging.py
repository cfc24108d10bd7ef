"""pyproject.toml and environment.yml install the same packages."""

from __future__ import annotations

import re
import tomllib

import yaml
from conftest import REPO


def names(requirements: list[str]) -> dict[str, str]:
    """Package name -> version specifier."""
    parsed = (re.match(r"^([A-Za-z0-9_.-]+)\s*(.*)$", r.strip()) for r in requirements)
    return {m.group(1).lower(): m.group(2).replace(" ", "") for m in parsed}


def test_environment_yml_lists_the_same_packages_as_pyproject():
    project = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]
    env = yaml.safe_load((REPO / "environment.yml").read_text())["dependencies"]
    conda = [d for d in env if isinstance(d, str) and not d.startswith(("python", "pip"))]
    pip = next(d["pip"] for d in env if isinstance(d, dict))
    assert names(conda + pip) == names(project["dependencies"])


def test_torch_and_torchaudio_are_pinned_to_the_working_pair():
    project = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]
    deps = names(project["dependencies"])
    assert deps["torch"] == "==2.14.1" and deps["torchaudio"] == "==2.11.0"
