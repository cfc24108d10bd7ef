"""Tables and findings from run metrics: plain functions on dicts and DataFrames."""

from __future__ import annotations

import math
from typing import Any

import pandas as pd

SPLITS = ("val", "test")
METRICS = ("accuracy", "macro_f1", "loss")
COSTS = ("train_seconds", "n_params")  # reported once per run, under split "test"
COLUMNS = ["dataset", "model", "seed", "split", "metric", "value"]
MODEL_ORDER = ("mlp", "rnn", "lstm")
REQUIRED_KEYS = ("dataset", "model", "seed", "labels", "metrics", "history", *COSTS)
DASH = "–"


def missing_keys(run: dict[str, Any]) -> list[str]:
    """Return the required keys (dotted for nested ones) that a metrics dict lacks."""
    missing = [key for key in REQUIRED_KEYS if key not in run]
    metrics = run.get("metrics")
    if isinstance(metrics, dict):
        for split in SPLITS:
            values = metrics.get(split)
            if not isinstance(values, dict):
                missing.append(f"metrics.{split}")
                continue
            missing += [f"metrics.{split}.{name}" for name in METRICS if name not in values]
    return missing


def summary_frame(runs: list[dict[str, Any]]) -> pd.DataFrame:
    """Return one long-form row per (run, split, metric), plus cost rows under split "test"."""
    rows = []
    for run in runs:
        if gaps := missing_keys(run):
            raise ValueError(f"run {run_key(run)} lacks required keys {gaps}")
        key = {"dataset": str(run["dataset"]), "model": str(run["model"]), "seed": int(run["seed"])}
        for split in SPLITS:
            for metric in METRICS:
                value = run["metrics"][split][metric]
                rows.append({**key, "split": split, "metric": metric, "value": _number(value)})
        for cost in COSTS:
            rows.append({**key, "split": "test", "metric": cost, "value": _number(run[cost])})
    frame = pd.DataFrame(rows, columns=COLUMNS)
    return frame.astype({"seed": "int64", "value": "float64"})


def run_key(run: dict[str, Any]) -> str:
    """Return a readable "dataset/model/seed" name for a run, tolerating missing keys."""
    return "/".join(str(run.get(key, "?")) for key in ("dataset", "model", "seed"))


def ordered_models(models: list[str] | set[str] | pd.Index) -> list[str]:
    """Return model names as mlp, rnn, lstm first, then the others alphabetically."""
    unique = set(models)
    known = [name for name in MODEL_ORDER if name in unique]
    return known + sorted(unique - set(MODEL_ORDER))


def model_table(summary: pd.DataFrame, dataset: str) -> pd.DataFrame:
    """Return per-model seeds, mean and sample sd of test accuracy and macro-F1, and mean costs."""
    test = _dataset_rows(summary, dataset).query("split == 'test'")
    wide = test.pivot_table(index=["model", "seed"], columns="metric", values="value", aggfunc="first")
    grouped = wide.groupby(level="model")
    table = pd.DataFrame(
        {
            "n_seeds": grouped.size(),
            "accuracy_mean": grouped["accuracy"].mean(),
            "accuracy_sd": grouped["accuracy"].std(ddof=1),
            "macro_f1_mean": grouped["macro_f1"].mean(),
            "macro_f1_sd": grouped["macro_f1"].std(ddof=1),
            "n_params": grouped["n_params"].mean(),
            "train_seconds": grouped["train_seconds"].mean(),
        }
    )
    table = table.reindex(ordered_models(table.index))
    table.index.name = "model"
    return table.reset_index()


def best_model(summary: pd.DataFrame, dataset: str) -> str:
    """Return the model with the highest mean test accuracy (ties go to the earlier model in order)."""
    table = model_table(summary, dataset)
    return str(table.loc[table["accuracy_mean"].idxmax(), "model"])


def finding(summary: pd.DataFrame, dataset: str) -> str:
    """Return one sentence naming the best model and how far it leads each other model."""
    table = model_table(summary, dataset).set_index("model")
    best = best_model(summary, dataset)
    row = table.loc[best]
    seeds = int(row["n_seeds"])
    spread = percent(row["accuracy_mean"])
    if seeds > 1:
        spread += f" ± {points(row['accuracy_sd'])}"
    head = f"{best} has the highest mean test accuracy ({spread}, {seeds} seed{'s' if seeds != 1 else ''})"
    others = table.drop(index=best)
    if others.empty:
        return f"{head}; it is the only model run on {dataset}."
    gaps = (row["accuracy_mean"] - others["accuracy_mean"]).sort_values(kind="stable")
    return f"{head}, {_join(_gap_phrases(gaps))}."


def best_run(runs: list[dict[str, Any]], dataset: str, model: str) -> dict[str, Any]:
    """Return the run of this dataset and model with the highest validation accuracy (lowest seed on ties)."""
    matching = [r for r in runs if str(r["dataset"]) == dataset and str(r["model"]) == model]
    if not matching:
        raise ValueError(f"no runs for dataset {dataset!r} and model {model!r}")
    return max(matching, key=lambda r: (_number(r["metrics"]["val"]["accuracy"]), -int(r["seed"])))


def percent(fraction: float) -> str:
    """Format a fraction as a percentage with one decimal, or a dash when missing."""
    return DASH if _missing(fraction) else f"{100 * fraction:.1f}%"


def points(fraction: float) -> str:
    """Format a fraction as percentage points with one decimal, or a dash when missing (sd with n=1)."""
    return DASH if _missing(fraction) else f"{100 * fraction:.1f}"


def mean_sd(mean: float, sd: float) -> str:
    """Format a mean and sd of fractions as "98.1% ± 0.4" (sd shown as a dash when missing)."""
    return f"{percent(mean)} ± {points(sd)}"


def _dataset_rows(summary: pd.DataFrame, dataset: str) -> pd.DataFrame:
    """Return the summary rows of one dataset, or raise naming the datasets there are."""
    rows = summary[summary["dataset"] == dataset]
    if rows.empty:
        known = sorted(summary["dataset"].unique())
        raise ValueError(f"dataset {dataset!r} is not in the summary; it has {known}")
    return rows


def _gap_phrases(gaps: pd.Series) -> list[str]:
    """Describe how many percentage points the best model leads each other model ("points" said once)."""
    phrases, unit = [], " points"
    for model, gap in gaps.items():
        amount = f"{100 * gap:.1f}"
        if amount == "0.0":
            phrases.append(f"level with {model}")
            continue
        phrases.append(f"{amount}{unit} above {model}")
        unit = ""
    return phrases


def _join(phrases: list[str]) -> str:
    """Join phrases as "a", "a and b" or "a, b and c"."""
    return phrases[0] if len(phrases) == 1 else f"{', '.join(phrases[:-1])} and {phrases[-1]}"


def _number(value: Any) -> float:
    """Return a value as float, with None as NaN."""
    return math.nan if value is None else float(value)


def _missing(value: float) -> bool:
    """Return whether a number is None or NaN."""
    return value is None or bool(pd.isna(value))
