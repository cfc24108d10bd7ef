"""The lab's tables and findings: who solves which gap, how fast the error signal fades with distance."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from seqsuite.longdep.tasks import TASKS
from seqsuite.models import CHOICES, MODELS, ordered_models
from seqsuite.report.summary import join_phrases

SUMMARY_COLUMNS = ["task", "T", "model", "seed", "solved", "score", "steps", "train_seconds"]
GRADIENT_COLUMNS = ["task", "T", "model", "seed", "phase", "distance", "grad_norm"]
DECAY_COLUMNS = ["task", "T", "model", "phase", "seeds", "factor_per_10_steps", "far_to_near"]
PHASES = ("init", "trained")
SWEEP_MODELS = CHOICES  # the ablations are compared with the LSTM apart


def summary_row(run: dict[str, Any]) -> dict[str, Any]:
    """One run's row of summary.csv from its metrics.json."""
    return {"task": run["task"], "T": int(run["T"]), "model": run["model"], "seed": int(run["seed"]),
            "solved": int(run["solved"]), "score": float(run["test"]["score"]), "steps": int(run["steps"]),
            "train_seconds": float(run["train_seconds"])}


def gradient_rows(run: dict[str, Any], norms: dict[str, np.ndarray]) -> pd.DataFrame:
    """gradient_norms.csv rows of one run: per phase, the norm at each distance T - t from the output."""
    frames = [pd.DataFrame({"task": run["task"], "T": int(run["T"]), "model": run["model"], "seed": int(run["seed"]),
                            "phase": phase, "distance": np.arange(len(values)), "grad_norm": values})
              for phase, values in norms.items()]
    return pd.concat(frames, ignore_index=True)[GRADIENT_COLUMNS]


def solved_table(summary: pd.DataFrame) -> pd.DataFrame:
    """Per task, T and model: seeds solved, seeds run, mean score and mean updates and seconds."""
    grouped = summary.groupby(["task", "T", "model"], sort=False)
    table = grouped.agg(solved=("solved", "sum"), seeds=("seed", "nunique"), score=("score", "mean"),
                        score_sd=("score", "std"), steps=("steps", "mean"),
                        train_seconds=("train_seconds", "mean")).reset_index()
    table["model"] = pd.Categorical(table["model"], ordered_models(table["model"]))
    return table.sort_values(["task", "model", "T"]).reset_index(drop=True)


def largest_solved(table: pd.DataFrame) -> dict[tuple[str, str], int | None]:
    """The largest T at which a model solved the task in a majority of its seeds (None: at no T)."""
    best = {}
    for (task, model), rows in table.groupby(["task", "model"], observed=True):
        solved = rows[rows["solved"] * 2 > rows["seeds"]]["T"]
        best[(task, str(model))] = int(solved.max()) if len(solved) else None
    return best


def decay_rates(gradients: pd.DataFrame) -> pd.DataFrame:
    """Per task, T, model and phase, how the gradient norm changes with distance from the output.

    The norms are averaged over seeds geometrically at each distance; factor_per_10_steps is 10^(10 b) for the
    least-squares slope b of log10(norm) against distance (below 1: the signal fades going back in time),
    far_to_near the norm at the first step over the norm at the last.
    """
    rows = []
    for (task, length, model, phase), frame in gradients.groupby(["task", "T", "model", "phase"], sort=False):
        profile = log_profile(frame)
        slope = np.polyfit(profile.index.to_numpy(float), profile.to_numpy(), 1)[0] if len(profile) > 1 else np.nan
        far, near = profile.get(int(length) - 1, np.nan), profile.get(0, np.nan)
        rows.append({"task": task, "T": int(length), "model": model, "phase": phase,
                     "seeds": frame["seed"].nunique(), "factor_per_10_steps": 10 ** (10 * slope),
                     "far_to_near": 10 ** (far - near)})
    return pd.DataFrame(rows, columns=DECAY_COLUMNS)


def log_profile(frame: pd.DataFrame) -> pd.Series:
    """log10 of the gradient norm by distance, averaged over seeds (a geometric mean of the norms).

    A norm that underflowed to 0 counts as the smallest positive float64, so that it pulls the average
    and the fit down instead of dropping out of them.
    """
    logs = np.log10(frame["grad_norm"].clip(lower=np.finfo(np.float64).tiny))
    return logs.groupby(frame["distance"]).mean()


def solving_sentence(task: str, table: pd.DataFrame) -> str:
    """How far each model of the sweep bridges the gap on a task, and how the best did at the longest gap."""
    rows = table[(table["task"] == task) & table["model"].astype(str).isin(SWEEP_MODELS)]
    if rows.empty:
        return ""
    best = largest_solved(rows)
    lengths = sorted(int(t) for t in rows["T"].unique())
    reach = [f"the {MODELS[m].title} {'up to T = ' + str(best[(task, m)]) if best[(task, m)] else 'at no T'}"
             for m in ordered_models(rows["model"])]
    top = rows[rows["T"] == lengths[-1]].sort_values(["solved", "score"], ascending=[False, True]).iloc[0]
    return (f"On the {TASKS[task].title} (T = {', '.join(map(str, lengths))}), most seeds solved it for "
            f"{join_phrases(reach)}; at T = {lengths[-1]} the best was the {MODELS[str(top['model'])].title}, solving "
            f"{int(top['solved'])}/{int(top['seeds'])} seeds (mean {TASKS[task].score_name} {top['score']:.4f}).")


def gradient_sentence(decay: pd.DataFrame) -> str:
    """How fast ‖∂L/∂h_t‖ fades with distance for the RNN and the LSTM at the longest gap, from the fit."""
    recurrent = decay[decay["model"].isin(["rnn", "lstm"])]
    if recurrent.empty:
        return ""
    task = "adding" if "adding" in set(recurrent["task"]) else str(recurrent["task"].iloc[0])
    on_task = recurrent[recurrent["task"] == task]
    chosen = on_task[on_task["T"] == on_task["T"].max()]
    factors = {(str(r["model"]), str(r["phase"])): r for _, r in chosen.iterrows()}
    if not all((model, phase) in factors for model in ("rnn", "lstm") for phase in PHASES):
        return ""
    rnn, lstm = factors[("rnn", "init")], factors[("lstm", "init")]
    return (f"On the {TASKS[task].title} at T = {int(chosen['T'].iloc[0])}, the error signal ‖∂L/∂h_t‖ changes "
            f"per 10 steps back from the output by a factor of {format_factor(rnn['factor_per_10_steps'])} in the "
            f"untrained tanh RNN (the first step gets {format_factor(rnn['far_to_near'])} of the last step's) and "
            f"{format_factor(lstm['factor_per_10_steps'])} in the untrained LSTM "
            f"({format_factor(lstm['far_to_near'])}); after training, "
            f"{format_factor(factors[('rnn', 'trained')]['factor_per_10_steps'])} against "
            f"{format_factor(factors[('lstm', 'trained')]['factor_per_10_steps'])} "
            f"({format_factor(factors[('rnn', 'trained')]['far_to_near'])} against "
            f"{format_factor(factors[('lstm', 'trained')]['far_to_near'])}).")


def format_factor(value: float) -> str:
    """A ratio to three significant digits, in scientific notation when very small or large."""
    if not np.isfinite(value):
        return "–"
    return f"{value:.3g}" if 1e-3 <= value < 1e4 else f"{value:.1e}"
