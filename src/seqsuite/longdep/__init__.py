"""The long-dependency lab: synthetic tasks where only the gap length T changes, and the tools to see why
a gated LSTM carries an error signal across the gap that a tanh RNN loses (issue: long-dependency lab).

This module stays free of torch: the workflow reads its runs and checks when it parses the Snakefile.
"""

from __future__ import annotations

from typing import Any

from seqsuite.models import ABLATIONS


def lab_runs(lab: dict[str, Any]) -> list[tuple[str, int, str, int]]:
    """(task, T, model, seed) of every run of config's longdep: the sweep, then the enabled ablations."""
    runs = [(task, length, model, seed) for task, settings in lab["tasks"].items() for length in settings["T"]
            for model in lab["models"] for seed in lab["seeds"]]
    ablations = [model for switch, model in ABLATIONS.items() if lab["ablations"][switch]]
    runs += [(task, length, model, seed) for task, lengths in lab["ablations"]["at"].items()
             for length in lengths for model in ablations for seed in lab["seeds"]]
    return runs


def check_lab(lab: dict[str, Any]) -> None:
    """Raise a ValueError naming the setting where config's longdep (already schema-valid) cannot run."""
    if not any(settings["T"] for settings in lab["tasks"].values()):
        raise ValueError("longdep has no runs: give at least one gap length under longdep.tasks.<task>.T")
    if not any(lab["ablations"][switch] for switch in ABLATIONS):
        return
    for task, lengths in lab["ablations"]["at"].items():
        if task not in lab["tasks"]:
            raise ValueError(f"longdep.ablations.at.{task}: {task} is not under longdep.tasks; add it there "
                             "(with its T, batch_size and max_updates) or remove it from ablations.at")
        extra = sorted(set(lengths) - set(lab["tasks"][task]["T"]))
        if extra:
            raise ValueError(f"longdep.ablations.at.{task}: T {extra} not in longdep.tasks.{task}.T "
                             f"{lab['tasks'][task]['T']}; an ablation is compared with the LSTM at the same T, "
                             "so add them there or remove them from ablations.at")
