"""Tables and findings in words from run metrics and comparisons: plain functions on dicts and DataFrames."""

from __future__ import annotations

import math
from typing import Any

import pandas as pd

from seqsuite.models import ordered_models
from seqsuite.report.stats import POWER, Comparison, accuracy_interval

REPORTED_SPLITS = ("val", "test")
METRICS = ("accuracy", "macro_f1", "loss")
COSTS = ("train_seconds", "n_params")  # reported once per run, under split "test"
COLUMNS = ["dataset", "model", "seed", "split", "metric", "value"]
REQUIRED_KEYS = ("dataset", "model", "seed", "labels", "metrics", "history", *COSTS)
DASH = "–"


def missing_keys(run: dict[str, Any]) -> list[str]:
    """Return the required keys (dotted for nested ones) that a metrics dict lacks."""
    missing = [key for key in REQUIRED_KEYS if key not in run]
    metrics = run.get("metrics")
    if isinstance(metrics, dict):
        for split in REPORTED_SPLITS:
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
        for split in REPORTED_SPLITS:
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


def model_table(summary: pd.DataFrame, dataset: str, n_test: int | None = None) -> pd.DataFrame:
    """Return per model: seeds, test accuracy (mean, sd, and with n_test, the number of test examples, its 95%
    interval within [0, 1]: stats.accuracy_interval), macro-F1, mean costs, accuracy per second."""
    test = _dataset_rows(summary, dataset).query("split == 'test'")
    wide = test.pivot_table(index=["model", "seed"], columns="metric", values="value", aggfunc="first")
    grouped = wide.groupby(level="model")
    intervals = {model: accuracy_interval(values, n_test) if n_test else (math.nan, math.nan)
                 for model, values in grouped["accuracy"]}
    table = pd.DataFrame(
        {
            "n_seeds": grouped.size(),
            "accuracy_mean": grouped["accuracy"].mean(),
            "accuracy_sd": grouped["accuracy"].std(ddof=1),
            "accuracy_ci_low": {model: low for model, (low, _) in intervals.items()},
            "accuracy_ci_high": {model: high for model, (_, high) in intervals.items()},
            "macro_f1_mean": grouped["macro_f1"].mean(),
            "macro_f1_sd": grouped["macro_f1"].std(ddof=1),
            "n_params": grouped["n_params"].mean(),
            "train_seconds": grouped["train_seconds"].mean(),
        }
    )
    seconds = table["train_seconds"].where(table["train_seconds"] > 0)
    table["accuracy_per_second"] = table["accuracy_mean"] / seconds
    table = table.reindex(ordered_models(table.index))
    table.index.name = "model"
    return table.reset_index()


def best_model(summary: pd.DataFrame, dataset: str) -> str:
    """Return the model with the highest mean test accuracy (ties go to the earlier model in order)."""
    table = model_table(summary, dataset)
    return str(table.loc[table["accuracy_mean"].idxmax(), "model"])


def seed_accuracy(summary: pd.DataFrame, dataset: str) -> dict[str, dict[int, float]]:
    """Return each model's test accuracy per seed on a dataset, models in report order."""
    rows = _dataset_rows(summary, dataset).query("split == 'test' and metric == 'accuracy'")
    by_model = {str(model): dict(zip(group["seed"].astype(int), group["value"], strict=True))
                for model, group in rows.groupby("model")}
    return {model: by_model[model] for model in ordered_models(by_model)}


