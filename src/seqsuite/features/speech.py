"""Speech features: WAV reading, resampling, log-mel or MFCC frames, and their statistics."""

from __future__ import annotations

import struct
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import soundfile
import torch
import torchaudio
from scipy import sparse


class AudioError(ValueError):
    """A WAV file that cannot be read or holds no samples."""


@dataclass(frozen=True)
class SpeechFeatureConfig:
    """How frames are computed; window and hop in milliseconds."""

    sample_rate: int = 8000
    representation: str = "mfcc"  # mfcc | logmel
    n_mfcc: int = 40
    n_mels: int = 40
    window_ms: float = 25.0
    hop_ms: float = 10.0

    @property
    def n_coefficients(self) -> int:
        """Values per frame."""
        return self.n_mfcc if self.representation == "mfcc" else self.n_mels


_FIX = "Replace or remove the file and rerun."


def checked_samples(samples: np.ndarray, source: str, fix: str = _FIX) -> np.ndarray:
    """Mono float32 samples of (time,) or (time, channels); none, or a NaN or infinity, raises AudioError naming
    the source ("audio file <path>") and the fix."""
    samples = np.asarray(samples, dtype=np.float32)
    if samples.shape[0] == 0:
        raise AudioError(f"{source} holds no samples. {fix}")
    non_finite = int(np.count_nonzero(~np.isfinite(samples)))
    if non_finite:
        # one such file would make the training split's normalisation statistics, and so every feature, NaN
        raise AudioError(f"{source} holds {non_finite} non-finite samples (NaN or infinity) of {samples.size}. {fix}")
    return samples.mean(axis=1) if samples.ndim == 2 else samples


_RIFF_HEADER = struct.Struct("<4sI4s")
_CHUNK_HEADER = struct.Struct("<4sI")
_HEADER_BYTES = 1 << 16
# what streaming writers put in a size they cannot know yet: 0, or 2^31 or 2^32 less a block (SoX, arecord to a pipe)
_OPEN_SIZE_FROM = 0x7FFF0000
_SLACK_BYTES = 64  # some writers overstate the data size by a few bytes; a copy cut short lacks far more


def wav_data_bytes(head: bytes, file_size: int) -> tuple[int, int] | None:
    """For a RIFF WAVE file's first bytes and its size in bytes: the bytes of audio its data chunk declares and the
    bytes that follow that chunk's header in the file. None when the bytes are not RIFF WAVE, hold no data chunk's
    header, or the chunk's size is left open (0, or a placeholder from 0x7FFF0000 up)."""
    if len(head) < _RIFF_HEADER.size:
        return None
    riff, _, wave = _RIFF_HEADER.unpack_from(head)
    if (riff, wave) != (b"RIFF", b"WAVE"):
        return None
    offset = _RIFF_HEADER.size
    while offset + _CHUNK_HEADER.size <= len(head):
        chunk_id, size = _CHUNK_HEADER.unpack_from(head, offset)
        offset += _CHUNK_HEADER.size
        if chunk_id == b"data":
            return None if size == 0 or size >= _OPEN_SIZE_FROM else (size, file_size - offset)
        offset += size + size % 2  # a chunk is padded to an even size
    return None


def _check_complete(path: Path) -> None:
    """A WAV file cut short (an interrupted copy or download) raises AudioError: libsndfile reads what is there."""
    with path.open("rb") as file:
        sizes = wav_data_bytes(file.read(_HEADER_BYTES), path.stat().st_size)
    if sizes is not None and sizes[0] > sizes[1] + _SLACK_BYTES:
        raise AudioError(f"audio file {path} is cut short: its header declares {sizes[0]:,} bytes of audio and it "
                         f"holds {max(sizes[1], 0):,} (an interrupted copy or download?). {_FIX}")


def read_wav(path: Path) -> tuple[np.ndarray, int]:
    """Mono float32 samples and the sample rate; an unreadable or cut-short file raises AudioError naming it."""
    try:
        _check_complete(path)
        samples, rate = soundfile.read(str(path), dtype="float32", always_2d=True)
    except (RuntimeError, soundfile.LibsndfileError, OSError) as error:
        raise AudioError(f"cannot read audio file {path}: {error}. {_FIX}") from error
    return checked_samples(samples, f"audio file {path}"), rate


