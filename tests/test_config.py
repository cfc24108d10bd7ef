"""Config: the schema accepts the defaults and names a bad key or value; --config strings get types."""

from __future__ import annotations

import copy
import subprocess
import sys

import pytest
import yaml
from conftest import REPO
from snakemake.exceptions import WorkflowError
from snakemake.utils import validate

from seqsuite.config import typed_values

SCHEMA = str(REPO / "workflow" / "schemas" / "config.schema.yaml")
DEFAULTS = yaml.safe_load((REPO / "config" / "config.yaml").read_text())


def check(config: dict) -> None:
    validate(copy.deepcopy(config), SCHEMA)


def test_default_config_is_valid_and_every_top_level_key_is_documented():
    check(DEFAULTS)
    readme = (REPO / "config" / "README.md").read_text()
    assert all(f"`{key}`" in readme for key in DEFAULTS)


@pytest.mark.parametrize(
    ("change", "named"),
    [
        ({"epochz": 3}, "epochz"),
        ({"models": ["mlp", "gru"]}, "'gru' is not one of ['mlp', 'rnn', 'lstm']"),
        ({"device": "tpu"}, "'tpu' is not one of ['auto', 'cpu', 'cuda']"),
        ({"val_fraction": 0.9}, "0.9"),
        ({"mlflow": {"tracking_uri": "file:///tmp/x", "artifact_root": "a", "server_wait_s": 5}}, "file:///tmp/x"),
    ],
)
def test_bad_values_are_named(change, named):
    with pytest.raises(WorkflowError) as error:
        check({**DEFAULTS, **change})
    assert named in str(error.value)


def test_unknown_hyperparameter_is_named():
    config = copy.deepcopy(DEFAULTS)
    config["training"]["text"]["lstm"]["hiden_size"] = 3
    with pytest.raises(WorkflowError, match="hiden_size"):
        check(config)


def test_command_line_strings_get_their_yaml_types():
    parsed = {"seeds": ["0", "1"], "training": {"text": {"lstm": {"lr": "0.01", "bidirectional": "false"}}},
              "datasets": ["mr"], "data_mirror": "../shared/datasets"}
    typed = typed_values(parsed)
    assert typed["seeds"] == [0, 1] and typed["training"]["text"]["lstm"] == {"lr": 0.01, "bidirectional": False}
    assert typed["datasets"] == ["mr"] and typed["data_mirror"] == "../shared/datasets"


@pytest.mark.parametrize(
    ("override", "expected"),
    [
        (["epochz=3"], ["epochz"]),
        (["models=[gru]"], ["gru", "'mlp', 'rnn', 'lstm'"]),
        (["datasets=[timit]"], ["timit", "known datasets are fsdd, imdb, mr, speech_commands, sst2"]),
    ],
)
def test_snakemake_fails_at_once_naming_the_bad_setting(override, expected, tmp_path):
    result = subprocess.run(
        [sys.executable, "-m", "snakemake", "-n", "--cores", "1", "--directory", str(tmp_path),
         "--snakefile", str(REPO / "Snakefile"), "--configfile", str(REPO / "config" / "config.yaml"),
         "--config", f"registry={REPO / 'config' / 'datasets.yaml'}", *override],
        capture_output=True, text=True, timeout=120,
    )
    assert result.returncode != 0
    for text in expected:
        assert text in result.stdout + result.stderr


def test_command_line_lists_override_the_defaults(tmp_path):
    result = subprocess.run(
        [sys.executable, "-m", "snakemake", "-n", "--cores", "1", "--directory", str(tmp_path),
         "--snakefile", str(REPO / "Snakefile"), "--configfile", str(REPO / "config" / "config.yaml"),
         "--config", f"registry={REPO / 'config' / 'datasets.yaml'}", "datasets=[mr]", "models=[mlp]",
         "seeds=[0, 5]"],
        capture_output=True, text=True, timeout=120,
    )
    assert result.returncode == 0, result.stderr
    assert "results/models/mlp/mr/seed5/metrics.json" in result.stdout
    assert "train_lstm" not in result.stdout and "fsdd" not in result.stdout
