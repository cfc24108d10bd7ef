"""Tests for seqsuite.report: summary tables, finding sentence, figures and the files it writes.

The statistics themselves (intervals, McNemar, paired t, Holm, length buckets) are tested in test_report_stats.py,
the two HTML pages in test_report_pages.py (which builds its runs with fake_runs and fake_predictions from here).
"""

from __future__ import annotations

import json
import math
import re
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from scipy import stats as scipy_stats

from seqsuite.report.index import read_metrics, write_report
from seqsuite.report.plots import (
    accuracy_by_length_png,
    confusion_counts,
    confusion_matrix_png,
    history_frame,
    learning_curves_png,
    seed_band,
)
from seqsuite.report.stats import accuracy_by_length, compare_models
from seqsuite.report.summary import (
    COLUMNS,
    best_model,
    best_run,
    finding,
    interval,
    mean_sd,
    model_table,
    seed_accuracy,
    summary_frame,
)

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
MODELS = ("mlp", "rnn", "lstm")
SEEDS = {"fsdd": (0, 1, 2), "agnews": (0, 1)}
LABELS = {"fsdd": [str(d) for d in range(10)], "agnews": ["World", "Sports", "Business", "Sci/Tech"]}
INFO = {
    "fsdd": {"kind": "speech", "licence": "CC BY-SA 4.0", "citation": "Jackson et al. https://example.org/fsdd"},
    "agnews": {"kind": "text", "licence": "non-commercial", "citation": "Zhang, Zhao & LeCun (2015)"},
}
INFO["fsdd"].update(n_train=2430, n_val=270, n_test=300, n_classes=10)
INFO["agnews"].update(n_train=108000, n_val=12000, n_test=7600, n_classes=4)
HISTORY_KEYS = ("train_loss", "train_accuracy", "val_loss", "val_accuracy")


def make_run(rng: np.random.Generator, dataset: str, model: str, seed: int, epochs: int = 4) -> dict:
    """Return a fake metrics.json dict with seeded random numbers."""
    split = {s: {m: float(rng.uniform(0.5, 1)) for m in ("accuracy", "macro_f1", "loss")} for s in ("val", "test")}
    history = [{"epoch": e, **{k: float(rng.uniform()) for k in HISTORY_KEYS}} for e in range(1, epochs + 1)]
    return {
        "dataset": dataset,
        "model": model,
        "seed": seed,
        "run_id": f"run-{dataset}-{model}-{seed}",
        "n_params": int(rng.integers(1_000, 100_000)),
        "train_seconds": float(rng.uniform(1, 60)),
        "best_epoch": epochs,
        "epochs_run": epochs,
        "labels": LABELS.get(dataset, ["a", "b", "c"]),
        "metrics": split,
        "history": history,
        "hyperparameters": {"lr": 0.001, "hidden": 64},
    }


def make_predictions(rng: np.random.Generator, n_classes: int, n: int = 40) -> pd.DataFrame:
    """Return a fake test-set predictions frame."""
    target = rng.integers(0, n_classes, n)
    prediction = np.where(rng.uniform(size=n) < 0.7, target, rng.integers(0, n_classes, n))
    return pd.DataFrame(
        {"index": np.arange(n), "target": target, "prediction": prediction, "length": rng.integers(5, 100, n)}
    )


def _test_values(runs: list[dict[str, Any]], dataset: str, model: str, metric: str) -> np.ndarray:
    """Return one test metric of every seed of a dataset and model."""
    return np.array([r["metrics"]["test"][metric] for r in runs if r["dataset"] == dataset and r["model"] == model])


def fake_runs() -> list[dict[str, Any]]:
    """Runs of both datasets; only fsdd's runs name their MLflow experiment."""
    rng = np.random.default_rng(1234)
    made = [make_run(rng, d, m, s) for d, seeds in SEEDS.items() for m in MODELS for s in seeds]
    return [run | {"experiment_id": "7"} if run["dataset"] == "fsdd" else run for run in made]


