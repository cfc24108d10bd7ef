"""The feature step: read a downloaded dataset (seqsuite.steps.download), split it and build its features."""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Any

import torch

from seqsuite.data.loaders import carve_validation, check_labels, check_splits, load_examples
from seqsuite.data.registry import DatasetSpec, spec_from_dict
from seqsuite.features.build import build_speech_features, build_text_features
from seqsuite.features.speech import SpeechFeatureConfig
from seqsuite.features.store import FeatureSet, save_features

log = logging.getLogger("seqsuite")


def build_features(spec: DatasetSpec, dataset_dir: Path, settings: dict[str, Any], split_seed: int,
                   val_fraction: float) -> FeatureSet:
    """The dataset's examples, checked and split, turned into features."""
    frame = load_examples(spec, dataset_dir, split_seed)
    check_labels(spec.name, frame)
    frame = carve_validation(frame, val_fraction, split_seed)
    check_splits(spec.name, frame, spec.split)
    if spec.kind == "speech":
        return build_speech_features(frame, dataset_dir, SpeechFeatureConfig(**settings))
    features = build_text_features(frame, **settings)
    features.inputs["replace"] = spec.read.get("replace", {})  # so that its logged models clean texts as it was
    return features


def extract(entry: dict[str, Any], dataset_dir: Path, provenance: Path, out_dir: Path, settings: dict[str, Any],
            split_seed: int, val_fraction: float, threads: int) -> None:
    """Read a dataset, carve validation from train, build its features and write them."""
    torch.set_num_threads(threads)
    spec = spec_from_dict(entry.pop("name"), entry)
    try:
        features = build_features(spec, dataset_dir, settings, split_seed, val_fraction)
    except ValueError as error:
        if spec.path is None:
            raise
        # a custom dataset is read from its copy; the user fixes their own files
        raise ValueError(str(error).replace(str(dataset_dir), spec.path)) from error
    fetched = json.loads(provenance.read_text())
    features.meta.update(
        dataset=spec.name,
        settings=settings,
        source=fetched["url"],
        manifest_sha256=fetched["manifest_sha256"],
    )
    save_features(features, out_dir)
    log.info("%s: %s", spec.name, {k: v for k, v in features.meta.items() if k.startswith("n_")})
