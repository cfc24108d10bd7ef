"""Read a downloaded dataset into one table of examples with labels and splits."""

from __future__ import annotations

import io
import logging
import math
import re
from collections.abc import Callable
from pathlib import Path

import pandas as pd
from sklearn.model_selection import train_test_split

from seqsuite.data import SPLITS
from seqsuite.data.registry import SPLIT_METHODS, DatasetSpec
from seqsuite.features.text import replaced

log = logging.getLogger(__name__)


def load_examples(spec: DatasetSpec, root: Path, split_seed: int) -> pd.DataFrame:
    """All examples of a dataset as columns item (text or WAV path), label and split (train/test, maybe val)."""
    readers = {
        "text_lines": _read_text_lines,
        "text_table": _read_text_table,
        "text_folders": _read_text_folders,
        "speech_files": _read_speech_files,
        "speech_folders": _read_speech_folders,
    }
    frame = readers[spec.format](spec, root)
    if frame.empty:
        raise ValueError(f"dataset {spec.name!r}: no examples found under {root}; check its 'read' settings")
    if "split" not in frame:
        frame["split"] = _split(spec, frame, root, split_seed)
    if spec.kind == "text" and spec.read.get("replace"):  # e.g. IMDB's "<br />" line breaks
        frame["item"] = frame["item"].map(lambda item: replaced(item, spec.read["replace"]))
    frame["label"] = frame["label"].astype(str)
    return frame.reset_index(drop=True)


def check_splits(name: str, frame: pd.DataFrame, split: dict) -> None:
    """Every split must hold examples; an empty one names the dataset and its split settings."""
    counts = frame["split"].value_counts()
    empty = [s for s in SPLITS if counts.get(s, 0) == 0]
    if empty:
        raise ValueError(
            f"dataset {name!r}: split(s) {', '.join(empty)} hold no examples ({counts.to_dict()}); "
            f"check its split settings {split} (and val_fraction)"
        )


def check_labels(name: str, frame: pd.DataFrame) -> None:
    """A classifier needs two labels or more, each seen in training: one label, or a label found only outside the
    training split, names the dataset and the labels."""
    labels = frame["label"].value_counts()
    if len(labels) < 2:
        raise ValueError(
            f"dataset {name!r} has {len(labels)} label(s) ({frame.groupby(['label', 'split']).size().to_dict()} "
            "examples by label and split): a classifier needs two or more; "
            "check its read settings (label_column, label folders or files)"
        )
    unseen = sorted(set(labels.index) - set(frame.loc[frame["split"] == "train", "label"]))
    if unseen:
        counts = frame[frame["label"].isin(unseen)].groupby(["label", "split"]).size().to_dict()
        raise ValueError(
            f"dataset {name!r}: label(s) {unseen} never occur in the training split ({counts} examples by label and "
            "split), so no model could learn them; fix the labels or the split, or remove those examples"
        )


def check_stratifiable(setting: str, fraction: float, labels: pd.Series, examples: str, alternative: str) -> None:
    """A stratified split of fraction of these examples needs one per label on each side; else name the setting."""
    per_label = labels.value_counts()
    held_out = math.ceil(fraction * len(labels))
    if held_out < len(per_label) or len(labels) - held_out < len(per_label) or per_label.min() < 2:
        raise ValueError(
            f"{setting} {fraction} of {len(labels)} {examples} holds out {held_out}, and a stratified split needs at "
            f"least one example per label on each side ({len(per_label)} labels; the rarest, {per_label.idxmin()!r}, "
            f"has {per_label.min()}): raise {setting} to at least {len(per_label) / len(labels):.3g}, {alternative}"
        )


def carve_validation(frame: pd.DataFrame, val_fraction: float, split_seed: int) -> pd.DataFrame:
    """Move a stratified fraction of the training examples to a 'val' split, unless the data has its own."""
    if (frame["split"] == "val").any():
        log.info("keeping the dataset's own validation split (%d examples); val_fraction is not used",
                 (frame["split"] == "val").sum())
        return frame
    train_index = frame.index[frame["split"] == "train"]
    check_stratifiable("val_fraction", val_fraction, frame.loc[train_index, "label"], "training examples",
                       "or give the dataset its own validation split (split.val_list, or a val file or folder with "
                       "split.method files)")
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
        text = read_text(root / relpath, encoding)
        rows += [(line.strip(), label) for line in text.splitlines() if line.strip()]
    return pd.DataFrame(rows, columns=["item", "label"])


def _read_text_table(spec: DatasetSpec, root: Path) -> pd.DataFrame:
    """CSV/TSV tables: one per split (split.method files) or one file with a split column or fraction."""
    frame = _read_per_split(spec, root, lambda path: _read_table(spec, path), "file")
    if spec.split.get("method") == "column":
        frame["split"] = _split_from_column(spec, frame)
    return frame


def _read_text_folders(spec: DatasetSpec, root: Path) -> pd.DataFrame:
    """One *.txt file per example in one sub-folder per label, under one folder per split (or one for all)."""
    methods = SPLIT_METHODS["text_folders"]
    if spec.split.get("method") not in methods:
        raise ValueError(
            f"dataset {spec.name!r}: format text_folders splits by {' or '.join(map(repr, methods))}, "
            f"not {spec.split.get('method')!r}; set split.method to one of them ('files': one folder per split)"
        )
    return _read_per_split(spec, root, lambda base: _read_label_texts(spec, base), "folder", ".")


