"""The random search's draws, the exact expected best of n trials, the search's choice and the tuning page's
sentences and tables, without Snakemake."""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest
import yaml
from conftest import REPO

from seqsuite.report.stats import Comparison, PairedTest
from seqsuite.report.tuning import crossing_sentence, verdicts_table
from seqsuite.steps.tune import choose
from seqsuite.tuning import best_trial, crossings, draw_trials, expected_best, expected_curve, space_problems

SPACE = {"lr": {"log_uniform": [1e-4, 1e-2]}, "dropout": {"uniform": [0.0, 0.5]}, "hidden_size": {"choice": [32, 64]}}
DEFAULTS = {"lr": 1e-3, "dropout": 0.2, "hidden_size": 96, "batch_size": 32}


def test_trials_are_drawn_within_the_space_the_same_every_time_and_more_trials_keep_the_earlier_ones():
    trials = draw_trials(SPACE, DEFAULTS, 7, "fsdd/lstm", 40)
    assert trials == draw_trials(SPACE, DEFAULTS, 7, "fsdd/lstm", 40)
    assert draw_trials(SPACE, DEFAULTS, 7, "fsdd/lstm", 10) == trials[:10]
    assert all(1e-4 <= t["lr"] <= 1e-2 and 0 <= t["dropout"] <= 0.5 and t["hidden_size"] in (32, 64)
               and t["batch_size"] == 32 for t in trials)
    assert {t["hidden_size"] for t in trials} == {32, 64}
    # log-uniform: about as many draws below the range's geometric middle (1e-3) as above it
    assert 10 <= sum(t["lr"] < 1e-3 for t in trials) <= 30
    assert draw_trials(SPACE, DEFAULTS, 7, "mr/lstm", 40) != trials
    assert draw_trials(SPACE, DEFAULTS, 8, "fsdd/lstm", 40) != trials


def test_space_problems_name_the_knob_the_model_lacks_a_bad_range_and_a_model_without_a_space():
    training = {"speech": {"mlp": {"lr": 1e-3, "hidden_sizes": [8]}, "lstm": {"lr": 1e-3, "hidden_size": 8}}}
    space = {"speech": {"mlp": {"hidden_size": {"choice": [8]}, "lr": {"log_uniform": [0.0, 0.1]}}}}
    problems = space_problems(space, training, ["mlp", "lstm"])
    assert "tune.space.speech: no search space for lstm; add tune.space.speech.lstm" in problems
    assert any(p.startswith("tune.space.speech.mlp.hidden_size: mlp has no setting 'hidden_size'") for p in problems)
    assert "tune.space.speech.mlp.lr: a log-uniform range must be above 0, not [0.0, 0.1]" in problems
    typed = {"speech": {"mlp": {"hidden_sizes": {"choice": [128, [256]]}},
                        "lstm": {"hidden_size": {"uniform": [8, 64]}}}}
    assert space_problems(typed, training, ["mlp", "lstm"]) == [
        "tune.space.speech.mlp.hidden_sizes: choice values [128] are not list like [8]",
        "tune.space.speech.lstm.hidden_size: uniform draws numbers, but this setting is int (8); use choice"]
    reversed_range = {"speech": {"mlp": {"lr": {"uniform": [0.1, 0.01]}}, "lstm": {"lr": {"uniform": [0.0, 1.0]}}}}
    assert space_problems(reversed_range, training, ["mlp", "lstm"]) == [
        "tune.space.speech.mlp.lr: the range [0.1, 0.01] must go from low to high"]


def test_the_shipped_space_fits_the_shipped_settings():
    config = yaml.safe_load((REPO / "config" / "config.yaml").read_text())
    assert space_problems(config["tune"]["space"], config["training"], ["mlp", "rnn", "lstm", "gru"]) == []
    kinds = {kind: {model: set(knobs) for model, knobs in spaces.items()}
             for kind, spaces in config["tune"]["space"].items()}
    # the same kinds of knobs for every model: width is hidden_sizes for the MLP, hidden_size for the others
    assert all({k.replace("hidden_sizes", "hidden_size") for k in knobs} == {"lr", "dropout", "weight_decay",
                                                                            "hidden_size"}
               for spaces in kinds.values() for knobs in spaces.values())


@pytest.mark.parametrize("scores", [[0.5], [0.7, 0.6, 0.9], [0.8, 0.8, 0.6, 0.95, 0.8]])
def test_the_expected_best_of_n_trials_equals_the_mean_and_sd_over_every_sequence_of_n_draws(scores):
    for n in range(1, 4):
        bests = [max(draw) for draw in itertools.product(scores, repeat=n)]
        mean, sd = expected_best(scores, n)
        assert mean == pytest.approx(np.mean(bests), abs=1e-12)
        assert sd == pytest.approx(np.std(bests), abs=1e-9)