def fake_predictions(runs: list[dict[str, Any]]) -> dict[tuple[str, str, int], pd.DataFrame]:
    """Every run of a dataset scores the same test examples (index, target, length), each with its own predictions."""
    rng = np.random.default_rng(99)
    shared = {dataset: make_predictions(rng, len(LABELS[dataset])) for dataset in SEEDS}
    made = {}
    for run in runs:
        frame, n_classes = shared[run["dataset"]], len(run["labels"])
        guesses = np.where(rng.uniform(size=len(frame)) < 0.7, frame["target"], rng.integers(0, n_classes, len(frame)))
        made[(run["dataset"], run["model"], run["seed"])] = frame.assign(prediction=guesses)
    return made


@pytest.fixture(scope="module")
def runs() -> list[dict[str, Any]]:
    return fake_runs()


@pytest.fixture(scope="module")
def predictions(runs) -> dict[tuple[str, str, int], pd.DataFrame]:
    return fake_predictions(runs)


def test_summary_frame_has_exact_columns_and_row_count(runs):
    summary = summary_frame(runs)
    assert list(summary.columns) == COLUMNS == ["dataset", "model", "seed", "split", "metric", "value"]
    assert len(summary) == len(runs) * (2 * 3) + 2 * len(runs) == 15 * 8
    assert set(summary["split"]) == {"val", "test"}
    costs = summary[summary["metric"].isin(["train_seconds", "n_params"])]
    assert set(costs["split"]) == {"test"} and len(costs) == 2 * len(runs)


def test_summary_values_round_trip(runs):
    summary = summary_frame(runs).set_index(["dataset", "model", "seed", "split", "metric"])["value"]
    for run in runs:
        key = (run["dataset"], run["model"], run["seed"])
        for split in ("val", "test"):
            for metric in ("accuracy", "macro_f1", "loss"):
                assert summary[(*key, split, metric)] == run["metrics"][split][metric]
        assert summary[(*key, "test", "n_params")] == run["n_params"]
        assert summary[(*key, "test", "train_seconds")] == run["train_seconds"]


def test_model_table_matches_numpy(runs):
    summary = summary_frame(runs)
    for dataset, seeds in SEEDS.items():
        table = model_table(summary, dataset, n_test=200).set_index("model")
        assert list(table.index) == list(MODELS)
        for model in MODELS:
            row = table.loc[model]
            assert row["n_seeds"] == len(seeds)
            for metric in ("accuracy", "macro_f1"):
                values = _test_values(runs, dataset, model, metric)
                assert row[f"{metric}_mean"] == pytest.approx(values.mean())
                assert row[f"{metric}_sd"] == pytest.approx(values.std(ddof=1))
            for cost in ("n_params", "train_seconds"):
                chosen = [r[cost] for r in runs if r["dataset"] == dataset and r["model"] == model]
                assert row[cost] == pytest.approx(np.mean(chosen))
            values = _test_values(runs, dataset, model, "accuracy")
            logits = np.log(values / (1 - values))  # no accuracy is 0 or 1 here
            half = scipy_stats.t.ppf(0.975, len(values) - 1) * logits.std(ddof=1) / math.sqrt(len(values))
            assert row["accuracy_ci_low"] == pytest.approx(1 / (1 + math.exp(half - logits.mean())))
            assert row["accuracy_ci_high"] == pytest.approx(1 / (1 + math.exp(-half - logits.mean())))
            assert row["accuracy_per_second"] == pytest.approx(values.mean() / row["train_seconds"])


def test_model_table_orders_extra_models_alphabetically_and_single_seed_sd_is_dash():
    rng = np.random.default_rng(0)
    runs = [make_run(rng, "x", m, 0) for m in ("lstm", "transformer", "gru", "mlp")]
    table = model_table(summary_frame(runs), "x")
    assert list(table["model"]) == ["mlp", "lstm", "gru", "transformer"]
    assert table["accuracy_sd"].isna().all() and table["accuracy_ci_low"].isna().all()
    assert interval(math.nan, math.nan) == "–"
    assert mean_sd(0.9812, float("nan")) == "98.1% ± –"
    with pytest.raises(ValueError, match=r"'nope'.*'x'"):
        model_table(summary_frame(runs), "nope")


