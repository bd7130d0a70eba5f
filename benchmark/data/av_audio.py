"""Decoding compressed audio (VoxCeleb2's AAC in .m4a) with PyAV, the FFmpeg bindings whose wheels carry the codecs.

``benchmark.data.audio.load_audio`` hands files with a suffix in ``AV_EXTS`` here and resamples and downmixes them as
it does a WAV, so a clip scores the same whatever container it came in (up to the codec's loss).
"""

from __future__ import annotations

import os

import numpy as np

from benchmark.errors import DataError

AV_EXTS = (".m4a", ".aac", ".mp4")


def decode_av(path: str | os.PathLike[str]) -> tuple[np.ndarray, int]:
    """Decode the first audio stream of a file with PyAV (``av``; FFmpeg's decoders).

    Args:
        path: an .m4a / .aac / .mp4 file.

    Returns:
        (float32 array ``[T, C]`` of samples in [-1, 1] at the stream's own rate, that rate in Hz).

    Raises:
        DataError: PyAV is not installed (the message says ``pip install av``), or the file is missing, holds no
            audio stream or cannot be decoded (the message names the file).
    """
    try:
        import av
    except ImportError:
        raise DataError(f"{path}: decoding .m4a/.aac needs PyAV (pip install av).") from None
    try:
        with av.open(str(path)) as container:
            if not container.streams.audio:
                raise DataError(f"{path} holds no audio stream; remove it from the dataset.")
            stream = container.streams.audio[0]
            rate = int(stream.rate or stream.codec_context.sample_rate)
            chunks = []
            resampler = av.AudioResampler(format="fltp", layout=stream.layout.name, rate=rate)
            for frame in container.decode(stream):
                for out in resampler.resample(frame):
                    chunks.append(out.to_ndarray())  # [C, n] float32
            for out in resampler.resample(None):
                chunks.append(out.to_ndarray())
    except DataError:
        raise
    except Exception as exc:  # PyAV raises av.error.* and OSError subclasses; all mean the same to the user
        raise DataError(f"cannot decode audio file {path}: {exc}. Re-download it, or remove it from the "
                        "dataset.") from exc
    if not chunks:
        return np.zeros((0, 1), dtype=np.float32), rate
    return np.ascontiguousarray(np.concatenate(chunks, axis=1).T, dtype=np.float32), rate
