"""Toy voices: identity-level voice parameters from the latents and identity noise, and ``synthesize_voice``."""

from __future__ import annotations

import math

import numpy as np

from benchmark.data.toy.identities import VOICE_NOISE_NAMES, ToyIdentity

SAMPLE_RATE = 16_000
"""Sample rate of ``synthesize_voice`` and of the written wav files, in Hz."""

# Vowel formant targets F1–F3 in Hz of adult men (Peterson & Barney 1952, averages): i, ɪ, ɛ, æ, ɑ, ɔ, ʊ, u, ʌ.
_VOWELS = np.array([
    [270, 2290, 3010], [390, 1990, 2550], [530, 1840, 2480], [660, 1720, 2410], [730, 1090, 2440],
    [570, 840, 2410], [440, 1020, 2240], [300, 870, 2240], [640, 1190, 2390],
], dtype=float)
_BANDWIDTHS = np.array([80.0, 90.0, 120.0, 180.0, 250.0])  # Hz, F1–F5 (Klatt 1980 defaults, rounded)
_BLOCK = 160  # samples (10 ms) per coefficient update of the time-varying formant filters


def _voice_params(ident: ToyIdentity) -> dict:
    """Identity-level voice parameters (f0 in Hz, rates in syllables/s, formant scale factor, ...)."""
    z = dict(zip(VOICE_NOISE_NAMES, ident.voice_noise))
    male = ident.gender == "m"
    age, body, tone = float(ident.age), float(ident.body_size), float(ident.skin_tone)
    age01 = float(np.clip((age - 20.0) / 55.0, 0.0, 1.0))
    f0 = 115.0 if male else 205.0
    f0 *= (1 + 0.004 * max(0.0, age - 55.0)) if male else (1 - 0.0035 * max(0.0, age - 35.0))
    f0 *= math.exp(-0.06 * body + 0.07 * z["f0"])
    formant_scale = (1.0 if male else 1.17) * math.exp(-0.045 * body - 0.03 * age01 + 0.03 * z["vocal_tract"])
    return {
        "f0": f0,
        "formant_scale": formant_scale,
        "formant_noise": np.exp(0.025 * np.array([z["formant_1"], z["formant_2"], z["formant_3"]])),
        "rate": 5.0 * (1 - 0.22 * age01) * math.exp(0.08 * z["rate"]),
        "jitter": (0.004 + 0.012 * age01) * math.exp(0.2 * z["jitter"]),
        "shimmer": (0.03 + 0.06 * age01) * math.exp(0.2 * z["jitter"]),
        "breath": (0.04 + 0.10 * tone + (0.0 if male else 0.03)) * math.exp(0.25 * z["breathiness"]),
        "tilt": float(np.clip(0.35 + 0.35 * tone + 0.1 * age01 + 0.08 * z["tilt"], 0.05, 0.9)),
        "intonation": 0.10 * math.exp(0.25 * z["intonation"]) * (1.0 if male else 1.3),
        "loudness_db": 1.5 * z["loudness"],
    }


