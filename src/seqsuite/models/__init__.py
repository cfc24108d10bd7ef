"""Every model the project trains, by name: the one registry that config checks, the schema, the report, the lab
and the benchmarks read. Free of torch, so that the workflow reads it while it parses the Snakefile; the
architectures are built by seqsuite.models.build, one module per family (mlp, recurrent, cells)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass


@dataclass(frozen=True)
class ModelEntry:
    """One trainable model: its name in config, its title in the report, and how it is built.

    layer names the torch.nn recurrent layer (RNN, LSTM, GRU) read out by a linear head; None is the MLP on
    fixed-size inputs. An ablation is a lab-only variant, switched on in config's longdep.ablations.
    """

    name: str
    title: str
    layer: str | None
    ablation: str | None = None
    forget_bias: float | None = None  # overrides the configured initial forget-gate bias (LSTMs)
    forget_gate: bool = True  # False: the 1997 LSTM, whose forget gate is fixed open (f_t = 1)


MODELS: dict[str, ModelEntry] = {entry.name: entry for entry in (
    ModelEntry("mlp", "MLP", layer=None),
    ModelEntry("rnn", "tanh RNN", layer="RNN"),
    ModelEntry("lstm", "LSTM", layer="LSTM"),
    ModelEntry("gru", "GRU", layer="GRU"),
    ModelEntry("lstm_forget_bias0", "LSTM, forget bias 0", layer="LSTM", ablation="forget_bias0", forget_bias=0.0),
    ModelEntry("lstm_no_forget_gate", "LSTM without forget gate (1997)", layer="LSTM", ablation="no_forget_gate",
               forget_gate=False),
)}

# What config's `models` and `longdep.models` may name: every model but the lab's ablations.
CHOICES = tuple(name for name, entry in MODELS.items() if entry.ablation is None)
# Config switch under longdep.ablations -> the model it adds.
ABLATIONS = {entry.ablation: name for name, entry in MODELS.items() if entry.ablation}
# Models whose input, forget and output gates the lab reads.
LSTM_MODELS = tuple(name for name, entry in MODELS.items() if entry.layer == "LSTM")


def model_entry(name: str) -> ModelEntry:
    """The registry entry of a model; an unknown name raises a ValueError listing the valid ones."""
    if name not in MODELS:
        raise ValueError(f"unknown model {name!r}; valid models are {', '.join(MODELS)}")
    return MODELS[name]


def ordered_models(names: Iterable[str]) -> list[str]:
    """Model names in registry order (MLP, RNN, LSTM, ...), names the registry lacks after them alphabetically."""
    present = {str(name) for name in names}
    return [name for name in MODELS if name in present] + sorted(present - set(MODELS))
