"""The lab's page of the report, longdep.html: its findings, tables and figures as plain data, from the lab's
summary and decay rates, printed by the report's template longdep.html."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from seqsuite.longdep.summary import (
    SWEEP_MODELS,
    format_factor,
    gradient_sentence,
    largest_solved,
    solved_table,
    solving_sentence,
)
from seqsuite.longdep.tasks import TASKS
from seqsuite.models import ABLATIONS, LSTM_MODELS, MODELS
from seqsuite.report.html import Cell, Image, Row, Table, cell, image, render, text_table, write_page


@dataclass(frozen=True)
class LabPage:
    """The lab's page: findings, how the runs were made, the solved tables, decay rates and both figures."""

    finding: str
    method: str
    sweep: Table
    ablations: Table | None  # None: no ablation ran
    decay: Table
    gradient: Image
    gates: Image


def write_lab_report(summary: pd.DataFrame, decay: pd.DataFrame, gradient_png: bytes, gate_png: bytes,
                     settings: dict[str, Any], html_path: Path) -> None:
    """Write the long-dependency lab's page, longdep.html (it links back to index.html beside it)."""
    write_page(render_lab_page(summary, decay, gradient_png, gate_png, settings), Path(html_path))


def render_lab_page(summary: pd.DataFrame, decay: pd.DataFrame, gradient_png: bytes, gate_png: bytes,
                    settings: dict[str, Any]) -> str:
    """Return the long-dependency lab's page as one self-contained HTML page."""
    return render("longdep.html", lab_page(summary, decay, gradient_png, gate_png, settings))


def lab_page(summary: pd.DataFrame, decay: pd.DataFrame, gradient_png: bytes, gate_png: bytes,
             settings: dict[str, Any]) -> LabPage:
    """Return the lab's page as data: every sentence, table and figure, ready to print."""
    table = solved_table(summary)
    sentences = [solving_sentence(task, table) for task in TASKS if task in set(table["task"])]
    sentences.append(gradient_sentence(decay))
    return LabPage(
        finding=" ".join(s for s in sentences if s),
        method=method(settings, summary),
        sweep=sweep_table(table),
        ablations=ablation_table(table),
        decay=decay_table(decay),
        gradient=image(gradient_png, "Gradient norm against distance from the output"),
        gates=image(gate_png, "LSTM gate activations over time"),
    )


def method(settings: dict[str, Any], summary: pd.DataFrame) -> str:
    """How the runs were made, from the config the lab ran with."""
    training, sizes = settings["training"], settings["sizes"]
    budgets = "; ".join(f"{TASKS[task].title}: batch {task_settings['batch_size']}, at most "
                        f"{task_settings['max_updates']:,} updates" for task, task_settings in settings["tasks"].items()
                        if task in set(summary["task"]))
    criteria = "; ".join(f"{TASKS[task].title}: {spec.score_name} at most {spec.solved_at}"
                         for task, spec in TASKS.items() if task in set(summary["task"]))
    return (
        f"Every model of a task trains with the same optimiser (Adam, learning rate {training['lr']}, gradient "
        f"clipping at norm {training['clip_norm']}) on the same generated sets ({sizes['train']:,} training, "
        f"{sizes['val']:,} validation and {sizes['test']:,} test sequences per task, T and seed); {budgets}. "
        f"Recurrent models have {training['hidden_size']} hidden units and answer from their final state; the "
        f"MLP (hidden layers {training['mlp_hidden_sizes']}) sees the whole sequence flattened; the LSTM's "
        f"forget-gate bias starts at {training['forget_bias']}. A run stops early once its validation score "
        f"meets the criterion, and counts as solved when its test score does ({criteria}). Predicting the "
        "constant 1.0 on the adding problem gives MSE 1/6 ≈ 0.167; guessing the temporal order's class gives "
        "error rate 0.75. \"Largest T solved\" is the largest T at which most seeds solved the task."
    )


