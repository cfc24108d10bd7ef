"""The report's datasets page, index.html, from each run's metrics.json and predictions.csv, with summary.csv
beside it."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pandas as pd

from seqsuite.report.html import write_page
from seqsuite.report.pages import MLFLOW_UI, PredictionKey, render_report
from seqsuite.report.summary import missing_keys, run_key, summary_frame

PREDICTION_COLUMNS = ("index", "target", "prediction", "length")


def read_metrics(path: Path) -> dict[str, Any]:
    """Read one run's metrics.json, raising a ValueError naming the file if a required key is missing."""
    try:
        run = json.loads(Path(path).read_text(encoding="utf-8"))
    except json.JSONDecodeError as error:
        raise ValueError(f"{path} is not valid JSON: {error}") from error
    if not isinstance(run, dict):
        raise ValueError(f"{path} must hold a JSON object, not {type(run).__name__}")
    if gaps := missing_keys(run):
        raise ValueError(f"{path} lacks required keys {gaps}; re-run the training rule that writes it")
    return run


def read_predictions(path: Path) -> pd.DataFrame:
    """Read one run's predictions.csv, raising a ValueError naming the file if a column is missing."""
    frame = pd.read_csv(path)
    if missing := [column for column in PREDICTION_COLUMNS if column not in frame.columns]:
        raise ValueError(f"{path} lacks columns {missing}; expected {list(PREDICTION_COLUMNS)}")
    return frame


def read_runs(metrics_paths: list[Path], predictions_paths: list[Path]
              ) -> tuple[list[dict[str, Any]], dict[PredictionKey, pd.DataFrame], list[dict[str, Any]]]:
    """The runs that did not diverge, every run's predictions by (dataset, model, seed), and the diverged runs;
    predictions pair with metrics by position."""
    if not metrics_paths:
        raise ValueError("no metrics.json files given; the report needs at least one run")
    if len(predictions_paths) != len(metrics_paths):
        raise ValueError(
            f"got {len(metrics_paths)} metrics files but {len(predictions_paths)} predictions files; "
            "pass one predictions.csv per metrics.json, in the same order"
        )
    runs = [read_metrics(Path(path)) for path in metrics_paths]
    predictions = {
        (str(run["dataset"]), str(run["model"]), int(run["seed"])): read_predictions(Path(path))
        for run, path in zip(runs, predictions_paths, strict=True)
    }
    if len(predictions) != len(runs):
        raise ValueError("two metrics files describe the same (dataset, model, seed); runs must be unique")
    diverged = [run for run in runs if run.get("diverged")]  # named on the page, left out of every number
    runs = [run for run in runs if not run.get("diverged")]
    if not runs:
        raise ValueError(f"every run diverged ({', '.join(run_key(run) for run in diverged)}); lower lr or set "
                         "clip_norm for these models (see their job logs)")
    return runs, predictions, diverged


def write_report(
    metrics_paths: list[Path],
    predictions_paths: list[Path],
    dataset_info: dict[str, dict[str, Any]],
    html_path: Path,
    summary_path: Path,
    mlflow_ui: str = MLFLOW_UI,
) -> None:
    """Write summary.csv and index.html (run ids linked to mlflow_ui); predictions pair with metrics by position."""
    runs, predictions, diverged = read_runs(metrics_paths, predictions_paths)
    page = render_report(runs, predictions, dataset_info, mlflow_ui, diverged)
    write_summary(runs, summary_path)
    write_page(page, Path(html_path))


def write_summary(runs: list[dict[str, Any]], summary_path: Path) -> None:
    """Write the long-form summary table of runs, creating its folder."""
    summary_path = Path(summary_path)
    summary_path.parent.mkdir(parents=True, exist_ok=True)
    summary_frame(runs).to_csv(summary_path, index=False)
