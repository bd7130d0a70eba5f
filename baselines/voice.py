"""The voice front end of Wen, Singh, Raj ("Reconstructing faces from voices", NeurIPS 2019): VAD, log mel.

Pipeline (every step batched over ``[B, T]`` waveforms with ``[B]`` lengths; pure torch + ``webrtcvad``):

1. **VAD** (``keep_speech``): WebRTC VAD (module ``webrtcvad``, from the PyPI package ``webrtcvad``; ``import_webrtcvad``),
   aggressiveness 2, 20 ms frames, 50 ms padding ring buffer, "trigger" when more than 90 % of the ring is
   voiced and "release" when more than 90 % is unvoiced — the settings and collector of the authors' code
   (``gan_test.py``: ``webrtcvad.Vad(2)``; ``utils.rm_sil``: ``vad_collector(sr, 20, 50, ...)``, itself
   py-webrtcvad's example). The kept segments are concatenated. Two documented choices: each frame is
   classified once, in order (the original re-runs the stateful VAD on frames in its ring buffer), and a
   recording with less than ``MIN_SPEECH_S`` of speech found is kept whole (the original crashes there).
2. **Log mel-spectrogram** (``log_mel``): 64 triangular mel filters from 20 Hz to 7200 Hz, 25 ms Hamming
   window, 10 ms hop, 1024-point FFT, pre-emphasis 0.97, power spectrum, natural log floored at 1e-5, on the
   int16-scaled signal — the Sphinx ``MFCC(nfilt=64, lowerf=20., upperf=7200., samprate=16000, nfft=1024,
   wlen=0.025)`` object of the authors' code (``mfcc.py``, ``sig2logspec``), whose filter bank
   (``mel_filters``) is reproduced bin for bin. Frames: ``floor(n / 160) + 1`` per recording of ``n``
   samples, the last ones zero-padded (as ``sig2logspec``). Pre-emphasis is applied to the whole signal
   (the original applies it per frame with a carried sample; the difference is one sample per frame edge).
3. **Per-bin mean and variance normalisation** (``normalise``): each of the 64 bins is shifted to zero mean
   and scaled to unit standard deviation (population std + float32 eps) over the recording's own frames
   (``utils.get_fbank``).
4. **Crops** (``random_crops``): in training, one random length in [300, 800] frames (3–8 s) per batch and a
   random start per recording, after the recording is repeated to at least 800 frames when shorter (the
   authors' ``get_collate_fn`` and their repeat-to-10-s rule in ``get_fbank``). At test time the whole
   recording is used (``VoiceFrontEnd.__call__``), with no repetition.

Features are ``[B, 64, F]`` (mel bins as channels, the ``Conv1d`` layout of Wen et al.'s voice network),
zero beyond each recording's frame count, with the counts returned as int64 ``[B]``. Every recording is
processed on its own in every step (no statistic crosses the batch), so a recording's features do not depend
on the batch it is in.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import lru_cache

import numpy as np
import torch

from benchmark.errors import BenchError

SAMPLE_RATE = 16_000
"""Sample rate in Hz of every waveform the front end takes."""

N_MELS = 64
"""Mel bins (Wen et al. 2019, §4: 64-dimensional log mel-spectrograms)."""

WIN_LENGTH = 400
"""Analysis window: 25 ms at 16 kHz."""

HOP_LENGTH = 160
"""Hop: 10 ms at 16 kHz (100 frames per second)."""

N_FFT = 1024
"""FFT size of the authors' Sphinx front end (the 400-sample frame is zero-padded)."""

F_MIN, F_MAX = 20.0, 7200.0
"""Band edges of the mel filter bank in Hz (authors' code: ``lowerf=20., upperf=7200.``)."""

PRE_EMPHASIS = 0.97
LOG_FLOOR = 1e-5
INT16_SCALE = 32768.0

VAD_MODE = 2
"""WebRTC VAD aggressiveness of the authors' code (0 least, 3 most aggressive)."""

VAD_FRAME_MS = 20
VAD_PADDING_MS = 50

MIN_SPEECH_S = 0.5
"""A recording in which the VAD keeps less than this much speech, in seconds, is kept whole."""

TRAIN_CROP_FRAMES = (300, 800)
"""Training crop lengths in frames (3–8 s; Wen et al.'s ``nframe_range``)."""


