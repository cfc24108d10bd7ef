"""The whole workflow, run by Snakemake on tiny datasets built here: download from a mirror, features,
MLP/RNN/LSTM, MLflow and the report; and the failures a user meets first."""

from __future__ import annotations

import json
import re
import subprocess
import sys
import zipfile

import mlflow
import pandas as pd
import pytest
import yaml
from conftest import REPO, snakemake, tiny_config, tiny_registry, tree_state, write_text_table

MODELS = ("mlp", "rnn", "lstm")


@pytest.mark.slow
def test_workflow_runs_every_job_and_writes_the_report(finished_workflow):
    workdir, result = finished_workflow
    assert result.returncode == 0, result.stderr[-5000:]
    assert "SQLite" not in result.stderr  # the cluster store warning is for cluster executors only
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
def test_every_run_is_in_mlflow_with_curves_tags_dataset_and_model(finished_workflow):
    workdir, _ = finished_workflow
    client = mlflow.MlflowClient(f"sqlite:///{workdir / 'results' / 'mlflow.db'}")
    invocations = set()
    for dataset in ("digits", "polarity", "reviews"):
        experiment = client.get_experiment_by_name(dataset)
        runs = client.search_runs([experiment.experiment_id])
        assert sorted(r.info.run_name for r in runs) == ["lstm-seed0", "mlp-seed0", "rnn-seed0"]
        for run in runs:
            assert run.info.status == "FINISHED"
            assert run.data.tags["dataset"] == dataset and run.data.tags["seed"] == "0"
            assert run.data.tags["snakemake_rule"] == f"train_{run.data.tags['model']}"
            invocations.add(run.data.tags["snakemake_invocation"])
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
    assert len(invocations) == 1  # all nine runs came from one snakemake call


@pytest.mark.slow
def test_report_links_runs_and_snakemake_report_builds(finished_workflow):
    workdir, _ = finished_workflow
    page = (workdir / "results" / "report" / "index.html").read_text()
    metrics = json.loads((workdir / "results" / "models" / "lstm" / "digits" / "seed0" / "metrics.json").read_text())
    assert f'href="http://127.0.0.1:5000/#/experiments/{metrics["experiment_id"]}/runs/{metrics["run_id"]}"' in page
    result = snakemake(workdir, "--report", "workflow.zip")
    assert result.returncode == 0, result.stderr[-3000:]
    with zipfile.ZipFile(workdir / "workflow.zip") as archive:
        names = archive.namelist()
    assert "workflow/report.html" in names
    assert any(n.endswith("/index.html") for n in names) and any(n.endswith("/summary.csv") for n in names)


@pytest.mark.slow
def test_a_changed_hyperparameter_reruns_only_the_runs_it_affects(finished_workflow):
    workdir, _ = finished_workflow
    result = snakemake(workdir, "--cores", "1", "-n", "--config", "training={text: {lstm: {lr: 0.005}}}")
    assert result.returncode == 0, result.stderr[-3000:]
    jobs = set(re.findall(r"^(?:local)?rule (\w+):", result.stdout, flags=re.MULTILINE))
    assert jobs == {"train_lstm", "write_report", "register_models", "all"}
    retrained = set(re.findall(r"output: results/models/lstm/(\w+)/seed0/", result.stdout))
    assert retrained == {"polarity", "reviews"}  # the text datasets; digits (speech) keeps its LSTM


