"""Speech Commands and IMDB: their registry entries, downloaded from tiny look-alike archives served locally."""

from __future__ import annotations

import hashlib
import io
from dataclasses import replace
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import soundfile
import test_download
from conftest import REPO, tone
from test_download import expected_manifest, leftovers, tar_gz

from seqsuite.data.download import DownloadError, fetch_dataset
from seqsuite.data.loaders import carve_validation, load_examples
from seqsuite.data.registry import load_registry, spec_from_dict

REGISTRY = load_registry(REPO / "config" / "datasets.yaml")
served = test_download.served  # the local HTTP server fixture: (base URL, folder)
WORDS = ("yes", "no", "up")
SPEAKERS = ("0a7c2a8d", "1b4c9b89", "2c3f8c5e", "3d5a1f5c", "4e6b7d1a", "5f2e0c3b")


def wav_bytes(pitch: int, rng: np.random.Generator) -> bytes:
    """A short 16 kHz WAV file."""
    buffer = io.BytesIO()
    soundfile.write(buffer, tone(pitch, 16000, rng, seconds=0.05), 16000, format="WAV")
    return buffer.getvalue()


def speech_commands_files() -> dict[str, bytes]:
    """Speech Commands v0.02's layout, no top folder: word folders, the two lists, noise, LICENSE, README."""
    rng = np.random.default_rng(0)
    files = {f"{word}/{s}_nohash_0.wav": wav_bytes(i, rng) for i, word in enumerate(WORDS) for s in SPEAKERS}
    files["testing_list.txt"] = "".join(f"{word}/{s}_nohash_0.wav\n" for word in WORDS for s in SPEAKERS[:2]).encode()
    files["validation_list.txt"] = "".join(f"{word}/{SPEAKERS[2]}_nohash_0.wav\n" for word in WORDS).encode()
    files["_background_noise_/white_noise.wav"] = wav_bytes(9, rng)
    files["_background_noise_/README.md"] = b"noise\n"
    return {**files, "LICENSE": b"CC BY 4.0\n", "README.md": b"speech commands\n"}


def imdb_files() -> tuple[dict[str, bytes], dict[str, bytes]]:
    """aclImdb's layout as (kept files, files that must not be kept), without the aclImdb/ prefix."""
    kept = {"README": b"Large Movie Review Dataset v1.0\n"}
    for split, count in (("train", 4), ("test", 3)):
        for label, rating in (("pos", 9), ("neg", 2)):
            for i in range(count):
                text = f"A {label} review {i} of the {split} set.<br /><br />Caf\u00e9 scene, rated {rating}."
                kept[f"{split}/{label}/{i}_{rating}.txt"] = text.encode("utf-8")
    dropped = {"train/unsup/0_0.txt": b"unlabelled\n", "imdbEr.txt": b"0.1\n", "imdb.vocab": b"the\n",
               "train/labeledBow.feat": b"0 0:1\n", "train/urls_pos.txt": b"http://x\n"}
    return kept, dropped


def files_under(folder: Path) -> dict[str, bytes]:
    """Every file under folder (relative POSIX path -> bytes)."""
    return {path.relative_to(folder).as_posix(): path.read_bytes() for path in folder.rglob("*") if path.is_file()}


def test_registry_entries_have_the_documented_sources() -> None:
    speech, imdb = REGISTRY["speech_commands"], REGISTRY["imdb"]
    assert speech.url == "http://download.tensorflow.org/data/speech_commands_v0.02.tar.gz"
    assert speech.archive_sha256 == "af14739ee7dc311471de98f5f9d2c9191b18aedfe957f4a6ff791c709868ff58"
    assert (speech.kind, speech.format, speech.archive_root, speech.keep) == ("speech", "speech_folders", "", ())
    assert speech.split == {"method": "list", "test_list": "testing_list.txt", "val_list": "validation_list.txt"}
    assert speech.read["exclude"] == ["_background_noise_"] and speech.manifest_sha256 is None
    assert speech.licence == "CC BY 4.0" and "1804.03209" in speech.citation
    assert imdb.url == "https://ai.stanford.edu/~amaas/data/sentiment/aclImdb_v1.tar.gz"
    assert (imdb.archive_md5, imdb.archive_sha256) == ("7c2ac02c03563afcf9b574c7e56c153a", None)
    assert (imdb.kind, imdb.format, imdb.archive_root) == ("text", "text_folders", "aclImdb")
    assert imdb.manifest_sha256 is None and imdb.read["replace"] == {"<br />": " "}
    assert imdb.keep == ("train/pos", "train/neg", "test/pos", "test/neg", "README")
    assert imdb.split == {"method": "files", "files": {"train": "train", "test": "test"}}
    assert "Maas" in imdb.citation and (speech.mirror_dir, imdb.mirror_dir) == ("speech_commands", "imdb")


