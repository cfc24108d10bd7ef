"""Datasets that are the folds of one study (leave-one-speaker-out: the registry's group and held_out): each model's
test accuracy on every held-out fold, and the models compared over the folds as a dataset's section compares them
over seeds."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pandas as pd

from seqsuite.report.html import Row, Table, cell
from seqsuite.report.stats import compare_models
from seqsuite.report.summary import COLUMNS, best_model, finding, mean_sd, model_table, percent, seed_accuracy
from seqsuite.report.tables import models_table, pairs_table

FOLD_UNIT = "held-out fold"


@dataclass(frozen=True)
class GroupSection:
    """One group's section: its folds, each model's accuracy per fold, and the comparison over folds."""

    anchor: str
    name: str
    description: str
    folds: Table  # model x held-out fold: test accuracy, mean over seeds
    models: Table
    pairs: Table | None  # None: only one model ran
    finding: str


def group_folds(dataset_info: dict[str, dict[str, Any]]) -> dict[str, dict[str, str]]:
    """Return group -> {dataset: what it holds out}, in held-out order, for the groups with two folds or more in
    the run (one fold alone is shown as a dataset)."""
    groups: dict[str, dict[str, str]] = {}
    for dataset, info in sorted(dataset_info.items(), key=lambda item: str(item[1].get("held_out"))):
        if info.get("group"):
            groups.setdefault(str(info["group"]), {})[dataset] = str(info["held_out"])
    return {group: folds for group, folds in groups.items() if len(folds) > 1}


def fold_summary(summary: pd.DataFrame, folds: dict[str, str], group: str) -> pd.DataFrame:
    """Return a summary (COLUMNS) of dataset `group` whose seed column numbers the folds (in folds' order), each
    value a fold's test metric averaged over its seeds: the folds become the units the statistics count."""
    test = summary[summary["dataset"].isin(list(folds)) & (summary["split"] == "test")]
    means = test.groupby(["dataset", "model", "metric"], as_index=False)["value"].mean()
    number = {dataset: i for i, dataset in enumerate(folds)}
    return means.assign(seed=means["dataset"].map(number).astype("int64"), dataset=group, split="test")[COLUMNS]


def fold_table(frame: pd.DataFrame, group: str, folds: dict[str, str]) -> Table:
    """Return each model's test accuracy on each held-out fold, then its mean ± sd over the folds."""
    accuracy = seed_accuracy(frame, group)
    head = (cell("model", "left"), *(cell(f"{label} held out") for label in folds.values()),
            cell("mean ± sd over folds"))
    rows = []
    for model, by_fold in accuracy.items():
        values = pd.Series(by_fold)
        per_fold = (cell(percent(by_fold[i]) if i in by_fold else "–") for i in range(len(folds)))
        rows.append(Row((cell(model, "model"), *per_fold, cell(mean_sd(values.mean(), values.std(ddof=1))))))
    return Table((Row(head),), tuple(rows))


def group_section(group: str, folds: dict[str, str], summary: pd.DataFrame, n_test: int | None,
                  anchor: str) -> GroupSection:
    """Return a group's section; n_test (the smallest fold's test set) sets the accuracy intervals' bounds."""
    frame = fold_summary(summary, folds, group)
    comparisons = compare_models(seed_accuracy(frame, group), {})
    best = best_model(frame, group)
    description = (
        f"{len(folds)} datasets, each holding out one of {', '.join(folds.values())} for its test split and "
        f"training on the others ({', '.join(folds)}). A model's number on a fold is its mean test accuracy over "
        "seeds; the tables count the held-out folds where a dataset's section counts seeds, so the interval and "
        "the paired tests ask whether a lead holds across the held-out folds."
    )
    return GroupSection(
        anchor=anchor, name=group, description=description, folds=fold_table(frame, group, folds),
        models=models_table(model_table(frame, group, n_test), {}, best, FOLD_UNIT),
        pairs=pairs_table(comparisons, FOLD_UNIT, mcnemar=False) if comparisons else None,
        finding=finding(frame, group, comparisons, FOLD_UNIT),
    )
