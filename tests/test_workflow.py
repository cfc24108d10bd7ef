"""The whole workflow, run by Snakemake on tiny datasets built here: download from a mirror, features,
MLP/RNN/LSTM, MLflow and the report; and the failures a user meets first."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import mlflow
import pandas as pd
import pytest
import yaml
from conftest import REPO, write_fsdd_like, write_mr_like, write_text_table

from seqsuite.data.download import manifest_sha256

MODELS = ("mlp", "rnn", "lstm")


def snakemake(workdir: Path, *args: str, timeout: int = 900) -> subprocess.CompletedProcess:
    """Run the repository's workflow in workdir with workdir/config.yaml."""
    return subprocess.run(
        [sys.executable, "-m", "snakemake", "--snakefile", str(REPO / "Snakefile"), "--directory", str(workdir),
         "--configfile", str(workdir / "config.yaml"), *args],
        capture_output=True, text=True, timeout=timeout,
    )


def tiny_config(workdir: Path, datasets: list[str], custom: dict | None = None) -> dict:
    """The default config with one epoch, small models and the test's registry and mirror."""
    config = yaml.safe_load((REPO / "config" / "config.yaml").read_text())
    for kind in ("speech", "text"):
        for settings in config["training"][kind].values():
            settings.update(max_epochs=1, batch_size=8)
            settings.update({"hidden_sizes": [8]} if "hidden_sizes" in settings else {"hidden_size": 8})
    config["features"]["speech"].update(n_mfcc=8, n_mels=16)
    config.update(registry=str(workdir / "registry.yaml"), data_mirror=str(workdir / "mirror"), seeds=[0],
                  datasets=datasets, custom_datasets=custom or {}, split_seed=1, val_fraction=0.2)
    config["threads"]["extract_features"] = 1
    (workdir / "config.yaml").write_text(yaml.safe_dump(config))
    return config


def tiny_registry(workdir: Path) -> None:
    """A registry of two tiny datasets laid out like FSDD and MR, served by a local mirror folder."""
    registry = yaml.safe_load((REPO / "config" / "datasets.yaml").read_text())
    mirror = workdir / "mirror"
    entries = {}
    for name, template, build in (("digits", "fsdd", write_fsdd_like), ("polarity", "mr", write_mr_like)):
        folder = build(mirror / name)
        entries[name] = {**registry[template], "mirror_dir": name, "manifest_sha256": manifest_sha256(folder),
                         "url": "http://127.0.0.1:9/unreachable.tar.gz", "archive_sha256": None}
    (workdir / "registry.yaml").write_text(yaml.safe_dump(entries))


@pytest.fixture(scope="module")
def finished(tmp_path_factory) -> tuple[Path, subprocess.CompletedProcess]:
    """A complete run of the workflow with --cores 2 on two registry datasets and one of the user's own."""
    workdir = tmp_path_factory.mktemp("workflow")
    tiny_registry(workdir)
    write_text_table(workdir / "mine" / "reviews.csv")
    custom = {"reviews": {"kind": "text", "format": "text_table", "path": str(workdir / "mine"),
                          "read": {"file": "reviews.csv", "text_column": "review", "label_column": "sentiment"},
                          "split": {"method": "column", "column": "part"}}}
    tiny_config(workdir, ["digits", "polarity", "reviews"], custom)
    return workdir, snakemake(workdir, "--cores", "2")


@pytest.mark.slow
def test_workflow_runs_every_job_and_writes_the_report(finished):
    workdir, result = finished
    assert result.returncode == 0, result.stderr[-5000:]
    summary = pd.read_csv(workdir / "results" / "report" / "summary.csv")
    assert list(summary.columns) == ["dataset", "model", "seed", "split", "metric", "value"]
    assert len(summary) == 3 * 3 * 8
    assert set(summary["dataset"]) == {"digits", "polarity", "reviews"} and set(summary["model"]) == set(MODELS)
    accuracy = summary[(summary["metric"] == "accuracy") & (summary["split"] == "test")]["value"]
    assert accuracy.between(0, 1).all()
    page = (workdir / "results" / "report" / "index.html").read_text()
    assert all(name in page for name in ("digits", "polarity", "reviews", *MODELS))
    assert "data:image/png;base64," in page
    for model in MODELS:
        run_folder = workdir / "results" / "models" / model / "digits" / "seed0"
        metrics = json.loads((run_folder / "metrics.json").read_text())
        assert metrics["epochs_run"] == 1 and len(metrics["history"]) == 1
        predictions = pd.read_csv(run_folder / "predictions.csv")
        assert len(predictions) == 3 * 2 * 5 and (run_folder / "model.pt").stat().st_size > 0