def import_webrtcvad():
    """Import the ``webrtcvad`` module, or raise a ``BenchError`` saying which package provides it.

    The module comes from the ``webrtcvad`` 2.0.10 distribution, which ``resemblyzer`` 0.1.4 requires and
    ``pip install -e .`` builds from source (a C compiler is needed; the drop-in fork ``webrtcvad-wheels``
    ships the same module as binary wheels). Its Python file's first line imports ``pkg_resources``, which
    setuptools >= 81 no longer ships; then this function builds the same small wrapper from the distribution's
    C extension ``_webrtcvad`` (ABI-identical in both distributions) and registers it as ``webrtcvad``, so
    ``resemblyzer``'s own ``import webrtcvad`` works too.

    Returns:
        A module with ``Vad(mode)`` whose ``is_speech(pcm16_bytes, sample_rate)`` classifies one frame.

    Raises:
        BenchError: neither ``webrtcvad`` nor ``_webrtcvad`` can be imported.
    """
    import sys
    import types

    try:
        import webrtcvad

        return webrtcvad
    except ModuleNotFoundError as exc:
        if exc.name != "pkg_resources":
            raise BenchError(
                "the WebRTC VAD is not installed: pip install -e . installs it with resemblyzer (see README "
                "'Install'; without a C compiler: pip install webrtcvad-wheels)."
            ) from exc
    try:
        import _webrtcvad
    except ImportError as exc:  # pragma: no cover - both distributions ship it
        raise BenchError("the WebRTC VAD extension _webrtcvad is missing: pip install --force-reinstall "
                         "webrtcvad (or webrtcvad-wheels).") from exc

    class Vad:
        def __init__(self, mode=None):
            self._vad = _webrtcvad.create()
            _webrtcvad.init(self._vad)
            if mode is not None:
                _webrtcvad.set_mode(self._vad, mode)

        def set_mode(self, mode):
            _webrtcvad.set_mode(self._vad, mode)

        def is_speech(self, buf, sample_rate, length=None):
            length = length or len(buf) // 2
            return _webrtcvad.process(self._vad, sample_rate, buf, length)

    module = types.ModuleType("webrtcvad")
    module.Vad = Vad
    module.valid_rate_and_frame_length = _webrtcvad.valid_rate_and_frame_length
    module.__version__ = "shim"
    sys.modules["webrtcvad"] = module
    return module


def _check_batch(waveforms: torch.Tensor, lengths: torch.Tensor) -> None:
    if waveforms.ndim != 2:
        raise BenchError(f"voice front end: waveforms must be [B, T], got shape {tuple(waveforms.shape)}.")
    if lengths.shape != (waveforms.shape[0],):
        raise BenchError(f"voice front end: lengths must be [B] = [{waveforms.shape[0]}], got {tuple(lengths.shape)}.")
    if int(lengths.min()) <= 0 or int(lengths.max()) > waveforms.shape[1]:
        raise BenchError("voice front end: every length must be in [1, T] samples.")