@pytest.mark.slow
def test_overhead_benchmark_splits_each_training_job_into_training_and_named_phases(finished_workflow):
    workdir, _ = finished_workflow
    metrics = json.loads((workdir / "results/models/lstm/digits/seed0/metrics.json").read_text())
    phases = metrics["job_seconds"]
    assert {"startup", "mlflow_setup", "training", "round_logging", "evaluation_and_plots", "model_logging",
            "outputs"} <= set(phases) and all(seconds >= 0 for seconds in phases.values())
    assert phases["training"] >= metrics["train_seconds"] > phases["round_logging"]
    result = subprocess.run([sys.executable, str(REPO / "benchmarks" / "overhead.py"), str(workdir)],
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    rules = dict(re.findall(r"^(train_\w+|extract_features)\s+(\d+)\s", result.stdout, flags=re.MULTILINE))
    assert rules == {"extract_features": "3", "train_mlp": "3", "train_rnn": "3", "train_lstm": "3"}
    assert re.search(r"^model_logging\s+\d+\.\d$", result.stdout, flags=re.MULTILINE), result.stdout
    share = float(result.stdout.splitlines()[-1].removeprefix("outside "))
    assert 0 < share < 1


@pytest.mark.slow
def test_runs_per_process_benchmark_trains_each_seed_both_ways_to_the_same_predictions(finished_workflow):
    workdir, _ = finished_workflow
    result = subprocess.run([sys.executable, str(REPO / "benchmarks" / "runs_per_process.py"), str(workdir),
                             "--dataset", "digits", "--models", "mlp", "--seeds", "0", "1"],
                            capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stderr[-3000:]
    lines = result.stdout.splitlines()
    assert len([line for line in lines if "own interpreter" in line and line.startswith("mlp seed")]) == 2
    shared = [line for line in lines if "shared interpreter" in line]
    assert len(shared) == 2 and all(line.endswith("test predictions the same") for line in shared), shared
    # the second run of an interpreter skips the imports and set-up that every fresh interpreter pays
    assert 0 < float(lines[-1].removeprefix("ratio ")) < 1


@pytest.mark.slow
def test_second_run_finds_nothing_to_do_and_mirror_is_untouched(finished_workflow):
    workdir, _ = finished_workflow
    result = snakemake(workdir, "--cores", "2", "-n")
    assert result.returncode == 0 and "Nothing to be done" in result.stdout + result.stderr
    before = json.loads((workdir / "mirror-before.json").read_text())
    assert tree_state(workdir / "mirror") == before and len(before) > 40


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


@pytest.mark.slow
def test_a_fault_in_your_own_data_names_your_file_and_fixing_it_reruns_what_depends_on_it(tmp_path):
    tiny_registry(tmp_path)
    mine = tmp_path / "mine" / "reviews.csv"
    write_text_table(mine)
    lines = mine.read_text().splitlines()
    lines[7] = lines[7].replace("film", "caf\u00e9", 1) if "film" in lines[7] else lines[7] + " caf\u00e9"
    mine.write_bytes("\n".join(lines).encode("latin-1") + b"\n")
    custom = {"reviews": {"kind": "text", "format": "text_table", "path": str(mine.parent),
                          "read": {"file": "reviews.csv", "text_column": "review", "label_column": "sentiment"},
                          "split": {"method": "column", "column": "part"}}}
    config = tiny_config(tmp_path, ["reviews"], custom)
    config["models"] = ["mlp"]
    (tmp_path / "config.yaml").write_text(yaml.safe_dump(config))

    broken = snakemake(tmp_path, "--cores", "1")
    assert broken.returncode != 0
    assert f"{mine}, line 8: byte 0xe9 is not utf-8 text; set read.encoding" in broken.stderr, broken.stderr[-3000:]
    # the traceback, which names the copy under resources/, goes to the job's log only
    assert "Traceback" not in broken.stderr
    assert "Traceback" in (tmp_path / "logs" / "extract_features" / "reviews.log").read_text()

    mine.write_text("\n".join(lines) + "\n")  # saved again as UTF-8: the copy and the features are made again
    fixed = snakemake(tmp_path, "--cores", "1")
    assert fixed.returncode == 0, fixed.stderr[-3000:]
    assert "download_dataset" in fixed.stderr and "extract_features" in fixed.stderr

    config["custom_datasets"]["reviews"]["path"] = str(tmp_path / "nowhere")
    (tmp_path / "config.yaml").write_text(yaml.safe_dump(config))
    missing = snakemake(tmp_path, "--cores", "1")
    assert missing.returncode != 0 and "Select jobs to execute" not in missing.stderr
    assert f"custom dataset 'reviews': path {tmp_path / 'nowhere'} is not a folder" in missing.stderr