def sweep_table(table: pd.DataFrame) -> Table:
    """Task × T rows, per model the seeds solved and the mean score (± sd), then the largest T solved."""
    models = [m for m in SWEEP_MODELS if m in set(table["model"].astype(str))]
    head = (
        Row((cell("task", "left", rowspan=2), cell("T", rowspan=2),
             *(cell(MODELS[m].title, colspan=3) for m in models))),
        Row(tuple(cell(name) for _ in models for name in ("solved", "mean score", "updates"))),
    )
    rows = []
    largest = largest_solved(table)
    for task in [t for t in TASKS if t in set(table["task"])]:
        on_task = table[table["task"] == task]
        for length in sorted(on_task["T"].unique()):
            cells = [c for model in models for c in _model_cells(on_task, length, model)]
            rows.append(Row((cell(TASKS[task].title, "model"), cell(length), *cells)))
        reach = (cell(_reach(largest.get((task, m))), colspan=3) for m in models)
        rows.append(Row((cell("largest T solved", "model", colspan=2), *reach)))
    return Table(head, tuple(rows))


def ablation_table(table: pd.DataFrame) -> Table | None:
    """One row per LSTM variant at the lengths the ablations ran at, beside the default LSTM; None without any."""
    models = table["model"].astype(str)
    ablations = table[models.isin(ABLATIONS.values())]
    if ablations.empty:
        return None
    ablated = pd.MultiIndex.from_frame(table[["task", "T"]]).isin(pd.MultiIndex.from_frame(ablations[["task", "T"]]))
    chosen = table[ablated & models.isin(LSTM_MODELS)]
    rows = [[MODELS[str(r.model)].title, TASKS[r.task].title, str(r.T), f"{r.solved}/{r.seeds}",
             _score(r.score, r.score_sd), f"{r.steps:,.0f}", f"{r.train_seconds:.1f} s"]
            for r in chosen.sort_values(["task", "T", "model"]).itertuples()]
    header = ["model", "task", "T", "solved", "mean score", "mean updates", "mean train time"]
    return text_table(header, rows, text_columns=2)


def decay_table(decay: pd.DataFrame) -> Table:
    """Fitted change of ‖∂L/∂h_t‖ per 10 steps back in time, and first step over last, at each task's longest T."""
    longest = decay.groupby("task")["T"].transform("max")
    chosen = decay[decay["T"] == longest].copy()
    chosen["order"] = chosen["model"].map({m: i for i, m in enumerate(MODELS)})
    rows = [[TASKS[r.task].title, str(r.T), MODELS[r.model].title, "initial" if r.phase == "init" else "trained",
             format_factor(r.factor_per_10_steps), format_factor(r.far_to_near), str(r.seeds)]
            for r in chosen.sort_values(["task", "order", "phase"]).itertuples()]
    header = ["task", "T", "model", "weights", "factor per 10 steps", "first step / last step", "seeds"]
    return text_table(header, rows, text_columns=4)


def _model_cells(on_task: pd.DataFrame, length: int, model: str) -> tuple[Cell, Cell, Cell]:
    """A model's solved, mean-score and updates cells at one T; solved by most seeds is marked significant."""
    row = on_task[(on_task["T"] == length) & (on_task["model"].astype(str) == model)]
    if row.empty:
        return cell("–"), cell("–"), cell("–")
    r = row.iloc[0]
    solved = cell(f"{int(r['solved'])}/{int(r['seeds'])}", "significant" if r["solved"] * 2 > r["seeds"] else "")
    return solved, cell(_score(r["score"], r["score_sd"])), cell(f"{r['steps']:,.0f}")


def _score(mean: float, sd: float) -> str:
    """A mean score, with its sd when there is one."""
    return f"{mean:.4f}" if pd.isna(sd) else f"{mean:.4f} ± {sd:.4f}"


def _reach(length: int | None) -> str:
    """The largest T solved, or "none"."""
    return "none" if length is None else f"T = {length}"
