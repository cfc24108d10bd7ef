"""Statistics for comparing models over seeds: t-intervals (on the logit scale for an accuracy), McNemar, paired t,
Holm, the smallest difference a comparison could detect, accuracy by length.

Plain functions on numbers and DataFrames; accuracies are fractions, differences are first minus second.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from itertools import combinations

import numpy as np
import pandas as pd
from scipy import optimize, special, stats

ALPHA = 0.05
CONFIDENCE = 0.95
POWER = 0.8
TOLERANCE = 1e-12  # accuracies are ratios of counts: differences closer than this are equal
N_BUCKETS = 4
LENGTH_COLUMNS = ["dataset", "model", "bucket", "lengths", "n_examples", "n_seeds", "accuracy", "accuracy_min",
                  "accuracy_max"]

ModelSeed = tuple[str, int]


@dataclass(frozen=True)
class PairedTest:
    """A paired t-test over seeds: n, mean difference, its t-interval and p (NaN where undefined)."""

    n: int
    mean: float
    low: float
    high: float
    p: float
    zero_variance: bool  # every seed gave the same difference, so p is 0 (non-zero mean) or 1 (zero mean)
    sd: float = math.nan  # of the per-seed differences


@dataclass(frozen=True)
class Comparison:
    """Two models on one dataset, oriented so that first has the higher mean accuracy on their shared seeds."""

    first: str
    second: str
    test: PairedTest
    mcnemar: dict[int, float]  # seed -> exact McNemar p on that seed's test predictions (NaN without them)
    p_raw: float  # paired-t p across seeds, or with one shared seed that seed's McNemar p
    p_holm: float  # p_raw after Holm's correction over the dataset's pairs
    detectable: float = math.nan  # the smallest difference these seeds detect with POWER (detectable_difference)

    @property
    def winner(self) -> str | None:
        """Return the better model if the difference is significant at ALPHA after Holm, else None."""
        if not self.p_holm <= ALPHA or abs(self.test.mean) <= TOLERANCE:
            return None
        return self.first if self.test.mean > 0 else self.second


def t_interval(values: Sequence[float], confidence: float = CONFIDENCE) -> tuple[float, float]:
    """Return the t-interval mean ± t·sd/√n of values, or (NaN, NaN) with fewer than two values."""
    x = np.asarray(values, dtype="float64")
    if len(x) < 2:
        return math.nan, math.nan
    half = stats.t.ppf((1 + confidence) / 2, len(x) - 1) * x.std(ddof=1) / math.sqrt(len(x))
    return float(x.mean() - half), float(x.mean() + half)


def accuracy_interval(values: Sequence[float], n_examples: int,
                      confidence: float = CONFIDENCE) -> tuple[float, float]:
    """Return a t-interval over seeds of accuracies (fractions of n_examples) that stays inside [0, 1]: computed on
    the logit scale and mapped back, each accuracy first moved half an example away from 0 and 1 (where the logit
    is infinite). (NaN, NaN) with fewer than two values."""
    values = np.asarray(values, dtype="float64")
    if len(values) > 1 and np.ptp(values) <= TOLERANCE:  # no spread: the interval is the value, 0 and 1 included
        return float(values[0]), float(values[0])
    half_example = 0.5 / n_examples
    clipped = np.clip(values, half_example, 1 - half_example)
    low, high = t_interval(np.log(clipped / (1 - clipped)), confidence)
    return (math.nan, math.nan) if math.isnan(low) else (float(special.expit(low)), float(special.expit(high)))


def detectable_difference(sd: float, n: int, alpha: float = ALPHA, power: float = POWER) -> float:
    """Return the smallest true mean difference that a two-sided paired t-test at alpha over n seeds detects with
    the given power, when the differences spread with this sd (exact, by the noncentral t distribution).
    NaN with fewer than two seeds or no spread."""
    if n < 2 or not sd > 0:
        return math.nan
    df = n - 1
    critical = stats.t.ppf(1 - alpha / 2, df)

    def shortfall(noncentrality: float) -> float:
        # the far tail's probability is negligible, and scipy returns NaN for it where the shift is large
        far = np.nan_to_num(stats.nct.cdf(-critical, df, noncentrality))
        return float(stats.nct.sf(critical, df, noncentrality) + far - power)

    high = 1.0
    while shortfall(high) < 0:
        high *= 2
    return optimize.brentq(shortfall, 0.0, high) * sd / math.sqrt(n)


def mcnemar_p(b: int, c: int) -> float:
    """Return McNemar's exact two-sided p: a binomial test of b in b + c discordant pairs at 0.5 (1 if none)."""
    if b < 0 or c < 0:
        raise ValueError(f"McNemar counts must be non-negative, got b={b}, c={c}")
    return 1.0 if b + c == 0 else float(stats.binomtest(b, b + c, 0.5).pvalue)


