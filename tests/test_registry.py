"""The model registry and the lab's task list are the one source: the schema, the config, the docs table, the
workflow's rules and the report's order all follow them."""

from __future__ import annotations

import re

import pytest
import yaml
from conftest import REPO, dry_run

from seqsuite.longdep.tasks import TASKS
from seqsuite.models import ABLATIONS, CHOICES, LSTM_MODELS, MODELS, model_entry, ordered_models

SCHEMA = yaml.safe_load((REPO / "workflow" / "schemas" / "config.schema.yaml").read_text())
CONFIG = yaml.safe_load((REPO / "config" / "config.yaml").read_text())


def test_schema_enumerates_the_registrys_models_and_tasks():
    props, defs = SCHEMA["properties"], SCHEMA["$defs"]
    assert props["models"]["items"]["enum"] == list(CHOICES)
    assert props["longdep"]["properties"]["models"]["items"]["enum"] == list(CHOICES)
    assert list(defs["models_of_kind"]["properties"]) == list(CHOICES)
    assert set(props["longdep"]["properties"]["ablations"]["required"]) == {*ABLATIONS, "at"}
    assert list(props["longdep"]["properties"]["tasks"]["properties"]) == list(TASKS)
    assert list(defs["lengths_per_task"]["properties"]) == list(TASKS)


def test_default_config_has_hyperparameters_for_every_model_and_settings_for_every_task():
    for kind in ("speech", "text"):
        assert list(CONFIG["training"][kind]) == list(CHOICES)
    assert set(CONFIG["longdep"]["tasks"]) == set(TASKS)


def test_docs_table_lists_every_model_with_its_title_and_layer():
    readme = (REPO / "config" / "README.md").read_text()
    rows = re.findall(r"^\| `(\w+)` \| ([^|]+) \| ([^|]+) \| ([^|]+) \|$", readme.split("## Models")[1], re.M)
    assert [name for name, *_ in rows] == list(MODELS)
    for name, title, layer, where in rows:
        entry = MODELS[name]
        assert title.strip() == entry.title
        assert layer.strip() == (f"`nn.{entry.layer}`" if entry.layer else "–")
        assert ("ablation" in where) == (entry.ablation is not None)


def test_report_order_follows_the_registry_and_unknown_names_come_last():
    assert ordered_models(["transformer", *reversed(MODELS)]) == [*MODELS, "transformer"]
    assert set(LSTM_MODELS) == {name for name, entry in MODELS.items() if entry.layer == "LSTM"}
    with pytest.raises(ValueError, match=f"valid models are {', '.join(MODELS)}"):
        model_entry("transformer")


def test_every_model_has_its_training_rules(tmp_path):
    result = dry_run(tmp_path, "datasets=[mr]", f"models=[{','.join(CHOICES)}]", "seeds=[0]")
    assert result.returncode == 0, result.stderr
    for name in CHOICES:
        assert f"results/models/{name}/mr/seed0/metrics.json" in result.stdout
    lab = f"longdep={{models: [{','.join(CHOICES)}], seeds: [0]}}"
    result = dry_run(tmp_path, lab, targets=("longdep",))
    assert result.returncode == 0, result.stderr
    for name in MODELS:
        assert f"train_longdep_{name}" in result.stdout


def test_gru_is_an_opt_in_model_of_the_datasets_and_the_lab(tmp_path):
    assert "gru" in CHOICES and "gru" not in CONFIG["models"] and "gru" not in CONFIG["longdep"]["models"]
    result = dry_run(tmp_path, "datasets=[fsdd,mr]", "models=[mlp,rnn,lstm,gru]", "seeds=[0]")
    assert result.returncode == 0, result.stderr
    assert "results/models/gru/fsdd/seed0/metrics.json" in result.stdout
    lab = ("longdep={models: [mlp, rnn, lstm, gru], seeds: [0], "
           "tasks: {adding: {T: [200, 400]}, temporal_order: {T: []}}}")
    result = dry_run(tmp_path, lab, targets=("longdep",))
    assert result.returncode == 0, result.stderr
    assert "results/longdep/runs/adding/T400/gru/seed0/metrics.json" in result.stdout
