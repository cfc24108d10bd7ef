"""The report steps: the datasets' comparison page with its summary table, and the lab's page."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pandas as pd

from seqsuite.longdep.report import write_lab_report
from seqsuite.report.html import write_page
from seqsuite.report.index import MLFLOW_UI, read_runs, write_report, write_summary
from seqsuite.report.tuning import Runs, render_tuning


def comparison_report(metrics: list[str], predictions: list[str], feature_metas: list[str],
                      credits: dict[str, dict[str, str]], html: Path, summary: Path, tracking_uri: str) -> None:
    """Write the comparison page and the long-form summary table, run ids linked to the MLflow UI."""
    write_report([Path(p) for p in metrics], [Path(p) for p in predictions], dataset_infos(feature_metas, credits),
                 html, summary, mlflow_ui(tracking_uri))


def tuning_report(searches: list[str], tuned: dict[str, list[str]], default: dict[str, list[str]],
                  feature_metas: list[str], credits: dict[str, dict[str, str]], settings: dict[str, Any], html: Path,
                  summary: Path, tracking_uri: str) -> None:
    """Write the tuning page and the tuned runs' summary table from the searches' choices (best.json files) and the
    metrics and predictions files of the tuned and the default-settings runs."""
    chosen = [json.loads(Path(path).read_text()) for path in searches]
    tuned_runs = Runs(*read_runs([Path(p) for p in tuned["metrics"]], [Path(p) for p in tuned["predictions"]]))
    default_runs = Runs(*read_runs([Path(p) for p in default["metrics"]], [Path(p) for p in default["predictions"]]))
    page = render_tuning(chosen, tuned_runs, default_runs, dataset_infos(feature_metas, credits), settings,
                         mlflow_ui(tracking_uri))
    write_summary(tuned_runs.records, summary)
    write_page(page, html)


def dataset_infos(feature_metas: list[str], credits: dict[str, dict[str, str]]) -> dict[str, dict[str, Any]]:
    """Per dataset, from its features' meta.json and its registry credits: kind, split sizes, classes, licence,
    citation and group."""
    infos = {}
    for path in feature_metas:
        meta = json.loads(Path(path).read_text())
        infos[meta["dataset"]] = {
            key: meta[key] for key in ("kind", "n_train", "n_val", "n_test")
        } | {"n_classes": len(meta["labels"])} | credits[meta["dataset"]]
    return infos


def mlflow_ui(tracking_uri: str) -> str:
    """Where run links point: a tracking server serves its own UI; an SQLite store is browsed with `mlflow ui` on
    its default port."""
    return tracking_uri.rstrip("/") if tracking_uri.startswith("http") else MLFLOW_UI


def lab_report(files: dict[str, str], html: Path) -> None:
    """Write the lab's page from its summary (summary, decay, gradient_plot, gate_plot and settings files)."""
    settings: dict[str, Any] = json.loads(Path(files["settings"]).read_text())
    write_lab_report(pd.read_csv(files["summary"]), pd.read_csv(files["decay"]),
                     Path(files["gradient_plot"]).read_bytes(), Path(files["gate_plot"]).read_bytes(), settings, html)
