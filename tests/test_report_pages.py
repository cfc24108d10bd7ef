"""Tests for the report's two HTML pages: the datasets' page (index.html) and the lab's page (longdep.html).

The runs are test_report's fake runs; the lab's numbers are tested in test_longdep_lab.py, its page here only for
what both pages share: escaping, links and self-containment.
"""

from __future__ import annotations

import base64
import re
from typing import Any

import numpy as np
import pandas as pd
import pytest
from markupsafe import escape
from test_report import (
    INFO,
    MODELS,
    PNG_MAGIC,
    SEEDS,
    fake_predictions,
    fake_runs,
    make_predictions,
    make_run,
    write_runs,
)

from seqsuite.longdep.report import render_lab_page, write_lab_report
from seqsuite.longdep.summary import GRADIENT_COLUMNS, SUMMARY_COLUMNS, decay_rates
from seqsuite.report.index import write_report
from seqsuite.report.pages import MLFLOW_UI, links_note, render_report, seeds_statement
from seqsuite.report.stats import compare_models
from seqsuite.report.summary import finding, interval, mean_sd, model_table, seed_accuracy, summary_frame

LAB_SETTINGS = {"tasks": {"adding": {"T": [20], "batch_size": 64, "max_updates": 3000}},
                "training": {"lr": 0.01, "clip_norm": 1.0, "hidden_size": 32, "mlp_hidden_sizes": [128],
                             "forget_bias": 1.0}, "sizes": {"train": 10000, "val": 1000, "test": 1000}}
DOUBLE_ESCAPED = ("&amp;amp;", "&amp;lt;", "&amp;gt;", "&amp;#")


@pytest.fixture(scope="module")
def runs() -> list[dict[str, Any]]:
    return fake_runs()


@pytest.fixture(scope="module")
def predictions(runs) -> dict[tuple[str, str, int], pd.DataFrame]:
    return fake_predictions(runs)


@pytest.fixture(scope="module")
def page(runs, predictions) -> str:
    return render_report(runs, predictions, INFO)


def lab_inputs() -> tuple[pd.DataFrame, pd.DataFrame]:
    """A lab summary and decay rates of the RNN and the LSTM on the adding problem at T = 20, one seed."""
    summary = pd.DataFrame([{"task": "adding", "T": 20, "model": model, "seed": 0, "solved": int(model == "lstm"),
                             "score": 0.002, "steps": 900, "train_seconds": 5.0} for model in ("rnn", "lstm")],
                           columns=SUMMARY_COLUMNS)
    gradients = pd.DataFrame([{"task": "adding", "T": 20, "model": model, "seed": 0, "phase": phase, "distance": d,
                               "grad_norm": 0.9 ** d} for model in ("rnn", "lstm") for phase in ("init", "trained")
                              for d in range(20)], columns=GRADIENT_COLUMNS)
    return summary, decay_rates(gradients)


def _sections(page: str) -> dict[str, str]:
    """Split the page into dataset sections keyed by their heading."""
    parts = page.split("<section")[1:]
    return {re.search(r"<h2>(.*?)</h2>", part).group(1): part for part in parts}


def test_html_has_every_dataset_model_cell_and_finding(page, runs, predictions):
    sections = _sections(page)
    assert set(sections) == set(SEEDS)
    assert "Every number rests on these seeds: agnews: 2 seeds per model; fsdd: 3 seeds per model." in page
    summary = summary_frame(runs)
    for dataset, section in sections.items():
        table = model_table(summary, dataset, INFO[dataset]["n_test"]).set_index("model")
        assert table["accuracy_ci_low"].notna().all()
        for model in MODELS:
            assert f'<td class="model">{model}</td><td>{len(SEEDS[dataset])}</td>' in section
            row = table.loc[model]
            cells = f"<td>{mean_sd(row['accuracy_mean'], row['accuracy_sd'])}</td>"
            cells += f"<td>{interval(row['accuracy_ci_low'], row['accuracy_ci_high'])}</td>"
            assert cells in section
            assert f"<td>{100 * row['accuracy_per_second']:.2f} points/s</td>" in section
            for seed in SEEDS[dataset]:
                assert f"run-{dataset}-{model}-{seed}" in section
        own = {(m, s): frame for (d, m, s), frame in predictions.items() if d == dataset}
        comparisons = compare_models(seed_accuracy(summary, dataset), own)
        assert escape(finding(summary, dataset, comparisons)) in section
        assert INFO[dataset]["licence"] in section and f"{INFO[dataset]['n_train']:,}" in section
        assert "<th>95% CI</th>" in section and "<th>Holm-adjusted p</th>" in section


