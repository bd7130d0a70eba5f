"""Speaker embeddings: resemblyzer's pretrained GE2E voice encoder, batched.

Model: ``resemblyzer.VoiceEncoder`` 0.1.4 (Resemble AI, Apache-2.0): a 3-layer LSTM (256 units) over 40-bin
mel spectrograms, trained with the generalised end-to-end loss (Wan et al., ICASSP 2018) on speaker
verification data; 256-d, non-negative, L2-normalised embeddings. Its weights (``pretrained.pt``) ship inside
the wheel: nothing is downloaded.

Per utterance, the steps are resemblyzer's own (``resemblyzer.preprocess_wav`` then
``VoiceEncoder.embed_utterance``, defaults ``rate=1.3``, ``min_coverage=0.75``): volume raised (never lowered)
to -30 dBFS, long silences trimmed by WebRTC VAD (mode 3, 30 ms windows), 40-bin mel spectrogram (25 ms /
10 ms), 1.6 s partial windows at 1.3 per second, LSTM, mean of the partial embeddings, L2 normalisation.
Batching: the API takes batches; the partial windows of each utterance go through the LSTM in one call
(utterances are not mixed, so an embedding never depends on its batch); the result equals
``embed_utterance`` to float32 rounding (checked in ``tests/test_baselines.py``).
Precision: the mel spectrogram and the LSTM run in float64 (``COMPUTE_DTYPE``; resemblyzer computes in float32),
and the embedding is rounded to float32 at the end. In float32 the BLAS and SIMD kernels that numpy (OpenBLAS),
librosa and torch pick by CPU sum in different orders, so an embedding moved by about 1e-7 between CPUs, enough
to flip a nearest-neighbour or gender decision that sits on a near-tie (ar-spm's face prior, ``voice_only``);
float64 differences (about 1e-16) vanish in the float32 rounding except on a last-bit tie
(``benchmarks/cross_cpu.py`` measures both).
Embeddings are cached on disk (``<cache>/speaker.sqlite``) by the sha256 of the float32 samples, the encoder's
weights sha256 and ``PREPROCESS_VERSION``, as the judge caches face embeddings. One documented choice: when
VAD trimming leaves less than ``MIN_TRIMMED_S`` of audio (e.g. a recording of
music or noise), the untrimmed, volume-normalised recording is embedded instead of failing.

Installation: ``resemblyzer==0.1.4`` is an ordinary dependency of this package, so ``pip install -e .``
installs it with its own dependencies, among them the distribution ``webrtcvad`` (built from source with the
system C compiler). That module imports ``pkg_resources`` (gone from setuptools >= 81), so ``import_resemblyzer``
first puts ``baselines.voice.import_webrtcvad``'s equivalent module in its place — see README "Install".
"""

from __future__ import annotations

import warnings
from typing import Sequence

import numpy as np
import torch

from benchmark.errors import BenchError

EMBED_DIM = 256
"""Dimension of resemblyzer's embeddings."""

COMPUTE_DTYPE = torch.float64
"""Floating type of the mel spectrogram and the LSTM (module docstring, "Precision")."""

MIN_TRIMMED_S = 0.5
"""Below this much audio left after resemblyzer's silence trimming, in seconds, the untrimmed audio is used."""

PREPROCESS_VERSION = "resemblyzer-0.1.4-preprocess_wav-rate1.3-cov0.75-min0.5s-float64-v3"
"""Version of the steps above; part of the cache key."""

WEIGHTS_SHA256 = "39373b86598fa3da9fcddee6142382efe09777e8d37dc9c0561f41f0070f134e"
"""sha256 of ``resemblyzer/pretrained.pt`` as shipped by resemblyzer 0.1.4 (computed from the installed file); the
encoder refuses any other."""

INSTALL_HINT = ('it is a dependency of this package: pip install -e ".[dev]" installs it (see README "Install"; '
                'without a C compiler for webrtcvad: pip install webrtcvad-wheels, then pip install --no-deps '
                'resemblyzer==0.1.4)')


