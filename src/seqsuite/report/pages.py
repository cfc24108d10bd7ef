"""The report's two pages as plain data, computed before rendering: the datasets' page and the lab's page.

Statistics, sentences and figures (base64 PNGs) are made here; templates/index.html and templates/longdep.html
only loop over them and print. The only absolute links are the run ids, which point at the MLflow UI (they work
while `mlflow ui` runs).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

import pandas as pd

from seqsuite.models import MODELS, ordered_models
from seqsuite.report.groups import GroupSection, group_folds, group_section
from seqsuite.report.html import Image, Line, Row, Table, cell, image, render
from seqsuite.report.plots import accuracy_by_length_png, confusion_matrix_png, learning_curves_png
from seqsuite.report.stats import ALPHA, POWER, accuracy_by_length, compare_models
from seqsuite.report.summary import (
    DASH,
    best_model,
    best_run,
    finding,
    join_phrases,
    length_reading,
    model_table,
    seed_accuracy,
    summary_frame,
)
from seqsuite.report.tables import models_table, pairs_table

PredictionKey = tuple[str, str, int]
MLFLOW_UI = "http://127.0.0.1:5000"  # where `mlflow ui` serves by default
UNITS = {"speech": "frames", "text": "tokens"}
METHOD = (
    "A model's 95% CI is a t-interval over seeds of its test accuracy on the logit scale, mapped back, so it "
    "stays within [0, 100] (an accuracy of 0 or 100% first moves half a test example inward). Each pair of "
    "models is compared by a paired t-test on per-seed test accuracy (mean difference with its 95% t-interval) "
    "and by McNemar's exact test on each seed's test predictions; the paired-t p-values of a dataset's pairs "
    "are Holm-corrected together (with one seed, the McNemar p takes their place). A winner is named only where "
    f"the Holm-adjusted p is at most {ALPHA}; otherwise the page says the data cannot separate the two, and "
    f"states the smallest difference these seeds would detect with {POWER:.0%} power at the level of Holm's "
    f"first step ({ALPHA} divided by the number of pairs), from the spread of the per-seed differences "
    "(noncentral t). Where every seed gives the same difference the t-test is undefined; p is then taken as 0 "
    "(a non-zero difference) or 1 (no difference)."
)


@dataclass(frozen=True)
class DatasetSection:
    """One dataset's section: description, tables, finding and figures."""

    anchor: str
    name: str
    kind: str
    licence: str
    citation: str
    sizes: Table
    models: Table
    pairs: Table | None  # None: only one model ran
    finding: str
    length_reading: str
    unit: str
    length_plot: Image | None  # None: no predictions to break down by length
    curves: Image
    best: str
    best_seed: int
    matrix: Image


@dataclass(frozen=True)
class DatasetsPage:
    """The datasets' page: its title, introductory paragraphs, one section per dataset, and one per group of
    held-out folds (whose datasets get no section of their own)."""

    title: str
    paragraphs: list[str]
    sections: list[DatasetSection]
    groups: list[GroupSection]


def render_report(
    runs: list[dict[str, Any]],
    predictions: dict[PredictionKey, pd.DataFrame],
    dataset_info: dict[str, dict[str, Any]],
    mlflow_ui: str = MLFLOW_UI,
    diverged: list[dict[str, Any]] | None = None,
) -> str:
    """Return the datasets' page as one self-contained HTML page; run ids link to the MLflow UI at mlflow_ui."""
    return render("index.html", datasets_page(runs, predictions, dataset_info, mlflow_ui, diverged))