def test_finding_on_random_runs_names_the_numpy_best(runs):
    summary = summary_frame(runs)
    for dataset in SEEDS:
        means = {m: _test_values(runs, dataset, m, "accuracy").mean() for m in MODELS}
        best = max(means, key=means.get)
        assert best_model(summary, dataset) == best
        sentence = finding(summary, dataset, compare_models(seed_accuracy(summary, dataset), {}))
        assert sentence.startswith(f"{best} has the highest mean test accuracy ({100 * means[best]:.1f}% ± ")
        for other in set(MODELS) - {best}:
            assert f"{other} (+{100 * (means[best] - means[other]):.1f} points" in sentence


def test_best_run_picks_highest_validation_accuracy(runs):
    chosen = best_run(runs, "fsdd", "lstm")
    candidates = [r for r in runs if r["dataset"] == "fsdd" and r["model"] == "lstm"]
    assert chosen["metrics"]["val"]["accuracy"] == max(r["metrics"]["val"]["accuracy"] for r in candidates)


def test_plots_return_png_bytes_and_counts_are_right(runs, predictions):
    assert learning_curves_png(runs, "agnews").startswith(PNG_MAGIC)
    assert learning_curves_png(runs[:1], "fsdd").startswith(PNG_MAGIC)  # one run, as logged to MLflow per run
    own = {(m, s): frame for (d, m, s), frame in predictions.items() if d == "fsdd"}
    lengths = accuracy_by_length(own, "fsdd", "frames")
    assert len(lengths) == 4 * len(MODELS) and lengths["n_seeds"].eq(3).all()
    assert accuracy_by_length_png(lengths, "fsdd $x$").startswith(PNG_MAGIC)
    with pytest.raises(ValueError, match="accuracy_by_length"):
        accuracy_by_length_png(lengths.iloc[:0], "empty")
    frame = pd.DataFrame({"target": [0, 0, 1, 2], "prediction": [0, 1, 1, 2]})
    assert confusion_counts(frame, 3).tolist() == [[1, 1, 0], [0, 1, 0], [0, 0, 1]]
    assert confusion_matrix_png(frame, ["a", "b$", "<c>"], "t $x$").startswith(PNG_MAGIC)
    with pytest.raises(ValueError, match=r"outside 0\.\.1"):
        confusion_counts(frame, 2)


def test_seed_band_uses_the_seeds_that_reached_each_epoch():
    long = history_frame([{"epoch": e, "val_accuracy": a} for e, a in enumerate([0.5, 0.7, 0.8], start=1)])
    short = history_frame([{"epoch": e, "val_accuracy": a} for e, a in enumerate([0.3, 0.5], start=1)])
    band = seed_band([long, short], "val_accuracy")
    assert band.index.tolist() == [1, 2, 3] and band["count"].tolist() == [2, 2, 1]
    assert band["mean"].tolist() == pytest.approx([0.4, 0.6, 0.8])
    assert band["min"].tolist() == pytest.approx([0.3, 0.5, 0.8]) and band["max"].tolist() == [0.5, 0.7, 0.8]


def write_runs(root: Path, runs, predictions) -> tuple[list[Path], list[Path]]:
    """Write runs as metrics.json and predictions.csv files, returning the paths."""
    metrics_paths, prediction_paths = [], []
    for run in runs:
        folder = root / run["dataset"] / run["model"] / str(run["seed"])
        folder.mkdir(parents=True)
        (folder / "metrics.json").write_text(json.dumps(run))
        frame = predictions[(run["dataset"], run["model"], run["seed"])]
        frame.to_csv(folder / "predictions.csv", index=False)
        metrics_paths.append(folder / "metrics.json")
        prediction_paths.append(folder / "predictions.csv")
    return metrics_paths, prediction_paths


