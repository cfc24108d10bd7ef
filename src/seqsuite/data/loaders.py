"""Read a downloaded dataset into one table of examples with labels and splits."""

from __future__ import annotations

import re
from pathlib import Path

import pandas as pd
from sklearn.model_selection import train_test_split

from seqsuite.data.registry import DatasetSpec

SPLITS = ("train", "val", "test")


def load_examples(spec: DatasetSpec, root: Path, split_seed: int) -> pd.DataFrame:
    """All examples of a dataset as columns item (text or WAV path), label and split (train/test)."""
    readers = {
        "text_lines": _read_text_lines,
        "text_table": _read_text_table,
        "speech_files": _read_speech_files,
        "speech_folders": _read_speech_folders,
    }
    frame = readers[spec.format](spec, root)
    if frame.empty:
        raise ValueError(f"dataset {spec.name!r}: no examples found under {root}; check its 'read' settings")
    if "split" not in frame:
        frame["split"] = _split(spec, frame, root, split_seed)
    frame["label"] = frame["label"].astype(str)
    return frame.reset_index(drop=True)


def carve_validation(frame: pd.DataFrame, val_fraction: float, split_seed: int) -> pd.DataFrame:
    """Move a stratified fraction of the training examples to a 'val' split."""
    train_index = frame.index[frame["split"] == "train"]
    _, val_index = train_test_split(
        train_index,
        test_size=val_fraction,
        random_state=split_seed,
        stratify=frame.loc[train_index, "label"],
    )
    carved = frame.copy()
    carved.loc[val_index, "split"] = "val"
    return carved


def _read_text_lines(spec: DatasetSpec, root: Path) -> pd.DataFrame:
    """One file per label, one example per non-empty line."""
    encoding = spec.read.get("encoding", "utf-8")
    rows = []
    for label, relpath in spec.read["files"].items():
        text = (root / relpath).read_text(encoding=encoding)
        rows += [(line.strip(), label) for line in text.splitlines() if line.strip()]
    return pd.DataFrame(rows, columns=["item", "label"])


def _read_text_table(spec: DatasetSpec, root: Path) -> pd.DataFrame:
    """CSV/TSV tables: one per split (split.method files) or one file with a split column or fraction."""
    if spec.split.get("method") == "files":
        parts = [_read_table(spec, root / path).assign(split=split) for split, path in spec.split["files"].items()]
        return pd.concat(parts, ignore_index=True)
    frame = _read_table(spec, root / spec.read["file"])
    if spec.split.get("method") == "column":
        frame["split"] = _split_from_column(spec, frame)
    return frame


def _split_from_column(spec: DatasetSpec, frame: pd.DataFrame) -> pd.Series:
    """The split column, its values mapped to train/test (e.g. values: {train: TRAIN, test: TEST})."""
    mapping = {str(v): k for k, v in spec.split.get("values", {"train": "train", "test": "test"}).items()}
    raw = frame.pop("_split").astype(str)
    unknown = sorted(set(raw) - set(mapping))
    if unknown:
        raise ValueError(
            f"dataset {spec.name!r}: split column has value(s) {unknown}; expected {sorted(mapping)} "
            "(set split.values to map yours to train and test)"
        )
    return raw.map(mapping)


def _read_table(spec: DatasetSpec, path: Path) -> pd.DataFrame:
    """One table with its text, label and (optional) split columns renamed to item, label, _split."""
    delimiter = spec.read.get("delimiter", "\t" if path.suffix == ".tsv" else ",")
    table = pd.read_csv(path, sep=delimiter, quoting=3 if delimiter == "\t" else 0, dtype=str,
                        keep_default_na=False, encoding=spec.read.get("encoding", "utf-8"))
    columns = {spec.read["text_column"]: "item", spec.read["label_column"]: "label"}
    if spec.split.get("method") == "column":
        columns[spec.split["column"]] = "_split"
    missing = [name for name in columns if name not in table.columns]
    if missing:
        raise ValueError(f"{path}: missing column(s) {missing}; the file has {list(table.columns)}")
    return table[list(columns)].rename(columns=columns)


def _read_speech_files(spec: DatasetSpec, root: Path) -> pd.DataFrame:
    """WAV files in one folder, the label taken from the file name by read.label_regex (group 1)."""
    pattern = re.compile(spec.read["label_regex"])
    rows = []
    for path in sorted((root / spec.read.get("folder", ".")).glob("*.wav")):
        match = pattern.search(path.name)
        if match is None:
            raise ValueError(f"{path}: file name does not match label_regex {pattern.pattern!r}")
        rows.append((str(path.relative_to(root)), match.group(1)))
    return pd.DataFrame(rows, columns=["item", "label"])


def _read_speech_folders(spec: DatasetSpec, root: Path) -> pd.DataFrame:
    """One sub-folder of WAV files per label."""
    base = root / spec.read.get("folder", ".")
    rows = [
        (str(path.relative_to(root)), folder.name)
        for folder in sorted(p for p in base.iterdir() if p.is_dir())
        for path in sorted(folder.glob("*.wav"))
    ]
    return pd.DataFrame(rows, columns=["item", "label"])


def _split(spec: DatasetSpec, frame: pd.DataFrame, root: Path, split_seed: int) -> pd.Series:
    """Assign train/test by split.method: regex on the file name, a listed test set, or a fraction."""
    method = spec.split.get("method")
    if method == "regex":
        pattern = re.compile(spec.split["test_regex"])
        is_test = frame["item"].map(lambda item: bool(pattern.search(Path(item).name)))
    elif method == "list":
        listed = {line.strip() for line in (root / spec.split["test_list"]).read_text().splitlines() if line.strip()}
        is_test = frame["item"].map(lambda item: _relative_to_folder(spec, item) in listed)
    elif method == "fraction":
        _, test_index = train_test_split(
            frame.index, test_size=spec.split["test_fraction"], random_state=split_seed, stratify=frame["label"]
        )
        is_test = frame.index.isin(test_index)
    else:
        raise ValueError(
            f"dataset {spec.name!r}: unknown split method {method!r}; "
            "use regex, list or fraction (text_table also: files, column)"
        )
    return pd.Series(["test" if test else "train" for test in is_test], index=frame.index)


def _relative_to_folder(spec: DatasetSpec, item: str) -> str:
    """A WAV path relative to the dataset's read.folder, as test lists name them."""
    return Path(item).relative_to(spec.read.get("folder", ".")).as_posix()
