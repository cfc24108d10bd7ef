"""Text and speech features: train-only vocabularies and statistics, resampling, clear audio errors."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import soundfile
from conftest import write_speech_folders

from seqsuite.features import text
from seqsuite.features.build import build_speech_features, build_text_features
from seqsuite.features.speech import AudioError, SpeechFeatureConfig, read_wav
from seqsuite.features.store import load_features, save_features


def test_tokenize_lowercases_and_splits_punctuation():
    assert text.tokenize("It's GREAT, isn't it?") == ["it's", "great", ",", "isn't", "it", "?"]


def test_vocab_orders_by_count_and_respects_min_count_and_size():
    vocab = text.build_vocab([["b", "a", "b"], ["c", "b", "a"], ["d"]], min_count=2, max_size=10)
    assert vocab == ["<pad>", "<unk>", "b", "a"]
    assert text.build_vocab([["b", "a", "b"], ["a", "c"]], min_count=1, max_size=3) == ["<pad>", "<unk>", "a"]


def test_encode_maps_unknown_words_truncates_and_never_returns_empty():
    index = {"<pad>": 0, "<unk>": 1, "good": 2}
    assert text.encode(["good", "new", "good"], index, max_tokens=2).tolist() == [2, 1]
    assert text.encode([], index, max_tokens=5).tolist() == [text.UNK_INDEX]


def text_frame() -> pd.DataFrame:
    rows = [("good film", "pos", "train"), ("bad film", "neg", "train"), ("good good", "pos", "val"),
            ("unseen words here", "neg", "test")]
    return pd.DataFrame(rows, columns=["item", "label", "split"])


def test_text_features_fit_vocabulary_and_tfidf_on_train_only():
    features = build_text_features(text_frame(), min_count=1, max_vocab=100, max_tokens=10,
                                   tfidf_ngram_max=2, tfidf_min_df=1, tfidf_max_features=100)
    assert features.inputs["vocab"] == ["<pad>", "<unk>", "film", "bad", "good"]
    assert features.splits["test"].sequences[0].tolist() == [text.UNK_INDEX] * 3
    assert features.splits["test"].tabular.nnz == 0  # no train n-gram in the test text
    assert features.meta["tabular_dim"] == 5  # good, bad, film, "good film", "bad film"
    assert features.splits["train"].labels.tolist() == [1, 0] and features.meta["labels"] == ["neg", "pos"]


def test_read_wav_names_an_unreadable_file(tmp_path):
    broken = tmp_path / "broken.wav"
    broken.write_bytes(b"RIFF\x00\x00not really a wave file")
    with pytest.raises(AudioError, match=f"cannot read audio file {broken}"):
        read_wav(broken)
    empty = tmp_path / "empty.wav"
    soundfile.write(empty, np.zeros(0, dtype=np.float32), 8000)
    with pytest.raises(AudioError, match="holds no samples"):
        read_wav(empty)


def test_read_wav_names_a_file_cut_short(tmp_path):
    whole = tmp_path / "whole.wav"
    # a float WAV has fact and PEAK chunks before its data: the check walks past them
    soundfile.write(whole, np.linspace(-0.5, 0.5, 4000, dtype=np.float32), 8000, subtype="FLOAT")
    assert read_wav(whole)[0].shape == (4000,)
    cut = tmp_path / "cut.wav"
    cut.write_bytes(whole.read_bytes()[:1000])
    assert soundfile.read(cut)[0].size > 0  # libsndfile alone reads what is there without a word
    held = 1000 - (len(whole.read_bytes()) - 16000)
    with pytest.raises(AudioError, match=f"audio file {cut} is cut short: its header declares 16,000 bytes of audio "
                                         f"and it holds {held:,} .*Replace or remove the file and rerun"):
        read_wav(cut)


@pytest.mark.parametrize("declared", [0xFFFFFFFF, 0x7FFFF000, 0x7FFFFF00, 1600 + 8],
                         ids=["left open", "SoX to a pipe", "arecord to a pipe", "overstated by 8 bytes"])
def test_read_wav_accepts_a_data_size_left_open_or_overstated_by_a_few_bytes(tmp_path, declared):
    path = tmp_path / "streamed.wav"
    soundfile.write(path, np.linspace(-0.5, 0.5, 800, dtype=np.float32), 8000, subtype="PCM_16")
    data = bytearray(path.read_bytes())
    size_at = data.index(b"data") + 4
    assert int.from_bytes(data[size_at:size_at + 4], "little") == 1600
    data[size_at:size_at + 4] = declared.to_bytes(4, "little")
    path.write_bytes(bytes(data))
    assert read_wav(path)[0].shape == (800,)


def test_stereo_is_mixed_down_to_mono(tmp_path):
    path = tmp_path / "stereo.wav"
    soundfile.write(path, np.stack([np.ones(100), -np.ones(100)], axis=1).astype(np.float32) * 0.5, 8000)
    samples, rate = read_wav(path)
    assert rate == 8000 and samples.shape == (100,) and np.allclose(samples, 0.0)


def speech_frame(root, per=6) -> pd.DataFrame:
    write_speech_folders(root, per=per, rate=16000)
    items = sorted(str(p.relative_to(root)) for p in root.rglob("*.wav"))
    splits = ["train", "train", "val", "test"] * (len(items) // 4)
    return pd.DataFrame({"item": items, "label": [i.split("/")[0] for i in items], "split": splits})


@pytest.mark.parametrize("representation", ["mfcc", "logmel"])
def test_speech_features_resample_and_normalise_with_train_statistics(tmp_path, representation):
    frame = speech_frame(tmp_path)
    config = SpeechFeatureConfig(sample_rate=8000, representation=representation, n_mfcc=13, n_mels=20,
                                 window_ms=25, hop_ms=10)
    features = build_speech_features(frame, tmp_path, config)
    coefficients = 13 if representation == "mfcc" else 20
    first = features.splits["train"].sequences[0]
    duration = soundfile.info(str(tmp_path / frame.loc[0, "item"])).duration
    assert first.shape == (int(duration * 100) + 1, coefficients)  # 16 kHz resampled to 8 kHz, 10 ms hop
    train = np.concatenate(features.splits["train"].sequences)
    assert np.allclose(train.mean(axis=0), 0, atol=1e-4) and np.allclose(train.std(axis=0), 1, atol=1e-2)
    assert not np.allclose(np.concatenate(features.splits["test"].sequences).mean(axis=0), 0, atol=1e-4)
    summary = features.splits["train"].tabular.toarray()[0]
    assert np.allclose(summary, np.concatenate([first.mean(axis=0), first.std(axis=0)]), atol=1e-5)


def test_an_unreadable_wav_in_a_dataset_names_the_file(tmp_path):
    frame = speech_frame(tmp_path)
    (tmp_path / frame.loc[3, "item"]).write_bytes(b"garbage")
    with pytest.raises(AudioError, match=frame.loc[3, "item"]):
        build_speech_features(frame, tmp_path, SpeechFeatureConfig())


def test_a_wav_with_nan_samples_is_named_before_it_reaches_the_statistics(tmp_path):
    frame = speech_frame(tmp_path)
    poisoned = tmp_path / frame.loc[0, "item"]
    samples = soundfile.read(poisoned, dtype="float32")[0]
    samples[10:15] = np.nan
    soundfile.write(poisoned, samples, 16000, subtype="FLOAT")
    with pytest.raises(AudioError, match=f"audio file {poisoned} holds 5 non-finite samples .*Replace or remove"):
        build_speech_features(frame, tmp_path, SpeechFeatureConfig())


def test_a_wav_shorter_than_one_window_is_named_with_the_shortest_length(tmp_path):
    frame = speech_frame(tmp_path)
    short = tmp_path / frame.loc[2, "item"]
    soundfile.write(short, np.full(10, 0.1, dtype=np.float32), 16000)
    # 25 ms windows at 8 kHz: a 256-point FFT, padded by 128 samples at each end
    with pytest.raises(AudioError, match=rf"audio file {short} is too short: 10 samples at 16000 Hz \(0.6 ms\).*"
                                         r"at least 129 samples at 8000 Hz \(16.1 ms\)"):
        build_speech_features(frame, tmp_path, SpeechFeatureConfig())


def test_features_round_trip_through_their_folder(tmp_path):
    frame = speech_frame(tmp_path / "audio")
    features = build_speech_features(frame, tmp_path / "audio", SpeechFeatureConfig(n_mfcc=8))
    save_features(features, tmp_path / "out")
    loaded = load_features(tmp_path / "out")
    assert loaded.meta == features.meta and loaded.inputs == features.inputs
    for split in ("train", "val", "test"):
        original, again = features.splits[split], loaded.splits[split]
        assert all(np.array_equal(a, b) for a, b in zip(original.sequences, again.sequences, strict=True))
        assert (original.tabular != again.tabular).nnz == 0
        assert np.array_equal(original.labels, again.labels)

