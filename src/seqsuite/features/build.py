"""Build every split's features from a table of examples: token ids and TF-IDF for text, normalised frames and
their statistics for speech; and, for a logged model, what turns raw input into them (FeatureSet.inputs)."""

from __future__ import annotations

from dataclasses import asdict
from pathlib import Path

import numpy as np
import pandas as pd

from seqsuite.data import SPLITS
from seqsuite.features import speech, text
from seqsuite.features.store import FeatureSet, SplitFeatures


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
    vocab = text.build_vocab((text.tokenize(t) for t in texts["train"]), min_count, max_vocab)
    index = {word: i for i, word in enumerate(vocab)}
    vectorizer = text.fit_tfidf(texts["train"], tfidf_ngram_max, tfidf_min_df, tfidf_max_features)
    splits = {s: SplitFeatures(*text.text_features(texts[s], index, max_tokens, vectorizer), targets[s])
              for s in SPLITS}
    meta = {
        "kind": "text",
        "labels": labels,
        "vocab_size": len(vocab),
        "pad_index": text.PAD_INDEX,
        "sequence_dim": None,
        "tabular_dim": int(splits["train"].tabular.shape[1]),
        **_counts(frame),
    }
    inputs = {"kind": "text", "vocab": vocab, "max_tokens": max_tokens, "tfidf": text.tfidf_state(vectorizer),
              "example": texts["test"][:2]}
    return FeatureSet(splits, meta, inputs)


def build_speech_features(frame: pd.DataFrame, root: Path, config: speech.SpeechFeatureConfig) -> FeatureSet:
    """Normalised frames (statistics from train only) and their per-coefficient mean and sd."""
    labels, targets = _label_ids(frame)
    transform = speech.frame_transform(config)
    frames = {
        s: [speech.file_frames(root / item, config, transform) for item in frame.loc[frame["split"] == s, "item"]]
        for s in SPLITS
    }
    mean, std = speech.normalisation(frames["train"])
    splits = {s: SplitFeatures(*speech.normalised_features(frames[s], mean, std), targets[s]) for s in SPLITS}
    meta = {
        "kind": "speech",
        "labels": labels,
        "vocab_size": None,
        "pad_index": 0,
        "sequence_dim": config.n_coefficients,
        "tabular_dim": 2 * config.n_coefficients,
        **_counts(frame),
    }
    inputs = {"kind": "speech", "settings": asdict(config), "mean": mean.tolist(), "std": std.tolist()}
    return FeatureSet(splits, meta, inputs)
