"""One self-contained HTML page: inline CSS, images as base64 data URIs, all text escaped.

The only absolute links are the run ids, which point at the MLflow UI (they work while `mlflow ui` runs).
"""

from __future__ import annotations

import base64
import re
from html import escape
from typing import Any
from urllib.parse import quote

import pandas as pd

from seqsuite.report.plots import accuracy_by_length_png, confusion_matrix_png, learning_curves_png
from seqsuite.report.stats import ALPHA, Comparison, accuracy_by_length, compare_models
from seqsuite.report.summary import (
    DASH,
    best_model,
    best_run,
    finding,
    format_p,
    interval,
    length_reading,
    mean_sd,
    model_table,
    ordered_models,
    seed_accuracy,
    signed_points,
    summary_frame,
    verdict,
)

PredictionKey = tuple[str, str, int]
BEST_CLASS = ' class="best"'
LAB_SECTION_ID = "long-range-dependencies"  # the id the lab's section carries (seqsuite.longdep.report)
MLFLOW_UI = "http://127.0.0.1:5000"  # where `mlflow ui` serves by default
UNITS = {"speech": "frames", "text": "tokens"}
METHOD = (
    "95% CI is a t-interval over seeds. Each pair of models is compared by a paired t-test on per-seed test "
    "accuracy (mean difference with its 95% t-interval) and by McNemar's exact test on each seed's test "
    "predictions; the paired-t p-values of a dataset's pairs are Holm-corrected together (with one seed, the "
    f"McNemar p takes their place). A winner is named only where the Holm-adjusted p is at most {ALPHA}; "
    "otherwise the page says the data cannot separate the two. Where every seed gives the same difference the "
    "t-test is undefined; p is then taken as 0 (a non-zero difference) or 1 (no difference)."
)

CSS = """
body { font-family: system-ui, sans-serif; max-width: 70rem; margin: 2rem auto; padding: 0 1rem;
       color: #222; line-height: 1.45; }
h1 { border-bottom: 2px solid #ddd; padding-bottom: .3rem; }
section { border-top: 1px solid #ddd; margin-top: 2rem; }
table { border-collapse: collapse; margin: .8rem 0; font-size: .92rem; }
th, td { border: 1px solid #ccc; padding: .3rem .6rem; text-align: right; vertical-align: top; }
th { background: #f3f3f3; }
td.model, td.runs, td.pair, td.verdict, th.left { text-align: left; }
tr.best td, td.significant { font-weight: 600; background: #eef6ee; }
code { font-size: .85rem; }
.meta { color: #555; }
.finding { font-size: 1.05rem; background: #f7f7fb; border-left: 4px solid #66a; padding: .5rem .8rem; }
img { max-width: 100%; height: auto; }
""".strip()


def render_report(
    runs: list[dict[str, Any]],
    predictions: dict[PredictionKey, pd.DataFrame],
    dataset_info: dict[str, dict[str, Any]],
    mlflow_ui: str = MLFLOW_UI,
    lab_section: str = "",
) -> str:
    """Return the whole report as one self-contained HTML page; run ids link to the MLflow UI at mlflow_ui.

    lab_section, the long-dependency lab's section as HTML, follows the datasets' sections; a report may
    hold only that section (`snakemake longdep` before any dataset run).
    """
    if not runs and not lab_section:
        raise ValueError("no runs to report on; pass at least one metrics dict or the lab's section")
    summary = summary_frame(runs)
    datasets = sorted(summary["dataset"].unique()) if runs else []
    missing = [name for name in datasets if name not in dataset_info]
    if missing:
        raise ValueError(f"dataset_info lacks datasets {missing}; add them to the dataset registry/config")
    anchors = {name: f"ds-{i}-{_slug(name)}" for i, name in enumerate(datasets)}
    sections = [
        dataset_section(name, anchors[name], runs, summary, predictions, dataset_info[name], mlflow_ui)
        for name in datasets
    ]
    contents = [f'<li><a href="#{anchors[n]}">{escape(n)}</a></li>' for n in datasets]
    paragraphs = [intro(summary), seeds_statement(summary), METHOD, links_note(runs, mlflow_ui)] if runs else [
        "No dataset runs are part of this report: `snakemake --cores 2` adds them."]
    if lab_section:
        sections.append(lab_section)
        contents.append(f'<li><a href="#{LAB_SECTION_ID}">Long-range dependencies</a></li>')
    return (
        '<!DOCTYPE html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n'
        "<title>seqsuite: MLP, RNN and LSTM classifiers compared</title>\n"
        f"<style>\n{CSS}\n</style>\n</head>\n<body>\n"
        "<h1>seqsuite: MLP, RNN and LSTM classifiers compared</h1>\n"
        + "".join(f"<p>{escape(text)}</p>\n" for text in paragraphs)
        + f"<ul>{''.join(contents)}</ul>\n"
        + "\n".join(sections)
        + "\n</body>\n</html>\n"
    )


