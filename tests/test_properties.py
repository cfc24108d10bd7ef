"""Property-based tests (hypothesis): generated text tables and configs either work or fail naming the cause."""

from __future__ import annotations

import copy
import csv
import tempfile
from pathlib import Path

import numpy as np
import yaml
from conftest import REPO
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from seqsuite.config import config_problems
from seqsuite.data.registry import spec_from_dict
from seqsuite.steps.data import build_features

TEXT_SETTINGS = yaml.safe_load((REPO / "config" / "config.yaml").read_text())["features"]["text"]
SCHEMA = yaml.safe_load((REPO / "workflow" / "schemas" / "config.schema.yaml").read_text())
DEFAULTS = yaml.safe_load((REPO / "config" / "config.yaml").read_text())

rows = st.lists(
    st.tuples(
        # any text up to U+02FF (Latin and its diacritics), empty too
        st.text(alphabet=st.characters(blacklist_categories=("Cs",), max_codepoint=0x2FF), max_size=40),
        st.sampled_from(["pos", "neg"] * 40 + ["neutral"]),
        st.sampled_from(["train"] * 30 + ["test"] * 9 + ["TEST"]),
    ),
    min_size=0, max_size=80,
)


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(rows=rows, encoding=st.sampled_from(["utf-8", "latin-1", "utf-16"]), declared=st.booleans(),
       val_fraction=st.sampled_from([0.05, 0.2, 0.5]))
def test_a_generated_text_table_builds_features_or_fails_naming_the_cause(rows, encoding, declared, val_fraction):
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "reviews.csv"
        try:
            with open(path, "w", encoding=encoding, newline="") as handle:
                writer = csv.writer(handle)
                writer.writerow(["review", "sentiment", "part"])
                writer.writerows(rows)
        except UnicodeEncodeError:
            event("not encodable")
            return  # text this encoding cannot hold is not a file anyone has
        read = {"file": "reviews.csv", "text_column": "review", "label_column": "sentiment"}
        if declared:  # else the default, utf-8
            read["encoding"] = encoding
        spec = spec_from_dict("reviews", {"kind": "text", "format": "text_table", "path": folder, "read": read,
                                          "split": {"method": "column", "column": "part"}})
        try:
            features = build_features(spec, Path(folder), TEXT_SETTINGS, split_seed=0, val_fraction=val_fraction)
        except ValueError as error:
            message = str(error)
            # the file, the dataset, or the setting to change is named
            assert any(name in message for name in (str(path), "'reviews'", "val_fraction", "read.encoding")), message
            event("refused, naming " + next(name for name in ("read.encoding", "val_fraction", "label", "split")
                                            if name in message) if any(name in message for name in (
                "read.encoding", "val_fraction", "label", "split")) else "refused: " + message[:60])
            return
    event("features built")
    meta = features.meta
    assert len(meta["labels"]) >= 2
    for split in ("train", "val", "test"):
        part = features.splits[split]
        assert len(part.labels) == len(part.sequences) == part.tabular.shape[0] > 0
        assert all(np.all(sequence < meta["vocab_size"]) for sequence in part.sequences)
    assert set(np.unique(features.splits["test"].labels)) <= set(np.unique(features.splits["train"].labels))


def mutations():
    """A path into the default config and a value to put there: wrong types, unknown keys, out-of-range numbers."""
    leaves = []

    def walk(node, path):
        if isinstance(node, dict):
            for key, value in node.items():
                walk(value, (*path, key))
        else:
            leaves.append(path)

    walk(DEFAULTS, ())
    values = st.one_of(st.text(max_size=5), st.integers(-3, 3), st.floats(allow_nan=False, width=32), st.booleans(),
                       st.none(), st.lists(st.integers(-1, 2), max_size=2))
    return st.tuples(st.sampled_from(leaves), values, st.booleans())


@settings(max_examples=200, deadline=None)
@given(mutation=mutations())
def test_a_mutated_config_is_valid_or_every_problem_names_a_key(mutation):
    path, value, rename = mutation
    config = copy.deepcopy(DEFAULTS)
    parent = config
    for key in path[:-1]:
        parent = parent[key]
    if rename:  # a misspelt key
        parent[path[-1] + "z"] = parent.pop(path[-1])
    else:
        parent[path[-1]] = value
    problems = config_problems(config, SCHEMA)
    if rename:
        assert problems, f"{'.'.join(path)}z was accepted"
    for problem in problems:
        where = problem.split(":")[0]
        assert where == "config" or where.split(".")[0] in DEFAULTS, problem
        assert path[-1] in problem or where == ".".join(path[:-1]) or where.startswith(".".join(path)), problem