def test_html_pairwise_table_has_a_row_per_pair_with_its_numbers(page, runs, predictions):
    section = _sections(page)["fsdd"]
    summary = summary_frame(runs)
    own = {(m, s): frame for (d, m, s), frame in predictions.items() if d == "fsdd"}
    comparisons = compare_models(seed_accuracy(summary, "fsdd"), own)
    rows = re.findall(r'<tr><td class="pair">(.*?)</tr>', section)
    assert len(rows) == len(comparisons) == 3
    for c, row in zip(comparisons, rows, strict=True):
        assert row.startswith(f"{c.first} − {c.second}</td><td>3</td><td>+{100 * c.test.mean:.1f}</td>")
        assert all(f"seed {seed}: " in row for seed in SEEDS["fsdd"])
        assert ("beats" in row) == (c.winner is not None) and ("cannot separate" in row) == (c.winner is None)


def test_html_shows_the_length_plot_with_a_reading(page):
    for dataset, section in _sections(page).items():
        assert "<h3>Accuracy by input length</h3>" in section
        assert f'alt="Accuracy by input length, {dataset}"' in section
    assert "On the longest inputs (" in page and "rnn is " in page and " lstm (" in page
    assert "by length in frames" in _sections(page)["fsdd"] and "by length in tokens" in _sections(page)["agnews"]


def test_html_images_are_inline_pngs(page):
    images = re.findall(r'<img src="data:image/png;base64,([A-Za-z0-9+/=]+)"', page)
    assert len(images) == 3 * len(SEEDS)  # length plot, learning curves, confusion matrix
    assert len(images) == page.count("<img ")
    for data in images:
        assert base64.b64decode(data, validate=True).startswith(PNG_MAGIC)


def test_html_loads_nothing_from_the_network(page):
    assert "https://example.org/fsdd" in page  # citations stay as plain text
    assert "<script" not in page.lower() and "<link" not in page.lower() and "@import" not in page
    assert not re.search(r"""src\s*=\s*["']?\s*(https?:)?//""", page, re.IGNORECASE)
    absolute = re.findall(r"""href\s*=\s*["']?\s*((?:https?:)?//[^"'>]*)""", page, re.IGNORECASE)
    assert absolute and all(href.startswith(f"{MLFLOW_UI}/#/experiments/7/runs/") for href in absolute)


def test_run_ids_link_to_mlflow_only_when_the_experiment_is_known(page):
    sections = _sections(page)
    for model in MODELS:
        for seed in SEEDS["fsdd"]:
            href = f"http://127.0.0.1:5000/#/experiments/7/runs/run-fsdd-{model}-{seed}"
            assert f'seed {seed}: <a href="{href}"><code>run-fsdd-{model}-{seed}</code></a>' in sections["fsdd"]
        for seed in SEEDS["agnews"]:
            assert f"seed {seed}: <code>run-agnews-{model}-{seed}</code><" in sections["agnews"]
    assert "<a href=\"http" not in sections["agnews"]
    assert "the links work while the MLflow UI serves the tracking store" in page
    assert links_note([{"run_id": "x"}], MLFLOW_UI).endswith("not linked because no run recorded its experiment_id.")


def test_seeds_statement_lists_models_when_their_seed_counts_differ(runs):
    fewer = [r for r in runs if (r["dataset"], r["model"], r["seed"]) != ("agnews", "lstm", 1)]
    assert seeds_statement(summary_frame(fewer)) == (
        "Every number rests on these seeds: agnews: mlp 2, rnn 2, lstm 1 seeds; fsdd: 3 seeds per model."
    )


def test_render_report_requires_runs_info_and_best_predictions(runs, predictions):
    with pytest.raises(ValueError, match="at least one"):
        render_report([], {}, INFO)
    with pytest.raises(ValueError, match="agnews"):
        render_report(runs, predictions, {"fsdd": INFO["fsdd"]})
    with pytest.raises(ValueError, match="no predictions"):
        render_report(runs, {}, INFO)


def test_malicious_names_come_out_escaped_exactly_once_on_both_pages():
    rng = np.random.default_rng(3)
    dataset, model, run_id = "news<b>&co", "gru<b>", "<i>id&x</i>"
    runs = [make_run(rng, dataset, "lstm", 0, epochs=2) | {"run_id": None},
            make_run(rng, dataset, model, 0, epochs=2) | {"run_id": run_id, "experiment_id": "7&x"}]
    shared = make_predictions(rng, 3)
    predictions = {(dataset, "lstm", 0): shared, (dataset, model, 0): shared.assign(prediction=shared["target"])}
    html = render_report(runs, predictions, {dataset: {"kind": "text", "citation": "<script>alert(1)</script>"}})
    assert "news&lt;b&gt;&amp;co" in html and "gru&lt;b&gt;" in html
    assert "Citation: &lt;script&gt;alert(1)&lt;/script&gt;</p>" in html
    href = f"{MLFLOW_UI}/#/experiments/7%26x/runs/%3Ci%3Eid%26x%3C%2Fi%3E"
    assert f'seed 0: <a href="{href}"><code>&lt;i&gt;id&amp;x&lt;/i&gt;</code></a>' in html
    assert "seed 0: –" in html  # the lstm run has no MLflow run id
    settings = {**LAB_SETTINGS, "training": {**LAB_SETTINGS["training"], "mlp_hidden_sizes": "<script>x & y"}}
    lab = render_lab_page(*lab_inputs(), PNG_MAGIC, PNG_MAGIC, settings)
    assert "the MLP (hidden layers &lt;script&gt;x &amp; y) sees" in lab
    for text in (html, lab):
        assert "<b>" not in text and "<i>" not in text and "<script" not in text
        assert not any(twice in text for twice in DOUBLE_ESCAPED)


