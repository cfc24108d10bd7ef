"""The lab's figures as PNG bytes: training curves, gradient norm by distance, LSTM gates over time."""

from __future__ import annotations

from typing import Any

import pandas as pd
from matplotlib.figure import Figure

from seqsuite.longdep.summary import SWEEP_MODELS, log_profile
from seqsuite.longdep.tasks import ADDING_BASELINE_MSE, TASKS
from seqsuite.models import ABLATIONS, LSTM_MODELS, MODELS, ordered_models
from seqsuite.report.plots import COLOURS, DPI, png_bytes

PHASE_STYLES = {"init": ":", "trained": "-"}
GATE_COLOURS = {"input": "#2ca02c", "forget": "#1f77b4", "output": "#ff7f0e"}


def history_png(history: list[dict[str, Any]], task: str, title: str) -> bytes:
    """Training loss and validation score against updates, with the solved criterion drawn."""
    frame = pd.DataFrame(history)
    spec = TASKS[task]
    figure = Figure(figsize=(9, 3.4), dpi=DPI, layout="constrained")
    loss_axes, score_axes = figure.subplots(1, 2)
    loss_axes.plot(frame["step"], frame["train_loss"], color=COLOURS[0])
    loss_axes.set(title=f"{title}: training loss", xlabel="update", ylabel="loss", yscale="log")
    score_axes.plot(frame["step"], frame["val_score"], color=COLOURS[1], label="validation")
    score_axes.axhline(spec.solved_at, color="#2ca02c", linestyle="--", label=f"solved: ≤ {spec.solved_at}")
    if task == "adding":
        score_axes.axhline(ADDING_BASELINE_MSE, color="#7f7f7f", linestyle=":", label="predict 1.0 (MSE 1/6)")
    score_axes.set(title=f"{title}: validation {spec.score_name.removeprefix('test ')}", xlabel="update",
                   ylabel=spec.score_name.removeprefix("test "), yscale="log")
    score_axes.legend(fontsize="small")
    for axes in (loss_axes, score_axes):
        axes.grid(alpha=0.3)
    return png_bytes(figure)


def gradient_norms_png(gradients: pd.DataFrame) -> bytes:
    """Per task (at its largest T), ‖∂L/∂h_t‖ against distance T - t on a log scale, per model and phase.

    One panel per task for MLP, RNN and LSTM, and one per task with ablations for the LSTM variants. Seeds
    are averaged geometrically; dotted lines are at initialisation, solid after training.
    """
    tasks = [t for t in TASKS if t in set(gradients["task"])]
    if not tasks:
        raise ValueError("no gradient norms to plot")
    panels = [(task, SWEEP_MODELS, "") for task in tasks]
    panels += [(task, LSTM_MODELS, ": LSTM variants") for task in tasks
               if set(gradients[gradients["task"] == task]["model"]) & set(ABLATIONS.values())]
    figure = Figure(figsize=(6.5 * min(len(panels), 2), 4.2 * ((len(panels) + 1) // 2)), dpi=DPI,
                    layout="constrained")
    grid = figure.subplots((len(panels) + 1) // 2, min(len(panels), 2), squeeze=False).flatten()
    for axes, (task, models, caption) in zip(grid, panels, strict=False):
        rows = gradients[gradients["task"] == task]
        length = int(rows["T"].max())
        rows = rows[(rows["T"] == length) & rows["model"].isin(models)]
        for model in ordered_models(rows["model"]):
            colour = COLOURS[list(MODELS).index(model) % len(COLOURS)]
            for phase, style in PHASE_STYLES.items():
                chosen = rows[(rows["model"] == model) & (rows["phase"] == phase)]
                if chosen.empty:
                    continue
                profile = 10 ** log_profile(chosen)
                axes.plot(profile.index, profile.to_numpy(), color=colour, linestyle=style,
                          label=f"{MODELS[model].title}, {'initial' if phase == 'init' else 'trained'}")
        axes.set(title=f"{TASKS[task].title}, T = {length}{caption}", xlabel="distance from the output, T − t",
                 ylabel="‖∂L/∂h_t‖ (MLP: ‖∂L/∂x_t‖)", yscale="log")
        axes.grid(alpha=0.3)
        axes.legend(fontsize="x-small")
    for axes in grid[len(panels):]:
        axes.set_visible(False)
    return png_bytes(figure)


def gates_png(gates: pd.DataFrame, title: str) -> bytes:
    """Input, forget and output gate means over time, over all units and over the readout units.

    gates has columns units ("all" or "readout"), step, input, forget, output and marker (1 at a deciding step).
    """
    figure = Figure(figsize=(11, 3.6), dpi=DPI, layout="constrained")
    panels = {"all": "all units", "readout": "readout units (the memory cells the answer is read from)"}
    for axes, (units, caption) in zip(figure.subplots(1, 2, sharey=True), panels.items(), strict=True):
        rows = gates[gates["units"] == units]
        for name, colour in GATE_COLOURS.items():
            axes.plot(rows["step"], rows[name], color=colour, label=f"{name} gate")
        for index, step in enumerate(rows.loc[rows["marker"] > 0, "step"]):
            axes.axvline(step, color="#d62728", linestyle="--", linewidth=1,
                         label="deciding step" if index == 0 else None)
        axes.set(title=caption, xlabel="step t", ylim=(0, 1.02))
        axes.grid(alpha=0.3)
    figure.axes[0].set_ylabel("mean gate activation")
    figure.axes[0].legend(fontsize="small", loc="lower right")
    figure.suptitle(title)
    return png_bytes(figure)


def message_png(text: str) -> bytes:
    """A figure that says why there is nothing to plot."""
    figure = Figure(figsize=(6, 1.2), dpi=DPI)
    figure.text(0.5, 0.5, text, ha="center", va="center")
    return png_bytes(figure)
