"""The report's "Long-range dependencies" section, written from the lab's summary and decay rates."""

from __future__ import annotations

from html import escape
from typing import Any

import pandas as pd

from seqsuite.longdep import ABLATIONS, LSTM_MODELS
from seqsuite.longdep.lab import TASK_SPECS
from seqsuite.longdep.summary import (
    MODEL_TITLES,
    SWEEP_MODELS,
    TASK_TITLES,
    format_factor,
    gradient_sentence,
    largest_solved,
    solved_table,
    solving_sentence,
)
from seqsuite.report.html import LAB_SECTION_ID, img_tag


def lab_section(summary: pd.DataFrame, decay: pd.DataFrame, gradient_png: bytes, gate_png: bytes,
                settings: dict[str, Any]) -> str:
    """The whole section: findings, how the runs were made, the solved tables, decay rates and both figures."""
    table = solved_table(summary)
    sentences = [solving_sentence(task, table) for task in TASK_TITLES if task in set(table["task"])]
    sentences.append(gradient_sentence(decay))
    parts = [
        f'<section id="{LAB_SECTION_ID}">\n<h2>Long-range dependencies</h2>',
        f'<p class="finding">{escape(" ".join(s for s in sentences if s))}</p>',
        f"<p>{escape(method(settings, summary))}</p>",
        "<h3>Solved seeds and mean score</h3>",
        sweep_table(table),
        ablation_table(table),
        "<h3>How the error signal fades with distance</h3>",
        decay_table(decay),
        img_tag(gradient_png, "Gradient norm against distance from the output"),
        "<h3>Gates of the trained LSTM</h3>",
        "<p>Gate means over time on test sequences whose deciding steps (dashed) are aligned; the right panel "
        "averages only the readout units, the memory cells the answer is read from.</p>",
        img_tag(gate_png, "LSTM gate activations over time"),
        "</section>",
    ]
    return "\n".join(part for part in parts if part)


def method(settings: dict[str, Any], summary: pd.DataFrame) -> str:
    """How the runs were made, from the config the lab ran with."""
    training, sizes = settings["training"], settings["sizes"]
    budgets = "; ".join(f"{TASK_TITLES[task]}: batch {task_settings['batch_size']}, at most "
                        f"{task_settings['max_updates']:,} updates" for task, task_settings in settings["tasks"].items()
                        if task in set(summary["task"]))
    criteria = "; ".join(f"{TASK_TITLES[task]}: {spec.score_name} at most {spec.solved_at}"
                         for task, spec in TASK_SPECS.items() if task in set(summary["task"]))
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


def sweep_table(table: pd.DataFrame) -> str:
    """Task × T rows, per model the seeds solved and the mean score (± sd), then the largest T solved."""
    models = [m for m in SWEEP_MODELS if m in set(table["model"].astype(str))]
    header = "".join(f'<th colspan="3">{escape(MODEL_TITLES[m])}</th>' for m in models)
    subheader = "<th>solved</th><th>mean score</th><th>updates</th>" * len(models)
    rows = []
    largest = largest_solved(table)
    for task in [t for t in TASK_TITLES if t in set(table["task"])]:
        on_task = table[table["task"] == task]
        for length in sorted(on_task["T"].unique()):
            cells = "".join(_model_cells(on_task, length, model) for model in models)
            rows.append(f'<tr><td class="model">{escape(TASK_TITLES[task])}</td><td>{length}</td>{cells}</tr>')
        reach = "".join(f'<td colspan="3">{_reach(largest.get((task, m)))}</td>' for m in models)
        rows.append(f'<tr><td class="model" colspan="2">largest T solved</td>{reach}</tr>')
    return (f'<table>\n<tr><th class="left" rowspan="2">task</th><th rowspan="2">T</th>{header}</tr>\n'
            f"<tr>{subheader}</tr>\n" + "\n".join(rows) + "\n</table>")


def ablation_table(table: pd.DataFrame) -> str:
    """One row per LSTM variant at the lengths the ablations ran at, beside the default LSTM."""
    models = table["model"].astype(str)
    ablations = table[models.isin(ABLATIONS.values())]
    if ablations.empty:
        return ""
    ablated = pd.MultiIndex.from_frame(table[["task", "T"]]).isin(pd.MultiIndex.from_frame(ablations[["task", "T"]]))
    chosen = table[ablated & models.isin(LSTM_MODELS)]
    rows = [[MODEL_TITLES[str(r.model)], TASK_TITLES[r.task], str(r.T), f"{r.solved}/{r.seeds}",
             _score(r.score, r.score_sd), f"{r.steps:,.0f}", f"{r.train_seconds:.1f} s"]
            for r in chosen.sort_values(["task", "T", "model"]).itertuples()]
    header = ["model", "task", "T", "solved", "mean score", "mean updates", "mean train time"]
    return "<h3>Ablations of the LSTM</h3>\n" + html_table(header, rows, text_columns=2)


def decay_table(decay: pd.DataFrame) -> str:
    """Fitted change of ‖∂L/∂h_t‖ per 10 steps back in time, and first step over last, at each task's longest T."""
    longest = decay.groupby("task")["T"].transform("max")
    chosen = decay[decay["T"] == longest].copy()
    chosen["order"] = chosen["model"].map({m: i for i, m in enumerate(MODEL_TITLES)})
    rows = [[TASK_TITLES[r.task], str(r.T), MODEL_TITLES[r.model], "initial" if r.phase == "init" else "trained",
             format_factor(r.factor_per_10_steps), format_factor(r.far_to_near), str(r.seeds)]
            for r in chosen.sort_values(["task", "order", "phase"]).itertuples()]
    header = ["task", "T", "model", "weights", "factor per 10 steps", "first step / last step", "seeds"]
    return ("<p>A least-squares line through log ‖∂L/∂h_t‖ against the distance T − t gives the factor by which "
            "the error signal changes every 10 steps further back (below 1: it fades); the last column compares "
            "the first step's norm with the last's. For the MLP the norm is ‖∂L/∂x_t‖.</p>\n"
            + html_table(header, rows, text_columns=4))


def html_table(header: list[str], rows: list[list[str]], text_columns: int) -> str:
    """A table of escaped cells; the first text_columns columns are text (left-aligned), the rest numbers."""
    def cells(values: list[str], tag: str, text_class: str) -> str:
        return "".join(f"<{tag}{text_class if i < text_columns else ''}>{escape(v)}</{tag}>"
                       for i, v in enumerate(values))

    body = "\n".join("<tr>" + cells(row, "td", ' class="model"') + "</tr>" for row in rows)
    return "<table>\n<tr>" + cells(header, "th", ' class="left"') + f"</tr>\n{body}\n</table>"


def _model_cells(on_task: pd.DataFrame, length: int, model: str) -> str:
    row = on_task[(on_task["T"] == length) & (on_task["model"].astype(str) == model)]
    if row.empty:
        return "<td>–</td><td>–</td><td>–</td>"
    r = row.iloc[0]
    solved = f"{int(r['solved'])}/{int(r['seeds'])}"
    style = ' class="significant"' if r["solved"] * 2 > r["seeds"] else ""
    return f"<td{style}>{solved}</td><td>{_score(r['score'], r['score_sd'])}</td><td>{r['steps']:,.0f}</td>"


def _score(mean: float, sd: float) -> str:
    return f"{mean:.4f}" if pd.isna(sd) else f"{mean:.4f} ± {sd:.4f}"


def _reach(length: int | None) -> str:
    return "none" if length is None else f"T = {length}"
