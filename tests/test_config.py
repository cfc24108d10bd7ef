"""Config: the schema accepts the defaults and names a bad key or value; --config strings get types."""

from __future__ import annotations

import copy
import re
from pathlib import Path

import pytest
import yaml
from conftest import REPO, dry_run
from snakemake.exceptions import WorkflowError
from snakemake.utils import validate

from seqsuite.config import config_problems, typed_by_schema
from seqsuite.models import CHOICES

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
        ({"models": ["mlp", "transformer"]}, f"'transformer' is not one of {list(CHOICES)}"),
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


def test_command_line_strings_get_the_types_the_schema_expects():
    schema = yaml.safe_load(Path(SCHEMA).read_text())
    parsed = {"seeds": ["0", "1"], "val_fraction": "0.2", "data_mirror": "null", "datasets": ["mr"],
              "training": {"text": {"lstm": {"lr": "0.01", "bidirectional": "false", "clip_norm": "null"}}},
              "custom_datasets": {"mine": {"kind": "text", "read": {"encoding": "1252", "text_column": "on"},
                                           "split": {"values": {"train": "no", "test": "yes"}}}}}
    typed = typed_by_schema(parsed, schema)
    assert typed["seeds"] == [0, 1] and typed["val_fraction"] == 0.2 and typed["data_mirror"] is None
    assert typed["training"]["text"]["lstm"] == {"lr": 0.01, "bidirectional": False, "clip_norm": None}
    assert typed["datasets"] == ["mr"]
    # strings where the schema wants strings (or says nothing) stay strings: encodings, columns, values
    assert typed["custom_datasets"] == parsed["custom_datasets"]


@pytest.mark.parametrize(
    ("override", "expected"),
    [
        (["epochz=3"], ["epochz"]),
        (["models=[transformer]"], ["transformer", str(list(CHOICES))[1:-1]]),
        (["datasets=[timit]"], ["timit", "known datasets are fsdd, fsdd_speaker_george, ", "speech_commands, sst2"]),
    ],
)
def test_snakemake_fails_at_once_naming_the_bad_setting(override, expected, tmp_path):
    result = dry_run(tmp_path, *override)
    assert result.returncode != 0
    for text in expected:
        assert text in result.stdout + result.stderr
    assert len(result.stderr.splitlines()) < 40  # not the whole schema (479 lines)


def test_config_problems_are_a_line_each_naming_the_key_and_the_allowed_ones():
    config = copy.deepcopy(DEFAULTS)
    config.update(epochz=3, seeds="x")
    config["training"]["text"]["lstm"]["lrr"] = 1
    problems = config_problems(config, yaml.safe_load(Path(SCHEMA).read_text()))
    assert len(problems) == 3
    assert problems[0].startswith("config: unknown key 'epochz'; allowed keys: data_mirror, registry, datasets,")
    assert problems[1] == "seeds: 'x' is not of type 'array'; give a list, e.g. [x] (on the command line: " \
                          "--config seeds='[x]')"
    assert problems[2].startswith("training.text.lstm: unknown key 'lrr'; allowed keys:")
    assert "hidden_size" in problems[2]
    assert config_problems(DEFAULTS, yaml.safe_load(Path(SCHEMA).read_text())) == []


def test_a_bad_value_among_a_models_settings_is_its_only_problem_not_every_key_beside_it():
    """The model settings extend the optimiser's (allOf); when that part fails, JSON Schema counts all of its keys
    as unevaluated, which the validator reports as if each were a typo."""
    config = copy.deepcopy(DEFAULTS)
    config["training"]["speech"]["mlp"].update(max_epochs=-3, lrr=1)
    config["training"]["text"]["lstm"]["lr"] = "fast"
    problems = config_problems(config, yaml.safe_load(Path(SCHEMA).read_text()))
    assert problems[0].startswith("training.speech.mlp: unknown key 'lrr'; allowed keys:")
    assert problems[1] == "training.speech.mlp.max_epochs: -3 is less than the minimum of 1"
    assert problems[2] == "training.text.lstm.lr: 'fast' is not of type 'number'"
    assert len(problems) == 3, problems


def test_unknown_keys_leave_out_those_a_pattern_allows_and_the_list_hint_gives_a_command_line_for_a_word_only():
    schema = {"type": "object", "properties": {"a": {}, "b": {"type": "array"}}, "patternProperties": {"^x_": {}},
              "additionalProperties": False}
    assert config_problems({"a": 1, "x_1": 2, "zz": 3}, schema) == ["config: unknown key 'zz'; allowed keys: a, b"]
    assert config_problems({"b": {"c": 1}}, schema) == ["b: {'c': 1} is not of type 'array'; give a list, e.g. "
                                                        "[{'c': 1}]"]


def test_opt_in_datasets_and_own_text_folders_can_be_selected(tmp_path):
    (tmp_path / "notes").mkdir()  # a custom dataset's folder must exist before any job
    own = f"custom_datasets={{notes: {{kind: text, format: text_folders, path: {tmp_path / 'notes'}, " \
          "read: {folder: .}, split: {method: fraction, test_fraction: 0.2}}}"
    result = dry_run(tmp_path, "datasets=[sst2,speech_commands,imdb,notes]", "models=[lstm]", "seeds=[0]", own)
    assert result.returncode == 0, result.stderr
    for dataset in ("sst2", "speech_commands", "imdb", "notes"):
        assert f"results/models/lstm/{dataset}/seed0/metrics.json" in result.stdout


def test_speaker_folds_alone_plan_one_download_of_fsdd_that_each_folds_features_read(tmp_path):
    result = dry_run(tmp_path, "datasets=[fsdd_speaker_george,fsdd_speaker_theo]", "models=[mlp]", "seeds=[0]")
    assert result.returncode == 0, result.stderr
    assert re.search(r"^download_dataset +1$", result.stdout, re.MULTILINE), result.stdout
    assert re.search(r"^extract_features +2$", result.stdout, re.MULTILINE)
    assert "output: resources/datasets/fsdd, resources/datasets/fsdd.json" in result.stdout
    assert "resources/datasets/fsdd_speaker" not in result.stdout


def test_command_line_lists_override_the_defaults(tmp_path):
    result = dry_run(tmp_path, "datasets=[mr]", "models=[mlp]", "seeds=[0, 5]")
    assert result.returncode == 0, result.stderr
    assert "results/models/mlp/mr/seed5/metrics.json" in result.stdout
    assert "train_lstm" not in result.stdout and "fsdd" not in result.stdout