def test_the_expected_best_starts_at_the_mean_rises_and_stays_below_the_best_score():
    scores = [0.61, 0.74, 0.52, 0.80, 0.66]
    curve = expected_curve(scores)
    assert [n for n, _, _ in curve] == [1, 2, 3, 4, 5]
    assert curve[0][1] == pytest.approx(np.mean(scores))
    means = [mean for _, mean, _ in curve]
    assert all(a < b for a, b in itertools.pairwise(means)) and means[-1] < max(scores)
    with pytest.raises(ValueError, match="at least one score"):
        expected_best([], 1)


def trial(index: int, accuracy: float, diverged: str | None = None) -> dict:
    """A trial's record; a diverged one scores 0.5, its majority-label accuracy."""
    return {"trial": index, "metrics": {"val": {"accuracy": accuracy}}, "hyperparameters": {"lr": index / 10},
            "diverged": diverged, "score": 0.5 if diverged else accuracy}


def test_the_search_chooses_the_best_validation_accuracy_the_earliest_on_a_tie_never_a_diverged_trial():
    trials = [trial(0, 0.7), trial(1, 0.9), trial(2, 0.99, diverged="loss 1e9"), trial(3, 0.9)]
    assert best_trial(trials, "lstm on d")["trial"] == 1
    chosen = choose({"dataset": "d", "model": "lstm", "run_id": "r", "experiment_id": "1", "knobs": ["lr"]},
                    list(reversed(trials)))
    assert (chosen["best_trial"], chosen["hyperparameters"], chosen["diverged_trials"]) == (1, {"lr": 0.1}, [2])
    # in trial order, whatever order they came in; the diverged trial counts at its majority-label accuracy
    assert chosen["val_accuracy"] == [0.7, 0.9, 0.5, 0.9]
    assert chosen["expected_best"][0]["mean"] == pytest.approx(np.mean([0.7, 0.9, 0.5, 0.9]))
    assert chosen["expected_best"][-1]["mean"] <= chosen["best_val_accuracy"]
    with pytest.raises(ValueError, match="rnn on d: every one of the 1 trials diverged; narrow its tune.space"):
        best_trial([trial(0, 0.9, diverged="nan")], "rnn on d")


def curve(means: list[float]) -> list[tuple[int, float, float]]:
    return [(n, mean, 0.0) for n, mean in enumerate(means, start=1)]


def test_crossings_are_where_the_order_changes_and_a_tie_between_is_no_crossing():
    curves = {"mlp": curve([0.70, 0.75, 0.77, 0.78]), "lstm": curve([0.60, 0.75, 0.79, 0.82]),
              "rnn": curve([0.50, 0.60, 0.70, 0.72])}
    assert crossings(curves) == [("lstm", "mlp", 3)]
    assert crossing_sentence(curves) == ("The curves cross: lstm overtakes mlp at 3 trials; after 4 trials the "
                                         "expected best is lstm > mlp > rnn.")
    touching = {"mlp": curve([0.7, 0.7, 0.8]), "lstm": curve([0.6, 0.7, 0.7])}
    assert crossings(touching) == []
    assert crossing_sentence(touching) == "The curves do not cross: after 3 trials the expected best is mlp > lstm."
    assert "mlp = lstm" in crossing_sentence({"mlp": curve([0.7]), "lstm": curve([0.7])})


def comparison(first: str, second: str, mean: float, p: float) -> Comparison:
    test = PairedTest(n=5, mean=mean, low=mean - 0.01, high=mean + 0.01, p=p, zero_variance=False, sd=0.01)
    return Comparison(first, second, test, {}, p, p, math.nan)


def test_the_verdicts_table_names_each_changed_verdict():
    default = [comparison("mlp", "lstm", 0.04, 0.001), comparison("lstm", "rnn", 0.002, 0.6)]
    tuned = [comparison("lstm", "mlp", 0.001, 0.8), comparison("lstm", "rnn", 0.002, 0.7)]
    table, changed = verdicts_table(default, tuned)
    assert changed == ("Verdicts that changed after tuning: lstm and mlp: mlp beats lstm with the default settings, "
                       "the data cannot separate lstm and mlp after tuning.")
    assert [[c.lines[0].text for c in row.cells] for row in table.body][0][:3] == [
        "lstm and mlp", "mlp beats lstm (mlp − lstm: +4.0 points, 95% CI [3.0, 5.0], Holm-adjusted p = 0.001)",
        "the data cannot separate lstm and mlp (lstm − mlp: +0.1 points, 95% CI [-0.9, 1.1], Holm-adjusted p = 0.8)"]
    assert [row.cells[-1].lines[0].text for row in table.body] == ["yes", "no"]
    assert verdicts_table(default, default)[1] == "No verdict changed after tuning."
    assert "did not run" in verdicts_table([], tuned)[1]