@pytest.mark.slow
def test_every_run_is_in_mlflow_with_curves_tags_dataset_and_model(finished):
    workdir, _ = finished
    client = mlflow.MlflowClient(f"sqlite:///{workdir / 'results' / 'mlflow.db'}")
    for dataset in ("digits", "polarity", "reviews"):
        experiment = client.get_experiment_by_name(dataset)
        runs = client.search_runs([experiment.experiment_id])
        assert sorted(r.info.run_name for r in runs) == ["lstm-seed0", "mlp-seed0", "rnn-seed0"]
        for run in runs:
            assert run.info.status == "FINISHED"
            assert run.data.tags["dataset"] == dataset and run.data.tags["seed"] == "0"
            assert run.data.tags["snakemake_rule"] == f"train_{run.data.tags['model']}"
            if (REPO / ".git").exists():
                assert len(run.data.tags["mlflow.source.git.commit"]) == 40
            feature_key = "features.n_mfcc" if dataset == "digits" else "features.max_tokens"
            assert {"lr", "batch_size", "seed", feature_key} <= set(run.data.params)
            assert len(client.get_metric_history(run.info.run_id, "val_accuracy")) == 1
            assert {"test_accuracy", "test_macro_f1", "test_loss", "best_val_accuracy", "train_seconds",
                    "n_params"} <= set(run.data.metrics)
            assert run.inputs.dataset_inputs[0].dataset.name == dataset
            plots = {a.path for a in client.list_artifacts(run.info.run_id, "plots")}
            assert plots == {"plots/learning_curves.png", "plots/confusion_matrix.png"}
        logged = client.search_logged_models(experiment_ids=[experiment.experiment_id])
        assert sorted(m.source_run_id for m in logged) == sorted(r.info.run_id for r in runs)


@pytest.mark.slow
def test_second_run_finds_nothing_to_do_and_mirror_is_untouched(finished):
    workdir, _ = finished
    result = snakemake(workdir, "--cores", "2", "-n")
    assert result.returncode == 0 and "Nothing to be done" in result.stdout + result.stderr
    assert not any(p.name.startswith(".") for p in (workdir / "mirror").rglob("*"))


def test_tampered_mirror_fails_naming_both_checksums_and_leaves_no_dataset(tmp_path):
    tiny_registry(tmp_path)
    wav = next((tmp_path / "mirror" / "digits" / "recordings").glob("*.wav"))
    wav.write_bytes(wav.read_bytes()[:-10])
    tiny_config(tmp_path, ["digits"])
    result = snakemake(tmp_path, "--cores", "1", "resources/datasets/digits", timeout=300)
    registry = yaml.safe_load((tmp_path / "registry.yaml").read_text())
    log = (tmp_path / "logs" / "download_dataset" / "digits.log").read_text()
    assert result.returncode != 0
    assert registry["digits"]["manifest_sha256"] in log and "manifest sha256 is" in log
    assert not (tmp_path / "resources" / "datasets" / "digits").exists()
    assert not list((tmp_path / "resources" / "datasets").glob(".digits*"))


def test_no_network_and_no_mirror_names_the_url_and_the_mirror_option(tmp_path):
    tiny_registry(tmp_path)
    config = tiny_config(tmp_path, ["digits"])
    config["data_mirror"] = None
    (tmp_path / "config.yaml").write_text(yaml.safe_dump(config))
    result = snakemake(tmp_path, "--cores", "1", "resources/datasets/digits", timeout=300)
    log = (tmp_path / "logs" / "download_dataset" / "digits.log").read_text()
    assert result.returncode != 0
    assert "http://127.0.0.1:9/unreachable.tar.gz" in log and "data_mirror" in log
