"""Datasets: the registry, verified downloads, and readers into labelled, split examples."""

SPLITS = ("train", "val", "test")