def test_speech_commands_downloads_with_its_official_splits(served: tuple[str, Path], tmp_path: Path) -> None:
    base, www = served
    files = speech_commands_files()
    archive = tar_gz(files, prefix="")
    (www / "speech_commands_v0.02.tar.gz").write_bytes(archive)
    spec = replace(REGISTRY["speech_commands"], url=f"{base}/speech_commands_v0.02.tar.gz",
                   archive_sha256=hashlib.sha256(archive).hexdigest(), manifest_sha256=expected_manifest(files))
    dest = tmp_path / "speech_commands"
    assert fetch_dataset(spec, dest)["manifest_sha256"] == spec.manifest_sha256
    assert files_under(dest) == files and leftovers(tmp_path) == []

    frame = load_examples(spec, dest, split_seed=0)
    assert len(frame) == len(WORDS) * len(SPEAKERS) and set(frame["label"]) == set(WORDS)
    assert not frame["item"].str.contains("_background_noise_").any()
    listed = {split: set(files[f"{name}_list.txt"].decode().split()) for split, name in (("test", "testing"),
                                                                                         ("val", "validation"))}
    for split in ("test", "val"):
        assert set(frame.loc[frame["split"] == split, "item"].map(lambda p: Path(p).as_posix())) == listed[split]
    assert frame["split"].value_counts().to_dict() == {"train": 9, "test": 6, "val": 3}
    pd.testing.assert_frame_equal(carve_validation(frame, 0.5, split_seed=0), frame)  # the official val is kept


def test_a_list_naming_no_example_says_how_lists_name_files(tmp_path: Path) -> None:
    for relative, data in speech_commands_files().items():
        (tmp_path / relative).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / relative).write_bytes(data)
    (tmp_path / "validation_list.txt").write_text("speech/yes/0a7c2a8d_nohash_0.wav\n")
    with pytest.raises(ValueError, match=r"no example is named in split.val_list .*relative to read.folder"):
        load_examples(REGISTRY["speech_commands"], tmp_path, split_seed=0)


def test_imdb_downloads_verified_by_md5_and_reads_its_official_splits(served: tuple[str, Path],
                                                                       tmp_path: Path) -> None:
    base, www = served
    kept, dropped = imdb_files()
    archive = tar_gz({**kept, **dropped}, prefix="aclImdb/")
    (www / "aclImdb_v1.tar.gz").write_bytes(archive)
    spec = replace(REGISTRY["imdb"], url=f"{base}/aclImdb_v1.tar.gz", archive_md5=hashlib.md5(archive).hexdigest(),
                   manifest_sha256=expected_manifest(kept))
    dest = tmp_path / "imdb"
    assert fetch_dataset(spec, dest)["manifest_sha256"] == spec.manifest_sha256
    assert files_under(dest) == kept and leftovers(tmp_path) == []

    frame = load_examples(spec, dest, split_seed=0)
    counts = frame.groupby(["split", "label"]).size().to_dict()
    assert counts == {("test", "neg"): 3, ("test", "pos"): 3, ("train", "neg"): 4, ("train", "pos"): 4}
    assert frame.loc[0, "item"] == "A neg review 0 of the train set.  Caf\u00e9 scene, rated 2."
    assert not frame["item"].str.contains("unlabelled|<br", regex=True).any()
    carved = carve_validation(frame, 0.5, split_seed=0)
    assert (carved.loc[frame["split"] == "test", "split"] == "test").all()
    assert carved.loc[carved["split"] == "val", "label"].value_counts().to_dict() == {"neg": 2, "pos": 2}


def test_wrong_md5_names_the_url_and_both_checksums(served: tuple[str, Path], tmp_path: Path) -> None:
    base, www = served
    archive = tar_gz(imdb_files()[0], prefix="aclImdb/")
    (www / "aclImdb_v1.tar.gz").write_bytes(archive)
    spec = replace(REGISTRY["imdb"], url=f"{base}/aclImdb_v1.tar.gz", archive_md5="0" * 32)
    with pytest.raises(DownloadError) as caught:
        fetch_dataset(spec, tmp_path / "imdb")
    message = str(caught.value)
    assert f"{base}/aclImdb_v1.tar.gz" in message and "0" * 32 in message
    assert f"md5 {hashlib.md5(archive).hexdigest()}" in message
    assert not (tmp_path / "imdb").exists() and leftovers(tmp_path) == []


def test_own_text_folders_with_a_drawn_test_split(tmp_path: Path) -> None:
    for label in ("spam", "ham"):
        for i in range(10):
            (tmp_path / "mail" / label).mkdir(parents=True, exist_ok=True)
            (tmp_path / "mail" / label / f"{i}.txt").write_text(f"{label} message {i}\n", encoding="utf-8")
    spec = spec_from_dict("mail", {"kind": "text", "format": "text_folders", "path": str(tmp_path),
                                   "read": {"folder": "mail"}, "split": {"method": "fraction", "test_fraction": 0.2}})
    frame = load_examples(spec, tmp_path, split_seed=0)
    assert frame.groupby(["split", "label"]).size().to_dict() == {
        ("test", "ham"): 2, ("test", "spam"): 2, ("train", "ham"): 8, ("train", "spam"): 8}
    with pytest.raises(ValueError, match="text_folders splits by 'files'.*or 'fraction', not 'regex'"):
        load_examples(replace(spec, split={"method": "regex", "test_regex": "0"}), tmp_path, split_seed=0)