def _window(config: SpeechFeatureConfig) -> tuple[int, int]:
    """Window length and FFT size, in samples at the configured rate."""
    win_length = round(config.sample_rate * config.window_ms / 1000)
    return win_length, 1 << (win_length - 1).bit_length()


def checked_frames(samples: np.ndarray, rate: int, config: SpeechFeatureConfig, transform: torch.nn.Module,
                   source: str, fix: str = _FIX) -> np.ndarray:
    """Frames of checked samples; too few for a single analysis window raises AudioError naming the source."""
    shortest = _window(config)[1] // 2 + 1  # the transform pads each end by half an FFT, by reflection
    resampled = round(samples.size * config.sample_rate / rate)
    if resampled < shortest:
        raise AudioError(
            f"{source} is too short: {samples.size} samples at {rate} Hz ({1000 * samples.size / rate:.1f} "
            f"ms), and frames need at least {shortest} samples at {config.sample_rate} Hz "
            f"({1000 * shortest / config.sample_rate:.1f} ms). {fix}"
        )
    return waveform_frames(samples, rate, config, transform)


def file_frames(path: Path, config: SpeechFeatureConfig, transform: torch.nn.Module) -> np.ndarray:
    """Frames of one WAV file."""
    return checked_frames(*read_wav(path), config, transform, f"audio file {path}")


def frame_transform(config: SpeechFeatureConfig) -> torch.nn.Module:
    """The torchaudio transform from a waveform (time,) to features (coefficients, frames)."""
    win_length, n_fft = _window(config)
    mel = {
        "n_fft": n_fft,
        "win_length": win_length,
        "hop_length": round(config.sample_rate * config.hop_ms / 1000),
        "n_mels": config.n_mels,
    }
    if config.representation == "mfcc":
        return torchaudio.transforms.MFCC(sample_rate=config.sample_rate, n_mfcc=config.n_mfcc, melkwargs=mel)
    if config.representation == "logmel":
        return torch.nn.Sequential(
            torchaudio.transforms.MelSpectrogram(sample_rate=config.sample_rate, **mel),
            torchaudio.transforms.AmplitudeToDB(top_db=80.0),
        )
    raise ValueError(f"unknown speech representation {config.representation!r}; use mfcc or logmel")


def waveform_frames(
    samples: np.ndarray, rate: int, config: SpeechFeatureConfig, transform: torch.nn.Module
) -> np.ndarray:
    """Frames (frames, coefficients) of one waveform, resampled to the configured rate first."""
    waveform = torch.from_numpy(samples)
    if rate != config.sample_rate:
        waveform = torchaudio.functional.resample(waveform, rate, config.sample_rate)
    with torch.no_grad():
        return transform(waveform).T.contiguous().numpy()  # (C, T) -> (T, C)


def normalisation(train_frames: list[np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
    """Per-coefficient mean and standard deviation over all training frames."""
    stacked = np.concatenate(train_frames, axis=0)
    return stacked.mean(axis=0), stacked.std(axis=0) + 1e-5


def summary_vector(frames: np.ndarray) -> np.ndarray:
    """Per-coefficient mean and standard deviation over time: the MLP's fixed-size input."""
    return np.concatenate([frames.mean(axis=0), frames.std(axis=0)]).astype(np.float32)


def normalised_features(frames: list[np.ndarray], mean: np.ndarray,
                        std: np.ndarray) -> tuple[list[np.ndarray], sparse.csr_matrix]:
    """What the models read of frames: frames normalised by the training split's statistics for the recurrent
    models, their summary vectors for the MLP. Training and a logged model's predictions both call this."""
    normalised = [((f - mean) / std).astype(np.float32) for f in frames]
    return normalised, sparse.csr_matrix(np.stack([summary_vector(f) for f in normalised]))