def finding(summary: pd.DataFrame, dataset: str, comparisons: list[Comparison], unit: str = "seed") -> str:
    """Return the dataset's finding: the best model and, for every pair, whether the data separate them. unit names
    what the summary's "seed" column counts (seeds, or the held-out folds of a group)."""
    table = model_table(summary, dataset).set_index("model")
    best = best_model(summary, dataset)
    row = table.loc[best]
    seeds = int(row["n_seeds"])
    spread = mean_sd(row["accuracy_mean"], row["accuracy_sd"]) if seeds > 1 else percent(row["accuracy_mean"])
    head = f"{best} has the highest mean test accuracy ({spread} over {seeds} {unit}{'s' if seeds != 1 else ''})"
    if len(table) == 1:
        return f"{head}; it is the only model run on {dataset}."
    own = [c for c in comparisons if best in (c.first, c.second)]
    groups = [
        ("it beats ", [c for c in own if c.winner == best], " and "),
        ("the data cannot separate it from ", [c for c in own if c.winner is None], " or "),
        ("it loses to ", [c for c in own if c.winner not in (None, best)], " and "),
    ]
    clauses = [
        lead + join_phrases([f"{_other(c, best)} ({evidence(c, unit)})" for c in chosen], last)
        for lead, chosen, last in groups
        if chosen
    ]
    sentences = [f"{head}; {' but '.join(clauses)}." if clauses else f"{head}."]
    others = [c for c in comparisons if best not in (c.first, c.second)]
    sentences += [f"{_capital(verdict(c))} ({evidence(c, unit)})." for c in others]
    if any(c.test.n == 1 for c in comparisons):
        sentences.append("Verdicts on one seed rest on McNemar's exact test of that seed's test predictions.")
    return " ".join(sentences)


def verdict(comparison: Comparison) -> str:
    """Return the verdict on a pair in words: who beats whom, or that the data cannot separate them."""
    c = comparison
    if c.test.n == 0:
        return f"no seed ran both {c.first} and {c.second}, so they cannot be compared"
    if winner := c.winner:
        return f"{winner} beats {_other(c, winner)}"
    return f"the data cannot separate {c.first} and {c.second}"


def evidence(comparison: Comparison, unit: str = "seed") -> str:
    """Return the numbers behind a verdict: mean difference, its interval or basis, and the Holm-adjusted p."""
    c, test = comparison, comparison.test
    holm = f"Holm-adjusted p {p_text(c.p_holm)}"
    if test.n == 0:
        return "no shared seeds"
    if test.n == 1:
        seed = next(iter(c.mcnemar))
        return f"{signed_points(test.mean)} points on {unit} {seed} only, McNemar p {p_text(c.p_raw)}, {holm}"
    if test.zero_variance:
        zero = f"zero variance, so p {p_text(test.p)}"
        return f"{signed_points(test.mean)} points on each of the {test.n} {unit}s; {zero}, {holm}"
    numbers = f"{signed_points(test.mean)} points, 95% CI {interval(test.low, test.high)}, {holm}"
    if c.winner is not None or math.isnan(c.detectable):
        return numbers
    if c.detectable >= 1:
        return f"{numbers}; {test.n} {unit}s would not detect even 100 points with {POWER:.0%} power"
    return f"{numbers}; {test.n} {unit}s detect {points(c.detectable)} points or more with {POWER:.0%} power"


def length_reading(frame: pd.DataFrame) -> str:
    """Return one sentence on accuracy by input length from accuracy_by_length's frame (rnn vs lstm if both ran)."""
    if frame.empty:
        return "There are no test predictions to break down by input length."
    accuracy = frame.set_index(["model", "bucket"])["accuracy"]
    labels = frame.drop_duplicates("bucket").set_index("bucket")["lengths"]
    short, long = int(labels.index.min()), int(labels.index.max())
    if short == long:
        return f"All test inputs fall in one length bucket ({labels[long]}), so accuracy cannot be read by length."
    models = ordered_models(frame["model"].unique())
    if len(models) == 1:
        return (f"{models[0]} scores {percent(accuracy[models[0], short])} on the shortest inputs ({labels[short]}) "
                f"and {percent(accuracy[models[0], long])} on the longest ({labels[long]}).")
    if {"rnn", "lstm"} <= set(models):
        ahead, behind = "lstm", "rnn"
    else:
        longest = accuracy.xs(long, level="bucket").reindex(models)
        ahead, behind = str(longest.idxmax()), str(longest.idxmin())
    parts = [
        f"{where} ({labels[bucket]}) {behind} is {_gap(accuracy[ahead, bucket] - accuracy[behind, bucket], ahead)} "
        f"({percent(accuracy[behind, bucket])} vs {percent(accuracy[ahead, bucket])})"
        for where, bucket in (("On the longest inputs", long), ("on the shortest", short))
    ]
    return f"{parts[0]}; {parts[1]}."


