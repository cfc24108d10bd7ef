"""The report steps: the datasets' comparison page with its summary table, and the lab's page."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pandas as pd

from seqsuite.longdep.report import write_lab_report
from seqsuite.report.index import MLFLOW_UI, write_report


def comparison_report(metrics: list[str], predictions: list[str], feature_metas: list[str],
                      credits: dict[str, dict[str, str]], html: Path, summary: Path, tracking_uri: str) -> None:
    """Write the comparison page and the long-form summary table, run ids linked to the MLflow UI."""
    dataset_info = {}
    for path in feature_metas:
        meta = json.loads(Path(path).read_text())
        dataset_info[meta["dataset"]] = {
            key: meta[key] for key in ("kind", "n_train", "n_val", "n_test")
        } | {"n_classes": len(meta["labels"])} | credits[meta["dataset"]]
    # a tracking server serves its own UI; an SQLite store is browsed with `mlflow ui` on its default port
    ui = tracking_uri.rstrip("/") if tracking_uri.startswith("http") else MLFLOW_UI
    write_report([Path(p) for p in metrics], [Path(p) for p in predictions], dataset_info, html, summary, ui)


def lab_report(files: dict[str, str], html: Path) -> None:
    """Write the lab's page from its summary (summary, decay, gradient_plot, gate_plot and settings files)."""
    settings: dict[str, Any] = json.loads(Path(files["settings"]).read_text())
    write_lab_report(pd.read_csv(files["summary"]), pd.read_csv(files["decay"]),
                     Path(files["gradient_plot"]).read_bytes(), Path(files["gate_plot"]).read_bytes(), settings, html)
