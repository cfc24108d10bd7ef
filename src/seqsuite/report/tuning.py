"""The tuning page (target tune): per dataset, each model's expected best validation accuracy against the number
of trials, what the searches chose, and the comparison of the tuned models beside the default settings'."""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from typing import Any

import pandas as pd

from seqsuite.models import ordered_models
from seqsuite.report.html import Image, Row, Table, cell, image, render, text_table
from seqsuite.report.pages import METHOD, DatasetSection, PredictionKey, dataset_section, diverged_note, slug
from seqsuite.report.plots import expected_best_png
from seqsuite.report.stats import Comparison, compare_models
from seqsuite.report.summary import (
    DASH,
    evidence,
    join_phrases,
    mean_sd,
    model_table,
    percent,
    seed_accuracy,
    signed_points,
    summary_frame,
    verdict,
)
from seqsuite.tuning import crossings

Curve = list[tuple[int, float, float]]


@dataclass(frozen=True)
class TuningSection:
    """One dataset: the expected-best curves, the searches' choices, default against tuned, and the tuned
    comparison as the datasets' page shows one."""

    anchor: str
    name: str
    trials: str  # each model's number of trials ("8"; "8 or 6" where searches differ)
    curves: Image
    crossing: str
    searches: Table
    versus: Table
    verdicts: Table
    changed: str
    tuned: DatasetSection


@dataclass(frozen=True)
class TuningPage:
    """The tuning page: its title, introductory paragraphs and one section per dataset."""

    title: str
    paragraphs: list[str]
    sections: list[TuningSection]


@dataclass(frozen=True)
class Runs:
    """The runs of one configuration (the default settings or the tuned ones) that did not diverge, every run's test
    predictions, and the runs that diverged (named on the page, left out of every number)."""

    records: list[dict[str, Any]]
    predictions: dict[PredictionKey, pd.DataFrame]
    diverged: list[dict[str, Any]]

    def comparisons(self, dataset: str) -> list[Comparison]:
        """Every pair of models on dataset, compared over these runs' seeds."""
        own = {(m, s): frame for (d, m, s), frame in self.predictions.items() if d == dataset}
        return compare_models(seed_accuracy(summary_frame(self.records), dataset), own)


def render_tuning(searches: list[dict[str, Any]], tuned: Runs, default: Runs, dataset_info: dict[str, dict[str, Any]],
                  settings: dict[str, Any], mlflow_ui: str) -> str:
    """The tuning page as HTML, from the searches' choices (best.json), the tuned runs and the default-settings
    runs; settings: the config's tune section."""
    datasets = sorted({str(search["dataset"]) for search in searches})
    sections = [tuning_section(name, f"tune-{i}-{slug(name)}", searches, tuned, default, dataset_info[name],
                               mlflow_ui) for i, name in enumerate(datasets)]
    paragraphs = [budget_statement(searches, settings), METHOD]
    paragraphs += [f"{name}: {diverged_note(runs.diverged)}" for name, runs in (("Tuned", tuned),
                                                                               ("Default settings", default))
                   if runs.diverged]
    return render("tuning.html", TuningPage("seqsuite: every model tuned with the same budget", paragraphs, sections))


def budget_statement(searches: list[dict[str, Any]], settings: dict[str, Any]) -> str:
    """The paragraph on how every model was tuned, generated from what ran."""
    counts = sorted({int(search["n_trials"]) for search in searches})
    trials = " or ".join(str(n) for n in counts)
    return (
        f"Every model got the same budget: {trials} random-search trials per dataset, drawn with seed "
        f"{settings['draw_seed']} from tune.space of the config, each trained with seed {settings['trial_seed']} "
        "and scored on the validation split only. The best trial's settings were then trained on seeds "
        f"{', '.join(str(s) for s in settings['seeds'])} and scored on the test split, which no trial saw; the "
        "default settings are compared on the same seeds. The "
        "expected best validation accuracy after n trials is computed exactly from the trials' empirical "
        "distribution (Dodge et al. 2019, \"Show Your Work\"): with the N scores sorted, the i-th is the best of n "
        "draws with probability (i/N)^n − ((i−1)/N)^n; the band is ±1 standard deviation of that best."
    )


