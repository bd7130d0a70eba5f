"""Audio front end: any common wav/flac file to 16 kHz mono float32 PCM in [-1, 1].

Reading uses ``soundfile`` (libsndfile); resampling uses ``soxr`` at its "HQ" quality. Downmixing is
the plain mean over channels. No torchaudio.
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Sequence

import numpy as np

from benchmark.errors import DataError

SAMPLE_RATE = 16_000
"""The sample rate, in Hz, of every waveform handed to a generator (VoxCeleb1's native rate)."""

SILENCE_PEAK = 1e-4
"""A file whose absolute peak after conversion is below this (−80 dBFS) counts as all-silent."""


def load_audio(path: str | os.PathLike[str]) -> np.ndarray:
    """Read an audio file as 16 kHz mono float32 PCM.

    Args:
        path: a file libsndfile reads (wav, flac, ogg, ...) or PyAV decodes (.m4a, .aac: VoxCeleb2), any sample
            rate, any channel count.

    Returns:
        float32 array ``[T]``, samples at 16 kHz in [-1, 1] (clipped after resampling).

    Raises:
        DataError: the file is missing, unreadable, truncated (a WAV whose data chunk is shorter than its
            header declares), empty (0 samples), holds NaN or infinite samples (a float WAV), or is all-silent
            (peak < ``SILENCE_PEAK``); the message names the file and the fix.
    """
    import soundfile as sf
    import soxr

    path = Path(path)
    from benchmark.data.av_audio import AV_EXTS, decode_av

    try:
        if path.suffix.lower() in AV_EXTS:  # VoxCeleb2's AAC: decoded with PyAV (benchmark.data.av_audio)
            log = ""
            data, rate = decode_av(path)
        else:
            with sf.SoundFile(str(path)) as fh:
                log = fh.extra_info
                data = fh.read(dtype="float32", always_2d=True)
                rate = fh.samplerate
    except DataError:
        raise
    except Exception as exc:  # libsndfile raises several types; all mean the same to the user
        raise DataError(
            f"cannot read audio file {path}: {exc}. Re-extract or re-download this file, "
            "or remove it from the dataset folder."
        ) from exc
    cut = truncation(log)
    if cut is not None:
        raise DataError(f"audio file {path} is truncated: its header declares {cut[0]} bytes of audio but only "
                        f"{cut[1]} are present. Re-extract or re-download it, or remove it from the dataset folder.")
    if data.shape[0] == 0:
        raise DataError(f"audio file {path} is empty (0 samples); remove it or replace it with the original.")
    bad = int(data.size - np.count_nonzero(np.isfinite(data)))
    if bad:
        raise DataError(f"audio file {path} holds {bad} NaN or infinite sample(s) (a float WAV written from "
                        "broken data); re-extract it from the original, or remove it from the dataset folder.")
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

    from benchmark.data.av_audio import AV_EXTS, decode_av

    if Path(path).suffix.lower() in AV_EXTS:
        data, rate = decode_av(path)
        return float(data.shape[0]) / float(rate) if rate else 0.0
    try:
        info = sf.info(str(path))
    except Exception as exc:
        raise DataError(f"cannot read audio header of {path}: {exc}. Re-extract or remove this file.") from exc
    return float(info.frames) / float(info.samplerate) if info.samplerate else 0.0


_DATA_CHUNK = re.compile(r"^data\s*:\s*(\d+)\s*\(should be (\d+)\)", re.MULTILINE)


def truncation(log: str) -> tuple[int, int] | None:
    """Read libsndfile's header log (``soundfile.SoundFile.extra_info``) for a cut-off WAV data chunk.

    libsndfile reads a truncated WAV without an error, reporting the samples that are present; its log line
    ``data : <declared> (should be <present>)`` says so. A declared size *below* what is present (streaming
    writers leave 0 or a placeholder) is not truncation.

    Returns:
        ``(declared bytes, present bytes)`` when the data chunk is shorter than its header declares, else None.
    """
    match = _DATA_CHUNK.search(log or "")
    if match is None:
        return None
    declared, present = int(match.group(1)), int(match.group(2))
    return (declared, present) if declared > present else None


def audio_problems(paths: Sequence[str | os.PathLike[str]]) -> list[str]:
    """Decode every file as ``load_audio`` does and return one message per unusable file (in input order).

    Used before any generation, so that every unreadable, truncated, empty, non-finite or silent probe is
    reported at once rather than one per run when the generator reaches it. Cost: one decode per file (about
    a millisecond for an 8 s 16 kHz WAV).

    Returns:
        The ``DataError`` messages of the files ``load_audio`` refuses; empty when all are usable.
    """
    problems = []
    for path in paths:
        try:
            load_audio(path)
        except DataError as exc:
            problems.append(str(exc))
    return problems
