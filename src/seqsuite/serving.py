"""A trained model as users call it: raw input in (texts; WAV files or sample arrays with their rate), labels by
name and their probabilities out. Logged as an MLflow pyfunc with seqsuite's own code (code_paths) and its
requirements, so `mlflow.pyfunc.load_model` and `mlflow models serve` use it where no checkout exists.
"""

from __future__ import annotations

import json
from dataclasses import asdict
from pathlib import Path
from typing import Any

import mlflow.pyfunc
import numpy as np
import pandas as pd
import torch
from mlflow.models import ModelSignature
from mlflow.types.schema import Array, ColSpec, DataType, Schema
from torch import nn

from seqsuite.batches import model_batches
from seqsuite.checkpoint import save_torch
from seqsuite.features import speech, text
from seqsuite.models import model_entry
from seqsuite.models.build import ArchitectureConfig, InputSpec, build_model
from seqsuite.tracking import pinned
from seqsuite.training import class_probabilities

ARTIFACTS = {"settings": "settings.json", "weights": "weights.pt"}
# what the logged model's code imports, at the versions it was trained with
REQUIREMENTS = ("torch", "torchaudio", "numpy", "pandas", "scipy", "scikit-learn", "soundfile")
SPEECH_INPUT = "a speech model takes a DataFrame with a 'path' column (WAV files) or 'samples' and 'sample_rate'"
SPEECH_COLUMNS = ("path", "samples", "sample_rate")


class TextInputs:
    """Texts to token ids and TF-IDF rows with the training split's vocabulary and vectoriser."""

    def __init__(self, state: dict[str, Any]) -> None:
        self.index = {word: i for i, word in enumerate(state["vocab"])}
        self.replacements: dict[str, str] = state.get("replace", {})
        self.max_tokens = state["max_tokens"]
        self.vectorizer = text.restore_tfidf(state["tfidf"])

    def features(self, model_input: Any) -> tuple[list[np.ndarray], Any]:
        """Sequences and tabular rows of a list of strings (or a one-column DataFrame of them)."""
        if isinstance(model_input, pd.DataFrame):
            if "text" not in model_input and set(SPEECH_COLUMNS) & set(model_input):  # would be read as texts
                raise ValueError(f"a text model takes strings (a list, or a DataFrame with a 'text' column); got the "
                                 f"columns {list(model_input)}, a speech model's input: is this the right model?")
            model_input = model_input["text"] if "text" in model_input else model_input.iloc[:, 0]
        texts = [model_input] if isinstance(model_input, str) else list(model_input)
        for row, value in enumerate(texts):
            if not isinstance(value, str):
                raise ValueError(f"input row {row} is {value!r}, not a string: a text model takes strings")
        cleaned = [text.replaced(value, self.replacements) for value in texts]
        return text.text_features(cleaned, self.index, self.max_tokens, self.vectorizer)


class SpeechInputs:
    """WAV files or sample arrays to frames and their summaries, normalised by the training split's statistics."""

    def __init__(self, state: dict[str, Any]) -> None:
        self.config = speech.SpeechFeatureConfig(**state["settings"])
        self.transform = speech.frame_transform(self.config)
        self.mean, self.std = (np.asarray(state[key], dtype=np.float32) for key in ("mean", "std"))

    def features(self, model_input: Any) -> tuple[list[np.ndarray], Any]:
        """Sequences and tabular rows of a DataFrame with a 'path', or 'samples' and 'sample_rate', in every row
        (MLflow's schema check refuses a table that mixes the two)."""
        rows = model_input
        if not isinstance(rows, pd.DataFrame) or rows.empty or not ({"path"} <= set(rows) or
                                                                     {"samples", "sample_rate"} <= set(rows)):
            raise ValueError(f"{SPEECH_INPUT}; got {type(model_input).__name__} {model_input!r:.200}")
        return speech.normalised_features([self._frames(row, i) for i, row in enumerate(rows.to_dict("records"))],
                                          self.mean, self.std)

    def _frames(self, row: dict[str, Any], number: int) -> np.ndarray:
        fix = "Give a WAV file or a longer array of finite samples."
        if isinstance(row.get("path"), str):
            return speech.file_frames(Path(row["path"]), self.config, self.transform)
        if row.get("samples") is None or pd.isna(row.get("sample_rate")):
            raise ValueError(f"input row {number} has neither a path nor samples with a sample_rate: {SPEECH_INPUT}")
        source = f"input row {number}"
        samples = speech.checked_samples(np.asarray(row["samples"]), source, fix)
        if samples.size and np.abs(samples).max() > 1:  # integer PCM: frames of a different scale than training's
            raise speech.AudioError(f"{source} has samples up to {np.abs(samples).max():g}, outside [-1, 1]: give "
                                    "floats in [-1, 1], as soundfile reads them (16-bit PCM: divide by 32768)")
        return speech.checked_frames(samples, int(row["sample_rate"]), self.config, self.transform, source, fix)


