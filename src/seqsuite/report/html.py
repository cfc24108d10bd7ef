"""One self-contained HTML page: inline CSS, images as base64 data URIs, all text escaped."""

from __future__ import annotations

import base64
import re
from html import escape
from typing import Any

import pandas as pd

from seqsuite.report.plots import confusion_matrix_png, learning_curves_png
from seqsuite.report.summary import (
    DASH,
    best_model,
    best_run,
    finding,
    mean_sd,
    model_table,
    ordered_models,
    summary_frame,
)

PredictionKey = tuple[str, str, int]
BEST_CLASS = ' class="best"'

CSS = """
body { font-family: system-ui, sans-serif; max-width: 70rem; margin: 2rem auto; padding: 0 1rem;
       color: #222; line-height: 1.45; }
h1 { border-bottom: 2px solid #ddd; padding-bottom: .3rem; }
section { border-top: 1px solid #ddd; margin-top: 2rem; }
table { border-collapse: collapse; margin: .8rem 0; font-size: .92rem; }
th, td { border: 1px solid #ccc; padding: .3rem .6rem; text-align: right; vertical-align: top; }
th { background: #f3f3f3; }
td.model, td.runs, th.left { text-align: left; }
tr.best td { font-weight: 600; background: #eef6ee; }
code { font-size: .85rem; }
.meta { color: #555; }
.finding { font-size: 1.05rem; background: #f7f7fb; border-left: 4px solid #66a; padding: .5rem .8rem; }
img { max-width: 100%; height: auto; }
""".strip()


def render_report(
    runs: list[dict[str, Any]],
    predictions: dict[PredictionKey, pd.DataFrame],
    dataset_info: dict[str, dict[str, Any]],
) -> str:
    """Return the whole report as one self-contained HTML page."""
    if not runs:
        raise ValueError("no runs to report on; pass at least one metrics dict")
    summary = summary_frame(runs)
    datasets = sorted(summary["dataset"].unique())
    missing = [name for name in datasets if name not in dataset_info]
    if missing:
        raise ValueError(f"dataset_info lacks datasets {missing}; add them to the dataset registry/config")
    anchors = {name: f"ds-{i}-{_slug(name)}" for i, name in enumerate(datasets)}
    sections = [
        dataset_section(name, anchors[name], runs, summary, predictions, dataset_info[name]) for name in datasets
    ]
    contents = "".join(f'<li><a href="#{anchors[n]}">{escape(n)}</a></li>' for n in datasets)
    return (
        '<!DOCTYPE html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n'
        "<title>seqsuite: MLP, RNN and LSTM classifiers compared</title>\n"
        f"<style>\n{CSS}\n</style>\n</head>\n<body>\n"
        "<h1>seqsuite: MLP, RNN and LSTM classifiers compared</h1>\n"
        f"<p>{escape(intro(summary))}</p>\n<ul>{contents}</ul>\n" + "\n".join(sections) + "\n</body>\n</html>\n"
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


def dataset_section(
    dataset: str,
    anchor: str,
    runs: list[dict[str, Any]],
    summary: pd.DataFrame,
    predictions: dict[PredictionKey, pd.DataFrame],
    info: dict[str, Any],
) -> str:
    """Return one dataset's section: description, model table, finding and figures."""
    best = best_model(summary, dataset)
    chosen = best_run(runs, dataset, best)
    key = (dataset, best, int(chosen["seed"]))
    if key not in predictions:
        raise ValueError(f"no predictions for {key}, the best model's best seed; pass its predictions.csv")
    caption = f"{dataset} · {best} · seed {key[2]} (test split)"
    matrix = confusion_matrix_png(predictions[key], [str(label) for label in chosen["labels"]], caption)
    run_ids = _run_ids(runs, dataset)
    curves = _img(learning_curves_png(runs, dataset), f"Learning curves, {dataset}")
    return (
        f'<section id="{escape(anchor)}">\n<h2>{escape(dataset)}</h2>\n'
        f"{info_block(info)}\n<h3>Models</h3>\n{table_html(model_table(summary, dataset), run_ids, best)}\n"
        f'<p class="finding">{escape(finding(summary, dataset))}</p>\n'
        f"<h3>Learning curves</h3>\n{curves}\n"
        f"<h3>Confusion matrix of the best model ({escape(best)}, seed {key[2]}, "
        f"highest validation accuracy)</h3>\n{_img(matrix, f'Confusion matrix, {caption}')}\n</section>"
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


def table_html(table: pd.DataFrame, run_ids: dict[str, list[tuple[int, str | None]]], best: str) -> str:
    """Return the model table as HTML, marking the best model's row."""
    head = (
        '<tr><th class="left">model</th><th>seeds</th><th>test accuracy (mean ± sd)</th>'
        "<th>test macro-F1 (mean ± sd)</th><th>parameters</th><th>training time</th>"
        '<th class="left">MLflow runs</th></tr>'
    )
    rows = []
    for row in table.itertuples(index=False):
        ids = "<br>".join(
            f"seed {seed}: <code>{escape(run_id)}</code>" if run_id else f"seed {seed}: {DASH}"
            for seed, run_id in run_ids.get(row.model, [])
        )
        rows.append(
            f"<tr{BEST_CLASS if row.model == best else ''}>"
            f'<td class="model">{escape(str(row.model))}</td><td>{row.n_seeds}</td>'
            f"<td>{escape(mean_sd(row.accuracy_mean, row.accuracy_sd))}</td>"
            f"<td>{escape(mean_sd(row.macro_f1_mean, row.macro_f1_sd))}</td>"
            f"<td>{_count(row.n_params)}</td><td>{_seconds(row.train_seconds)}</td>"
            f'<td class="runs">{ids}</td></tr>'
        )
    return f"<table>{head}{''.join(rows)}</table>"


def _run_ids(runs: list[dict[str, Any]], dataset: str) -> dict[str, list[tuple[int, str | None]]]:
    """Return each model's (seed, MLflow run id) pairs for a dataset, sorted by seed."""
    ids: dict[str, list[tuple[int, str | None]]] = {}
    for run in runs:
        if str(run["dataset"]) == dataset:
            run_id = run.get("run_id")
            ids.setdefault(str(run["model"]), []).append((int(run["seed"]), str(run_id) if run_id else None))
    return {model: sorted(pairs) for model, pairs in ids.items()}


def _field(info: dict[str, Any], name: str) -> str:
    """Return one dataset_info value escaped, or a dash when absent."""
    value = info.get(name)
    if isinstance(value, int) and not isinstance(value, bool):
        return f"{value:,}"
    return DASH if value in (None, "") else escape(str(value))


def _img(png: bytes, alt: str) -> str:
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
