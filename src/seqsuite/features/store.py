"""One dataset's features as one folder: saved by extract_features, loaded by every training job (which so
imports neither the audio nor the text feature code)."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from scipy import sparse

from seqsuite.data import SPLITS
from seqsuite.features import FEATURE_FILES
from seqsuite.files import atomic_path


@dataclass
class SplitFeatures:
    """One split: a sequence per example for the recurrent models, a row per example for the MLP."""

    sequences: list[np.ndarray]  # token ids (T,) or frames (T, C)
    tabular: sparse.csr_matrix  # (N, D)
    labels: np.ndarray  # (N,) class ids


@dataclass
class FeatureSet:
    """All splits, what the models need to know about them (meta.json), and what turns raw input (texts,
    audio) into these features the way training saw them (inputs.json: vocabulary, TF-IDF, frame settings and
    normalisation), which a logged model carries (seqsuite.serving)."""

    splits: dict[str, SplitFeatures]
    meta: dict[str, Any] = field(default_factory=dict)
    inputs: dict[str, Any] = field(default_factory=dict)


def save_features(features: FeatureSet, folder: Path) -> None:
    """Write the FEATURE_FILES (sequences, tabular rows, meta, inputs) into folder."""
    folder.mkdir(parents=True, exist_ok=True)
    sequence_arrays, tabular_arrays = {}, {}
    for s, split in features.splits.items():
        sequence_arrays[f"{s}_values"] = np.concatenate(split.sequences, axis=0)
        sequence_arrays[f"{s}_lengths"] = np.array([len(x) for x in split.sequences], dtype=np.int64)
        sequence_arrays[f"{s}_labels"] = split.labels
        csr = split.tabular.tocsr()
        tabular_arrays.update({f"{s}_data": csr.data, f"{s}_indices": csr.indices,
                               f"{s}_indptr": csr.indptr, f"{s}_shape": np.array(csr.shape)})
    for name, arrays in (("sequences", sequence_arrays), ("tabular", tabular_arrays)):
        with atomic_path(folder / FEATURE_FILES[name]) as partial:
            np.savez(partial, **arrays)
    for name, content in (("meta", features.meta), ("inputs", features.inputs)):
        with atomic_path(folder / FEATURE_FILES[name]) as partial:
            partial.write_text(json.dumps(content, indent=1))


def load_features(folder: Path) -> FeatureSet:
    """Read a folder written by save_features."""
    sequences = np.load(folder / FEATURE_FILES["sequences"])
    tabular = np.load(folder / FEATURE_FILES["tabular"])
    splits = {}
    for s in SPLITS:
        boundaries = np.cumsum(sequences[f"{s}_lengths"])[:-1]
        splits[s] = SplitFeatures(
            sequences=np.split(sequences[f"{s}_values"], boundaries),
            tabular=sparse.csr_matrix(
                (tabular[f"{s}_data"], tabular[f"{s}_indices"], tabular[f"{s}_indptr"]),
                shape=tuple(tabular[f"{s}_shape"]),
            ),
            labels=sequences[f"{s}_labels"],
        )
    meta, inputs = (json.loads((folder / FEATURE_FILES[name]).read_text()) for name in ("meta", "inputs"))
    return FeatureSet(splits, meta, inputs)
