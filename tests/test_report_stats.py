"""Tests for seqsuite.report.stats and the verdicts built on it: intervals, McNemar, paired t, Holm, length buckets."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from scipy import stats as scipy_stats

from seqsuite.report.stats import (
    accuracy_by_length,
    accuracy_interval,
    compare_models,
    detectable_difference,
    discordant_counts,
    holm,
    length_buckets,
    mcnemar_p,
    paired_test,
    t_interval,
)
from seqsuite.report.summary import evidence, finding, length_reading, seed_accuracy, summary_frame, verdict

T_975_3 = 3.182446305284263  # t quantile 0.975 with 3 degrees of freedom, from a printed table
T_975_2 = 4.302652729911275


def test_t_interval_equals_the_hand_computation():
    values = [0.90, 0.93, 0.95, 0.91]
    mean = sum(values) / 4
    sd = math.sqrt(sum((v - mean) ** 2 for v in values) / 3)
    low, high = t_interval(values)
    assert low == pytest.approx(mean - T_975_3 * sd / 2)
    assert high == pytest.approx(mean + T_975_3 * sd / 2)
    assert all(math.isnan(x) for x in t_interval([0.9]))


def test_an_accuracy_interval_stays_within_0_and_1_where_the_t_interval_does_not():
    values = [0.93, 0.99, 1.0]
    assert t_interval(values)[1] > 1
    low, high = accuracy_interval(values, n_examples=300)
    assert 0 < low < np.mean(values) < high < 1
    assert accuracy_interval([1.0, 1.0], 300) == (1.0, 1.0)  # no spread: the value itself
    # half an example from 1: 299.5 of 300 right, on the logit scale
    low, high = accuracy_interval([1.0, 1.0, 299 / 300], 300)
    assert 0.9 < low < 299 / 300 and 299.5 / 300 < high < 1
    assert all(math.isnan(x) for x in accuracy_interval([0.9], 300))


@pytest.mark.parametrize(("sd", "n", "alpha"), [(0.02, 5, 0.05), (0.01, 3, 0.05 / 3), (0.03, 10, 0.05)])
def test_a_difference_of_the_detectable_size_is_found_in_80_percent_of_simulated_experiments(sd, n, alpha):
    difference = detectable_difference(sd, n, alpha)
    rng = np.random.default_rng(7)
    seeds = rng.normal(difference, sd, size=(40_000, n))
    t = seeds.mean(axis=1) / (seeds.std(axis=1, ddof=1) / math.sqrt(n))
    power = np.mean(np.abs(t) > scipy_stats.t.ppf(1 - alpha / 2, n - 1))
    assert power == pytest.approx(0.8, abs=0.01)
    assert detectable_difference(sd, n + 5, alpha) < difference  # more seeds detect less
    assert math.isnan(detectable_difference(sd, 1)) and math.isnan(detectable_difference(0.0, n))


def test_mcnemar_exact_p_for_known_counts():
    # two-sided binomial: 2 * P(X >= 10 | n=12, 1/2) = 2 * (66 + 12 + 1) / 4096
    assert mcnemar_p(10, 2) == pytest.approx(158 / 4096)
    assert mcnemar_p(10, 2) == pytest.approx(scipy_stats.binomtest(10, 12, 0.5).pvalue)
    assert mcnemar_p(2, 10) == mcnemar_p(10, 2)
    assert mcnemar_p(0, 0) == 1.0 and mcnemar_p(3, 3) == 1.0
    with pytest.raises(ValueError, match="non-negative"):
        mcnemar_p(-1, 2)


def test_discordant_counts_pair_examples_by_index_not_by_row():
    first = pd.DataFrame({"index": range(5), "target": [0, 0, 0, 0, 2], "prediction": [0, 1, 1, 1, 1]})
    second = first.assign(prediction=[0, 0, 1, 1, 1]).iloc[::-1]  # right on indices 0 and 1, rows reversed
    assert discordant_counts(first, second) == (0, 1)  # by row position it would be (1, 2)
    with pytest.raises(ValueError, match="different test examples"):
        discordant_counts(first, second.iloc[1:])
    with pytest.raises(ValueError, match="disagree on the target"):
        discordant_counts(first, second.assign(target=9))


def test_paired_test_matches_scipy_and_the_t_interval_of_differences():
    a, b = [0.91, 0.95, 0.93], [0.88, 0.90, 0.92]
    test = paired_test(a, b)
    differences = np.subtract(a, b)
    half = T_975_2 * differences.std(ddof=1) / math.sqrt(3)
    assert test.n == 3 and not test.zero_variance
    assert test.p == pytest.approx(scipy_stats.ttest_rel(a, b).pvalue)
    assert test.mean == pytest.approx(differences.mean())
    assert (test.low, test.high) == pytest.approx((differences.mean() - half, differences.mean() + half))


def test_paired_test_zero_variance_and_single_seed_do_not_crash():
    shifted = paired_test([0.9, 0.8, 0.7], [0.8, 0.7, 0.6])  # +10 points on every seed, up to float noise
    assert shifted.zero_variance and shifted.p == 0.0 and shifted.mean == pytest.approx(0.1)
    assert shifted.low == shifted.high == shifted.mean
    same = paired_test([0.9, 0.8], [0.9, 0.8])
    assert same.zero_variance and same.p == 1.0
    one = paired_test([0.9], [0.8])
    assert one.n == 1 and one.mean == pytest.approx(0.1) and math.isnan(one.p) and math.isnan(one.low)
    with pytest.raises(ValueError, match="one per seed"):
        paired_test([0.9, 0.8], [0.9])


def test_holm_adjusts_a_known_vector():
    assert holm([0.01, 0.04, 0.03]) == pytest.approx([0.03, 0.06, 0.06])
    assert holm([0.5, 0.6]) == pytest.approx([1.0, 1.0])
    with_gap = holm([0.01, float("nan"), 0.03])
    assert with_gap[0] == pytest.approx(0.02) and math.isnan(with_gap[1]) and with_gap[2] == pytest.approx(0.03)


def _runs(accuracies: dict[str, list[float]]) -> list[dict]:
    """Return minimal runs of dataset "d" whose test accuracies are given per model, one entry per seed."""
    runs = []
    for model, values in accuracies.items():
        for seed, value in enumerate(values):
            split = {"accuracy": value, "macro_f1": value, "loss": 1 - value}
            runs.append({"dataset": "d", "model": model, "seed": seed, "labels": ["a", "b"], "history": [],
                         "metrics": {"val": split, "test": split}, "n_params": 10, "train_seconds": 1.0})
    return runs


def _predictions(correct: dict[tuple[str, int], list[bool]]) -> dict[tuple[str, int], pd.DataFrame]:
    """Return predictions frames (target 0) that are right exactly where given."""
    return {
        key: pd.DataFrame({"index": range(len(right)), "target": 0, "prediction": [0 if r else 1 for r in right],
                           "length": range(1, len(right) + 1)})
        for key, right in correct.items()
    }


def _finding(accuracies: dict[str, list[float]]) -> str:
    """Return the finding on runs with these accuracies, compared without predictions (so without McNemar)."""
    summary = summary_frame(_runs(accuracies))
    return finding(summary, "d", compare_models(seed_accuracy(summary, "d"), {}))


def test_finding_states_best_model_and_significance_from_the_numbers():
    # raw paired-t p: lstm-mlp 0.00044, rnn-mlp 0.00135, lstm-rnn 0.0351; Holm multiplies by 3, 2, 1
    assert _finding({"mlp": [0.88, 0.89, 0.888], "rnn": [0.969] * 3, "lstm": [0.977, 0.981, 0.985]}) == (
        "lstm has the highest mean test accuracy (98.1% ± 0.4 over 3 seeds); it beats mlp (+9.5 points, "
        "95% CI [8.6, 10.4], Holm-adjusted p = 0.0013) and rnn (+1.2 points, 95% CI [0.2, 2.2], Holm-adjusted "
        "p = 0.035). rnn beats mlp (+8.3 points, 95% CI [7.0, 9.6], Holm-adjusted p = 0.0027)."
    )
    assert _finding({"mlp": [0.95, 0.97], "rnn": [0.90, 0.92], "lstm": [0.80, 0.86]}) == (
        "mlp has the highest mean test accuracy (96.0% ± 1.4 over 2 seeds); it beats rnn (+5.0 points on each of "
        "the 2 seeds; zero variance, so p = 0, Holm-adjusted p = 0) but the data cannot separate it from lstm "
        "(+13.0 points, 95% CI [-12.4, 38.4], Holm-adjusted p = 0.19; 2 seeds detect 97.9 points or more with 80% "
        "power). The data cannot separate rnn and lstm (+8.0 points, 95% CI [-17.4, 33.4], Holm-adjusted p = 0.19; "
        "2 seeds detect 97.9 points or more with 80% power)."
    )
    assert _finding({"rnn": [0.5]}) == (
        "rnn has the highest mean test accuracy (50.0% over 1 seed); it is the only model run on d."
    )


def test_verdict_names_a_winner_only_when_significant_after_holm():
    summary = summary_frame(_runs({
        "mlp": [0.80, 0.85, 0.82],  # noisy, level with rnn
        "rnn": [0.83, 0.81, 0.84],
        "lstm": [0.93, 0.92, 0.945],  # about 10 points above rnn on every seed
    }))
    comparisons = {(c.first, c.second): c for c in compare_models(seed_accuracy(summary, "d"), {})}
    assert set(comparisons) == {("rnn", "mlp"), ("lstm", "mlp"), ("lstm", "rnn")}
    raw = [scipy_stats.ttest_rel(a, b).pvalue for a, b in (
        ([0.83, 0.81, 0.84], [0.80, 0.85, 0.82]), ([0.93, 0.92, 0.945], [0.80, 0.85, 0.82]),
        ([0.93, 0.92, 0.945], [0.83, 0.81, 0.84]))]
    expected = holm(raw)
    for (pair, c), p in zip(comparisons.items(), expected, strict=True):
        assert c.p_holm == pytest.approx(p), pair
    tied, lstm_rnn = comparisons["rnn", "mlp"], comparisons["lstm", "rnn"]
    assert tied.winner is None and verdict(tied) == "the data cannot separate rnn and mlp"
    assert lstm_rnn.p_holm <= 0.05 and lstm_rnn.winner == "lstm" and verdict(lstm_rnn) == "lstm beats rnn"
    lstm_mlp = comparisons["lstm", "mlp"]  # +10.8 points but noisy over seeds: not separated after Holm
    assert lstm_mlp.test.p < 0.05 < lstm_mlp.p_holm and lstm_mlp.winner is None
    assert evidence(lstm_rnn).startswith("+10.5 points, 95% CI [") and "power" not in evidence(lstm_rnn)
    # not separated: what these seeds could have separated, at Holm's first level (0.05 / 3 pairs)
    assert evidence(tied).endswith("; 3 seeds detect 21.5 points or more with 80% power")
    assert finding(summary, "d", list(comparisons.values())) == (
        f"lstm has the highest mean test accuracy (93.2% ± 1.3 over 3 seeds); it beats rnn ({evidence(lstm_rnn)}) "
        f"but the data cannot separate it from mlp ({evidence(lstm_mlp)}). "
        f"The data cannot separate rnn and mlp ({evidence(tied)})."
    )


def test_noisy_large_gap_is_not_called_a_win():
    summary = summary_frame(_runs({"rnn": [0.70, 0.90, 0.75], "lstm": [0.95, 0.80, 0.96]}))
    (comparison,) = compare_models(seed_accuracy(summary, "d"), {})
    assert comparison.first == "lstm" and comparison.test.mean == pytest.approx(0.12)
    assert comparison.p_holm > 0.05 and comparison.winner is None
    assert finding(summary, "d", [comparison]).startswith(
        "lstm has the highest mean test accuracy (90.3% ± 9.0 over 3 seeds); the data cannot separate it from rnn "
        "(+12.0 points, 95% CI ["
    )


def test_zero_variance_difference_is_a_win_that_says_so():
    summary = summary_frame(_runs({"rnn": [0.80, 0.70], "lstm": [0.90, 0.80]}))
    (comparison,) = compare_models(seed_accuracy(summary, "d"), {})
    assert comparison.winner == "lstm" and comparison.p_holm == 0.0
    assert evidence(comparison) == "+10.0 points on each of the 2 seeds; zero variance, so p = 0, Holm-adjusted p = 0"


def test_one_seed_falls_back_to_that_seeds_mcnemar_p():
    summary = summary_frame(_runs({"mlp": [0.55], "rnn": [0.5], "lstm": [1.0]}))
    correct = {
        ("lstm", 0): [True] * 40,
        ("rnn", 0): [True] * 20 + [False] * 20,  # lstm vs rnn: b = 20, c = 0
        ("mlp", 0): [False] * 2 + [True] * 22 + [False] * 16,  # vs lstm: b = 18, c = 0; vs rnn: b = 4, c = 2
    }
    comparisons = {(c.first, c.second): c for c in compare_models(seed_accuracy(summary, "d"),
                                                                 _predictions(correct))}
    lstm_rnn, mlp_rnn = comparisons["lstm", "rnn"], comparisons["mlp", "rnn"]
    assert lstm_rnn.test.n == 1 and math.isnan(lstm_rnn.test.p)
    assert lstm_rnn.p_raw == mcnemar_p(20, 0) == lstm_rnn.mcnemar[0]
    assert mlp_rnn.p_raw == pytest.approx(mcnemar_p(4, 2)) == pytest.approx(44 / 64)
    raw = [c.p_raw for c in comparisons.values()]
    assert [c.p_holm for c in comparisons.values()] == pytest.approx(list(holm(raw)))
    assert lstm_rnn.winner == "lstm" and verdict(lstm_rnn) == "lstm beats rnn"
    assert evidence(lstm_rnn).startswith("+50.0 points on seed 0 only, McNemar p < 0.001, Holm-adjusted p < 0.001")
    assert mlp_rnn.p_holm > 0.05 and mlp_rnn.winner is None
    assert finding(summary, "d", list(comparisons.values())) == (
        "lstm has the highest mean test accuracy (100.0% over 1 seed); "
        f"it beats mlp ({evidence(comparisons['lstm', 'mlp'])}) and rnn ({evidence(lstm_rnn)}). "
        f"The data cannot separate mlp and rnn ({evidence(mlp_rnn)}). "
        "Verdicts on one seed rest on McNemar's exact test of that seed's test predictions."
    )


def test_single_seed_without_predictions_names_no_winner():
    summary = summary_frame(_runs({"rnn": [0.5], "lstm": [1.0]}))
    (comparison,) = compare_models(seed_accuracy(summary, "d"), {})
    assert math.isnan(comparison.p_holm) and comparison.winner is None


def test_length_buckets_are_equal_count_even_with_ties():
    lengths = pd.Series([5, 5, 5, 5, 5, 5, 7, 8, 9, 10, 11, 12], index=range(100, 112))
    buckets = length_buckets(lengths, "tokens")
    assert buckets["bucket"].value_counts().tolist() == [3, 3, 3, 3]
    assert list(buckets.index) == list(lengths.index)
    assert buckets.drop_duplicates("bucket")["lengths"].tolist() == ["5 tokens", "5 tokens", "7–9 tokens",
                                                                      "10–12 tokens"]
    few = length_buckets(pd.Series([3, 3, 3, 4]), "frames")
    assert few["bucket"].tolist() == [1, 1, 2, 2] and few["lengths"].tolist()[-1] == "3–4 frames"
    assert length_buckets(pd.Series([], dtype="int64"), "frames").empty
    with pytest.raises(ValueError, match="at least 1"):
        length_buckets(lengths, "tokens", 0)


def test_accuracy_by_length_pools_seeds_per_bucket():
    lengths = [8, 1, 7, 2, 6, 3, 5, 4]  # index i has length lengths[i]; buckets by length: {1,2} {3,4} {5,6} {7,8}
    def frame(right: list[bool]) -> pd.DataFrame:
        return pd.DataFrame({"index": range(8), "target": 1, "prediction": [1 if r else 0 for r in right],
                             "length": lengths})[::-1]  # row order must not matter
    predictions = {
        ("lstm", 0): frame([True] * 8),
        ("lstm", 1): frame([False, True, True, True, True, True, True, True]),  # wrong on length 8
        ("rnn", 0): frame([False, True, False, True, True, True, True, False]),  # wrong on 8, 7 and 4
    }
    table = accuracy_by_length(predictions, "d", "frames", n_buckets=4).set_index(["model", "bucket"])
    assert list(table.columns) == ["dataset", "lengths", "n_examples", "n_seeds", "accuracy", "accuracy_min",
                                   "accuracy_max"]
    assert table.loc["lstm", "lengths"].tolist() == ["1–2 frames", "3–4 frames", "5–6 frames", "7–8 frames"]
    assert (table["n_examples"] == 2).all() and table.loc["lstm", "n_seeds"].eq(2).all()
    assert table.loc["lstm", "accuracy"].tolist() == [1.0, 1.0, 1.0, 0.75]
    assert table.loc[("lstm", 4), ["accuracy_min", "accuracy_max"]].tolist() == [0.5, 1.0]
    assert table.loc["rnn", "accuracy"].tolist() == [1.0, 0.5, 1.0, 0.0]
    assert length_reading(table.reset_index()) == (
        "On the longest inputs (7–8 frames) rnn is 75.0 points behind lstm (0.0% vs 75.0%); "
        "on the shortest (1–2 frames) rnn is level with lstm (100.0% vs 100.0%)."
    )
