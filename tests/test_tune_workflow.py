"""`snakemake tune` end to end on tiny datasets: one MLflow parent run per dataset and model with the same number
of child trials, trials scored on validation only, the best trial's settings trained on tune.seeds, the page."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import mlflow
import pytest
import yaml
from conftest import REPO, snakemake, tiny_config, tiny_registry

pytestmark = pytest.mark.slow
TRIALS, SEEDS, MODELS, DATASETS = 3, [0, 1], ["mlp", "lstm"], ["digits", "polarity"]
NAN_LR = 1e30  # the MLP's trials on digits that draw it: their loss becomes NaN in the first epoch


def nan_trials(search: dict) -> list[int]:
    return [i for i, trial in enumerate(search["trials"]) if trial["lr"] == NAN_LR]


@pytest.fixture(scope="module")
def tuned(tmp_path_factory) -> Path:
    workdir = tmp_path_factory.mktemp("tune")
    tiny_registry(workdir)
    config = tiny_config(workdir, DATASETS)
    config["models"] = MODELS
    config["tune"].update(trials=TRIALS, seeds=SEEDS)
    for spaces in config["tune"]["space"].values():  # tiny widths, as tiny_config's
        spaces["mlp"]["hidden_sizes"] = {"choice": [[8], [16]]}
        spaces["lstm"] = {**spaces["lstm"], "hidden_size": {"choice": [4, 8]}}
    config["tune"]["space"]["speech"]["mlp"]["lr"] = {"choice": [0.001, NAN_LR]}
    (workdir / "config.yaml").write_text(yaml.safe_dump(config))
    result = snakemake(workdir, "--cores", "2", "tune")
    assert result.returncode == 0, result.stderr[-3000:]
    return workdir


def test_mlflow_has_one_search_per_dataset_and_model_with_the_same_number_of_child_trials(tuned):
    mlflow.set_tracking_uri(f"sqlite:///{tuned / 'results' / 'mlflow.db'}")
    for dataset in DATASETS:
        runs = mlflow.search_runs(experiment_names=[f"{dataset}-tuning"], output_format="list")
        by_name = {run.info.run_name: run for run in runs}
        for model in MODELS:
            search = json.loads((tuned / "results" / "tune" / dataset / model / "search.json").read_text())
            parent = by_name[f"{model}-search"]
            assert parent.info.run_id == search["run_id"] and parent.info.status == "FINISHED"
            children = [r for r in runs if r.data.tags.get("mlflow.parentRunId") == parent.info.run_id]
            assert sorted(r.info.run_name for r in children) == [f"{model}-trial{i}-seed0" for i in range(TRIALS)]
            for child in children:  # each trial's drawn settings are its params; the test split is never scored
                trial = int(child.data.params["trial"])
                assert float(child.data.params["lr"]) == search["trials"][trial]["lr"]
                assert not any(name.startswith("test_") for name in child.data.metrics)
                if trial in nan_trials(search):
                    assert child.info.status == "FAILED"
                else:
                    assert child.info.status == "FINISHED" and "best_val_accuracy" in child.data.metrics
            history = mlflow.MlflowClient().get_metric_history(parent.info.run_id, "expected_best_val_accuracy")
            assert [m.step for m in sorted(history, key=lambda m: m.step)] == list(range(1, TRIALS + 1))
            assert sorted(r.info.run_name for r in runs if r.data.tags.get("seqsuite.stage") == "tuned"
                          and r.data.tags["model"] == model) == [f"{model}-tuned-seed{s}" for s in SEEDS]


def test_the_tuned_runs_use_the_best_trials_settings_and_the_page_compares_them_with_the_defaults(tuned):
    results = tuned / "results"
    for dataset in DATASETS:
        for model in MODELS:
            folder = results / "tune" / dataset / model
            trials = [json.loads((folder / f"trial{i}" / "metrics.json").read_text()) for i in range(TRIALS)]
            assert all("test" not in t["metrics"] for t in trials)
            chosen = json.loads((folder / "best.json").read_text())
            nan = nan_trials(json.loads((folder / "search.json").read_text()))
            assert len(nan) == (2 if (dataset, model) == ("digits", "mlp") else 0)  # what draw_seed draws
            assert [i for i, t in enumerate(trials) if t["diverged"]] == nan == chosen["diverged_trials"]
            for i in nan:  # recorded, not failed: it counts at the majority label's validation accuracy
                assert "loss became nan" in trials[i]["diverged"] and trials[i]["metrics"] == {}
                assert 0 < trials[i]["score"] < 1
                assert not (folder / f"trial{i}" / "resume.pt").exists()
            scores = [t["metrics"]["val"]["accuracy"] if not t["diverged"] else -1 for t in trials]
            assert chosen["val_accuracy"] == [t["score"] for t in trials]
            assert chosen["best_trial"] == scores.index(max(scores))
            assert chosen["expected_best"][-1]["mean"] <= max(scores)
            for seed in SEEDS:
                run = json.loads((results / "tune" / "models" / model / dataset / f"seed{seed}" / "metrics.json")
                                 .read_text())
                assert run["hyperparameters"] == trials[chosen["best_trial"]]["hyperparameters"]
    page = (results / "report" / "tuning.html").read_text()
    assert page.count("Expected best validation accuracy against the number of trials") == len(DATASETS)
    assert f"after {TRIALS} trials each" in page and "Default settings against tuned" in page
    assert page.count("No verdict changed after tuning.") + page.count("Verdicts that changed after tuning:") == len(
        DATASETS)
    tuned_summary = (results / "report" / "tuned_summary.csv").read_text().splitlines()
    assert len(tuned_summary) > 1 and tuned_summary[0].startswith("dataset,model,seed")
    again = snakemake(tuned, "--cores", "2", "tune", "-n")
    assert "Nothing to be done" in again.stdout + again.stderr


def test_overhead_benchmark_counts_the_trials_and_tuned_runs_as_training_jobs(tuned):
    result = subprocess.run([sys.executable, str(REPO / "benchmarks" / "overhead.py"), str(tuned)],
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    row = re.compile(r"^(tune_trials|train_tuned_\w+)\s+(\d+)\s+(\d+)\s+[\d.]+\s+([\d.]+)\s", flags=re.MULTILINE)
    rows = {rule: (int(jobs), int(runs), float(training)) for rule, jobs, runs, training in row.findall(result.stdout)}
    assert rows.keys() == {"tune_trials", *(f"train_tuned_{m}" for m in MODELS)}, result.stdout
    # a job per search; a diverged trial writes no job_seconds, so it counts as its job's overhead, not as a run
    searches = tuned.glob("results/tune/*/*/search.json")
    n_diverged = sum(len(nan_trials(json.loads(path.read_text()))) for path in searches)
    assert rows["tune_trials"][:2] == (len(MODELS) * len(DATASETS), TRIALS * len(MODELS) * len(DATASETS) - n_diverged)
    # one job per dataset and model, a run per tune seed in each
    assert all(rows[f"train_tuned_{m}"][:2] == (len(DATASETS), len(SEEDS) * len(DATASETS)) for m in MODELS)
    assert all(training > 0 for *_, training in rows.values()), result.stdout
