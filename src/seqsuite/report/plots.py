"""Figures as PNG bytes: learning curves per dataset and a confusion-matrix heatmap.

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

from seqsuite.report.summary import ordered_models

DPI = 100
COLOURS = ("#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f")


def learning_curves_png(runs: list[dict[str, Any]], dataset: str) -> bytes:
    """Plot validation accuracy and train/val loss per epoch, one colour per model, one line per seed."""
    chosen = [run for run in runs if str(run["dataset"]) == dataset]
    if not chosen:
        raise ValueError(f"no runs for dataset {dataset!r} to plot learning curves of")
    figure = Figure(figsize=(10, 3.8), dpi=DPI, layout="constrained")
    accuracy_axes, loss_axes = figure.subplots(1, 2)
    models = ordered_models({str(run["model"]) for run in chosen})
    for index, model in enumerate(models):
        colour = COLOURS[index % len(COLOURS)]
        model_runs = sorted((r for r in chosen if str(r["model"]) == model), key=lambda r: int(r["seed"]))
        for number, run in enumerate(model_runs):
            history = history_frame(run["history"])
            style = {"color": colour, "alpha": 0.8}
            label = model if number == 0 else None
            accuracy_axes.plot(history["epoch"], history["val_accuracy"], label=label, **style)
            loss_axes.plot(history["epoch"], history["train_loss"], label=label, **style)
            loss_axes.plot(history["epoch"], history["val_loss"], linestyle="--", **style)
    _label(accuracy_axes, f"{plain(dataset)}: validation accuracy", "accuracy")
    _label(loss_axes, f"{plain(dataset)}: loss (solid train, dashed validation)", "loss")
    accuracy_axes.legend(title="model (one line per seed)", fontsize="small")
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


def _label(axes: Axes, title: str, ylabel: str) -> None:
    """Set an axes' title, labels and grid."""
    axes.set_title(title)
    axes.set_xlabel("epoch")
    axes.set_ylabel(ylabel)
    axes.xaxis.set_major_locator(MaxNLocator(integer=True))
    axes.grid(alpha=0.3)