def synthesize_voice(identity: ToyIdentity, rng: np.random.Generator, seconds: float) -> np.ndarray:
    """Synthesize a speech-like utterance of a toy identity (a source–filter model, Klatt 1980 style).

    Source: a Rosenberg glottal pulse train (derivative) whose f0 comes from gender (≈115 Hz m, ≈205 Hz f),
    age and body size, with per-period jitter and shimmer, a falling phrase contour and random accents,
    plus aspiration noise (breathiness). Filter: five cascaded two-pole formant resonators
    (``scipy.signal.lfilter``, coefficients updated every 10 ms) whose frequencies glide between vowel
    targets (Peterson & Barney 1952) scaled by a vocal-tract length factor (gender, body size, age).
    Syllables (consonant noise onset + vowel) follow a speaking rate that slows with age; phrases of
    3–8 syllables are separated by 0.12–0.4 s pauses. Identity noise (``identity.voice_noise``) perturbs each
    parameter; ``rng`` draws the syllables, vowels, contour and noise of this utterance.

    Args:
        identity: the speaker.
        rng: per-utterance randomness; the same generator state gives the same samples.
        seconds: duration in seconds, > 0 (the result has ``round(seconds * 16000)`` samples).

    Returns:
        float32 array ``[T]``: mono PCM at ``SAMPLE_RATE`` (16 kHz), peak in [0.35, 0.9] (never clipped).

    Raises:
        ValueError: ``seconds`` is not positive or gives fewer than 160 samples.
    """
    from scipy.signal import lfilter

    n = int(round(float(seconds) * SAMPLE_RATE))
    if not seconds > 0 or n < _BLOCK:
        raise ValueError(f"synthesize_voice: seconds must give at least {_BLOCK} samples, got {seconds}")
    vp = _voice_params(identity)
    sr = SAMPLE_RATE
    hop = _BLOCK
    nf = n // hop + 2  # control frames, one per 10 ms

    # --- syllable plan on the frame grid
    voiced = np.zeros(nf)      # vowel amplitude
    frication = np.zeros(nf)   # consonant noise amplitude
    accent = np.zeros(nf)      # pitch accent (fraction of f0)
    phrase_pos = np.zeros(nf)  # 0 → 1 within a phrase (declination)
    centres, vowel_ids = [], []
    f = int(rng.integers(5, 20))  # leading silence, frames
    while f < nf:
        n_syl = int(rng.integers(3, 9))
        start = f
        syl = []
        for _ in range(n_syl):
            dur = max(8, int(round(100.0 / vp["rate"] * math.exp(rng.normal(0, 0.25)))))
            cons = int(round(dur * rng.uniform(0.2, 0.4)))
            syl.append((f, cons, dur))
            f += dur
            if f >= nf:
                break
        end = min(f, nf)
        for s0, cons, dur in syl:
            kind = rng.integers(0, 3)  # 0: fricative, 1: stop burst, 2: voiced onset (nasal-like)
            c1 = min(s0 + cons, nf)
            if kind == 0:
                frication[s0:c1] = np.hanning(c1 - s0 + 2)[1:-1] * rng.uniform(0.15, 0.35)
            elif kind == 1:
                frication[max(s0, c1 - 3):c1] = rng.uniform(0.3, 0.5)
            else:
                voiced[s0:c1] = 0.35 * np.hanning(c1 - s0 + 2)[1:-1]
            v1 = min(s0 + dur, nf)
            if v1 > c1:
                shape = np.sin(np.linspace(0, np.pi, v1 - c1 + 2)[1:-1]) ** 0.6
                voiced[c1:v1] = np.maximum(voiced[c1:v1], shape * rng.uniform(0.6, 1.0))
                accent[c1:v1] = rng.normal(0, vp["intonation"] * 0.5) * shape
                centres.append((c1 + v1) / 2)
                vowel_ids.append(int(rng.integers(0, len(_VOWELS))))
        phrase_pos[start:end] = np.linspace(0, 1, end - start)
        f = end + int(rng.integers(12, 40))  # pause
    if not centres:
        centres, vowel_ids = [nf / 2], [4]
    grid = np.arange(nf)
    formants = np.stack([np.interp(grid, centres, _VOWELS[vowel_ids, k]) for k in range(3)], 1)  # [nf, 3]
    formants = formants * vp["formant_noise"][None, :]
    formants = np.concatenate([formants, np.full((nf, 1), 3400.0), np.full((nf, 1), 4200.0)], 1)
    formants = formants * vp["formant_scale"] * np.exp(rng.normal(0, 0.01, (1, 5)))
    formants[:, 3:] = np.minimum(formants[:, 3:], [0.42 * sr, 0.47 * sr])
    formants[:, 3] = np.maximum(formants[:, 3], formants[:, 2] + 300)

    # --- f0 contour (Hz) on the frame grid, then per sample with per-period jitter
    slow = sum(np.sin(2 * np.pi * (rng.uniform(0.2, 0.7) * grid / 100.0) + rng.uniform(0, 2 * math.pi))
               for _ in range(2))
    f0_frames = vp["f0"] * (1 + vp["intonation"] * (0.6 - 1.2 * phrase_pos) + accent + 0.03 * slow)
    t_s = np.arange(n) / hop
    f0_s = np.interp(t_s, grid, f0_frames)
    phase0 = np.cumsum(f0_s / sr)
    n_periods = int(phase0[-1]) + 2
    jit = 1 + np.clip(rng.normal(0, vp["jitter"], n_periods), -0.1, 0.1)
    shim = 1 + np.clip(rng.normal(0, vp["shimmer"], n_periods), -0.3, 0.3)
    k = phase0.astype(np.int64)
    phase = np.cumsum(f0_s * jit[k] / sr)
    frac = phase - np.floor(phase)
    tp, tn = 0.40, 0.16  # Rosenberg opening and closing fractions of the period
    flow = np.where(frac < tp, 0.5 * (1 - np.cos(np.pi * frac / tp)),
                    np.where(frac < tp + tn, np.cos(0.5 * np.pi * (frac - tp) / tn), 0.0))
    source = np.diff(flow, prepend=0.0) * shim[phase.astype(np.int64)]  # glottal flow derivative
    source = lfilter([1 - vp["tilt"] * 0.5], [1, -vp["tilt"] * 0.5], source)  # extra spectral tilt
    voiced_s = np.interp(t_s, grid, voiced)
    fric_s = np.interp(t_s, grid, frication)
    noise = rng.standard_normal(n)
    aspiration = noise * (0.3 + flow) * vp["breath"] * 0.05
    excitation = (source + aspiration) * voiced_s + noise * fric_s * 0.004

    # --- time-varying cascade of formant resonators, unity gain at DC (Klatt 1980)
    bw = _BANDWIDTHS * (1 + 2.0 * vp["breath"])
    r = np.exp(-np.pi * bw / sr)  # [5]
    y = excitation
    for j in range(5):
        theta = 2 * np.pi * formants[:, j] / sr  # [nf]
        a1 = -2 * r[j] * np.cos(theta)
        a2 = np.full(nf, r[j] ** 2)
        b0 = 1 + a1 + a2
        out = np.zeros(n + 2)  # two leading zeros: the filter's past outputs at the start
        for b in range(0, n, hop):
            fi = b // hop
            # state from the last two outputs under the *new* coefficients (direct form I): no clicks
            y1, y2 = out[b + 1], out[b]
            zi = [-a1[fi] * y1 - a2[fi] * y2, -a2[fi] * y1]
            out[b + 2:b + 2 + hop] = lfilter([b0[fi]], [1.0, a1[fi], a2[fi]], y[b:b + hop], zi=zi)[0]
        y = out[2:]
    y = np.diff(y, prepend=0.0)  # lip radiation
    # fricative hiss (above ~3.5 kHz), added after the vocal tract
    hiss = lfilter([1, -1.6, 0.64], [1.0], noise) * fric_s * 0.006
    y = y + hiss
    y = lfilter([1, -1], [1, -0.995], y)  # remove DC
    peak = float(np.max(np.abs(y)))
    if peak <= 0:
        raise ValueError("synthesize_voice produced silence")  # pragma: no cover - cannot happen with n >= 160
    target = float(np.clip(0.6 * 10 ** (vp["loudness_db"] / 20), 0.35, 0.9))
    y = y * (target / peak)
    y = y + rng.normal(0, 3e-4, n)  # recording noise floor (about -70 dBFS)
    return np.clip(y, -0.95, 0.95).astype(np.float32)