def test_the_pages_link_to_each_other_and_load_nothing_else(tmp_path, runs, predictions):
    metrics_paths, prediction_paths = write_runs(tmp_path / "results", runs, predictions)
    folder = tmp_path / "report"
    write_report(metrics_paths, prediction_paths, INFO, folder / "index.html", tmp_path / "summary.csv")
    write_lab_report(*lab_inputs(), PNG_MAGIC, PNG_MAGIC, LAB_SETTINGS, folder / "longdep.html")
    index, lab = ((folder / name).read_text(encoding="utf-8") for name in ("index.html", "longdep.html"))
    assert '<a href="longdep.html">' in index and "snakemake --cores 2 longdep" in index
    # the tuning page exists once `snakemake tune` ran (tests/test_tune_workflow.py writes one)
    assert '<a href="tuning.html">' in index and "snakemake --cores 2 tune" in index
    assert '<a href="index.html">' in lab and "<title>Long-range dependencies</title>" in lab
    assert '<section id="long-range-dependencies">\n<h2>Long-range dependencies</h2>' in lab
    for text in (index, lab):
        assert text.startswith("<!DOCTYPE html>") and text.count("<style>") == 1
        relative = [h for h in re.findall(r'href="([^"]*)"', text)
                    if not h.startswith(("http", "#")) and h != "tuning.html"]
        assert relative and all((folder / href).is_file() for href in relative)
    assert lab.count("data:image/png;base64,") == 2 and "<script" not in lab.lower() and "<link" not in lab.lower()


def test_the_title_names_the_models_that_ran_by_their_registry_titles(runs, predictions):
    assert "<title>seqsuite: MLP, tanh RNN and LSTM classifiers compared</title>" in render_report(
        runs, predictions, INFO)
    rng = np.random.default_rng(4)
    two = [make_run(rng, "fsdd", model, 0, epochs=2) for model in ("gru", "mlp")]
    shared = make_predictions(rng, 3)
    page = render_report(two, {("fsdd", m, 0): shared for m in ("gru", "mlp")}, INFO)
    assert "<h1>seqsuite: MLP and GRU classifiers compared</h1>" in page


def test_held_out_folds_get_one_section_that_compares_the_models_over_the_folds(runs, predictions):
    rng = np.random.default_rng(5)
    speakers = ("ann", "bob", "cy")
    folds = [make_run(rng, f"digits_{who}", model, seed) for who in speakers for model in MODELS for seed in (0, 1)]
    info = {**INFO, **{f"digits_{who}": {**INFO["fsdd"], "group": "digits_unseen", "held_out": who}
                       for who in speakers}}
    page = render_report(runs + folds, predictions, info)  # a group's statistics need no predictions
    sections = _sections(page)
    assert set(sections) == {*SEEDS, "digits_unseen"}  # the folds have no section of their own
    group = sections["digits_unseen"]
    assert "3 datasets, each holding out one of ann, bob, cy" in group
    for model in MODELS:
        per_fold = [np.mean([r["metrics"]["test"]["accuracy"] for r in folds
                             if r["model"] == model and r["dataset"] == f"digits_{who}"]) for who in speakers]
        cells = "".join(f"<td>{100 * value:.1f}%</td>" for value in per_fold)
        assert f'<td class="model">{model}</td>{cells}<td>{mean_sd(np.mean(per_fold), np.std(per_fold, ddof=1))}</td>' \
            in group
    assert "over 3 held-out folds" in group and "<th>held-out folds</th>" in group
    assert "<th>bob held out</th>" in group and "McNemar" not in group  # folds share no test examples
    ann = [r for r in folds if r["dataset"] == "digits_ann"]
    scored = make_predictions(rng, n_classes=3)
    alone = render_report(runs + ann, predictions | {("digits_ann", r["model"], r["seed"]): scored for r in ann}, info)
    assert set(_sections(alone)) == {*SEEDS, "digits_ann"}  # one fold alone is a dataset