def datasets_page(
    runs: list[dict[str, Any]],
    predictions: dict[PredictionKey, pd.DataFrame],
    dataset_info: dict[str, dict[str, Any]],
    mlflow_ui: str = MLFLOW_UI,
    diverged: list[dict[str, Any]] | None = None,
) -> DatasetsPage:
    """Return the datasets' page as data: every statistic, sentence and figure, ready to print; diverged runs are
    named, not counted."""
    if not runs:
        raise ValueError("no runs to report on; pass at least one metrics dict")
    summary = summary_frame(runs)
    datasets = sorted(summary["dataset"].unique())
    missing = [name for name in datasets if name not in dataset_info]
    if missing:
        raise ValueError(f"dataset_info lacks datasets {missing}; add them to the dataset registry/config")
    groups = group_folds({name: dataset_info[name] for name in datasets})
    folds = {dataset for members in groups.values() for dataset in members}
    sections = [
        dataset_section(name, f"ds-{i}-{slug(name)}", runs, summary, predictions, dataset_info[name], mlflow_ui)
        for i, name in enumerate(datasets) if name not in folds
    ]
    group_sections = [
        group_section(group, members, summary, min(dataset_info[d].get("n_test") or 0 for d in members) or None,
                      f"group-{i}-{slug(group)}")
        for i, (group, members) in enumerate(groups.items())
    ]
    paragraphs = [intro(summary), seeds_statement(summary), METHOD, links_note(runs, mlflow_ui)]
    if diverged:
        paragraphs.insert(2, diverged_note(diverged))
    titles = [MODELS[name].title if name in MODELS else name for name in ordered_models(summary["model"].unique())]
    return DatasetsPage(f"seqsuite: {join_phrases(titles)} classifiers compared", paragraphs, sections,
                        group_sections)


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


def diverged_note(diverged: list[dict[str, Any]]) -> str:
    """Return the sentence naming the runs that diverged, which no number on the page includes."""
    named = [f"{run['model']} on {run['dataset']}, seed {run['seed']} ({run['diverged']})" for run in diverged]
    return (f"Left out of every number as diverged: {'; '.join(named)}. Lower their learning rate (lr) or set "
            "clip_norm, and rerun.")


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
) -> DatasetSection:
    """Return one dataset's section: its statistics, finding and figures."""
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
    length_plot = None if lengths.empty else image(
        accuracy_by_length_png(lengths, f"{dataset}: test accuracy by input length"),
        f"Accuracy by input length, {dataset}")
    return DatasetSection(
        anchor=anchor, name=dataset, kind=_field(info, "kind"), licence=_field(info, "licence"),
        citation=_field(info, "citation"), sizes=sizes_table(info),
        models=models_table(model_table(summary, dataset, info.get("n_test")), run_lines(runs, dataset, mlflow_ui),
                            best),
        pairs=pairs_table(comparisons) if comparisons else None, finding=finding(summary, dataset, comparisons),
        length_reading=length_reading(lengths), unit=unit, length_plot=length_plot,
        curves=image(learning_curves_png(runs, dataset), f"Learning curves, {dataset}"),
        best=best, best_seed=key[2], matrix=image(matrix, f"Confusion matrix, {caption}"),
    )


def sizes_table(info: dict[str, Any]) -> Table:
    """Return the dataset's split sizes and number of classes as a one-row table."""
    sizes = [_field(info, name) for name in ("n_train", "n_val", "n_test", "n_classes")]
    return Table((Row(tuple(cell(name) for name in ("train", "validation", "test", "classes"))),),
                 (Row(tuple(cell(size) for size in sizes)),))


def run_lines(runs: list[dict[str, Any]], dataset: str, mlflow_ui: str) -> dict[str, tuple[Line, ...]]:
    """Return each model's "seed N: run id" lines for a dataset, sorted by seed."""
    chosen = sorted((r for r in runs if str(r["dataset"]) == dataset), key=lambda r: int(r["seed"]))
    lines: dict[str, tuple[Line, ...]] = {}
    for run in chosen:
        lines[str(run["model"])] = (*lines.get(str(run["model"]), ()), run_line(run, mlflow_ui))
    return lines


def run_line(run: dict[str, Any], mlflow_ui: str) -> Line:
    """Return a run's "seed N: run id" line, linked to its MLflow run when the run names its experiment."""
    run_id, experiment = run.get("run_id"), run.get("experiment_id")
    label = f"seed {int(run['seed'])}: "
    if not run_id:
        return Line(label + DASH)
    if experiment in (None, ""):
        return Line(label, str(run_id))
    href = f"{mlflow_ui.rstrip('/')}/#/experiments/{quote(str(experiment), safe='')}/runs/{quote(str(run_id), safe='')}"
    return Line(label, str(run_id), href)


def _field(info: dict[str, Any], name: str) -> str:
    """Return one dataset_info value as text, with thousands separators for counts, or a dash when absent."""
    value = info.get(name)
    if isinstance(value, int) and not isinstance(value, bool):
        return f"{value:,}"
    return DASH if value in (None, "") else str(value)


def slug(name: str) -> str:
    """Return a name reduced to characters safe in an HTML id."""
    return re.sub(r"[^A-Za-z0-9_-]+", "-", name).strip("-") or "dataset"