class Classifier(mlflow.pyfunc.PythonModel):
    """The pyfunc: reads settings.json and weights.pt from its artifacts, labels raw input."""

    def load_context(self, context: mlflow.pyfunc.PythonModelContext) -> None:
        settings = json.loads(Path(context.artifacts["settings"]).read_text())
        self.labels: list[str] = settings["labels"]
        self.batch_size: int = settings["batch_size"]
        self.pad_index: int = settings["input_spec"]["pad_index"]
        self.tabular = model_entry(settings["model"]).layer is None
        self.inputs = TextInputs(settings["inputs"]) if settings["inputs"]["kind"] == "text" else \
            SpeechInputs(settings["inputs"])
        self.model = build_model(settings["model"], InputSpec(**settings["input_spec"]),
                                 ArchitectureConfig(**settings["architecture"]))
        self.model.load_state_dict(torch.load(context.artifacts["weights"], weights_only=True))

    def predict(self, context: Any, model_input: pd.DataFrame, params: dict[str, Any] | None = None) -> pd.DataFrame:
        """One row per input: the predicted label, its probability, and every label's probability. The signature
        makes every input a DataFrame (a DataFrame hint is one MLflow infers nothing from)."""
        sequences, tabular = self.inputs.features(model_input)
        unlabelled = torch.zeros(len(sequences), dtype=torch.long)
        data = model_batches(self.tabular, sequences, tabular, unlabelled, self.pad_index)
        probabilities = class_probabilities(self.model, data, self.batch_size)
        best = probabilities.argmax(axis=1)
        return pd.DataFrame({
            "label": [self.labels[i] for i in best],
            "probability": probabilities[np.arange(len(best)), best].astype(float),
            "probabilities": [dict(zip(self.labels, row.astype(float).tolist(), strict=True)) for row in probabilities],
        })


def model_settings(model_name: str, labels: list[str], inputs: InputSpec, architecture: ArchitectureConfig,
                   batch_size: int, raw_inputs: dict[str, Any]) -> dict[str, Any]:
    """What Classifier rebuilds the model and its input path from (settings.json)."""
    return {"model": model_name, "labels": labels, "input_spec": asdict(inputs),
            "architecture": asdict(architecture), "batch_size": batch_size, "inputs": raw_inputs}


def write_artifacts(folder: Path, model: nn.Module, settings: dict[str, Any]) -> dict[str, str]:
    """settings.json and the weights in folder, as the artifacts dict pyfunc.log_model takes."""
    (folder / ARTIFACTS["settings"]).write_text(json.dumps(settings))
    save_torch(model.state_dict(), folder / ARTIFACTS["weights"])
    return {name: str(folder / filename) for name, filename in ARTIFACTS.items()}


def signature(kind: str) -> ModelSignature:
    """Input schema: strings for text; a path, or samples with their rate, per row for speech."""
    if kind == "text":
        return ModelSignature(inputs=Schema([ColSpec(DataType.string)]))
    return ModelSignature(inputs=Schema([ColSpec(DataType.string, "path", required=False),
                                         ColSpec(Array(DataType.double), "samples", required=False),
                                         ColSpec(DataType.long, "sample_rate", required=False)]))


def input_example(inputs: dict[str, Any]) -> Any:
    """What the model page shows as its input: two test texts, or a second of a 440 Hz tone as samples."""
    if inputs["kind"] == "text":
        return inputs["example"]
    rate = inputs["settings"]["sample_rate"]
    tone = 0.1 * np.sin(2 * np.pi * 440 * np.arange(rate) / rate)
    return pd.DataFrame({"samples": [tone], "sample_rate": [rate]})


def requirements() -> list[str]:
    """What the model's code imports, at the installed versions."""
    return pinned(*REQUIREMENTS)
