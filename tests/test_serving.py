"""A logged model labels raw input (texts; WAV files or sample arrays) exactly as training's features would."""

from __future__ import annotations

from pathlib import Path

import mlflow.pyfunc
import numpy as np
import pandas as pd
import pytest
import soundfile
from conftest import sentences, write_speech_folders

from seqsuite import batches, serving, tracking
from seqsuite.features.build import build_speech_features, build_text_features
from seqsuite.features.speech import AudioError, SpeechFeatureConfig
from seqsuite.features.store import FeatureSet
from seqsuite.models.build import ArchitectureConfig, InputSpec, build_model
from seqsuite.steps.train import model_data
from seqsuite.training import class_probabilities, seed_everything


def text_examples(n: int = 24) -> pd.DataFrame:
    rng = np.random.default_rng(3)
    rows = [(s, label, split) for i in range(n) for label in ("pos", "neg")
            for s in sentences(label, 1, rng) for split in (("train", "train", "val", "test")[i % 4],)]
    return pd.DataFrame(rows, columns=["item", "label", "split"])


def speech_examples(root: Path) -> pd.DataFrame:
    write_speech_folders(root, per=8, rate=16000)
    items = sorted(str(p.relative_to(root)) for p in root.rglob("*.wav"))
    return pd.DataFrame({"item": items, "label": [i.split("/")[0] for i in items],
                         "split": ["train", "train", "val", "test"] * (len(items) // 4)})


def saved_classifier(folder: Path, features: FeatureSet, model_name: str) -> tuple[mlflow.pyfunc.PyFuncModel,
                                                                                      np.ndarray]:
    """A model saved as the training step logs it, loaded back; and its probabilities on the test split's
    features as training computed them."""
    meta = features.meta
    folder.mkdir(exist_ok=True)
    seed_everything(0)
    inputs = InputSpec(n_outputs=len(meta["labels"]), vocab_size=meta["vocab_size"],
                       sequence_dim=meta["sequence_dim"], tabular_dim=meta["tabular_dim"], pad_index=meta["pad_index"])
    architecture = ArchitectureConfig(hidden_sizes=[8], hidden_size=8, embedding_dim=8)
    model = build_model(model_name, inputs, architecture)
    settings = serving.model_settings(model_name, meta["labels"], inputs, architecture, 4, features.inputs)
    (folder / "artifacts").mkdir()
    artifacts = serving.write_artifacts(folder / "artifacts", model, settings)
    mlflow.pyfunc.save_model(folder / "model", python_model=serving.Classifier(), artifacts=artifacts,
                             signature=serving.signature(meta["kind"]),
                             input_example=serving.input_example(features.inputs), code_paths=[tracking.CODE_PATH],
                             pip_requirements=serving.requirements())
    expected = class_probabilities(model, model_data(model_name, features)["test"], 4)
    return mlflow.pyfunc.load_model(str(folder / "model")), expected


def probabilities(predicted: pd.DataFrame, labels: list[str]) -> np.ndarray:
    return np.array([[row[label] for label in labels] for row in predicted["probabilities"]])


@pytest.mark.parametrize("model_name", ["mlp", "lstm"])
def test_a_text_model_labels_raw_sentences_as_training_saw_them(tmp_path, model_name):
    examples = text_examples()
    features = build_text_features(examples, min_count=1, max_vocab=100, max_tokens=6, tfidf_ngram_max=2,
                                   tfidf_min_df=1, tfidf_max_features=50)
    loaded, expected = saved_classifier(tmp_path, features, model_name)
    texts = examples.loc[examples.split == "test", "item"].tolist()
    predicted = loaded.predict(texts)
    labels = features.meta["labels"]
    np.testing.assert_allclose(probabilities(predicted, labels), expected, rtol=1e-6)
    assert predicted["label"].tolist() == [labels[i] for i in expected.argmax(axis=1)]
    np.testing.assert_allclose(predicted["probability"], expected.max(axis=1), rtol=1e-6)
    features.inputs["replace"] = {"<br />": " "}  # a dataset's read.replace (IMDB's line breaks) applies too
    loaded, _ = saved_classifier(tmp_path / "again", features, model_name)
    np.testing.assert_allclose(loaded.predict(["superb<br />film"])["probability"],
                               loaded.predict(["superb film"])["probability"])
    with pytest.raises(Exception, match="not a string"):
        loaded.predict(pd.DataFrame({"text": ["fine", None]}))
    with pytest.raises(Exception, match=r"got the columns \['path'\], a speech model's input"):
        loaded.predict(pd.DataFrame({"path": ["/data/7_jackson_0.wav"]}))  # sent to the wrong server


def test_a_text_mlp_predicts_the_same_from_padded_rows(tmp_path, monkeypatch):
    examples = text_examples()
    features = build_text_features(examples, min_count=1, max_vocab=100, max_tokens=6, tfidf_ngram_max=2,
                                   tfidf_min_df=1, tfidf_max_features=50)
    loaded, _ = saved_classifier(tmp_path, features, "mlp")
    texts, labels = examples.loc[examples.split == "test", "item"].tolist(), features.meta["labels"]
    dense = probabilities(loaded.predict(texts), labels)
    monkeypatch.setattr(batches, "DENSE_TABULAR_LIMIT", 0)  # as a request of many texts on MR's 50,000 columns
    assert np.array_equal(probabilities(loaded.predict(texts), labels), dense)


@pytest.mark.parametrize("model_name", ["mlp", "rnn"])
def test_a_speech_model_labels_wav_files_and_sample_arrays_as_training_saw_them(tmp_path, model_name):
    root = tmp_path / "audio"
    examples = speech_examples(root)
    features = build_speech_features(examples, root, SpeechFeatureConfig(n_mfcc=8))
    loaded, expected = saved_classifier(tmp_path, features, model_name)
    paths = [str(root / item) for item in examples.loc[examples.split == "test", "item"]]
    by_path = loaded.predict(pd.DataFrame({"path": paths}))
    np.testing.assert_allclose(probabilities(by_path, features.meta["labels"]), expected, rtol=1e-5)
    read = [soundfile.read(p, dtype="float32") for p in paths]
    by_samples = loaded.predict(pd.DataFrame({"samples": [samples for samples, _ in read],
                                              "sample_rate": [rate for _, rate in read]}))
    assert by_samples["label"].tolist() == by_path["label"].tolist()
    np.testing.assert_allclose(by_samples["probability"], by_path["probability"], rtol=1e-5)


def test_a_speech_model_names_bad_input_and_the_fix(tmp_path):
    root = tmp_path / "audio"
    features = build_speech_features(speech_examples(root), root, SpeechFeatureConfig(n_mfcc=8))
    loaded, _ = saved_classifier(tmp_path, features, "mlp")
    with pytest.raises(AudioError, match=r"input row 1 is too short: 20 samples at 8000 Hz .* Give a WAV file"):
        loaded.predict(pd.DataFrame({"samples": [np.zeros(4000, np.float32), np.zeros(20, np.float32)],
                                     "sample_rate": [8000, 8000]}))
    with pytest.raises(AudioError, match="input row 0 holds 1 non-finite samples"):
        loaded.predict(pd.DataFrame({"samples": [np.append(np.zeros(3999, np.float32), np.nan)],
                                     "sample_rate": [8000]}))
    with pytest.raises(AudioError, match=r"input row 0 has samples up to 2000, outside \[-1, 1\]"):
        loaded.predict(pd.DataFrame({"samples": [np.full(4000, 2000.0)], "sample_rate": [8000]}))
    cut = tmp_path / "cut.wav"
    cut.write_bytes(next(root.rglob("*.wav")).read_bytes()[:200])
    with pytest.raises(AudioError, match=f"audio file {cut} is cut short"):
        loaded.predict(pd.DataFrame({"path": [str(cut)]}))
    with pytest.raises(ValueError, match="takes a DataFrame with a 'path' column"):
        loaded.predict(["a.wav"])  # the signature turns a list into a DataFrame without the columns


def test_requirements_are_installable_versions():
    required = serving.requirements()
    assert any(r.startswith("torch==") for r in required) and not any("+" in r for r in required)
