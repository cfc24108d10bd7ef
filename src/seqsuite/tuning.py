"""Random search with the same budget for every model (config: tune), and the expected best validation accuracy
after n trials (Dodge et al. 2019, "Show Your Work"), computed exactly from the trials' empirical distribution."""

from __future__ import annotations

import math
import zlib
from collections.abc import Sequence
from typing import Any

import numpy as np

TOLERANCE = 1e-12  # expected accuracies closer than this are equal


def draw_trials(space: dict[str, dict[str, Any]], defaults: dict[str, Any], draw_seed: int, stream: str,
                n_trials: int) -> list[dict[str, Any]]:
    """The hyperparameters of n_trials trials: the defaults with every knob of space drawn, trial by trial, from
    a generator seeded by draw_seed and stream (e.g. "fsdd/lstm"), so the same config always draws the same
    trials and adding trials keeps the earlier ones. Floats keep 3 significant digits."""
    generator = np.random.default_rng([draw_seed, zlib.crc32(stream.encode())])
    return [{**defaults, **{knob: _draw(generator, spec) for knob, spec in space.items()}} for _ in range(n_trials)]


def _draw(generator: np.random.Generator, spec: dict[str, Any]) -> Any:
    (kind, values), = spec.items()
    if kind == "choice":
        return values[int(generator.integers(len(values)))]
    low, high = values
    if kind == "log_uniform":
        return float(f"{math.exp(generator.uniform(math.log(low), math.log(high))):.3g}")
    return float(f"{generator.uniform(low, high):.3g}")


def space_problems(space: dict[str, dict[str, dict[str, Any]]], training: dict[str, dict[str, dict[str, Any]]],
                   models: list[str]) -> list[str]:
    """One line per problem of tune.space (by data kind, then model): a model of models without a space, a knob its
    model has no setting for, a range that is empty or, drawn on a log scale, not above 0."""
    problems = []
    for kind, spaces in space.items():
        problems += [f"tune.space.{kind}: no search space for {model}; add tune.space.{kind}.{model}"
                     for model in models if model not in spaces]
        for model, knobs in spaces.items():
            for knob, spec in knobs.items():
                where, settings = f"tune.space.{kind}.{model}.{knob}", training[kind][model]
                (distribution, values), = spec.items()
                if knob not in settings:
                    problems.append(f"{where}: {model} has no setting {knob!r}; its settings: {', '.join(settings)}")
                elif mismatch := _type_mismatch(settings[knob], distribution, values):
                    problems.append(f"{where}: {mismatch}")
                if distribution != "choice" and not values[0] < values[1]:
                    problems.append(f"{where}: the range {values} must go from low to high")
                if distribution == "log_uniform" and values[0] <= 0:
                    problems.append(f"{where}: a log-uniform range must be above 0, not {values}")
    return problems


def _type_mismatch(default: Any, distribution: str, values: list[Any]) -> str | None:
    """Why a distribution cannot draw a setting whose config value is default (its type), or None."""
    if default is None:  # e.g. clip_norm: null; any value may replace it
        return None
    kind = type(default)
    if kind in (list, bool, int) and distribution != "choice":
        return f"{distribution} draws numbers, but this setting is {kind.__name__} ({default!r}); use choice"
    wrong = [v for v in values if not (isinstance(v, kind) or (kind is float and type(v) is int))
             or (kind is int and type(v) is bool)] if distribution == "choice" else []
    return f"choice values {wrong} are not {kind.__name__} like {default!r}" if wrong else None


def expected_best(scores: Sequence[float], n: int) -> tuple[float, float]:
    """The mean and standard deviation of the best of n trials drawn with replacement from scores: with the scores
    sorted, the i-th of N is the best with probability (i/N)^n - ((i-1)/N)^n (Dodge et al. 2019, eq. 1)."""
    ordered = np.sort(np.asarray(scores, dtype=float))
    if not len(ordered) or n < 1:
        raise ValueError(f"expected_best needs at least one score and n >= 1 (got {len(ordered)} scores, n = {n})")
    cumulative = (np.arange(len(ordered) + 1) / len(ordered)) ** n
    weights = np.diff(cumulative)
    mean = float(weights @ ordered)
    return mean, math.sqrt(max(float(weights @ ordered**2) - mean**2, 0.0))


def expected_curve(scores: Sequence[float]) -> list[tuple[int, float, float]]:
    """(n, mean, sd) of the best validation score for n = 1 ... len(scores) trials."""
    return [(n, *expected_best(scores, n)) for n in range(1, len(scores) + 1)]


def best_trial(trials: Sequence[dict[str, Any]], search: str) -> dict[str, Any]:
    """The trial with the highest validation accuracy, the earliest on a tie; a diverged trial never wins. search
    names the search in the error when every trial diverged."""
    usable = [t for t in trials if not t.get("diverged")]
    if not usable:
        raise ValueError(f"{search}: every one of the {len(trials)} trials diverged; narrow its tune.space (lower "
                         "the lr range) or set clip_norm in its training settings, and rerun")
    return max(usable, key=lambda t: (t["metrics"]["val"]["accuracy"], -int(t["trial"])))


def crossings(curves: dict[str, list[tuple[int, float, float]]]) -> list[tuple[str, str, int]]:
    """Where two models' expected-best curves change order: (the model ahead from then on, the other, n). A tie
    is no change; the order after it is compared with the order before it."""
    names = sorted(curves)
    found = []
    for index, first in enumerate(names):
        for second in names[index + 1:]:
            leader = 0.0  # the sign of first's lead at the last n where the two differed
            for (n, ahead, _), (_, behind, _) in zip(curves[first], curves[second], strict=False):
                lead = 0.0 if abs(ahead - behind) <= TOLERANCE else float(np.sign(ahead - behind))
                if lead and leader and lead != leader:
                    found.append((first, second, n) if lead > 0 else (second, first, n))
                leader = lead or leader
    return found
