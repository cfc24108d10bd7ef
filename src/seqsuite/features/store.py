"""Build every split's features from a table of examples, and save or load them as one folder."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from scipy import sparse

from seqsuite.data.loaders import SPLITS
from seqsuite.features import FEATURE_FILES, speech, text
from seqsuite.files import atomic_path


@dataclass
class SplitFeatures:
    """One split: a sequence per example for the recurrent models, a row per example for the MLP."""

    sequences: list[np.ndarray]  # token ids (T,) or frames (T, C)
    tabular: sparse.csr_matrix  # (N, D)
    labels: np.ndarray  # (N,) class ids


@dataclass
class FeatureSet:
    """All splits plus what the models need to know about them (meta.json)."""

    splits: dict[str, SplitFeatures]
    meta: dict[str, Any] = field(default_factory=dict)


def _label_ids(frame: pd.DataFrame) -> tuple[list[str], dict[str, np.ndarray]]:
    labels = sorted(frame["label"].unique())
    index = {label: i for i, label in enumerate(labels)}
    return labels, {s: frame.loc[frame["split"] == s, "label"].map(index).to_numpy(np.int64) for s in SPLITS}


def _counts(frame: pd.DataFrame) -> dict[str, int]:
    return {f"n_{s}": int((frame["split"] == s).sum()) for s in SPLITS}


def build_text_features(frame: pd.DataFrame, min_count: int, max_vocab: int, max_tokens: int,
                        tfidf_ngram_max: int, tfidf_min_df: int, tfidf_max_features: int) -> FeatureSet:
    """Token ids from a train-only vocabulary, and TF-IDF fitted on train only."""
    labels, targets = _label_ids(frame)
    texts = {s: frame.loc[frame["split"] == s, "item"].tolist() for s in SPLITS}
    tokens = {s: [text.tokenize(t) for t in texts[s]] for s in SPLITS}
    vocab = text.build_vocab(tokens["train"], min_count, max_vocab)
    index = {word: i for i, word in enumerate(vocab)}
    vectorizer = text.fit_tfidf(texts["train"], tfidf_ngram_max, tfidf_min_df, tfidf_max_features)
    splits = {
        s: SplitFeatures(
            sequences=[text.encode(t, index, max_tokens) for t in tokens[s]],
            tabular=text.tfidf_matrix(vectorizer, texts[s]),
            labels=targets[s],
        )
        for s in SPLITS
    }
    meta = {
        "kind": "text",
        "labels": labels,
        "vocab": vocab,
        "vocab_size": len(vocab),
        "pad_index": text.PAD_INDEX,
        "sequence_dim": None,
        "tabular_dim": int(splits["train"].tabular.shape[1]),
        **_counts(frame),
    }
    return FeatureSet(splits, meta)


def build_speech_features(frame: pd.DataFrame, root: Path, config: speech.SpeechFeatureConfig) -> FeatureSet:
    """Normalised frames (statistics from train only) and their per-coefficient mean and sd."""
    labels, targets = _label_ids(frame)
    transform = speech.frame_transform(config)
    frames = {
        s: [speech.file_frames(root / item, config, transform) for item in frame.loc[frame["split"] == s, "item"]]
        for s in SPLITS
    }
    mean, std = speech.normalisation(frames["train"])
    splits = {}
    for s in SPLITS:
        normalised = [((f - mean) / std).astype(np.float32) for f in frames[s]]
        summaries = np.stack([speech.summary_vector(f) for f in normalised])
        splits[s] = SplitFeatures(normalised, sparse.csr_matrix(summaries), targets[s])
    meta = {
        "kind": "speech",
        "labels": labels,
        "vocab_size": None,
        "pad_index": 0,
        "sequence_dim": config.n_coefficients,
        "tabular_dim": 2 * config.n_coefficients,
        **_counts(frame),
    }
    return FeatureSet(splits, meta)


def save_features(features: FeatureSet, folder: Path) -> None:
    """Write the FEATURE_FILES (sequences, tabular rows, meta) into folder."""
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
    with atomic_path(folder / FEATURE_FILES["meta"]) as partial:
        partial.write_text(json.dumps(features.meta, indent=1))


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
    return FeatureSet(splits, json.loads((folder / FEATURE_FILES["meta"]).read_text()))