def test_write_report_writes_summary_and_html(tmp_path, runs, predictions):
    metrics_paths, prediction_paths = write_runs(tmp_path / "results", runs, predictions)
    html_path, summary_path = tmp_path / "out" / "report" / "index.html", tmp_path / "out" / "summary.csv"
    write_report(metrics_paths, prediction_paths, INFO, html_path, summary_path, "http://tracking.example:8080/")
    written = pd.read_csv(summary_path)
    assert list(written.columns) == COLUMNS and len(written) == len(runs) * 8
    pd.testing.assert_frame_equal(written, summary_frame(runs), check_dtype=False)
    text = html_path.read_text(encoding="utf-8")
    assert text.startswith("<!DOCTYPE html>") and text.count("data:image/png;base64,") == 6
    assert 'href="http://tracking.example:8080/#/experiments/7/runs/run-fsdd-mlp-0"' in text
    assert "at http://tracking.example:8080/;" in text


def test_missing_key_error_names_the_file(tmp_path, runs, predictions):
    metrics_paths, prediction_paths = write_runs(tmp_path, runs[:2], predictions)
    broken = json.loads(metrics_paths[1].read_text())
    del broken["history"]
    del broken["metrics"]["test"]["accuracy"]
    metrics_paths[1].write_text(json.dumps(broken))
    with pytest.raises(ValueError, match=re.escape(str(metrics_paths[1]))) as error:
        write_report(metrics_paths, prediction_paths, INFO, tmp_path / "i.html", tmp_path / "s.csv")
    assert "history" in str(error.value) and "metrics.test.accuracy" in str(error.value)
    assert not (tmp_path / "i.html").exists() and not (tmp_path / "s.csv").exists()
    assert read_metrics(metrics_paths[0])["model"] == runs[0]["model"]


def test_write_report_rejects_unpaired_predictions_and_no_runs(tmp_path, runs, predictions):
    metrics_paths, prediction_paths = write_runs(tmp_path, runs[:2], predictions)
    with pytest.raises(ValueError, match="2 metrics files but 1 predictions"):
        write_report(metrics_paths, prediction_paths[:1], INFO, tmp_path / "i.html", tmp_path / "s.csv")
    with pytest.raises(ValueError, match="at least one run"):
        write_report([], [], INFO, tmp_path / "i.html", tmp_path / "s.csv")
    assert not (tmp_path / "i.html").exists() and not (tmp_path / "s.csv").exists()


def test_a_diverged_run_is_named_on_the_page_and_left_out_of_every_number(tmp_path, runs, predictions):
    marked = [dict(run) for run in runs]
    marked[0]["diverged"] = "training loss 1.3e+16 at its kept epoch, above 2 x 0.693"
    metrics_paths, prediction_paths = write_runs(tmp_path / "results", marked, predictions)
    html_path, summary_path = tmp_path / "index.html", tmp_path / "summary.csv"
    write_report(metrics_paths, prediction_paths, INFO, html_path, summary_path)
    pd.testing.assert_frame_equal(pd.read_csv(summary_path), summary_frame(runs[1:]), check_dtype=False)
    text = html_path.read_text(encoding="utf-8")
    first = runs[0]
    assert (f"Left out of every number as diverged: {first['model']} on {first['dataset']}, seed {first['seed']} "
            "(training loss 1.3e+16 at its kept epoch") in text
    for run in marked:
        run["diverged"] = "loss 1e9"
    metrics_paths, prediction_paths = write_runs(tmp_path / "all", marked, predictions)
    with pytest.raises(ValueError, match=r"every run diverged \(.*\); lower lr or set clip_norm"):
        write_report(metrics_paths, prediction_paths, INFO, tmp_path / "i.html", tmp_path / "s.csv")
