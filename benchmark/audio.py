"""Audio front end: any common wav/flac file to 16 kHz mono float32 PCM in [-1, 1].

Reading uses ``soundfile`` (libsndfile); resampling uses ``soxr`` at its "HQ" quality. Downmixing is
the plain mean over channels. No torchaudio.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from benchmark.errors import DataError

SAMPLE_RATE = 16_000
"""The sample rate, in Hz, of every waveform handed to a generator (VoxCeleb1's native rate)."""

SILENCE_PEAK = 1e-4
"""A file whose absolute peak after conversion is below this (−80 dBFS) counts as all-silent."""


def load_audio(path: str | os.PathLike[str]) -> np.ndarray:
    """Read an audio file as 16 kHz mono float32 PCM.

    Args:
        path: a file libsndfile reads (wav, flac, ogg, ...), any sample rate, any channel count.

    Returns:
        float32 array ``[T]``, samples at 16 kHz in [-1, 1] (clipped after resampling).

    Raises:
        DataError: the file is missing, unreadable, empty (0 samples) or all-silent
            (peak < ``SILENCE_PEAK``); the message names the file.
    """
    import soundfile as sf
    import soxr

    path = Path(path)
    try:
        data, rate = sf.read(str(path), dtype="float32", always_2d=True)
    except Exception as exc:  # libsndfile raises several types; all mean the same to the user
        raise DataError(
            f"cannot read audio file {path}: {exc}. Re-extract or re-download this file, "
            "or remove it from the dataset folder."
        ) from exc
    if data.shape[0] == 0:
        raise DataError(f"audio file {path} is empty (0 samples); remove it or replace it with the original.")
    mono = data.mean(axis=1, dtype=np.float32)  # [T]
    if rate != SAMPLE_RATE:
        mono = soxr.resample(mono, rate, SAMPLE_RATE, quality="HQ").astype(np.float32)
    np.clip(mono, -1.0, 1.0, out=mono)
    if float(np.abs(mono).max()) < SILENCE_PEAK:
        raise DataError(f"audio file {path} is all silence (peak below -80 dBFS); remove it or replace it.")
    return mono


def audio_duration(path: str | os.PathLike[str]) -> float:
    """Return the duration of an audio file in seconds from its header (no decoding).

    Raises:
        DataError: the header cannot be read; the message names the file.
    """
    import soundfile as sf

    try:
        info = sf.info(str(path))
    except Exception as exc:
        raise DataError(f"cannot read audio header of {path}: {exc}. Re-extract or remove this file.") from exc
    return float(info.frames) / float(info.samplerate) if info.samplerate else 0.0
