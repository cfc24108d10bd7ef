"""The registry and the readers: every format, every split method, validation carved from train only."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
from conftest import REPO, SHARED_DATASETS, write_fsdd_like, write_mr_like, write_speech_folders, write_text_table

from seqsuite.data.loaders import carve_validation, check_labels, check_splits, load_examples
from seqsuite.data.registry import DatasetSpec, download_names, load_registry, select, spec_from_dict

REGISTRY = load_registry(REPO / "config" / "datasets.yaml")


def test_registry_declares_every_dataset_with_its_source():
    speakers = ("george", "jackson", "lucas", "nicolas", "theo", "yweweler")
    assert set(REGISTRY) == {"fsdd", "mr", "sst2", "speech_commands", "imdb", *(f"fsdd_speaker_{s}" for s in speakers)}
    assert REGISTRY["mr"].archive_sha256 == "a05befe52aafda71d458d188a1c54506a998b1308613ba76bbda2e5029409ce9"
    assert REGISTRY["fsdd"].url.endswith("v1.0.10.tar.gz") and REGISTRY["fsdd"].keep == ("recordings",)
    assert REGISTRY["sst2"].split["files"]["test"] == "SST-2/dev.tsv"  # GLUE test has no labels
    assert {s.kind for s in REGISTRY.values()} == {"speech", "text"}


def test_datasets_holding_the_same_files_share_one_download(tmp_path):
    names = ["mr", "fsdd_speaker_theo", "fsdd", "fsdd_speaker_george"]
    assert download_names(REGISTRY, names) == {"mr": "mr", "fsdd_speaker_theo": "fsdd", "fsdd": "fsdd",
                                               "fsdd_speaker_george": "fsdd"}
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    folds = {name: {"kind": "text", "format": "text_table", "path": str(tmp_path / folder),
                    "read": {"file": "t.csv", "text_column": "text", "label_column": "label"},
                    "split": {"method": "fraction", "test_fraction": fraction}}
             for name, folder, fraction in [("a1", "a", 0.1), ("a2", "a", 0.2), ("b1", "b", 0.1)]}
    custom = load_registry(REPO / "config" / "datasets.yaml", folds)
    assert download_names(custom, ["a2", "b1", "a1"]) == {"a2": "a1", "b1": "b1", "a1": "a1"}
    # without mirror_dir, each reads the mirror's folder of its own name: not the same files there
    unnamed = {name: spec_from_dict(name, {"kind": "text", "format": "text_lines", "url": "https://example.org/a.zip",
                                           "read": {"files": {"pos": "p.txt", "neg": "n.txt"}},
                                           "split": {"method": "fraction", "test_fraction": 0.1}})
               for name in ("first", "second")}
    assert download_names(unnamed, ["first", "second"]) == {"first": "first", "second": "second"}

def test_unknown_dataset_names_it_and_lists_the_known_ones():
    known = "fsdd, fsdd_speaker_george, .*, imdb, mr, speech_commands, sst2"
    with pytest.raises(ValueError, match=rf"unknown dataset\(s\) timit; known datasets are {known}"):
        select(REGISTRY, ["mr", "timit"])


@pytest.mark.parametrize(
    ("entry", "message"),
    [
        ({"kind": "text", "format": "csv", "path": "x"}, "unknown format 'csv'; valid formats are text_lines"),
        ({"kind": "speech", "format": "text_table", "path": "x"}, "format 'text_table' is for text data"),
        ({"kind": "text", "format": "text_table"}, "give either 'url'"),
        ({"kind": "text", "format": "text_table", "path": "x", "colour": 1}, "unknown key"),
    ],
)
def test_bad_dataset_entries_say_what_is_wrong(entry, message):
    with pytest.raises(ValueError, match=message):
        spec_from_dict("mine", entry)


def test_custom_dataset_may_not_shadow_a_registry_name():
    with pytest.raises(ValueError, match="custom dataset 'mr'"):
        load_registry(REPO / "config" / "datasets.yaml", {"mr": {"kind": "text", "format": "text_table", "path": "x"}})


def test_fsdd_layout_uses_the_official_index_split(tmp_path):
    root = write_fsdd_like(tmp_path, digits=3, per=8)
    frame = load_examples(REGISTRY["fsdd"], root, split_seed=0)
    assert len(frame) == 3 * 2 * 8
    test = frame[frame["split"] == "test"]
    assert sorted(test["item"].map(lambda p: int(Path(p).stem.split("_")[2])).unique()) == [0, 1, 2, 3, 4]
    assert set(frame["label"]) == {"0", "1", "2"}


def test_the_registrys_unseen_speaker_folds_each_hold_out_one_speaker(tmp_path):
    speakers = ("george", "jackson", "lucas", "nicolas", "theo", "yweweler")
    root = write_fsdd_like(tmp_path, digits=2, speakers=speakers, per=3)
    folds = {name: spec for name, spec in REGISTRY.items() if spec.group == "fsdd_unseen_speakers"}
    assert sorted(spec.held_out for spec in folds.values()) == list(speakers)
    for spec in folds.values():
        assert spec.mirror_dir == "fsdd" and spec.manifest_sha256 == REGISTRY["fsdd"].manifest_sha256
        frame = load_examples(spec, root, split_seed=0)
        speaker = frame["item"].map(lambda p: Path(p).stem.split("_")[1])
        assert set(speaker[frame["split"] == "test"]) == {spec.held_out}
        assert set(speaker[frame["split"] == "train"]) == set(speakers) - {spec.held_out}


def test_a_fold_names_both_its_group_and_what_it_holds_out():
    entry = {"kind": "text", "format": "text_table", "path": "x", "read": {"file": "a.csv"},
             "split": {"method": "fraction", "test_fraction": 0.2}, "group": "study"}
    with pytest.raises(ValueError, match="set both 'group' and 'held_out'"):
        spec_from_dict("fold", entry)


@pytest.mark.skipif(not (SHARED_DATASETS / "fsdd").is_dir(), reason="needs ../shared/datasets")
def test_real_fsdd_split_has_300_test_and_2700_train_files():
    frame = load_examples(REGISTRY["fsdd"], SHARED_DATASETS / "fsdd", split_seed=0)
    assert frame["split"].value_counts().to_dict() == {"train": 2700, "test": 300}


def test_mr_layout_reads_cp1252_and_draws_a_stratified_fixed_test_split(tmp_path):
    root = write_mr_like(tmp_path, per_label=50)
    first = load_examples(REGISTRY["mr"], root, split_seed=7)
    again = load_examples(REGISTRY["mr"], root, split_seed=7)
    other = load_examples(REGISTRY["mr"], root, split_seed=8)
    assert first["item"].str.endswith("\u2026").all()  # 0x85 decoded as cp1252, not latin-1
    test = first[first["split"] == "test"]
    assert len(test) == 10 and test["label"].value_counts().to_dict() == {"pos": 5, "neg": 5}
    pd.testing.assert_frame_equal(first, again)
    assert set(test.index) != set(other[other["split"] == "test"].index)


def test_validation_is_carved_from_train_only_and_stratified(tmp_path):
    frame = load_examples(REGISTRY["mr"], write_mr_like(tmp_path, per_label=50), split_seed=3)
    carved = carve_validation(frame, 0.2, split_seed=3)
    assert (carved.loc[frame["split"] == "test", "split"] == "test").all()
    val = carved[carved["split"] == "val"]
    assert len(val) == 18 and val["label"].value_counts().to_dict() == {"pos": 9, "neg": 9}
    assert set(val.index) <= set(frame.index[frame["split"] == "train"])


def test_text_table_with_a_split_column(tmp_path):
    path = write_text_table(tmp_path / "reviews.csv", n=60)
    spec = spec_from_dict("reviews", {
        "kind": "text", "format": "text_table", "path": str(tmp_path),
        "read": {"file": "reviews.csv", "text_column": "review", "label_column": "sentiment"},
        "split": {"method": "column", "column": "part"},
    })
    frame = load_examples(spec, path.parent, split_seed=0)
    assert frame["split"].value_counts().to_dict() == {"train": 48, "test": 12}
    assert set(frame["label"]) == {"pos", "neg"} and frame["item"].str.len().min() > 0


def test_text_table_with_unknown_split_values_names_them(tmp_path):
    path = write_text_table(tmp_path / "reviews.csv")
    spec = spec_from_dict("reviews", {
        "kind": "text", "format": "text_table", "path": str(tmp_path),
        "read": {"file": "reviews.csv", "text_column": "review", "label_column": "sentiment"},
        "split": {"method": "column", "column": "part", "values": {"train": "TRAIN", "test": "TEST"}},
    })
    with pytest.raises(ValueError, match=r"split column has value\(s\) \['test', 'train'\]"):
        load_examples(spec, path.parent, split_seed=0)


def test_text_table_missing_column_lists_the_columns(tmp_path):
    path = write_text_table(tmp_path / "reviews.csv")
    spec = spec_from_dict("reviews", {
        "kind": "text", "format": "text_table", "path": str(tmp_path),
        "read": {"file": "reviews.csv", "text_column": "text", "label_column": "sentiment"},
        "split": {"method": "fraction", "test_fraction": 0.2},
    })
    with pytest.raises(ValueError, match=r"missing column\(s\) \['text'\]; the file has \['review'"):
        load_examples(spec, path.parent, split_seed=0)


def test_sst2_style_tsv_files_per_split_keep_quotes(tmp_path):
    (tmp_path / "SST-2").mkdir()
    (tmp_path / "SST-2" / "train.tsv").write_text('sentence\tlabel\n"quoted " start \t1\nplain one \t0\n')
    (tmp_path / "SST-2" / "dev.tsv").write_text("sentence\tlabel\nanother \t1\n")
    frame = load_examples(REGISTRY["sst2"], tmp_path, split_seed=0)
    assert frame["split"].tolist() == ["train", "train", "test"]
    assert frame.loc[0, "item"].startswith('"quoted "')


@pytest.mark.parametrize(
    ("split", "expected_test"),
    [
        ({"method": "regex", "test_regex": r"_0[0-2]\.wav$"}, 6),
        ({"method": "fraction", "test_fraction": 0.25}, 6),
        ({"method": "list", "test_list": "test_list.txt"}, 2),
    ],
)
def test_speech_folders_split_by_regex_fraction_or_list(tmp_path, split, expected_test):
    write_speech_folders(tmp_path, per=12)
    (tmp_path / "test_list.txt").write_text("low/low_03.wav\nhigh/high_07.wav\n")
    spec = spec_from_dict("tones", {"kind": "speech", "format": "speech_folders", "path": str(tmp_path),
                                    "split": split})
    frame = load_examples(spec, tmp_path, split_seed=0)
    assert len(frame) == 24 and (frame["split"] == "test").sum() == expected_test
    assert frame.groupby("label")["split"].apply(lambda s: (s == "test").sum()).nunique() == 1


def test_unknown_split_method_lists_the_valid_ones(tmp_path):
    write_speech_folders(tmp_path)
    spec = DatasetSpec(name="tones", kind="speech", format="speech_folders", path=str(tmp_path),
                       split={"method": "random"})
    with pytest.raises(ValueError, match="unknown split method 'random'; use regex, list or fraction"):
        load_examples(spec, tmp_path, split_seed=0)


@pytest.mark.skipif(not (SHARED_DATASETS / "sst2").is_dir(), reason="needs ../shared/datasets")
def test_real_sst2_uses_glue_dev_as_its_labelled_test_set():
    frame = load_examples(REGISTRY["sst2"], SHARED_DATASETS / "sst2", split_seed=0)
    assert frame["split"].value_counts().to_dict() == {"train": 67349, "test": 872}
    assert frame.loc[frame["split"] == "test", "label"].value_counts().to_dict() == {"1": 444, "0": 428}


@pytest.mark.skipif(not (SHARED_DATASETS / "rt-polarity").is_dir(), reason="needs ../shared/datasets")
def test_real_mr_has_5331_sentences_per_class_and_a_10_percent_test_split():
    frame = load_examples(REGISTRY["mr"], SHARED_DATASETS / "rt-polarity", split_seed=20051)
    assert frame["label"].value_counts().to_dict() == {"pos": 5331, "neg": 5331}
    assert (frame["split"] == "test").sum() == 1067


def test_a_split_that_selects_nothing_names_the_dataset_and_its_settings(tmp_path):
    write_speech_folders(tmp_path, per=6)
    spec = spec_from_dict("tones", {"kind": "speech", "format": "speech_folders", "path": str(tmp_path),
                                    "split": {"method": "regex", "test_regex": "never"}})
    frame = carve_validation(load_examples(spec, tmp_path, split_seed=0), 0.2, split_seed=0)
    with pytest.raises(ValueError, match=r"dataset 'tones': split\(s\) test hold no examples .*'test_regex': 'never'"):
        check_splits("tones", frame, spec.split)


@pytest.mark.parametrize(
    ("entry", "message"),
    [
        ({"format": "text_table", "read": {"file": "a.csv", "label_column": "y"}, "split": {"method": "fraction",
          "test_fraction": 0.1}}, r"needs read.text_column"),
        ({"format": "text_table", "read": {"text_column": "x", "label_column": "y"},
          "split": {"method": "fraction", "test_fractoin": 0.1}}, r"needs split.test_fraction, read.file"),
        ({"format": "text_folders", "read": {}, "split": {"method": "regex", "test_regex": "x"}},
         r"split.method 'regex' does not fit format text_folders; use one of files, fraction"),
    ],
)
def test_own_datasets_missing_read_or_split_keys_fail_when_the_registry_loads(entry, message):
    custom = {"mine": {"kind": "text", "path": "/data/mine", **entry}}
    with pytest.raises(ValueError, match=rf"dataset 'mine': .*{message}"):
        load_registry(REPO / "config" / "datasets.yaml", custom)


def table_spec(folder: Path, split: dict | None = None, **read) -> DatasetSpec:
    return spec_from_dict("reviews", {
        "kind": "text", "format": "text_table", "path": str(folder),
        "read": {"file": "reviews.csv", "text_column": "review", "label_column": "sentiment", **read},
        "split": split or {"method": "column", "column": "part"},
    })


def test_one_label_or_a_label_never_in_training_is_named(tmp_path):
    (tmp_path / "reviews.csv").write_text("review,sentiment,part\n" + "good film,pos,train\n" * 8
                                          + "fine,pos,test\n")
    frame = load_examples(table_spec(tmp_path), tmp_path, split_seed=0)
    with pytest.raises(ValueError, match=r"dataset 'reviews' has 1 label\(s\) \({\('pos', 'test'\): 1, \('pos', "
                                         r"'train'\): \d+} examples by label and split\).*two or more"):
        check_labels("reviews", frame)
    (tmp_path / "reviews.csv").write_text("review,sentiment,part\n" + "good,pos,train\nbad,neg,train\n" * 4
                                          + "meh,neutral,test\nmeh too,neutral,test\n")
    frame = load_examples(table_spec(tmp_path), tmp_path, split_seed=0)
    with pytest.raises(ValueError, match=r"label\(s\) \['neutral'\] never occur in the training split "
                                         r"\({\('neutral', 'test'\): 2} examples"):
        check_labels("reviews", frame)


def test_text_in_another_encoding_names_the_file_the_line_and_read_encoding(tmp_path):
    (tmp_path / "reviews.csv").write_bytes("review,sentiment,part\ngood,pos,train\ncaf\u00e9 bad,neg,train\n"
                                           .encode("latin-1"))
    with pytest.raises(ValueError, match=rf"{tmp_path / 'reviews.csv'}, line 3: byte 0xe9 is not utf-8 text; "
                                         "set read.encoding"):
        load_examples(table_spec(tmp_path), tmp_path, split_seed=0)
    frame = load_examples(table_spec(tmp_path, encoding="latin-1"), tmp_path, split_seed=0)
    assert frame.loc[1, "item"] == "caf\u00e9 bad"


def test_a_validation_split_smaller_than_the_label_count_names_val_fraction(tmp_path):
    words = [f"w{i:02d}" for i in range(30)]
    write_speech_folders(tmp_path, labels=tuple(words), per=10)  # 300 files, 30 labels
    spec = spec_from_dict("words", {"kind": "speech", "format": "speech_folders", "path": str(tmp_path),
                                    "split": {"method": "fraction", "test_fraction": 0.2}})
    frame = load_examples(spec, tmp_path, split_seed=0)
    with pytest.raises(ValueError, match=r"val_fraction 0.1 of 240 training examples holds out 24.*30 labels.*"
                                         r"raise val_fraction to at least 0.125, or give the dataset its own "
                                         r"validation split \(split.val_list"):
        carve_validation(frame, 0.1, split_seed=0)
    assert (carve_validation(frame, 0.125, split_seed=0)["split"] == "val").sum() == 30


def test_a_test_list_naming_files_the_dataset_lacks_is_refused(tmp_path):
    write_speech_folders(tmp_path, per=12)
    (tmp_path / "test_list.txt").write_text("low/low_03.wav\nhigh/high_07.wav\nhigh/high_99.wav\n")
    spec = spec_from_dict("tones", {"kind": "speech", "format": "speech_folders", "path": str(tmp_path),
                                    "split": {"method": "list", "test_list": "test_list.txt"}})
    with pytest.raises(ValueError, match=r"split.test_list .*test_list.txt names 1 of its 3 files that the dataset "
                                         r"does not hold, e.g. \['high/high_99.wav'\]"):
        load_examples(spec, tmp_path, split_seed=0)