def tuning_section(dataset: str, anchor: str, searches: list[dict[str, Any]], tuned: Runs, default: Runs,
                   info: dict[str, Any], mlflow_ui: str) -> TuningSection:
    """One dataset's part of the tuning page."""
    own = {str(s["model"]): s for s in searches if str(s["dataset"]) == dataset}
    curves = {model: [(p["n"], p["mean"], p["sd"]) for p in search["expected_best"]] for model, search in own.items()}
    tuned_summary, default_summary = summary_frame(tuned.records), summary_frame(default.records)
    ran_default = dataset in set(default_summary["dataset"])
    verdicts, changed = verdicts_table(default.comparisons(dataset) if ran_default else [], tuned.comparisons(dataset))
    return TuningSection(
        anchor=anchor, name=dataset, trials=" or ".join(sorted({str(s["n_trials"]) for s in own.values()})),
        curves=image(expected_best_png(curves, f"{dataset}: expected best validation accuracy"),
                     f"Expected best validation accuracy against trials, {dataset}"),
        crossing=crossing_sentence(curves), searches=searches_table(own),
        versus=versus_table(default_summary, tuned_summary, dataset), verdicts=verdicts, changed=changed,
        tuned=dataset_section(dataset, f"{anchor}-tuned", tuned.records, tuned_summary, tuned.predictions, info,
                              mlflow_ui),
    )


def crossing_sentence(curves: dict[str, Curve]) -> str:
    """Where the expected-best curves cross, or which model leads all the way."""
    found = crossings(curves)
    last = max(len(curve) for curve in curves.values())
    order = sorted(curves, key=lambda model: -curves[model][-1][1])
    ranking = order[0] + "".join(f" {'=' if curves[a][-1][1] == curves[b][-1][1] else '>'} {b}"
                                 for a, b in itertools.pairwise(order))
    final = f"after {last} trials the expected best is {ranking}"
    if not found:
        return f"The curves do not cross: {final}." if len(curves) > 1 else f"One model was tuned: {final}."
    moves = [f"{ahead} overtakes {behind} at {n} trials" for ahead, behind, n in sorted(found, key=lambda f: f[2])]
    return f"The curves cross: {join_phrases(moves)}; {final}."


def searches_table(searches: dict[str, dict[str, Any]]) -> Table:
    """Per model: trials, diverged trials, the best trial, its validation accuracy and the settings it drew."""
    rows = []
    for model in ordered_models(searches):
        search = searches[model]
        drawn = ", ".join(f"{knob} {search['hyperparameters'][knob]}" for knob in search["knobs"])
        rows.append([model, str(search["n_trials"]), str(len(search["diverged_trials"])), str(search["best_trial"]),
                     percent(search["best_val_accuracy"]), drawn])
    return text_table(["model", "trials", "diverged", "best trial", "its validation accuracy", "its settings"],
                      rows, 1)


def versus_table(default: pd.DataFrame, tuned: pd.DataFrame, dataset: str) -> Table:
    """Per model: test accuracy with the config's settings and with the tuned ones, each over its seeds."""
    def accuracies(summary: pd.DataFrame) -> dict[str, Any]:
        if dataset not in set(summary["dataset"]):
            return {}
        return {row.model: row for row in model_table(summary, dataset).itertuples(index=False)}

    before, after = accuracies(default), accuracies(tuned)
    head = Row(tuple(cell(name) for name in ("model", "default settings: test accuracy", "seeds",
                                             "tuned: test accuracy", "seeds", "change (points)")))
    rows = []
    for model in ordered_models([*before, *after]):
        old, new = before.get(model), after.get(model)
        change = DASH if old is None or new is None else signed_points(new.accuracy_mean - old.accuracy_mean)
        rows.append(Row((cell(model, "model"), *_accuracy_cells(old), *_accuracy_cells(new), cell(change))))
    return Table((head,), tuple(rows))


def _accuracy_cells(row: Any) -> tuple[Any, Any]:
    if row is None:
        return cell(DASH), cell(DASH)
    return cell(mean_sd(row.accuracy_mean, row.accuracy_sd)), cell(row.n_seeds)


def verdicts_table(default: list[Comparison], tuned: list[Comparison]) -> tuple[Table, str]:
    """Each pair's verdict with the default settings and after tuning, each with its own difference (first −
    second, the better first), and a sentence naming the verdicts that changed."""
    before = {frozenset((c.first, c.second)): c for c in default}
    rows, changed = [], []
    for comparison in tuned:
        old = before.get(frozenset((comparison.first, comparison.second)))
        differs = old is not None and old.winner != comparison.winner
        if differs:
            changed.append(f"{comparison.first} and {comparison.second}: {verdict(old)} with the default settings, "
                           f"{verdict(comparison)} after tuning")
        rows.append([f"{comparison.first} and {comparison.second}", DASH if old is None else _judged(old),
                     _judged(comparison), "yes" if differs else "no"])
    table = text_table(["pair", "default settings", "tuned", "changed"], rows, 4)
    if not default:
        return table, "The default settings did not run on this dataset, so no verdict can be compared."
    return table, (f"Verdicts that changed after tuning: {'; '.join(changed)}." if changed else
                   "No verdict changed after tuning.")


def _judged(comparison: Comparison) -> str:
    return f"{verdict(comparison)} ({comparison.first} − {comparison.second}: {evidence(comparison)})"