def intro(summary: pd.DataFrame) -> str:
    """Return the introductory paragraph, generated from what was run."""
    runs = summary[["dataset", "model", "seed"]].drop_duplicates()
    models = ordered_models(runs["model"].unique())
    seeds = sorted(runs["seed"].unique())
    return (
        f"{len(runs)} training runs: {len(models)} models ({', '.join(models)}) on "
        f"{runs['dataset'].nunique()} datasets with seeds {', '.join(str(s) for s in seeds)}. "
        "Accuracy and macro-F1 are measured on each dataset's test split and shown as mean ± sample "
        "standard deviation over seeds, in percent; the best model has the highest mean test accuracy, "
        "and its confusion matrix is shown for the seed with the highest validation accuracy."
    )


def seeds_statement(summary: pd.DataFrame) -> str:
    """Return how many seeds each dataset's numbers rest on, per model where the counts differ."""
    counts = summary.drop_duplicates(["dataset", "model", "seed"]).groupby(["dataset", "model"]).size()
    parts = []
    for dataset, per_model in counts.groupby(level="dataset"):
        per_model = per_model.droplevel("dataset")
        if per_model.nunique() == 1:
            n = int(per_model.iloc[0])
            parts.append(f"{dataset}: {n} seed{'s' if n != 1 else ''} per model")
        else:
            parts.append(f"{dataset}: " + ", ".join(f"{m} {per_model[m]}" for m in ordered_models(per_model.index))
                         + " seeds")
    return f"Every number rests on these seeds: {'; '.join(parts)}."


def links_note(runs: list[dict[str, Any]], mlflow_ui: str) -> str:
    """Return the sentence on where the run links point and when they work."""
    if not any(run.get("experiment_id") not in (None, "") for run in runs):
        return "Run ids are MLflow run ids; they are not linked because no run recorded its experiment_id."
    return (
        f"Run ids link to their MLflow runs at {mlflow_ui}; the links work while the MLflow UI serves the "
        "tracking store there: a tracking server serves its own, and for an SQLite store run "
        "`mlflow ui --backend-store-uri <the config's mlflow.tracking_uri>`."
    )


def dataset_section(
    dataset: str,
    anchor: str,
    runs: list[dict[str, Any]],
    summary: pd.DataFrame,
    predictions: dict[PredictionKey, pd.DataFrame],
    info: dict[str, Any],
    mlflow_ui: str = MLFLOW_UI,
) -> str:
    """Return one dataset's section: description, tables, finding and figures."""
    best = best_model(summary, dataset)
    chosen = best_run(runs, dataset, best)
    key = (dataset, best, int(chosen["seed"]))
    if key not in predictions:
        raise ValueError(f"no predictions for {key}, the best model's best seed; pass its predictions.csv")
    caption = f"{dataset} · {best} · seed {key[2]} (test split)"
    matrix = confusion_matrix_png(predictions[key], [str(label) for label in chosen["labels"]], caption)
    own = {(model, seed): frame for (name, model, seed), frame in predictions.items() if name == dataset}
    comparisons = compare_models(seed_accuracy(summary, dataset), own)
    unit = UNITS.get(str(info.get("kind")), "steps")
    lengths = accuracy_by_length(own, dataset, unit)
    length_plot = img_tag(accuracy_by_length_png(lengths, f"{dataset}: test accuracy by input length"),
                       f"Accuracy by input length, {dataset}") if not lengths.empty else ""
    curves = img_tag(learning_curves_png(runs, dataset), f"Learning curves, {dataset}")
    table = table_html(model_table(summary, dataset), _run_links(runs, dataset, mlflow_ui), best)
    return (
        f'<section id="{escape(anchor)}">\n<h2>{escape(dataset)}</h2>\n'
        f"{info_block(info)}\n<h3>Models</h3>\n{table}\n"
        f"<h3>Pairwise comparisons</h3>\n{pairs_html(comparisons)}\n"
        f'<p class="finding">{escape(finding(summary, dataset, comparisons))}</p>\n'
        f"<h3>Accuracy by input length</h3>\n<p>{escape(length_reading(lengths))} Test examples are split into "
        f"equal-count buckets by length in {unit}; accuracy is pooled over seeds.</p>\n{length_plot}\n"
        f"<h3>Learning curves</h3>\n{curves}\n"
        f"<h3>Confusion matrix of the best model ({escape(best)}, seed {key[2]}, "
        f"highest validation accuracy)</h3>\n{img_tag(matrix, f'Confusion matrix, {caption}')}\n</section>"
    )


def info_block(info: dict[str, Any]) -> str:
    """Return the dataset's kind, licence, citation and split sizes as HTML."""
    sizes = "".join(f"<td>{_field(info, name)}</td>" for name in ("n_train", "n_val", "n_test", "n_classes"))
    return (
        f'<p class="meta">Kind: {_field(info, "kind")} · Licence: {_field(info, "licence")}<br>'
        f"Citation: {_field(info, 'citation')}</p>\n"
        "<table><tr><th>train</th><th>validation</th><th>test</th><th>classes</th></tr>"
        f"<tr>{sizes}</tr></table>"
    )