def discordant_counts(first: pd.DataFrame, second: pd.DataFrame) -> tuple[int, int]:
    """Return (b, c): test examples only the first model got right, and only the second, paired by index."""
    merged = first.merge(second, on="index", suffixes=("_1", "_2"))
    if not len(merged) == len(first) == len(second):
        raise ValueError(
            f"two predictions files cover different test examples ({len(first)} and {len(second)} rows, "
            f"{len(merged)} shared indices); re-run the training rules so every model scores the same test split"
        )
    if (merged["target_1"] != merged["target_2"]).any():
        raise ValueError("two predictions files disagree on the target of the same index; re-run the training rules")
    right_1 = merged["prediction_1"] == merged["target_1"]
    right_2 = merged["prediction_2"] == merged["target_2"]
    return int((right_1 & ~right_2).sum()), int((~right_1 & right_2).sum())


def paired_test(first: Sequence[float], second: Sequence[float]) -> PairedTest:
    """Run a paired t-test on per-seed values (scipy's ttest_rel), with the t-interval of the differences."""
    a, b = np.asarray(first, dtype="float64"), np.asarray(second, dtype="float64")
    if a.shape != b.shape:
        raise ValueError(f"paired values need one per seed on both sides, got {len(a)} and {len(b)}")
    differences = a - b
    mean = float(differences.mean()) if len(differences) else math.nan
    if len(differences) < 2:
        return PairedTest(len(differences), mean, math.nan, math.nan, math.nan, False)
    if np.ptp(differences) <= TOLERANCE:
        return PairedTest(len(differences), mean, mean, mean, 1.0 if abs(mean) <= TOLERANCE else 0.0, True, 0.0)
    low, high = t_interval(differences)
    return PairedTest(len(differences), mean, low, high, float(stats.ttest_rel(a, b).pvalue), False,
                      float(differences.std(ddof=1)))


def holm(p_values: Sequence[float]) -> np.ndarray:
    """Return Holm's step-down adjusted p-values in the given order; NaNs stay NaN and are not counted."""
    p = np.asarray(p_values, dtype="float64")
    adjusted = np.full(p.shape, math.nan)
    finite = np.flatnonzero(~np.isnan(p))
    order = finite[np.argsort(p[finite], kind="stable")]
    running = 0.0
    for rank, position in enumerate(order):
        running = max(running, min(1.0, (len(order) - rank) * p[position]))
        adjusted[position] = running
    return adjusted


def compare_models(
    accuracy: dict[str, dict[int, float]], predictions: dict[ModelSeed, pd.DataFrame]
) -> list[Comparison]:
    """Compare every pair of models (pairs in the given model order) with Holm's correction over the pairs.

    accuracy maps model -> seed -> test accuracy; predictions maps (model, seed) -> that run's predictions. Each
    pair's detectable difference is taken at ALPHA / (number of pairs), the level Holm's first step asks for, so
    that a difference that large would be named a win after the correction (with POWER).
    """
    pairs = []
    for first, second in combinations(accuracy, 2):
        seeds = sorted(accuracy[first].keys() & accuracy[second].keys())
        test = _paired(accuracy, first, second, seeds)
        if test.mean < 0:
            first, second = second, first
            test = _paired(accuracy, first, second, seeds)
        mcnemar = {s: _seed_mcnemar(predictions.get((first, s)), predictions.get((second, s))) for s in seeds}
        p_raw = next(iter(mcnemar.values())) if test.n == 1 else test.p
        pairs.append((first, second, test, mcnemar, p_raw))
    adjusted = holm([pair[-1] for pair in pairs])
    tested = max(1, sum(not math.isnan(pair[-1]) for pair in pairs))  # the pairs Holm counts
    return [Comparison(*pair, p_holm=float(p), detectable=detectable_difference(pair[2].sd, pair[2].n,
                                                                                 ALPHA / tested))
            for pair, p in zip(pairs, adjusted, strict=True)]