def _read_label_texts(spec: DatasetSpec, base: Path) -> pd.DataFrame:
    """The *.txt files of base's label folders, one example each."""
    encoding = spec.read.get("encoding", "utf-8")
    rows = [
        (read_text(path, encoding).strip(), folder.name)
        for folder in _label_folders(spec, base)
        for path in sorted(folder.glob("*.txt"))
    ]
    return pd.DataFrame(rows, columns=["item", "label"])


def _read_per_split(spec: DatasetSpec, root: Path, read: Callable[[Path], pd.DataFrame], key: str,
                    default: str | None = None) -> pd.DataFrame:
    """read() on each split's path (split.method files, which sets split), else on the one path in read[key]."""
    if spec.split.get("method") == "files":
        parts = [read(root / path).assign(split=split) for split, path in spec.split["files"].items()]
        return pd.concat(parts, ignore_index=True)
    whole = spec.read.get(key, default)
    if whole is None:
        raise ValueError(f"dataset {spec.name!r}: set read.{key}, or give one per split with split.method files")
    return read(root / whole)


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
    table = pd.read_csv(io.StringIO(read_text(path, spec.read.get("encoding", "utf-8"))), sep=delimiter,
                        quoting=3 if delimiter == "\t" else 0, dtype=str, keep_default_na=False)
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
    rows = [
        (str(path.relative_to(root)), folder.name)
        for folder in _label_folders(spec, root / spec.read.get("folder", "."))
        for path in sorted(folder.glob("*.wav"))
    ]
    return pd.DataFrame(rows, columns=["item", "label"])


def _label_folders(spec: DatasetSpec, base: Path) -> list[Path]:
    """The sub-folders of base, one per label, less those named in read.exclude."""
    if not base.is_dir():
        raise ValueError(f"dataset {spec.name!r}: folder {base} does not exist; check read.folder (or split.files)")
    exclude = set(spec.read.get("exclude", ()))
    return sorted(path for path in base.iterdir() if path.is_dir() and path.name not in exclude)


def _split(spec: DatasetSpec, frame: pd.DataFrame, root: Path, split_seed: int) -> pd.Series:
    """Assign train/test (val too, from a val_list) by split.method: regex on the file name, lists, or a fraction."""
    method = spec.split.get("method")
    if method == "list":
        return _split_from_lists(spec, frame, root)
    if method == "regex":
        pattern = re.compile(spec.split["test_regex"])
        is_test = frame["item"].map(lambda item: bool(pattern.search(Path(item).name)))
    elif method == "fraction":
        check_stratifiable("split.test_fraction", spec.split["test_fraction"], frame["label"],
                           f"examples of dataset {spec.name!r}", "or split by lists or a regex (split.method)")
        _, test_index = train_test_split(
            frame.index, test_size=spec.split["test_fraction"], random_state=split_seed, stratify=frame["label"]
        )
        is_test = frame.index.isin(test_index)
    else:
        raise ValueError(
            f"dataset {spec.name!r}: unknown split method {method!r}; "
            "use regex, list or fraction (text_table also: files, column; text_folders: files or fraction)"
        )
    return pd.Series(["test" if test else "train" for test in is_test], index=frame.index)


def _split_from_lists(spec: DatasetSpec, frame: pd.DataFrame, root: Path) -> pd.Series:
    """Files in split.test_list are test, in the optional split.val_list val, the rest train."""
    names = frame["item"].map(lambda item: _relative_to_folder(spec, item))
    split = pd.Series("train", index=frame.index)
    for name, relative in {"val": spec.split.get("val_list"), "test": spec.split["test_list"]}.items():
        if relative is None:
            continue
        path = root / relative
        lines = {line.strip() for line in read_text(path, "utf-8").splitlines()} - {""}
        listed = names.isin(lines)
        if not listed.any():
            raise ValueError(
                f"dataset {spec.name!r}: no example is named in split.{name}_list {path}; its lines must be "
                f"paths relative to read.folder ({spec.read.get('folder', '.')!r}), e.g. {names.iloc[0]!r}"
            )
        absent = sorted(lines - set(names))
        if absent:
            raise ValueError(
                f"dataset {spec.name!r}: split.{name}_list {path} names {len(absent)} of its {len(lines)} files that "
                f"the dataset does not hold, e.g. {absent[:3]}; restore those files or remove them from the list"
            )
        split[listed] = name
    return split


def read_text(path: Path, encoding: str) -> str:
    """A text file's contents; a byte that is not text in the encoding names the file, its line and read.encoding."""
    raw = path.read_bytes()
    try:
        return raw.decode(encoding)
    except UnicodeDecodeError as error:
        line = raw.count(b"\n", 0, error.start) + 1
        raise ValueError(
            f"{path}, line {line}: byte {raw[error.start]:#04x} is not {encoding} text; set read.encoding to the "
            "file's encoding for this dataset (e.g. cp1252 or latin-1)"
        ) from error


def _relative_to_folder(spec: DatasetSpec, item: str) -> str:
    """A WAV path relative to the dataset's read.folder, as test lists name them."""
    return Path(item).relative_to(spec.read.get("folder", ".")).as_posix()