def import_resemblyzer():
    """Import resemblyzer, making sure its ``import webrtcvad`` works first.

    Returns:
        The ``resemblyzer`` module.

    Raises:
        BenchError: resemblyzer or one of its dependencies is missing; the message gives the install command.
    """
    from baselines.voice import import_webrtcvad

    import_webrtcvad()
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DeprecationWarning)  # scipy.ndimage.morphology, used by resemblyzer
            import resemblyzer
    except ModuleNotFoundError as exc:
        raise BenchError(f"speaker embeddings need resemblyzer, and {exc.name!r} is missing; {INSTALL_HINT}.") from exc
    return resemblyzer


class SpeakerEncoder:
    """Batched resemblyzer embeddings (module docstring).

    Args:
        device: torch device string for the LSTM ("cpu", "cuda").
        cache: use the on-disk cache in the cache directory (``benchmark.settings``).

    Attributes:
        weights_sha256: sha256 of resemblyzer's ``pretrained.pt`` (recorded in generator metas).
        encoder: resemblyzer's own ``VoiceEncoder`` (float32, as shipped).

    Raises:
        BenchError: resemblyzer is missing, or its ``pretrained.pt`` is not the expected file (``WEIGHTS_SHA256``).
    """

    def __init__(self, device: str = "cpu", cache: bool = True):
        import copy
        from pathlib import Path

        from benchmark.judges.base import check_model_file

        rz = import_resemblyzer()
        self._rz = rz
        weights = Path(rz.__file__).resolve().parent / "pretrained.pt"  # checked before it is loaded
        self.weights_sha256 = check_model_file(weights, WEIGHTS_SHA256, "resemblyzer voice encoder weights",
                                               "Reinstall it: `pip install --force-reinstall resemblyzer==0.1.4`.")
        self.device = torch.device(device)
        self.encoder = rz.VoiceEncoder(device=self.device, verbose=False).eval()
        self._encoder = copy.deepcopy(self.encoder).to(COMPUTE_DTYPE)  # the one ``compute`` runs (exact copy)
        self.use_cache = cache
        self._key_suffix = f"|resemblyzer|{self.weights_sha256}|{PREPROCESS_VERSION}" + (
            "" if COMPUTE_DTYPE == torch.float64 else f"|{COMPUTE_DTYPE}")  # a float32 measurement never mixes in

    def preprocess(self, wave: np.ndarray) -> np.ndarray:
        """resemblyzer's ``preprocess_wav`` on one 16 kHz float32 ``[T]`` recording, with the short-result fallback.

        Returns:
            float32 ``[T']`` (volume-normalised, long silences trimmed).
        """
        rz = self._rz
        wave = np.asarray(wave, dtype=np.float32)
        normed = rz.normalize_volume(wave, rz.audio.audio_norm_target_dBFS, increase_only=True)
        trimmed = rz.trim_long_silences(normed)
        return (trimmed if len(trimmed) >= MIN_TRIMMED_S * rz.sampling_rate else normed).astype(np.float32)

    def embed_waves(self, waves: Sequence[np.ndarray]) -> np.ndarray:
        """Embed recordings given as a list of float32 ``[T_i]`` 16 kHz arrays in [-1, 1], using the cache.

        Returns:
            float32 ``[N, 256]``, each row L2-normalised (non-negative entries).

        Raises:
            BenchError: an empty recording.
        """
        import hashlib

        from benchmark.judges.cache import EmbeddingCache
        from benchmark.settings import cache_dir

        waves = [np.ascontiguousarray(w, dtype=np.float32) for w in waves]
        keys = [hashlib.sha256(w.tobytes()).hexdigest() + self._key_suffix for w in waves]
        cache = EmbeddingCache(cache_dir() / "speaker.sqlite" if self.use_cache else None)
        try:
            found = cache.get_many(sorted(set(keys)))
            todo = {k: w for k, w in zip(keys, waves) if k not in found}
            if todo:
                vecs = self.compute(list(todo.values()))
                new = {k: (v, True) for k, v in zip(todo, vecs)}
                cache.put_many(new)
                found.update(new)
        finally:
            cache.close()
        return np.stack([found[k][0] for k in keys]) if keys else np.zeros((0, EMBED_DIM), np.float32)

    def mel(self, wav: np.ndarray) -> np.ndarray:
        """resemblyzer's ``wav_to_mel_spectrogram`` (librosa, 40 mel bins, 25 ms window, 10 ms hop), computed in
        ``COMPUTE_DTYPE`` (float64; with float32 it is resemblyzer's own function to the bit).

        Args:
            wav: float32 ``[T]`` preprocessed 16 kHz samples.

        Returns:
            ``[frames, 40]`` mel power spectrogram (not log) of ``COMPUTE_DTYPE``, resemblyzer's layout.
        """
        import librosa

        rz = self._rz.audio
        dtype = np.float64 if COMPUTE_DTYPE == torch.float64 else np.float32
        frames = librosa.feature.melspectrogram(
            y=np.asarray(wav, dtype=dtype), sr=rz.sampling_rate,
            n_fft=int(rz.sampling_rate * rz.mel_window_length / 1000),
            hop_length=int(rz.sampling_rate * rz.mel_window_step / 1000), n_mels=rz.mel_n_channels)
        return np.ascontiguousarray(frames.astype(dtype).T)

    def compute(self, waves: Sequence[np.ndarray], rate: float = 1.3, min_coverage: float = 0.75) -> np.ndarray:
        """Embed recordings without the cache: each recording's partial windows in one LSTM call.

        Recordings are not mixed in one call: a float reduction over a batch of another shape can differ in the
        last bit, and a speaker embedding must not depend on the batch it came in (``benchmark.generators.conformance``).

        Args:
            waves: float32 ``[T_i]`` 16 kHz arrays in [-1, 1].
            rate, min_coverage: resemblyzer's ``embed_utterance`` parameters (its defaults).

        Returns:
            float32 ``[N, 256]``, each row L2-normalised (non-negative entries).

        Raises:
            BenchError: an empty recording.
        """
        rz = self._rz
        out = np.zeros((len(waves), EMBED_DIM), np.float32)
        for i, wave in enumerate(waves):
            if len(wave) == 0:
                raise BenchError(f"speaker embedding: recording {i} of the batch is empty.")
            wav = self.preprocess(wave)
            wav_slices, mel_slices = rz.VoiceEncoder.compute_partial_slices(len(wav), rate, min_coverage)
            if wav_slices[-1].stop >= len(wav):
                wav = np.pad(wav, (0, wav_slices[-1].stop - len(wav)), "constant")
            mel = self.mel(wav)  # [frames, 40]
            partials = torch.from_numpy(np.stack([mel[s] for s in mel_slices])).to(self.device)  # [P, 160, 40]
            with torch.no_grad():
                emb = self._encoder(partials).cpu().double().mean(dim=0)  # [256]
            out[i] = (emb / emb.norm()).float().numpy()
        return out

    def embed(self, waveforms: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        """Embed a padded batch.

        Args:
            waveforms: float32 ``[B, T]`` at 16 kHz in [-1, 1], zero-padded after each recording (any device).
            lengths: int64 ``[B]`` samples.

        Returns:
            float32 ``[B, 256]`` CPU tensor, rows L2-normalised.
        """
        waves = waveforms.detach().float().cpu().numpy()
        return torch.from_numpy(self.embed_waves([waves[b, :n] for b, n in enumerate(lengths.tolist())]))


def embed_files(encoder: SpeakerEncoder, paths: Sequence[str], batch_size: int = 32) -> np.ndarray:
    """Embed audio files (read with ``benchmark.data.audio.load_audio``) in batches.

    Returns:
        float32 ``[N, 256]`` in the order of ``paths``.

    Raises:
        DataError: a file cannot be read (the message names it).
    """
    from benchmark.data.audio import load_audio

    out = [np.zeros((0, EMBED_DIM), np.float32)]
    for start in range(0, len(paths), batch_size):
        out.append(encoder.embed_waves([load_audio(p) for p in paths[start:start + batch_size]]))
    return np.concatenate(out)