def best_run(runs: list[dict[str, Any]], dataset: str, model: str) -> dict[str, Any]:
    """Return the run of this dataset and model with the highest validation accuracy (lowest seed on ties)."""
    matching = [r for r in runs if str(r["dataset"]) == dataset and str(r["model"]) == model]
    if not matching:
        raise ValueError(f"no runs for dataset {dataset!r} and model {model!r}")
    return max(matching, key=lambda r: (_nan_lowest(_number(r["metrics"]["val"]["accuracy"])), -int(r["seed"])))


def percent(fraction: float) -> str:
    """Format a fraction as a percentage with one decimal, or a dash when missing."""
    return DASH if _missing(fraction) else f"{100 * fraction:.1f}%"


def points(fraction: float) -> str:
    """Format a fraction as percentage points with one decimal, or a dash when missing (sd with n=1)."""
    return DASH if _missing(fraction) else f"{100 * fraction:.1f}"


def mean_sd(mean: float, sd: float) -> str:
    """Format a mean and sd of fractions as "98.1% ± 0.4" (sd shown as a dash when missing)."""
    return f"{percent(mean)} ± {points(sd)}"


def signed_points(fraction: float) -> str:
    """Format a difference of fractions as signed percentage points, like "+2.4"."""
    return DASH if _missing(fraction) else f"{100 * fraction:+.1f}"


def interval(low: float, high: float) -> str:
    """Format an interval of fractions in percentage points, like "[0.3, 4.5]", or a dash when undefined."""
    return DASH if _missing(low) or _missing(high) else f"[{100 * low:.1f}, {100 * high:.1f}]"


def format_p(p: float) -> str:
    """Format a p-value with two significant digits, "< 0.001" when smaller, or a dash when undefined."""
    if _missing(p):
        return DASH
    return "< 0.001" if 0 < p < 0.001 else f"{p:.2g}"


def p_text(p: float) -> str:
    """Format a p-value for a sentence: "= 0.03", "< 0.001" or "undefined"."""
    text = format_p(p)
    return "undefined" if text == DASH else text if text.startswith("<") else f"= {text}"


def _dataset_rows(summary: pd.DataFrame, dataset: str) -> pd.DataFrame:
    """Return the summary rows of one dataset, or raise naming the datasets there are."""
    rows = summary[summary["dataset"] == dataset]
    if rows.empty:
        known = sorted(summary["dataset"].unique())
        raise ValueError(f"dataset {dataset!r} is not in the summary; it has {known}")
    return rows


def _gap(difference: float, other: str) -> str:
    """Describe a lead of other over a model in points: "2.4 points behind lstm", "ahead of" or "level with"."""
    amount = points(abs(difference))
    if amount == "0.0":
        return f"level with {other}"
    return f"{amount} points {'behind' if difference > 0 else 'ahead of'} {other}"


def _other(comparison: Comparison, model: str) -> str:
    """Return the model of a pair that is not the given one."""
    return comparison.second if comparison.first == model else comparison.first


def _capital(text: str) -> str:
    """Capitalise the first letter of a sentence that starts with words, leaving model names as written."""
    return text[0].upper() + text[1:] if text.startswith(("the ", "no ")) else text


def join_phrases(phrases: list[str], last: str = " and ") -> str:
    """Join phrases as "a", "a and b" or "a, b and c" (or with another last joiner, like " or ")."""
    return phrases[0] if len(phrases) == 1 else f"{', '.join(phrases[:-1])}{last}{phrases[-1]}"


def _number(value: Any) -> float:
    """Return a value as float, with None as NaN."""
    return math.nan if value is None else float(value)


def _nan_lowest(value: float) -> float:
    """Return a number to rank by, NaN below every other."""
    return -math.inf if math.isnan(value) else value


def _missing(value: float) -> bool:
    """Return whether a number is None or NaN."""
    return value is None or bool(pd.isna(value))