def table_html(table: pd.DataFrame, run_links: dict[str, list[str]], best: str) -> str:
    """Return the model table as HTML, marking the best model's row."""
    head = (
        '<tr><th class="left">model</th><th>seeds</th><th>test accuracy (mean ± sd)</th><th>95% CI</th>'
        "<th>test macro-F1 (mean ± sd)</th><th>parameters</th><th>training time</th>"
        '<th>accuracy per second of training</th><th class="left">MLflow runs</th></tr>'
    )
    rows = []
    for row in table.itertuples(index=False):
        rate = DASH if pd.isna(row.accuracy_per_second) else f"{100 * row.accuracy_per_second:.2f} points/s"
        rows.append(
            f"<tr{BEST_CLASS if row.model == best else ''}>"
            f'<td class="model">{escape(str(row.model))}</td><td>{row.n_seeds}</td>'
            f"<td>{escape(mean_sd(row.accuracy_mean, row.accuracy_sd))}</td>"
            f"<td>{escape(interval(row.accuracy_ci_low, row.accuracy_ci_high))}</td>"
            f"<td>{escape(mean_sd(row.macro_f1_mean, row.macro_f1_sd))}</td>"
            f"<td>{_count(row.n_params)}</td><td>{_seconds(row.train_seconds)}</td><td>{rate}</td>"
            f'<td class="runs">{"<br>".join(run_links.get(row.model, []))}</td></tr>'
        )
    return f"<table>{head}{''.join(rows)}</table>"


def pairs_html(comparisons: list[Comparison]) -> str:
    """Return the pairwise table: difference with 95% CI, paired-t p, Holm p, McNemar p per seed, verdict."""
    if not comparisons:
        return "<p>Only one model ran on this dataset, so there is nothing to compare.</p>"
    head = (
        '<tr><th class="left">pair (first − second)</th><th>seeds</th><th>mean difference (points)</th>'
        "<th>95% CI</th><th>paired-t p</th><th>Holm-adjusted p</th><th>McNemar p per seed</th>"
        '<th class="left">verdict</th></tr>'
    )
    rows = []
    for c in comparisons:
        mcnemar = "<br>".join(f"seed {seed}: {escape(format_p(p))}" for seed, p in c.mcnemar.items()) or DASH
        paired = format_p(c.test.p) + (" (every seed gave the same difference)" if c.test.zero_variance else "")
        marked = ' class="verdict significant"' if c.winner else ' class="verdict"'
        rows.append(
            f'<tr><td class="pair">{escape(c.first)} − {escape(c.second)}</td><td>{c.test.n}</td>'
            f"<td>{escape(signed_points(c.test.mean))}</td><td>{escape(interval(c.test.low, c.test.high))}</td>"
            f"<td>{escape(paired)}</td><td>{escape(format_p(c.p_holm))}</td><td>{mcnemar}</td>"
            f"<td{marked}>{escape(verdict(c))}{'; rests on one seed' if c.test.n == 1 else ''}</td></tr>"
        )
    return f"<table>{head}{''.join(rows)}</table>"


def run_link(run: dict[str, Any], mlflow_ui: str) -> str:
    """Return a run's id as HTML, linked to its MLflow run when the run names its experiment."""
    run_id, experiment = run.get("run_id"), run.get("experiment_id")
    if not run_id:
        return DASH
    code = f"<code>{escape(str(run_id))}</code>"
    if experiment in (None, ""):
        return code
    href = f"{mlflow_ui.rstrip('/')}/#/experiments/{quote(str(experiment), safe='')}/runs/{quote(str(run_id), safe='')}"
    return f'<a href="{escape(href)}">{code}</a>'


def _run_links(runs: list[dict[str, Any]], dataset: str, mlflow_ui: str) -> dict[str, list[str]]:
    """Return each model's "seed N: run id" cells for a dataset, sorted by seed."""
    chosen = sorted((r for r in runs if str(r["dataset"]) == dataset), key=lambda r: int(r["seed"]))
    links: dict[str, list[str]] = {}
    for run in chosen:
        links.setdefault(str(run["model"]), []).append(f"seed {int(run['seed'])}: {run_link(run, mlflow_ui)}")
    return links


def _field(info: dict[str, Any], name: str) -> str:
    """Return one dataset_info value escaped, or a dash when absent."""
    value = info.get(name)
    if isinstance(value, int) and not isinstance(value, bool):
        return f"{value:,}"
    return DASH if value in (None, "") else escape(str(value))


def img_tag(png: bytes, alt: str) -> str:
    """Return an <img> tag embedding PNG bytes as a base64 data URI."""
    data = base64.b64encode(png).decode("ascii")
    return f'<img src="data:image/png;base64,{data}" alt="{escape(alt)}">'


def _slug(name: str) -> str:
    """Return a name reduced to characters safe in an HTML id."""
    return re.sub(r"[^A-Za-z0-9_-]+", "-", name).strip("-") or "dataset"


def _count(value: float) -> str:
    """Format a mean parameter count with thousands separators."""
    return DASH if pd.isna(value) else f"{round(value):,}"


def _seconds(value: float) -> str:
    """Format a mean training time in seconds."""
    return DASH if pd.isna(value) else f"{value:.1f} s"