def vad_mask(wave: np.ndarray, mode: int = VAD_MODE) -> np.ndarray:
    """Speech mask of one recording by the authors' VAD collector (module docstring, step 1).

    Args:
        wave: float32 ``[T]`` samples at 16 kHz in [-1, 1].
        mode: WebRTC VAD aggressiveness, 0–3.

    Returns:
        bool ``[T]``, True for samples inside kept (voiced) segments; samples after the last whole 20 ms frame
        are never kept.
    """
    webrtcvad = import_webrtcvad()
    frame = SAMPLE_RATE * VAD_FRAME_MS // 1000  # 320 samples
    pcm = np.clip(np.round(np.asarray(wave, np.float64) * 32767.0), -32768, 32767).astype("<i2")
    n_frames = max(0, (len(pcm) - 1) // frame)  # py-webrtcvad's frame_generator: offset + n < len
    vad = webrtcvad.Vad(mode)
    flags = [vad.is_speech(pcm[i * frame:(i + 1) * frame].tobytes(), SAMPLE_RATE) for i in range(n_frames)]
    ring_len = VAD_PADDING_MS // VAD_FRAME_MS
    keep = np.zeros(len(pcm), dtype=bool)
    triggered, ring, current = False, [], []
    for i, voiced in enumerate(flags):
        if not triggered:
            ring = (ring + [i])[-ring_len:]
            if sum(flags[j] for j in ring) > 0.9 * ring_len:
                triggered, current, ring = True, list(ring), []
        else:
            current.append(i)
            ring = (ring + [i])[-ring_len:]
            if sum(not flags[j] for j in ring) > 0.9 * ring_len:
                for j in current:
                    keep[j * frame:(j + 1) * frame] = True
                triggered, current, ring = False, [], []
    for j in current:
        keep[j * frame:(j + 1) * frame] = True
    return keep


def keep_speech(waveforms: torch.Tensor, lengths: torch.Tensor, mode: int = VAD_MODE,
                min_speech_s: float = MIN_SPEECH_S) -> tuple[torch.Tensor, torch.Tensor]:
    """Drop non-speech from each recording of a batch (module docstring, step 1).

    Args:
        waveforms: float32 ``[B, T]`` at 16 kHz in [-1, 1], zero-padded after each recording (any device).
        lengths: int64 ``[B]`` samples.
        mode: WebRTC VAD aggressiveness, 0–3.
        min_speech_s: below this much kept speech, in seconds, the recording is kept whole.

    Returns:
        (speech, speech_lengths): float32 ``[B, T']`` (kept samples concatenated, zero-padded) on the input's
        device, and int64 ``[B]``.

    Raises:
        BenchError: malformed shapes or lengths.
    """
    _check_batch(waveforms, lengths)
    waves = waveforms.detach().float().cpu().numpy()
    out = []
    for b, n in enumerate(lengths.tolist()):
        wave = waves[b, :n]
        kept = wave[vad_mask(wave, mode)]
        out.append(kept if len(kept) >= min_speech_s * SAMPLE_RATE else wave)
    new_lengths = torch.tensor([len(w) for w in out], dtype=torch.int64)
    speech = torch.zeros(len(out), int(new_lengths.max()), dtype=torch.float32)
    for b, w in enumerate(out):
        speech[b, : len(w)] = torch.from_numpy(np.ascontiguousarray(w))
    return speech.to(waveforms.device), new_lengths.to(waveforms.device)


@lru_cache(maxsize=4)
def _mel_filters_np(n_mels: int, n_fft: int, f_min: float, f_max: float) -> np.ndarray:
    def mel(f):
        return 2595.0 * np.log10(1.0 + f / 700.0)

    def melinv(m):
        return 700.0 * (np.power(10.0, m / 2595.0) - 1.0)

    filters = np.zeros((n_fft // 2 + 1, n_mels), dtype=np.float64)
    dfreq = SAMPLE_RATE / n_fft
    lo, hi = mel(f_min), mel(f_max)
    edges = melinv(lo + (hi - lo) / (n_mels + 1) * np.arange(n_mels + 2, dtype=np.float64))
    for k in range(n_mels):
        left, centre, right = (int(round(edges[k + j] / dfreq)) for j in range(3))
        height = 2.0 / ((right - left) * dfreq)
        for f in range(left + 1, centre):
            filters[f, k] = (f - left) * height / (centre - left)
        filters[centre, k] = height
        for f in range(centre + 1, right):
            filters[f, k] = (f - right) * height / (centre - right)
    return filters


def mel_filters(n_mels: int = N_MELS, n_fft: int = N_FFT, f_min: float = F_MIN, f_max: float = F_MAX,
                dtype: torch.dtype = torch.float32) -> torch.Tensor:
    """The Sphinx triangular mel filter bank of the authors' ``mfcc.py`` (mel = 2595 log10(1 + f / 700)).

    Returns:
        ``[n_fft // 2 + 1, n_mels]`` of ``dtype`` (float32 by default; computed in float64);
        filter k has height ``2 / width_in_Hz`` at its centre bin.
    """
    return torch.from_numpy(_mel_filters_np(n_mels, n_fft, f_min, f_max)).to(dtype)


def frame_counts(lengths: torch.Tensor) -> torch.Tensor:
    """Frames per recording: ``floor(n / 160) + 1`` for ``n`` samples (Sphinx ``sig2logspec``). int64 ``[B]``."""
    return torch.div(lengths, HOP_LENGTH, rounding_mode="floor") + 1


def log_mel(waveforms: torch.Tensor, lengths: torch.Tensor,
            dtype: torch.dtype = torch.float32) -> tuple[torch.Tensor, torch.Tensor]:
    """64-bin log mel-spectrograms (module docstring, step 2), batched.

    Args:
        waveforms: float32 ``[B, T]`` at 16 kHz in [-1, 1], zero-padded after each recording.
        lengths: int64 ``[B]`` samples.
        dtype: the floating type every step is computed in: float32 (training features) or float64 (the
            learned baselines' inference, ``baselines.trained``: float64 rounding differences between CPU
            kernels stay far below what reaches an 8-bit pixel).

    Returns:
        (logmel, frames): ``[B, 64, F]`` natural-log mel energies of ``dtype`` (zero beyond each recording's
        frames), and int64 ``[B]`` frame counts, ``F = max(frames)``.

    Raises:
        BenchError: malformed shapes or lengths.
    """
    _check_batch(waveforms, lengths)
    device = waveforms.device
    frames = frame_counts(lengths.cpu()).to(device)  # [B]
    n_frames = int(frames.max())
    need = (n_frames - 1) * HOP_LENGTH + WIN_LENGTH
    x = waveforms.to(dtype) * INT16_SCALE
    idx = torch.arange(x.shape[1], device=device)
    x = torch.where(idx[None, :] < lengths[:, None], x, torch.zeros((), device=device))  # [B, T]
    x = torch.cat([x[:, :1], x[:, 1:] - PRE_EMPHASIS * x[:, :-1]], dim=1)
    x = torch.where(idx[None, :] < lengths[:, None], x, torch.zeros((), device=device))
    if x.shape[1] < need:
        x = torch.nn.functional.pad(x, (0, need - x.shape[1]))
    chunks = x[:, :need].unfold(1, WIN_LENGTH, HOP_LENGTH)  # [B, F, 400]
    window = torch.hamming_window(WIN_LENGTH, periodic=False, dtype=dtype, device=device)
    spec = torch.fft.rfft(chunks * window, n=N_FFT)  # [B, F, 513]
    power = spec.real.square() + spec.imag.square()
    mel = power @ mel_filters(dtype=dtype).to(device)  # [B, F, 64]
    logmel = mel.clamp_min(LOG_FLOOR).log().transpose(1, 2)  # [B, 64, F]
    valid = torch.arange(n_frames, device=device)[None, :] < frames[:, None]  # [B, F]
    return logmel * valid[:, None, :], frames


def normalise(features: torch.Tensor, frames: torch.Tensor) -> torch.Tensor:
    """Per-bin mean and variance normalisation over each recording's own frames (module docstring, step 3).

    Args:
        features: float32 or float64 ``[B, C, F]``; frames beyond ``frames[b]`` are ignored.
        frames: int64 ``[B]`` valid frame counts (>= 1).

    Returns:
        ``[B, C, F]`` of the features' dtype: ``(x - mean) / (std + eps)`` per recording and bin (population std,
        float32 eps, the authors' constant, whatever the dtype), zero beyond each recording's frames.
    """
    valid = (torch.arange(features.shape[2], device=features.device)[None, :] < frames[:, None]).to(features.dtype)
    n = valid.sum(dim=1)[:, None, None]  # [B, 1, 1]
    mean = (features * valid[:, None, :]).sum(dim=2, keepdim=True) / n  # [B, C, 1]
    centred = (features - mean) * valid[:, None, :]
    std = (centred.square().sum(dim=2, keepdim=True) / n).sqrt()  # [B, C, 1]
    return centred / (std + float(np.finfo(np.float32).eps))


@dataclass(frozen=True)
class VoiceFrontEnd:
    """The whole test-time front end: VAD, log mel, normalisation (module docstring, steps 1–3).

    Attributes:
        vad: run the VAD (True in every baseline; False for already-trimmed audio).
        vad_mode: WebRTC VAD aggressiveness.
        dtype: floating type of the features (``log_mel``): float32 for training, float64 for inference.
    """

    vad: bool = True
    vad_mode: int = VAD_MODE
    dtype: torch.dtype = torch.float32

    def __call__(self, waveforms: torch.Tensor, lengths: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Features of whole recordings.

        Args:
            waveforms: float32 ``[B, T]`` at 16 kHz in [-1, 1], zero-padded after each recording.
            lengths: int64 ``[B]`` samples.

        Returns:
            (features, frames): ``[B, 64, F]`` normalised log mel of ``self.dtype`` (zero beyond each
            recording's frames) and int64 ``[B]`` frame counts, on the input's device.

        Raises:
            BenchError: malformed shapes or lengths.
        """
        if self.vad:
            waveforms, lengths = keep_speech(waveforms, lengths, self.vad_mode)
        else:
            _check_batch(waveforms, lengths)
        logmel, frames = log_mel(waveforms, lengths, self.dtype)
        return normalise(logmel, frames), frames


def repeat_to(features: torch.Tensor, n_frames: int) -> torch.Tensor:
    """Repeat one recording's ``[C, F]`` features along time until it has at least ``n_frames`` frames.

    Returns:
        float32 ``[C, max(F, n_frames)]`` (Wen et al.'s repeat rule for short recordings).
    """
    reps = math.ceil(n_frames / features.shape[1])
    return features.repeat(1, reps) if reps > 1 else features


def random_crops(features: list[torch.Tensor], generator: torch.Generator,
                 crop_frames: tuple[int, int] = TRAIN_CROP_FRAMES) -> torch.Tensor:
    """Random training crops, one length for the whole batch (module docstring, step 4).

    Args:
        features: B tensors ``[C, F_b]`` (each one recording's normalised features, unpadded).
        generator: a seeded ``torch.Generator`` (CPU) drawing the length and the starts.
        crop_frames: (min, max) crop length in frames, inclusive.

    Returns:
        float32 ``[B, C, L]`` with ``L`` drawn uniformly from ``crop_frames``.
    """
    lo, hi = crop_frames
    length = int(torch.randint(lo, hi + 1, (1,), generator=generator))
    out = []
    for feat in features:
        feat = repeat_to(feat, hi)
        start = int(torch.randint(0, feat.shape[1] - length + 1, (1,), generator=generator))
        out.append(feat[:, start:start + length])
    return torch.stack(out)
