"""Figures as PNG bytes: learning curves with bands over seeds, accuracy by input length, a confusion matrix, the
expected best validation accuracy against the number of hyperparameter trials.

Figures are built with matplotlib's object API on the Agg canvas, never through pyplot,
so no global figure state is kept and nothing needs closing.
"""

from __future__ import annotations

import io
from typing import Any

import numpy as np
import pandas as pd
from matplotlib.axes import Axes
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator
from sklearn.metrics import confusion_matrix

from seqsuite.models import ordered_models

DPI = 100
COLOURS = ("#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f")


def learning_curves_png(runs: list[dict[str, Any]], dataset: str) -> bytes:
    """Plot validation accuracy and train/val loss per epoch: per model the mean over seeds and a min–max band."""
    chosen = [run for run in runs if str(run["dataset"]) == dataset]
    if not chosen:
        raise ValueError(f"no runs for dataset {dataset!r} to plot learning curves of")
    figure = Figure(figsize=(10, 3.8), dpi=DPI, layout="constrained")
    accuracy_axes, loss_axes = figure.subplots(1, 2)
    models = ordered_models({str(run["model"]) for run in chosen})
    for index, model in enumerate(models):
        colour = COLOURS[index % len(COLOURS)]
        histories = [history_frame(r["history"]) for r in chosen if str(r["model"]) == model]
        label = f"{model} ({len(histories)} seed{'s' if len(histories) != 1 else ''})"
        _band(accuracy_axes, seed_band(histories, "val_accuracy"), colour, "-", label)
        _band(loss_axes, seed_band(histories, "train_loss"), colour, "-", label)
        _band(loss_axes, seed_band(histories, "val_loss"), colour, "--", None)
    _label(accuracy_axes, f"{plain(dataset)}: validation accuracy", "epoch", "accuracy")
    _label(loss_axes, f"{plain(dataset)}: loss (solid train, dashed validation)", "epoch", "loss")
    for axes in (accuracy_axes, loss_axes):
        axes.xaxis.set_major_locator(MaxNLocator(integer=True))
    accuracy_axes.legend(title="mean over seeds, band min–max", fontsize="small")
    return png_bytes(figure)


def expected_best_png(curves: dict[str, list[tuple[int, float, float]]], title: str) -> bytes:
    """Plot each model's expected best validation accuracy against the number of trials, with a ±1 sd band."""
    figure = Figure(figsize=(6, 3.8), dpi=DPI, layout="constrained")
    axes = figure.subplots()
    for index, model in enumerate(ordered_models(curves)):
        colour = COLOURS[index % len(COLOURS)]
        n, mean, sd = (np.array(column, dtype=float) for column in zip(*curves[model], strict=True))
        axes.plot(n, mean, color=colour, marker="o", markersize=3, label=model)
        axes.fill_between(n, mean - sd, mean + sd, color=colour, alpha=0.15, linewidth=0)
    _label(axes, plain(title), "hyperparameter trials", "expected best validation accuracy")
    axes.xaxis.set_major_locator(MaxNLocator(integer=True))
    axes.legend(title="band ±1 sd", fontsize="small")
    return png_bytes(figure)


def seed_band(histories: list[pd.DataFrame], column: str) -> pd.DataFrame:
    """Return per epoch the mean, min, max and count of a history column over the seeds that reached it."""
    stacked = pd.concat([h[["epoch", column]] for h in histories], ignore_index=True).dropna()
    band = stacked.groupby("epoch")[column].agg(["mean", "min", "max", "count"])
    return band.astype({"count": "int64"})


