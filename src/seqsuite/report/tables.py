"""The report's two statistics tables, for a dataset (units: seeds) and for a group of held-out folds (units:
folds): each model's accuracy over the units, and every pair of models compared over them."""

from __future__ import annotations

import pandas as pd

from seqsuite.report.html import Cell, Line, Row, Table, cell
from seqsuite.report.stats import Comparison
from seqsuite.report.summary import DASH, format_p, interval, mean_sd, signed_points, verdict

MODEL_HEADER = ("{unit}s", "test accuracy (mean ± sd)", "95% CI", "test macro-F1 (mean ± sd)", "parameters",
                "training time", "accuracy per second of training")
PAIR_HEADER = ("{unit}s", "mean difference (points)", "95% CI", "paired-t p", "Holm-adjusted p",
               "McNemar p per {unit}")


def models_table(table: pd.DataFrame, runs: dict[str, tuple[Line, ...]], best: str, unit: str = "seed") -> Table:
    """Return the model table, marking the best model's row; each model's runs are listed with their seeds."""
    head = (cell("model", "left"), *(cell(name.format(unit=unit)) for name in MODEL_HEADER),
            cell("MLflow runs", "left"))
    rows = []
    for row in table.itertuples(index=False):
        rate = DASH if pd.isna(row.accuracy_per_second) else f"{100 * row.accuracy_per_second:.2f} points/s"
        cells = (
            cell(row.model, "model"), cell(row.n_seeds), cell(mean_sd(row.accuracy_mean, row.accuracy_sd)),
            cell(interval(row.accuracy_ci_low, row.accuracy_ci_high)),
            cell(mean_sd(row.macro_f1_mean, row.macro_f1_sd)), cell(_count(row.n_params)),
            cell(_seconds(row.train_seconds)), cell(rate),
            Cell(runs.get(str(row.model), ()), "runs"),
        )
        rows.append(Row(cells, "best" if row.model == best else ""))
    return Table((Row(head),), tuple(rows))


def pairs_table(comparisons: list[Comparison], unit: str = "seed", mcnemar: bool = True) -> Table:
    """Return the pairwise table: difference with 95% CI, paired-t p, Holm p, McNemar p per seed (where the units
    share their test examples: not for held-out folds), verdict."""
    shown = PAIR_HEADER if mcnemar else PAIR_HEADER[:-1]
    head = (cell("pair (first − second)", "left"), *(cell(name.format(unit=unit)) for name in shown),
            cell("verdict", "left"))
    rows = []
    for c in comparisons:
        per_unit = tuple(Line(f"{unit} {seed}: {format_p(p)}") for seed, p in c.mcnemar.items()) or (Line(DASH),)
        paired = format_p(c.test.p) + (f" (every {unit} gave the same difference)" if c.test.zero_variance else "")
        rows.append(Row((
            cell(f"{c.first} − {c.second}", "pair"), cell(c.test.n), cell(signed_points(c.test.mean)),
            cell(interval(c.test.low, c.test.high)), cell(paired), cell(format_p(c.p_holm)),
            *((Cell(per_unit),) if mcnemar else ()),
            cell(verdict(c) + (f"; rests on one {unit}" if c.test.n == 1 else ""),
                 "verdict significant" if c.winner else "verdict"),
        )))
    return Table((Row(head),), tuple(rows))


def _count(value: float) -> str:
    """Format a mean parameter count with thousands separators."""
    return DASH if pd.isna(value) else f"{round(value):,}"


def _seconds(value: float) -> str:
    """Format a mean training time in seconds."""
    return DASH if pd.isna(value) else f"{value:.1f} s"