def length_buckets(lengths: pd.Series, unit: str, n_buckets: int = N_BUCKETS) -> pd.DataFrame:
    """Return each example's equal-count length bucket (1 = shortest) and its label, like "12–20 tokens".

    Ranks (ties broken by position) feed qcut, so tied lengths cannot make bucket edges collide;
    there are at most as many buckets as distinct lengths.
    """
    if n_buckets < 1:
        raise ValueError(f"n_buckets must be at least 1, got {n_buckets}")
    count = min(n_buckets, lengths.nunique())
    if count == 0:
        return pd.DataFrame({"bucket": pd.Series(dtype="int64"), "lengths": pd.Series(dtype="object")})
    numbers = pd.qcut(lengths.rank(method="first"), count, labels=False).astype("int64") + 1
    ranges = lengths.groupby(numbers).agg(["min", "max"])
    labels = {n: f"{low:g}{'' if low == high else f'–{high:g}'} {unit}" for n, (low, high) in ranges.iterrows()}
    return pd.DataFrame({"bucket": numbers, "lengths": numbers.map(labels)}, index=lengths.index)


def accuracy_by_length(
    predictions: dict[ModelSeed, pd.DataFrame], dataset: str, unit: str, n_buckets: int = N_BUCKETS
) -> pd.DataFrame:
    """Return per model and length bucket the test accuracy pooled over seeds, with the per-seed min and max.

    Columns: dataset, model, bucket (1 = shortest), lengths (its label), n_examples (test examples in the
    bucket), n_seeds, accuracy, accuracy_min, accuracy_max. Buckets are set once from the shared test examples.
    """
    if not predictions:
        return pd.DataFrame(columns=LENGTH_COLUMNS)
    scored = pd.concat(
        [frame.assign(model=model, seed=seed) for (model, seed), frame in predictions.items()], ignore_index=True
    )
    examples = scored[["index", "length"]].drop_duplicates("index").sort_values("index", kind="stable")
    buckets = length_buckets(examples["length"], unit, n_buckets).assign(index=examples["index"])
    scored = scored.merge(buckets, on="index").assign(correct=lambda f: f["prediction"] == f["target"])
    keys = ["model", "bucket", "lengths"]
    per_seed = scored.groupby([*keys, "seed"])["correct"].mean().groupby(level=keys)
    table = pd.DataFrame(
        {
            "n_seeds": per_seed.size(),
            "accuracy": scored.groupby(keys)["correct"].mean(),
            "accuracy_min": per_seed.min(),
            "accuracy_max": per_seed.max(),
        }
    ).reset_index()
    table["n_examples"] = table["bucket"].map(buckets["bucket"].value_counts())
    return table.assign(dataset=dataset).reindex(columns=LENGTH_COLUMNS)


def _paired(accuracy: dict[str, dict[int, float]], first: str, second: str, seeds: list[int]) -> PairedTest:
    """Return the paired t-test of two models' accuracies on the given seeds."""
    return paired_test([accuracy[first][s] for s in seeds], [accuracy[second][s] for s in seeds])


def _seed_mcnemar(first: pd.DataFrame | None, second: pd.DataFrame | None) -> float:
    """Return the exact McNemar p of two runs' predictions, or NaN when either is missing."""
    return math.nan if first is None or second is None else mcnemar_p(*discordant_counts(first, second))