def accuracy_by_length_png(frame: pd.DataFrame, title: str) -> bytes:
    """Plot test accuracy per length bucket, one line per model, with min–max over seeds as error bars."""
    if frame.empty:
        raise ValueError("no accuracy-by-length rows to plot; pass accuracy_by_length's frame for a dataset")
    figure = Figure(figsize=(7, 3.8), dpi=DPI, layout="constrained")
    axes = figure.subplots()
    for index, model in enumerate(ordered_models(frame["model"].unique())):
        rows = frame[frame["model"] == model].sort_values("bucket")
        spread = [(rows["accuracy"] - rows["accuracy_min"]).clip(lower=0),
                  (rows["accuracy_max"] - rows["accuracy"]).clip(lower=0)]
        axes.errorbar(rows["bucket"], rows["accuracy"], yerr=spread, label=model, marker="o", capsize=3,
                      color=COLOURS[index % len(COLOURS)])
    _label(axes, plain(title), "input length (equal-count buckets of test examples)", "test accuracy")
    buckets = frame.drop_duplicates("bucket").sort_values("bucket")
    axes.set_xticks(buckets["bucket"], [f"{plain(b.lengths)}\n(n={b.n_examples})" for b in buckets.itertuples()])
    axes.legend(title="pooled over seeds; bars min–max", fontsize="small")
    return png_bytes(figure)


def confusion_matrix_png(predictions: pd.DataFrame, labels: list[str], title: str) -> bytes:
    """Plot the test-set confusion matrix as a heatmap with class labels on the axes and counts annotated."""
    counts = confusion_counts(predictions, len(labels))
    size = max(4.0, 0.45 * len(labels) + 2.5)
    figure = Figure(figsize=(size + 1, size), dpi=DPI, layout="constrained")
    axes = figure.subplots()
    image = axes.imshow(counts, cmap="Blues", vmin=0)
    figure.colorbar(image, ax=axes, shrink=0.8, label="count")
    ticks = np.arange(len(labels))
    names = [plain(label) for label in labels]
    crowded = len(labels) > 6
    axes.set_xticks(ticks, names, rotation=45 if crowded else 0, ha="right" if crowded else "center")
    axes.set_yticks(ticks, names)
    axes.set_xlabel("predicted")
    axes.set_ylabel("true")
    axes.set_title(plain(title))
    threshold = counts.max() / 2 if counts.size else 0
    fontsize = max(5, min(10, 120 // max(1, len(labels))))
    for row, col in np.ndindex(counts.shape):
        colour = "white" if counts[row, col] > threshold else "black"
        axes.text(col, row, str(counts[row, col]), ha="center", va="center", color=colour, fontsize=fontsize)
    return png_bytes(figure)


def confusion_counts(predictions: pd.DataFrame, n_classes: int) -> np.ndarray:
    """Return the n_classes by n_classes count matrix (rows true, columns predicted)."""
    for column in ("target", "prediction"):
        if column not in predictions.columns:
            raise ValueError(f"predictions lack column {column!r}; they have {list(predictions.columns)}")
        ids = predictions[column]
        if len(ids) and (ids.min() < 0 or ids.max() >= n_classes):
            raise ValueError(f"predictions column {column!r} has ids outside 0..{n_classes - 1} (the labels)")
    return confusion_matrix(predictions["target"], predictions["prediction"], labels=list(range(n_classes)))


def history_frame(history: list[dict[str, Any]]) -> pd.DataFrame:
    """Return a run's per-epoch history as a frame, with missing columns as NaN."""
    columns = ["epoch", "train_loss", "train_accuracy", "val_loss", "val_accuracy"]
    frame = pd.DataFrame(history).reindex(columns=columns)
    return frame.astype("float64")


def png_bytes(figure: Figure) -> bytes:
    """Render a figure to PNG bytes on the Agg canvas."""
    buffer = io.BytesIO()
    FigureCanvasAgg(figure).print_png(buffer)
    return buffer.getvalue()


def plain(text: str) -> str:
    """Escape dollar signs so matplotlib shows text as written rather than as mathtext."""
    return str(text).replace("$", r"\$")


def _band(axes: Axes, band: pd.DataFrame, colour: str, linestyle: str, label: str | None) -> None:
    """Draw a mean line with a shaded min–max band."""
    axes.plot(band.index, band["mean"], color=colour, linestyle=linestyle, label=label)
    axes.fill_between(band.index, band["min"], band["max"], color=colour, alpha=0.15, linewidth=0)


def _label(axes: Axes, title: str, xlabel: str, ylabel: str) -> None:
    """Set an axes' title, labels and grid."""
    axes.set_title(title)
    axes.set_xlabel(xlabel)
    axes.set_ylabel(ylabel)
    axes.grid(alpha=0.3)
