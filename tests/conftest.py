"""Shared fixtures: tiny speech and text datasets built in the test, and one MLflow store per session."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest
import soundfile

os.environ.setdefault("MLFLOW_DISABLE_TELEMETRY", "true")

REPO = Path(__file__).resolve().parents[1]
SHARED_DATASETS = REPO.parent / "shared" / "datasets"
WORDS = {"pos": ["good", "great", "fine", "lovely", "superb"], "neg": ["bad", "awful", "poor", "dull", "weak"]}
FILLER = ["the", "film", "was", "a", "plot", "and", "it", "so"]


def tone(digit: int, rate: int, rng: np.random.Generator, seconds: float = 0.25) -> np.ndarray:
    """A noisy tone whose pitch encodes the digit: easy to classify, different per recording."""
    t = np.arange(int(rate * seconds * rng.uniform(0.8, 1.6))) / rate
    wave = 0.5 * np.sin(2 * np.pi * (300 + 250 * digit) * t) + 0.05 * rng.standard_normal(t.size)
    return wave.astype(np.float32)


def write_fsdd_like(root: Path, digits: int = 3, speakers: tuple[str, ...] = ("ann", "bob"), per: int = 8,
                    rate: int = 8000, seed: int = 0) -> Path:
    """recordings/{digit}_{speaker}_{index}.wav, as in the Free Spoken Digit Dataset."""
    rng = np.random.default_rng(seed)
    folder = root / "recordings"
    folder.mkdir(parents=True, exist_ok=True)
    for digit in range(digits):
        for speaker in speakers:
            for index in range(per):
                soundfile.write(folder / f"{digit}_{speaker}_{index}.wav", tone(digit, rate, rng), rate)
    return root


def write_speech_folders(root: Path, labels: tuple[str, ...] = ("low", "high"), per: int = 12,
                         rate: int = 16000, seed: int = 1) -> Path:
    """One folder of WAV files per label."""
    rng = np.random.default_rng(seed)
    for i, label in enumerate(labels):
        (root / label).mkdir(parents=True, exist_ok=True)
        for index in range(per):
            soundfile.write(root / label / f"{label}_{index:02d}.wav", tone(2 * i, rate, rng), rate)
    return root


def sentences(label: str, n: int, rng: np.random.Generator) -> list[str]:
    """Short sentences whose polarity words give the label away."""
    return [
        " ".join(rng.choice(FILLER, size=rng.integers(3, 9)).tolist() + [str(rng.choice(WORDS[label]))])
        for _ in range(n)
    ]


def write_mr_like(root: Path, per_label: int = 40, seed: int = 0) -> Path:
    """rt-polaritydata/rt-polarity.{pos,neg}: one cp1252 sentence per line, as in the MR dataset."""
    rng = np.random.default_rng(seed)
    folder = root / "rt-polaritydata"
    folder.mkdir(parents=True, exist_ok=True)
    for label in ("pos", "neg"):
        lines = [f"{s} \x85" for s in sentences(label, per_label, rng)]  # 0x85: cp1252's ellipsis
        (folder / f"rt-polarity.{label}").write_bytes(("\n".join(lines) + "\n").encode("latin-1"))
    (root / "rt-polaritydata.README.1.0.txt").write_text("toy copy\n")
    return root


def write_text_table(path: Path, n: int = 60, seed: int = 2) -> Path:
    """One CSV with text, label and split columns."""
    rng = np.random.default_rng(seed)
    rows = ["review,sentiment,part"]
    for i in range(n):
        label = "pos" if i % 2 else "neg"
        rows.append(f'"{sentences(label, 1, rng)[0]}",{label},{"test" if i % 5 == 0 else "train"}')
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\n".join(rows) + "\n")
    return path


@pytest.fixture(scope="session")
def tracking_store(tmp_path_factory: pytest.TempPathFactory) -> tuple[str, str]:
    """(tracking URI, artifact root) of one SQLite MLflow store shared by the session's tests."""
    from seqsuite import tracking

    folder = tmp_path_factory.mktemp("mlflow")
    uri, artifacts = f"sqlite:///{folder / 'mlflow.db'}", str(folder / "artifacts")
    tracking.experiment_id(uri, artifacts, "warm-up")  # creates the tables once (10-20 s)
    return uri, artifacts
