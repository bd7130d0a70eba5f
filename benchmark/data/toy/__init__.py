"""The toy world: a procedurally generated, known-answer dataset in the VoxCeleb1 + VGGFace layout.

Why it exists: it lets anyone run the whole pipeline (loader → trials → generator → judge → metrics)
without VoxCeleb, in a minute, and it has a *known answer*: every identity is drawn from four latent
attributes — gender, age (years), body size (a z-score) and skin tone (0..1) — and each latent shapes
**both** the voice and the face, so a generator *can* learn voice → face beyond gender. Everything else
about a person is per-identity "identity noise" (standard-normal z-values, ``ToyIdentity.face_noise`` and
``ToyIdentity.voice_noise``) that the voice says nothing about. The numbers it gives say nothing about real
voices or real faces.

How the latents act (the toy world's own physics, loosely after the phonetics literature; the skin-tone
links of the voice are *invented* so that every latent is audible):

=========  =====================================================  ==============================================
latent     voice (``synthesize_voice``)                           face (``render_face``)
=========  =====================================================  ==============================================
gender     f0 ≈ 115 Hz (m) / 205 Hz (f); formants ×1.17 for f     jaw, chin, brows, face size, hair length,
                                                                  beard shadow (some males), lips
age        f0 falls (f) or rises (m, > 55 y); more jitter and     grey hair, receding hairline (m), wrinkles,
           shimmer; slower speaking rate                          lines, narrower eyes, thinner lips, jaw
body size  lower f0 (−6 %/z); longer vocal tract (formants        wider face, jaw, chin, neck, nose, shoulders
           −4.5 %/z)
skin tone  breathier voice, steeper spectral tilt (invented)      skin colour, hair and iris darkness, nose, lips
=========  =====================================================  ==============================================

Layout written by ``make_toy_world`` — the layout of VoxCeleb1 + VGGFace that ``benchmark.data.manifest`` reads
(see ``/work/shared/data/vox1-mini/README.md``), except that faces are PNG (lossless, deterministic)::

    vox1_meta.csv                                    tab-separated: VoxCeleb1 ID, VGGFace1 ID, Gender (m/f),
                                                     Nationality ("Toyland"), Set ("dev")
    voxceleb1/wav/<VoxCeleb1 ID>/<video id>/<NNNNN>.wav     16 kHz mono PCM_16, 3–5 s; 3 videos × 2 each
    voxceleb1/faces/<VoxCeleb1 ID>/<video id>/<NNNNNNN>.png face frames of the first 2 videos, 2 each
    vggface/<VGGFace1 ID>/<NNNNNNNN>.png                    6 face photos, 128×128 RGB
    toy_latents.csv                                  the known answers: every ``ToyIdentity`` field, comma-
                                                     separated, one row per identity (``read_toy_latents``)
    TOY_VERSION                                      ``TOY_VERSION`` and a newline
    README.md                                        says what this is (synthetic) and its parameters
    SHA256SUMS                                       ``sha256sum -c`` list of every other file (completeness check)

Identities ``toy00001``…; names like ``Alma_Toy01`` follow the split rule of Wen, Singh, Raj (NeurIPS 2019,
§4 and Table 1) that ``benchmark.data.manifest.wen_split`` applies: names starting A–B are validation, C–E test, F–Z
training. For the default 48 identities: 8 validation (4 f, 4 m), 8 test (4 f, 4 m), 32 training (16 f, 16 m).
(The table below was measured when A–E counted as one 16-identity test split.)

Determinism: every random draw comes from ``numpy.random.default_rng(SeedSequence([seed, identity index,
item index]))``, so each file depends only on ``(n_identities, seed, TOY_VERSION)`` and its own indices,
never on generation order. Same inputs, same library versions → byte-identical files.

Measured with the judge (``benchmark.judges.dlib_bin.DlibJudge``: dlib HOG detector with one upsampling, 5-point
alignment, ResNet embedder, Euclidean distance) on the default world (48 identities, seed 0, TOY_VERSION 1).
1:2 matching, gender-stratified: for each of the 16 test speakers, each of the 7 test imposters of the same
gender and each of the 6 photo slots ``p``, the gallery is (speaker's photo ``p``, imposter's photo ``p``) from
``vggface/``; success when the "generated" face is nearer the speaker's photo. 672 trials; the 95 % CI
bootstraps the 16 speakers.

=====================================================================  ===========  ================
"generated" face                                                       1:2 acc      95 % CI
=====================================================================  ===========  ================
oracle: a ``voxceleb1/faces`` frame of the speaker                     0.994        [0.984, 1.000]
constant face (a rendered face of one training identity)               0.500        [0.342, 0.652]
**latent twin**: ``render_face(latent_twin(speaker))`` (same latents,  **0.750**    [0.629, 0.842]
fresh identity noise) — the known answer
control: same gender only (age, body size, skin tone redrawn)          0.473        [0.353, 0.592]
=====================================================================  ===========  ================

- The detector finds a face in 480/480 toy faces as the judge runs it (upscaled to 150 px) and in 479/480
  on the raw 128 px images.
- Judge distances: photos of the same identity 0.16 ± 0.06, different identities 0.42 ± 0.08 (the VGGFace
  photos of vox1-mini: 0.35 ± 0.09 and 0.90 ± 0.09). By dlib's 0.6 threshold every toy face is "the same
  person": on the toy world use rankings and 1:2 / 1:N matching, not the threshold.
- In memory, 96 identities (32 test) and seeds 1 and 2: oracle 0.999 / 1.000, latent twin 0.805 / 0.807,
  same-gender control 0.500 / 0.528 (1,920 trials each). Twins sharing one latent only (seed 1): age 0.63,
  body size 0.63, skin tone 0.64, none 0.54 — every latent carries signal, none dominates.
- Generation of the default world: 31 s of CPU (one core; 42 s wall on a loaded 2-core machine), 44 MB
  (38 MB of it the 288 wav files: 16 kHz PCM_16 at 3–5 s costs 0.1–0.16 MB each).
"""

from __future__ import annotations

import csv
import hashlib
import io
import math
import os
import shutil
import tempfile
import uuid
from dataclasses import dataclass, fields, replace
from pathlib import Path

import numpy as np

TOY_VERSION: int = 1
"""Version of the generator's output; bump it whenever any generated byte changes (it names the cache dir)."""

SAMPLE_RATE = 16_000
"""Sample rate of ``synthesize_voice`` and of the written wav files, in Hz."""

FACE_SIZE = 128
"""Side, in pixels, of the face images ``make_toy_world`` writes."""

FACE_NOISE_NAMES: tuple[str, ...] = (
    "face_width", "face_height", "jaw", "chin", "eye_y", "eye_spacing", "eye_size", "eye_open",
    "brow_y", "brow_thickness", "brow_tilt", "nose_length", "nose_width", "mouth_y", "mouth_width",
    "lip_thickness", "smile", "hairline", "hair_volume", "hair_length", "hair_hue", "hair_grey",
    "skin_hue", "iris_hue", "ear_size", "beard", "fringe", "background", "shirt",
)
"""Names of the components of ``ToyIdentity.face_noise`` (one standard-normal z-value each)."""

VOICE_NOISE_NAMES: tuple[str, ...] = (
    "f0", "vocal_tract", "rate", "jitter", "breathiness", "tilt", "intonation", "formant_1",
    "formant_2", "formant_3", "loudness",
)
"""Names of the components of ``ToyIdentity.voice_noise`` (one standard-normal z-value each)."""

AGE_RANGE = (20.0, 75.0)
"""Ages are drawn uniformly from this range, in years."""

# Strength of the latent effects and of the identity noise in the face, tuned with the judge (module
# docstring): at 1.0 / 1.0 the latent twin scored 0.63–0.67 on the default world, at 1.5 / 1.0 0.75.
# Changing either changes the output: bump TOY_VERSION.
_LATENT_GAIN = 1.5
_NOISE_GAIN = 1.0
_SUPERSAMPLE = 3
# Per-photo noise of render_face (standard deviations): shift in output pixels, relative zoom, in-plane
# rotation in degrees, relative brightness, left-right lighting gradient (relative, at the image edges).
_PHOTO_SHIFT_PX = 1.0
_PHOTO_ZOOM = 0.015
_PHOTO_ROTATION_DEG = 1.5
_PHOTO_BRIGHTNESS = 0.035
_PHOTO_LIGHTING = 0.03
_PHOTO_EXPRESSION = 1.5  # scales smile (σ 0.004), brow height (σ 0.004) and eye opening (σ 8 %)
_PHOTO_YAW = 0.010  # sideways shift of the eyes/nose/mouth (image units at the nose tip)

_ITEM_IDENTITY = 0
_ITEM_VIDEOS = 1
_ITEM_WAV = 100  # + 10 * video + utterance
_ITEM_VGGFACE = 200  # + photo
_ITEM_FRAME = 300  # + 10 * video: frame numbers; + 10 * video + 1 + frame: the image

_VIDEOS, _UTTERANCES_PER_VIDEO, _PHOTOS, _FRAME_VIDEOS, _FRAMES_PER_VIDEO = 3, 2, 6, 2, 2
_SECONDS = (3.0, 5.0)

_FEMALE_NAMES = {
    "A": "Alma", "B": "Bea", "C": "Cora", "D": "Dina", "E": "Edda", "F": "Fay", "G": "Gina", "H": "Hana",
    "I": "Ines", "J": "Jola", "K": "Kira", "L": "Lena", "M": "Mira", "N": "Nora", "O": "Olga", "P": "Pia",
    "Q": "Quinn", "R": "Rosa", "S": "Sara", "T": "Tara", "U": "Uma", "V": "Vera", "W": "Wren", "X": "Xena",
    "Y": "Yara", "Z": "Zoe",
}
_MALE_NAMES = {
    "A": "Abel", "B": "Boris", "C": "Carl", "D": "Dario", "E": "Emil", "F": "Felix", "G": "Gus", "H": "Hugo",
    "I": "Ivan", "J": "Jonas", "K": "Karl", "L": "Leo", "M": "Milo", "N": "Nils", "O": "Otto", "P": "Paul",
    "Q": "Quentin", "R": "Rex", "S": "Sven", "T": "Theo", "U": "Ugo", "V": "Viktor", "W": "Walt", "X": "Xaver",
    "Y": "Yuri", "Z": "Zeno",
}
_TEST_LETTERS = "ABCDE"
_TRAIN_LETTERS = "FGHIJKLMNOPQRSTUVWXYZ"


@dataclass(frozen=True)
class ToyIdentity:
    """One toy person: four latent attributes (the known answer) plus identity noise.

    Attributes:
        voxceleb_id: ``toyNNNNN`` (1-based, 5 digits), the "VoxCeleb1 ID".
        name: the "VGGFace1 ID", e.g. ``Alma_Toy01``: letters, digits and underscores; its first letter
            decides the split (A–B validation, C–E test, F–Z training; Wen et al. 2019).
        gender: "m" or "f".
        age: years, in ``AGE_RANGE`` (20–75).
        body_size: z-score within gender, clipped to [-2.5, 2.5].
        skin_tone: 0 (lightest) .. 1 (darkest).
        face_noise: z-values, one per name in ``FACE_NOISE_NAMES``: identity-specific face traits that the
            voice does not carry.
        voice_noise: z-values, one per name in ``VOICE_NOISE_NAMES``: identity-specific voice traits that
            the face does not carry.

    Raises:
        ValueError: a field is out of range or a noise tuple has the wrong length.
    """

    voxceleb_id: str
    name: str
    gender: str
    age: float
    body_size: float
    skin_tone: float
    face_noise: tuple[float, ...]
    voice_noise: tuple[float, ...]

    def __post_init__(self) -> None:
        if self.gender not in ("m", "f"):
            raise ValueError(f"ToyIdentity {self.voxceleb_id}: gender must be 'm' or 'f', not {self.gender!r}")
        if not 0.0 <= self.skin_tone <= 1.0:
            raise ValueError(f"ToyIdentity {self.voxceleb_id}: skin_tone {self.skin_tone} is outside [0, 1]")
        if not 0.0 < self.age < 120.0:
            raise ValueError(f"ToyIdentity {self.voxceleb_id}: age {self.age} is not a plausible age in years")
        if len(self.face_noise) != len(FACE_NOISE_NAMES) or len(self.voice_noise) != len(VOICE_NOISE_NAMES):
            raise ValueError(
                f"ToyIdentity {self.voxceleb_id}: face_noise needs {len(FACE_NOISE_NAMES)} values and voice_noise "
                f"{len(VOICE_NOISE_NAMES)} (FACE_NOISE_NAMES, VOICE_NOISE_NAMES)"
            )
        if not self.name or not all(c.isascii() and (c.isalnum() or c == "_") for c in self.name):
            raise ValueError(f"ToyIdentity {self.voxceleb_id}: name {self.name!r} must be letters, digits and _")


def _rng(seed: int, identity_index: int, item: int) -> np.random.Generator:
    return np.random.default_rng(np.random.SeedSequence([int(seed), int(identity_index), int(item)]))


def _noise(rng: np.random.Generator, k: int) -> tuple[float, ...]:
    return tuple(round(float(v), 6) for v in rng.standard_normal(k))


def sample_identities(n_identities: int = 48, seed: int = 0) -> list[ToyIdentity]:
    """Draw the toy population.

    A third of the identities (rounded to an even number, at least 2) are held-out identities, named A–E — Wen et
    al.'s validation (A–B) and test (C–E) splits, letters cycling A, B, C, D, E per gender — the rest training
    identities, named F–Z; each part is half female (female count rounded down). Latents:
    age ~ U(20, 75) years, body size ~ N(0, 1) clipped to ±2.5, skin tone ~ U(0, 1); identity noise ~ N(0, 1)
    per component; all rounded to 6 decimals (so ``toy_latents.csv`` round-trips exactly). Identity ``i``
    (0-based) uses only ``SeedSequence([seed, i, 0])``.

    Args:
        n_identities: number of identities, ≥ 2. 48 gives 16 held-out — 8 validation (4 f, 4 m) and 8 test
            (4 f, 4 m) — and 32 training (16 f, 16 m).
        seed: any non-negative integer.

    Returns:
        ``n_identities`` ``ToyIdentity`` objects, ids ``toy00001``… in order; test identities first.

    Raises:
        ValueError: ``n_identities < 2`` or ``seed < 0``.
    """
    if n_identities < 2:
        raise ValueError(f"n_identities must be at least 2, got {n_identities}")
    if seed < 0:
        raise ValueError(f"seed must be non-negative, got {seed}")
    n_test = min(n_identities, 2 * max(1, round(n_identities / 6)))
    n_train = n_identities - n_test
    slots = [("test", "f" if k < n_test // 2 else "m") for k in range(n_test)]
    slots += [("train", "f" if k < n_train // 2 else "m") for k in range(n_train)]
    # interleave genders inside each split: f, m, f, m, ...
    slots = _interleave([s for s in slots if s[0] == "test"]) + _interleave([s for s in slots if s[0] == "train"])
    width = max(2, len(str(n_identities)))
    counters = {("test", "f"): 0, ("test", "m"): 0, ("train", "f"): 0, ("train", "m"): 0}
    out = []
    for index, (split, gender) in enumerate(slots):
        letters = _TEST_LETTERS if split == "test" else _TRAIN_LETTERS
        letter = letters[counters[(split, gender)] % len(letters)]
        counters[(split, gender)] += 1
        first = (_FEMALE_NAMES if gender == "f" else _MALE_NAMES)[letter]
        rng = _rng(seed, index, _ITEM_IDENTITY)
        age = round(float(rng.uniform(*AGE_RANGE)), 6)
        body = round(float(np.clip(rng.standard_normal(), -2.5, 2.5)), 6)
        tone = round(float(rng.uniform(0.0, 1.0)), 6)
        out.append(ToyIdentity(
            voxceleb_id=f"toy{index + 1:05d}", name=f"{first}_Toy{index + 1:0{width}d}", gender=gender, age=age,
            body_size=body, skin_tone=tone, face_noise=_noise(rng, len(FACE_NOISE_NAMES)),
            voice_noise=_noise(rng, len(VOICE_NOISE_NAMES)),
        ))
    return out


def _interleave(slots: list) -> list:
    f = [s for s in slots if s[1] == "f"]
    m = [s for s in slots if s[1] == "m"]
    out = []
    for k in range(max(len(f), len(m))):
        out += f[k:k + 1] + m[k:k + 1]
    return out


def latent_twin(identity: ToyIdentity, rng: np.random.Generator) -> ToyIdentity:
    """A new person who shares only the latent attributes of ``identity``.

    Gender, age, body size and skin tone are kept; ``face_noise`` and ``voice_noise`` are redrawn from
    ``rng`` (standard normal, rounded to 6 decimals). ``render_face(latent_twin(x, rng), ...)`` is the face an
    ideal voice → latents → face generator would draw: the known answer's upper bound for such generators.

    Args:
        identity: the person whose latents are kept.
        rng: source of the fresh identity noise.

    Returns:
        A ``ToyIdentity`` with the same ids, name and latents and new noise.
    """
    return replace(identity, face_noise=_noise(rng, len(FACE_NOISE_NAMES)),
                   voice_noise=_noise(rng, len(VOICE_NOISE_NAMES)))


# --------------------------------------------------------------------------------------------- faces

_SKIN_STOPS = ((0.0, (246, 218, 198)), (0.3, (230, 182, 150)), (0.6, (184, 128, 92)), (1.0, (94, 61, 44)))


def _interp_colour(stops, t: float) -> tuple[float, ...]:
    t = float(np.clip(t, 0.0, 1.0))
    for (t0, c0), (t1, c1) in zip(stops[:-1], stops[1:]):
        if t <= t1:
            w = (t - t0) / (t1 - t0)
            return tuple(a + (b - a) * w for a, b in zip(c0, c1))
    return tuple(float(c) for c in stops[-1][1])


def _mix(c0, c1, w: float) -> tuple[float, ...]:
    return tuple(a + (b - a) * w for a, b in zip(c0, c1))


def _scale(c, k: float) -> tuple[float, ...]:
    return tuple(a * k for a in c)


def _rgb(c) -> tuple[int, int, int]:
    return tuple(int(np.clip(round(v), 0, 255)) for v in c)


def _chaikin(pts, n: int = 3) -> np.ndarray:
    """Corner-cutting smoothing of a closed polygon ``[N, 2]`` → ``[N * 2**n, 2]``."""
    pts = np.asarray(pts, dtype=float)
    for _ in range(n):
        nxt = np.roll(pts, -1, axis=0)
        new = np.empty((2 * len(pts), 2))
        new[0::2] = 0.75 * pts + 0.25 * nxt
        new[1::2] = 0.25 * pts + 0.75 * nxt
        pts = new
    return pts


def _ellipse(cx, cy, rx, ry, n=40, t0=0.0, t1=2 * math.pi) -> np.ndarray:
    full = abs(t1 - t0) >= 2 * math.pi - 1e-9
    t = np.linspace(t0, t1, n, endpoint=not full)
    return np.stack([cx + rx * np.cos(t), cy + ry * np.sin(t)], axis=1)


def _face_params(ident: ToyIdentity) -> dict:
    """Identity-level face geometry (image units, the image is the unit square) and colours (RGB 0..255)."""
    z = dict(zip(FACE_NOISE_NAMES, (_NOISE_GAIN * v for v in ident.face_noise)))
    lat = _LATENT_GAIN
    male = 1.0 if ident.gender == "m" else 0.0
    age01 = float(np.clip((ident.age - 20.0) / 55.0, 0.0, 1.0))
    body = float(ident.body_size)
    tone = float(ident.skin_tone)
    p: dict = {"male": male, "age01": age01}
    p["eye_y"] = 0.445 + 0.010 * z["eye_y"]
    p["fw"] = 0.236 * (1 + 0.05 * male + lat * 0.075 * body + 0.045 * z["face_width"])
    p["chin_y"] = p["eye_y"] + 0.37 * (1 + 0.04 * male + lat * (0.025 * body + 0.03 * age01)
                                       + 0.035 * z["face_height"])
    p["top_y"] = p["eye_y"] - 0.29 * (1 + 0.02 * male + 0.02 * z["face_height"])
    p["cheek_y"] = p["eye_y"] + 0.03
    p["jaw"] = 0.80 + 0.07 * male + lat * (0.07 * body + 0.05 * age01) + 0.04 * z["jaw"]
    p["chin_w"] = 0.30 + 0.10 * male + lat * 0.08 * body + 0.06 * z["chin"]
    p["eye_dx"] = 0.43 * p["fw"] * (1 + 0.04 * z["eye_spacing"])
    p["eye_w"] = 0.041 * (1 - 0.05 * male + 0.07 * z["eye_size"]) * (1 - lat * 0.05 * age01)
    p["eye_h"] = p["eye_w"] * (0.50 + 0.06 * (1 - male) - lat * 0.12 * age01 + 0.05 * z["eye_open"])
    p["brow_y"] = p["eye_y"] - 0.058 * (1 + 0.12 * (1 - male) + 0.10 * z["brow_y"]) + lat * 0.006 * age01
    p["brow_th"] = (0.010 + 0.010 * male) * (1 + 0.18 * z["brow_thickness"]) * (1 - lat * 0.2 * age01)
    p["brow_tilt"] = 0.010 * z["brow_tilt"] + 0.006 * (1 - male)
    p["nose_y"] = p["eye_y"] + 0.165 * (1 + 0.06 * z["nose_length"] + 0.03 * male + lat * 0.05 * age01)
    p["nose_w"] = 0.036 * (1 + 0.10 * male + lat * (0.08 * body + 0.10 * tone) + 0.08 * z["nose_width"])
    p["mouth_y"] = p["nose_y"] + 0.078 * (1 + 0.08 * z["mouth_y"] + 0.04 * male)
    p["mouth_w"] = 0.062 * (1 + 0.07 * z["mouth_width"] + 0.04 * male + lat * 0.04 * body)
    p["lip"] = 0.012 * (1 + 0.15 * z["lip_thickness"] + 0.25 * (1 - male) + lat * (0.15 * tone - 0.35 * age01))
    p["smile"] = 0.004 * z["smile"]
    recede = male * lat * float(np.clip((ident.age - 30) / 40, 0, 1)) * (0.6 + 0.4 * math.tanh(z["hairline"]))
    p["hairline_y"] = p["top_y"] + 0.085 + 0.012 * z["hairline"] + 0.07 * recede
    p["recede"] = recede
    p["hair_vol"] = 0.03 * (1 + 0.5 * z["hair_volume"]) * (1 - 0.5 * male)
    p["hair_len"] = (1 - male) * max(0.0, 0.10 + 0.07 * z["hair_length"])
    p["fringe"] = (1 - male) * float(np.clip(z["fringe"] - 0.3, 0.0, 1.0))
    p["ear"] = 1 + 0.08 * z["ear_size"]
    p["neck_w"] = p["fw"] * (0.52 + 0.08 * male + lat * 0.07 * body)
    p["shoulder_w"] = 0.46 * (1 + 0.08 * male + lat * 0.08 * body)

    skin = _interp_colour(_SKIN_STOPS, tone)
    hue = 0.04 * z["skin_hue"]
    p["skin"] = (skin[0] * (1 + hue), skin[1], skin[2] * (1 - hue))
    light = 1 / (1 + math.exp(-(z["hair_hue"] - 1.2 + 2.5 * (0.5 - tone))))
    base = _mix((38, 28, 22), (118, 80, 48), min(1.0, 2 * light))
    if light > 0.5:
        base = _mix(base, (206, 168, 112), 2 * light - 1)
    grey = float(np.clip(lat * (ident.age - 36) / 34 + 0.15 * z["hair_grey"], 0, 1))
    p["hair_base"] = base
    p["hair"] = _mix(base, (196, 194, 190), 0.92 * grey)
    p["grey"] = grey
    iris_t = 1 / (1 + math.exp(-(z["iris_hue"] - 0.5 + 3 * (0.5 - tone))))
    p["iris"] = _mix((64, 42, 28), _mix((96, 128, 150), (100, 120, 80), 0.5 + 0.5 * math.tanh(z["iris_hue"])), iris_t)
    p["lips"] = _mix(_scale(skin, 0.82), (178, 72, 78), 0.30 + 0.12 * (1 - male) - 0.1 * tone)
    p["beard"] = male * float(np.clip(0.4 + 0.4 * z["beard"], 0, 1)) if z["beard"] > 0.0 else 0.0
    p["bg"] = _mix((150, 160, 175), (205, 200, 190), 0.5 + 0.3 * math.tanh(z["background"]))
    sh = z["shirt"]
    p["shirt"] = _mix((40, 55, 90), (150, 60, 50), 0.5 + 0.5 * math.tanh(sh)) if abs(sh) > 0.4 else (70, 70, 75)
    p["wrinkle"] = float(np.clip((ident.age - 28) / 42, 0, 1)) * lat
    return p


class _Painter:
    """Draws polygons and soft (blurred, translucent) shapes in image units on a supersampled canvas."""

    def __init__(self, img, size_px: int, transform):
        self.img = img
        self.S = size_px
        self.T = transform

    def pts(self, pts) -> list[tuple[float, float]]:
        xy = self.T(np.asarray(pts, dtype=float).reshape(-1, 2)) * self.S
        return [(float(a), float(b)) for a, b in xy]

    def width(self, w: float) -> int:
        return max(1, int(round(w * self.S)))

    def poly(self, pts, colour) -> None:
        from PIL import ImageDraw

        ImageDraw.Draw(self.img).polygon(self.pts(pts), fill=_rgb(colour))

    def soft(self, shapes, colour, alpha: float, blur: float) -> None:
        """Composite ``colour`` through a mask of ``shapes`` blurred by ``blur`` (image units) at ``alpha``.

        ``shapes``: list of ``("poly", pts, value)`` or ``("line", pts, width, value)``; value 0..255
        (0 erases, so a later shape can cut a hole).
        """
        from PIL import Image, ImageDraw, ImageFilter

        conv = [(s[0], self.T(np.asarray(s[1], dtype=float).reshape(-1, 2)) * self.S, *s[2:]) for s in shapes]
        allp = np.vstack([s[1] for s in conv])
        pad = 3 * blur * self.S + 4 + max([self.width(s[2]) for s in conv if s[0] == "line"] or [0])
        x0, y0 = np.floor(allp.min(0) - pad).astype(int)
        x1, y1 = np.ceil(allp.max(0) + pad).astype(int)
        x0, y0, x1, y1 = max(0, x0), max(0, y0), min(self.S, x1), min(self.S, y1)
        if x1 <= x0 or y1 <= y0:
            return
        mask = Image.new("L", (x1 - x0, y1 - y0), 0)
        d = ImageDraw.Draw(mask)
        for s in conv:
            q = [(float(a), float(b)) for a, b in s[1] - [x0, y0]]
            if s[0] == "poly":
                d.polygon(q, fill=s[2])
            else:
                d.line(q, fill=s[3], width=self.width(s[2]), joint="curve")
        if blur > 0:
            mask = mask.filter(ImageFilter.GaussianBlur(blur * self.S))
        if alpha < 1:
            mask = mask.point([int(v * alpha + 0.5) for v in range(256)])
        region = self.img.crop((x0, y0, x1, y1))
        region = Image.composite(Image.new("RGB", region.size, _rgb(colour)), region, mask)
        self.img.paste(region, (x0, y0))


def render_face(identity: ToyIdentity, rng: np.random.Generator, size: int = 128) -> np.ndarray:
    """Draw one frontal face photo of a toy identity.

    Drawn with Pillow's ImageDraw at 3× the output size and downsampled (Lanczos) for anti-aliasing:
    background, shoulders, neck, ears, head (width, jaw and chin from body size and gender), skin colour from
    skin tone, hair (greying and, for men, receding with age; long for women), eyebrows (thicker for men),
    eyes, nose, mouth, age lines and a beard shadow for some men. Identity noise (``identity.face_noise``)
    perturbs the geometric and colour parameters; ``rng`` adds small per-photo noise (standard deviations):
    expression (smile, brow height, eye opening ±12 %), head yaw (features shift ≈1 px), shift (1 px),
    scale (1.5 %), rotation (1.5°), brightness (3.5 %) and a left–right lighting gradient (3 %).
    Strengths were tuned against the judge (module docstring): every face is found by dlib's detector and
    other photos of the same identity are far nearer than other identities.

    Args:
        identity: the person.
        rng: per-photo randomness; the same generator state gives the same image.
        size: output side in pixels, ≥ 32.

    Returns:
        uint8 array ``[size, size, 3]``, RGB.

    Raises:
        ValueError: ``size < 32``.
    """
    from PIL import Image, ImageFilter

    if size < 32:
        raise ValueError(f"render_face: size must be at least 32 pixels, got {size}")
    p = dict(_face_params(identity))
    S = size * _SUPERSAMPLE
    # per-photo expression and head yaw: features move a little (image units)
    p["smile"] += rng.normal(0, 0.004 * _PHOTO_EXPRESSION)
    p["brow_y"] += rng.normal(0, 0.004 * _PHOTO_EXPRESSION)
    p["eye_h"] *= 1 + rng.normal(0, 0.08 * _PHOTO_EXPRESSION)
    yaw = rng.normal(0, _PHOTO_YAW)
    zoom = 1.06 * (1 + rng.normal(0, _PHOTO_ZOOM))
    dx, dy = rng.normal(0, _PHOTO_SHIFT_PX / size, 2)
    rot = math.radians(rng.normal(0, _PHOTO_ROTATION_DEG))
    bright = 1 + rng.normal(0, _PHOTO_BRIGHTNESS)
    tilt_light = rng.normal(0, _PHOTO_LIGHTING)
    cr, sr = math.cos(rot), math.sin(rot)

    def transform(q: np.ndarray) -> np.ndarray:
        x, y = q[:, 0] - 0.5, q[:, 1] - 0.5
        return np.stack([(x * cr - y * sr) * zoom + 0.5 + dx, (x * sr + y * cr) * zoom + 0.5 + dy - 0.02], 1)

    cx = 0.5
    cxe, cxn, cxm = cx + 0.7 * yaw, cx + 1.2 * yaw, cx + 0.8 * yaw  # eyes, nose and mouth follow the yaw
    fw, eye_y, chin_y, top_y, cheek_y = p["fw"], p["eye_y"], p["chin_y"], p["top_y"], p["cheek_y"]
    skin, hair = p["skin"], p["hair"]
    dark_skin = _scale(skin, 0.62)

    bg0 = np.array(p["bg"]) * (1 + rng.normal(0, 0.02))
    column = np.clip(bg0[None, :] * np.linspace(1.05, 0.85, S)[:, None], 0, 255).astype(np.uint8)  # [S, 3]
    pa = _Painter(Image.fromarray(column[:, None, :], "RGB").resize((S, S), Image.NEAREST), S, transform)

    # head outline: upper half-ellipse + smoothed jaw
    upper = _ellipse(cx, cheek_y, fw, cheek_y - top_y, 40, math.pi, 2 * math.pi)
    lo = chin_y - cheek_y
    jaw_pts = [
        (cx + fw, cheek_y), (cx + fw * 0.985, cheek_y + 0.35 * lo), (cx + p["jaw"] * fw, cheek_y + 0.74 * lo),
        (cx + p["chin_w"] * fw, chin_y - 0.01), (cx, chin_y + 0.004), (cx - p["chin_w"] * fw, chin_y - 0.01),
        (cx - p["jaw"] * fw, cheek_y + 0.74 * lo), (cx - fw * 0.985, cheek_y + 0.35 * lo), (cx - fw, cheek_y),
    ]
    outline = _chaikin(np.vstack([upper, np.array(jaw_pts)]), 3)

    # long hair behind the head
    hv = p["hair_vol"]
    if p["hair_len"] > 0.0:
        arc = _ellipse(cx, cheek_y - 0.05, fw * 1.18 + hv, cheek_y - 0.05 - top_y + hv + 0.03, 30, math.pi,
                       2 * math.pi)
        end = chin_y + p["hair_len"]
        back = np.vstack([arc, [(cx + fw * 1.25 + hv, end), (cx - fw * 1.25 - hv, end)]])
        pa.poly(_chaikin(back, 2), _scale(hair, 0.78))

    # neck, shoulders, shadow under the jaw
    nw = p["neck_w"]
    pa.poly([(cx - nw, cheek_y + 0.5 * lo), (cx + nw, cheek_y + 0.5 * lo), (cx + nw * 1.08, 1.2),
             (cx - nw * 1.08, 1.2)], _scale(skin, 0.9))
    pa.poly(_ellipse(cx, chin_y + 0.26, p["shoulder_w"], 0.17, 60), p["shirt"])
    pa.poly(_ellipse(cx, chin_y + 0.09, nw * 1.02, 0.035, 30, 0, math.pi), _scale(p["shirt"], 0.8))
    pa.soft([("poly", outline + np.array([0.0, 0.03]), 255)], _scale(skin, 0.55), 0.55, 0.012)

    # ears
    for s in (-1, 1):
        pa.poly(_ellipse(cx + s * fw * 0.98, eye_y + 0.065, 0.032 * p["ear"], 0.068 * p["ear"], 30),
                _scale(skin, 0.92))
        pa.soft([("poly", _ellipse(cx + s * fw * 1.0, eye_y + 0.07, 0.015, 0.04, 20), 255)], dark_skin, 0.5, 0.006)

    # head, rim shading, cheeks
    pa.poly(outline, skin)
    inner = (outline - [cx, cheek_y]) * [0.80, 0.86] + [cx, cheek_y - 0.01]
    pa.soft([("poly", outline, 255), ("poly", inner, 0)], _scale(skin, 0.7), 0.55, 0.03)
    for s in (-1, 1):
        pa.soft([("poly", _ellipse(cx + s * fw * 0.55, p["nose_y"], 0.05, 0.035), 255)],
                _mix(skin, (205, 95, 90), 0.5), 0.18, 0.025)

    ey, ew, eh = eye_y, p["eye_w"], p["eye_h"]
    ny, nwid = p["nose_y"], p["nose_w"]
    my, mw, lip, sm = p["mouth_y"], p["mouth_w"], p["lip"], p["smile"]

    # age lines (under the hair, which is drawn later)
    w = p["wrinkle"]
    lines = []
    for k in range(3):
        yy = p["brow_y"] - 0.03 - 0.018 * k
        lines.append(("line", _ellipse(cx, yy + 0.12, fw * 0.45, 0.12, 16, 1.3 * math.pi, 1.7 * math.pi), 0.003, 255))
    for s in (-1, 1):
        exo = cx + s * (p["eye_dx"] + ew * 1.15)
        for k in (-1, 0, 1):
            lines.append(("line", [(exo, ey + 0.006 * k), (exo + s * 0.022, ey + 0.011 * k + 0.004)], 0.0025, 255))
        lines.append(("line", _ellipse(cx + s * p["eye_dx"], ey + eh * 0.6, ew * 0.8, eh * 0.9, 12, 0.15 * math.pi,
                                       0.85 * math.pi), 0.003, 255))
        lines.append(("line", [(cx + s * mw * 1.1, my + 0.01), (cx + s * mw * 1.2, my + 0.05)], 0.003, 255))
    if w > 0:
        pa.soft(lines, _scale(skin, 0.5), 0.15 + 0.55 * w, 0.003)
    # nasolabial folds: faint at any age, deeper with age
    folds = [("line", [(cx + s * nwid * 1.05, ny - 0.012), (cx + s * nwid * 1.5, ny + 0.03),
                       (cx + s * mw * 1.25, my + 0.03)], 0.004, 255) for s in (-1, 1)]
    pa.soft(folds, _scale(skin, 0.55), 0.2 + 0.5 * w, 0.004)

    # beard shadow
    if p["beard"] > 0:
        ang = np.arctan2(outline[:, 1] - cheek_y, outline[:, 0] - cx)
        chain = outline[(outline[:, 1] > cheek_y + 0.08 * lo) & (ang > 0)]
        chain = chain[np.argsort(np.arctan2(chain[:, 1] - cheek_y, chain[:, 0] - cx))]  # right → chin → left
        top = [(cx - nwid * 1.8, ny + 0.015), (cx - nwid * 0.8, ny + 0.012), (cx, ny + 0.014),
               (cx + nwid * 0.8, ny + 0.012), (cx + nwid * 1.8, ny + 0.015)]
        pa.soft([("poly", np.vstack([chain, top]), 255)], _scale(p["hair"], 0.55), 0.12 + 0.3 * p["beard"], 0.014)

    # hair cap over the forehead; the hairline recedes at the temples for older men
    cap = _ellipse(cx, cheek_y - 0.005, fw * 1.05 + hv, cheek_y - top_y + hv + 0.012, 60, math.pi, 2 * math.pi)
    if p["male"]:
        side = [(cx + fw * 1.04, cheek_y + 0.02), (cx + fw * 0.93, cheek_y + 0.03), (cx - fw * 0.93, cheek_y + 0.03),
                (cx - fw * 1.04, cheek_y + 0.02)]
    else:
        side = [(cx + fw * 1.1 + hv, cheek_y + 0.12), (cx + fw * 0.9, cheek_y + 0.08), (cx - fw * 0.9, cheek_y + 0.08),
                (cx - fw * 1.1 - hv, cheek_y + 0.12)]
    cap = _chaikin(np.vstack([cap, side]), 2)
    hl, rec = p["hairline_y"], p["recede"]
    xs = np.linspace(-0.86, 0.86, 41)
    hy = hl + 0.05 * xs ** 2 - 0.07 * rec * np.exp(-((np.abs(xs) - 0.55) / 0.22) ** 2)
    hy = hy + 0.05 * np.clip(np.abs(xs) - 0.6, 0, None) / 0.26 * 2
    window = np.vstack([np.stack([cx + fw * xs, hy], 1), [(cx + fw * 0.86, eye_y + 0.3), (cx - fw * 0.86, eye_y + 0.3)]])
    shapes = [("poly", cap, 255), ("poly", window, 0)]
    if p["fringe"] > 0:
        fr = p["fringe"]
        shapes.append(("poly", _ellipse(cx - 0.2 * fw, hl, fw * (0.55 + 0.2 * fr), 0.02 + 0.035 * fr, 30), 255))
    pa.soft(shapes, hair, 1.0, 0.004)
    pa.soft([("line", _ellipse(cx, cheek_y, fw * 0.7, cheek_y - top_y, 30, 1.2 * math.pi, 1.8 * math.pi), 0.02, 255)],
            _mix(hair, (255, 255, 255), 0.4), 0.22, 0.015)

    # eyes and eyebrows
    t = np.linspace(0, 1, 24)
    for s in (-1, 1):
        ex = cxe + s * p["eye_dx"]
        pa.soft([("poly", _ellipse(ex, ey - eh * 0.4, ew * 1.5, eh * 2.2), 255)], dark_skin, 0.35, 0.012)
        xs_e = ex - ew + 2 * ew * t
        up = ey - eh * np.sin(np.pi * t) ** 0.85 - s * 0.15 * eh * (t - 0.5)
        low = ey + eh * 0.55 * np.sin(np.pi * t) ** 1.1
        almond = np.vstack([np.stack([xs_e, up], 1), np.stack([xs_e[::-1], low[::-1]], 1)])
        pa.poly(almond, (232, 226, 220))
        ir = eh * 0.95
        # iris and pupil, clipped to the almond by erasing outside it with a ring shape
        outside = np.vstack([_ellipse(ex, ey, ew * 3, eh * 4, 40), almond[::-1]])
        pa.soft([("poly", _ellipse(ex, ey - eh * 0.15, ir, ir), 255), ("poly", outside, 0)], p["iris"], 1.0, 0.0)
        pa.soft([("poly", _ellipse(ex, ey - eh * 0.15, ir * 0.45, ir * 0.45), 255), ("poly", outside, 0)],
                (15, 12, 12), 1.0, 0.0)
        pa.poly(_ellipse(ex + ir * 0.3, ey - eh * 0.45, ir * 0.18, ir * 0.18, 12), (250, 250, 250))
        pa.soft([("line", np.stack([xs_e, up], 1), 0.006, 255)], (25, 18, 15), 1.0, 0.0)
        pa.soft([("line", np.stack([xs_e, low], 1), 0.0025, 255)], _scale(skin, 0.55), 1.0, 0.0)
        crease = np.stack([xs_e, ey - eh * 1.55 * np.sin(np.pi * t) ** 0.7], 1)[3:-2]
        pa.soft([("line", crease, 0.004, 255)], dark_skin, 0.5, 0.002)

        bt = np.linspace(0, 1, 20)
        bx = cxe + s * (p["eye_dx"] - ew * 1.05 + 2.4 * ew * bt)
        by = p["brow_y"] - 0.012 * np.sin(np.pi * (0.2 + 0.8 * bt)) + p["brow_tilt"] * bt
        th = p["brow_th"] * (1.0 - 0.6 * bt)
        brow = np.vstack([np.stack([bx, by - th / 2], 1), np.stack([bx[::-1], (by + th / 2)[::-1]], 1)])
        bcol = _mix(p["hair_base"], (180, 178, 175), 0.6 * p["grey"])
        pa.soft([("poly", brow, 255)], _scale(bcol, 0.8), 0.9, 0.002)

    # nose
    pa.soft([("line", [(cxn - 0.03, ey), (cxn - 0.024, ny - 0.05), (cxn - nwid * 0.9, ny - 0.01)], 0.012, 255)],
            dark_skin, 0.35, 0.01)
    pa.soft([("poly", _ellipse(cxn, ny + 0.012, nwid, 0.014), 255)], dark_skin, 0.45, 0.01)
    pa.soft([("poly", _ellipse(cxn + 0.005, ny - 0.02, nwid * 0.35, 0.02), 255)],
            _mix(skin, (255, 255, 255), 0.35), 0.45, 0.01)
    for s in (-1, 1):
        pa.soft([("poly", _ellipse(cxn + s * nwid * 0.45, ny, nwid * 0.32, nwid * 0.16), 255)],
                _scale(skin, 0.35), 0.85, 0.003)
        a0 = -0.5 * math.pi if s > 0 else 0.5 * math.pi
        pa.soft([("line", _ellipse(cxn + s * nwid * 0.75, ny - 0.008, nwid * 0.3, 0.016, 12, a0, a0 + math.pi),
                  0.004, 255)], dark_skin, 0.6, 0.002)

    # mouth
    tm = np.linspace(-1, 1, 25)
    line_y = my - sm * tm ** 2 + 0.002 * np.cos(np.pi * tm)
    top = my - lip * (1 - tm ** 2) ** 0.6 * (1 - 0.25 * np.exp(-(tm / 0.18) ** 2)) - sm * tm ** 2
    bot = my + lip * 1.25 * (1 - tm ** 2) ** 0.7 - sm * tm ** 2
    xm = cxm + mw * tm
    pa.soft([("poly", _ellipse(cxm, my + lip * 2.3, mw * 0.55, lip * 0.8), 255)], dark_skin, 0.45, 0.008)
    pa.poly(np.vstack([np.stack([xm, top], 1), np.stack([xm[::-1], line_y[::-1]], 1)]), _scale(p["lips"], 0.9))
    pa.poly(np.vstack([np.stack([xm, line_y], 1), np.stack([xm[::-1], bot[::-1]], 1)]), p["lips"])
    pa.soft([("line", np.stack([xm, line_y], 1), 0.005, 255)], (60, 25, 25), 0.9, 0.002)
    pa.soft([("poly", _ellipse(cxm, my + lip * 0.7, mw * 0.4, lip * 0.3), 255)], (255, 235, 230), 0.25, 0.006)

    # photo: lighting gradient, brightness, anti-aliasing
    img = pa.img.filter(ImageFilter.GaussianBlur(0.3 * _SUPERSAMPLE)).resize((size, size), Image.LANCZOS)
    gain = bright * (1 + tilt_light * np.linspace(-1, 1, size))  # [size], left-to-right lighting
    out = np.asarray(img, dtype=np.float64) * gain[None, :, None]
    return np.clip(np.round(out), 0, 255).astype(np.uint8)


# --------------------------------------------------------------------------------------------- voices

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


# --------------------------------------------------------------------------------------------- dataset

_META_HEADER = ("VoxCeleb1 ID", "VGGFace1 ID", "Gender", "Nationality", "Set")
_VIDEO_ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
_SUMS = "SHA256SUMS"


def _video_ids(seed: int, index: int) -> list[str]:
    """Three distinct 11-character YouTube-like video ids (first character a letter)."""
    rng = _rng(seed, index, _ITEM_VIDEOS)
    out: list[str] = []
    while len(out) < _VIDEOS:
        first = _VIDEO_ALPHABET[int(rng.integers(0, 52))]
        vid = first + "".join(_VIDEO_ALPHABET[i] for i in rng.integers(0, len(_VIDEO_ALPHABET), 10))
        if vid not in out:
            out.append(vid)
    return out


def _latent_columns() -> list[str]:
    cols = []
    for f in fields(ToyIdentity):
        if f.name == "face_noise":
            cols += [f"face_noise.{n}" for n in FACE_NOISE_NAMES]
        elif f.name == "voice_noise":
            cols += [f"voice_noise.{n}" for n in VOICE_NOISE_NAMES]
        else:
            cols.append(f.name)
    return cols


def _latents_csv(identities: list[ToyIdentity]) -> str:
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(_latent_columns())
    for ident in identities:
        w.writerow([ident.voxceleb_id, ident.name, ident.gender, repr(ident.age), repr(ident.body_size),
                    repr(ident.skin_tone), *map(repr, ident.face_noise), *map(repr, ident.voice_noise)])
    return buf.getvalue()


def read_toy_latents(root: str | os.PathLike[str]) -> list[ToyIdentity]:
    """Read the known answers (``toy_latents.csv``) of a toy world back into ``ToyIdentity`` objects.

    Args:
        root: a directory written by ``make_toy_world``.

    Returns:
        The identities in file order (``toy00001`` first), equal to ``sample_identities(n, seed)``.

    Raises:
        FileNotFoundError: ``toy_latents.csv`` is missing.
        ValueError: its columns are not those this version writes.
    """
    path = Path(root) / "toy_latents.csv"
    with open(path, newline="", encoding="utf-8") as fh:
        rows = list(csv.reader(fh))
    if not rows or rows[0] != _latent_columns():
        raise ValueError(f"{path}: columns differ from those of TOY_VERSION {TOY_VERSION}; regenerate the toy world")
    nf, nv = len(FACE_NOISE_NAMES), len(VOICE_NOISE_NAMES)
    out = []
    for r in rows[1:]:
        out.append(ToyIdentity(voxceleb_id=r[0], name=r[1], gender=r[2], age=float(r[3]), body_size=float(r[4]),
                               skin_tone=float(r[5]), face_noise=tuple(map(float, r[6:6 + nf])),
                               voice_noise=tuple(map(float, r[6 + nf:6 + nf + nv]))))
    return out


def _readme(n_identities: int, seed: int, identities: list[ToyIdentity]) -> str:
    n_test = sum(i.name[0] in _TEST_LETTERS for i in identities)
    return f"""# Toy world — synthetic known-answer data for voice2face-bench (NOT real data)

Generated by `benchmark.data.toy.make_toy_world` (TOY_VERSION {TOY_VERSION}, n_identities {n_identities},
seed {seed}). Every voice is synthesized (a glottal pulse train through formant filters) and every face is
drawn with Pillow. No real person, voice or photograph is in here.

Each identity is drawn from four latent attributes (gender, age, body size, skin tone) that shape both its
voice and its face, plus identity noise that only one of the two carries. The true values are in
`toy_latents.csv`. A generator can therefore learn voice -> face beyond gender here **by construction**:
numbers measured on this data test the benchmark machinery and say nothing about real voices or faces.

Layout: the VoxCeleb1 + VGGFace layout (`vox1_meta.csv`, `voxceleb1/wav/<id>/<video>/<NNNNN>.wav`,
`voxceleb1/faces/<id>/<video>/<frame>.png`, `vggface/<name>/<NNNNNNNN>.png`), faces as 128x128 PNG.
{n_identities} identities: {n_test} test (names A-E), {n_identities - n_test} training (names F-Z), split rule of
Wen et al. (NeurIPS 2019). Per identity: {_VIDEOS} videos x {_UTTERANCES_PER_VIDEO} utterances of 3-5 s (16 kHz
mono PCM_16), {_PHOTOS} photos, {_FRAME_VIDEOS} x {_FRAMES_PER_VIDEO} video frames. `SHA256SUMS` lists every
other file (`sha256sum -c SHA256SUMS`).
"""


def _write_identity(tmp: Path, ident: ToyIdentity, index: int, seed: int) -> None:
    import soundfile as sf
    from PIL import Image

    videos = _video_ids(seed, index)
    for v, video in enumerate(videos):
        folder = tmp / "voxceleb1" / "wav" / ident.voxceleb_id / video
        folder.mkdir(parents=True, exist_ok=True)
        for u in range(_UTTERANCES_PER_VIDEO):
            rng = _rng(seed, index, _ITEM_WAV + 10 * v + u)
            seconds = round(float(rng.uniform(*_SECONDS)), 2)
            wav = synthesize_voice(ident, rng, seconds)
            sf.write(str(folder / f"{u + 1:05d}.wav"), wav, SAMPLE_RATE, subtype="PCM_16", format="WAV")
    folder = tmp / "vggface" / ident.name
    folder.mkdir(parents=True, exist_ok=True)
    for k in range(_PHOTOS):
        img = render_face(ident, _rng(seed, index, _ITEM_VGGFACE + k), FACE_SIZE)
        Image.fromarray(img, "RGB").save(folder / f"{k + 1:08d}.png", format="PNG", compress_level=6)
    for v, video in enumerate(videos[:_FRAME_VIDEOS]):
        folder = tmp / "voxceleb1" / "faces" / ident.voxceleb_id / video
        folder.mkdir(parents=True, exist_ok=True)
        frame_rng = _rng(seed, index, _ITEM_FRAME + 10 * v)
        frame = 25 * int(frame_rng.integers(1, 200))
        for j in range(_FRAMES_PER_VIDEO):
            img = render_face(ident, _rng(seed, index, _ITEM_FRAME + 10 * v + 1 + j), FACE_SIZE)
            Image.fromarray(img, "RGB").save(folder / f"{frame:07d}.png", format="PNG", compress_level=6)
            frame += 25 * int(frame_rng.integers(1, 20))


def _sha256_file(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def _all_files(root: Path) -> list[str]:
    return sorted(p.relative_to(root).as_posix() for p in root.rglob("*") if p.is_file() or p.is_symlink())


def _write_world(tmp: Path, n_identities: int, seed: int, progress: bool = False) -> None:
    from tqdm import tqdm

    identities = sample_identities(n_identities, seed)
    for index, ident in enumerate(tqdm(identities, desc="toy world: identities", unit="identity",
                                       disable=not progress, leave=False)):
        _write_identity(tmp, ident, index, seed)
    meta = "\t".join(_META_HEADER) + "\n" + "".join(
        f"{i.voxceleb_id}\t{i.name}\t{i.gender}\tToyland\tdev\n" for i in identities)
    (tmp / "vox1_meta.csv").write_text(meta, encoding="utf-8")
    (tmp / "toy_latents.csv").write_text(_latents_csv(identities), encoding="utf-8")
    (tmp / "TOY_VERSION").write_text(f"{TOY_VERSION}\n", encoding="utf-8")
    (tmp / "README.md").write_text(_readme(n_identities, seed, identities), encoding="utf-8")
    sums = "".join(f"{_sha256_file(tmp / rel)}  {rel}\n" for rel in _all_files(tmp))
    (tmp / _SUMS).write_text(sums, encoding="utf-8")


def _remove(path: Path) -> None:
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path, ignore_errors=True)
    elif path.exists() or path.is_symlink():
        path.unlink()


def _install(tmp: Path, root: Path) -> None:
    """Move the finished ``tmp`` into ``root`` with ``os.replace``; whatever was at ``root`` is removed."""
    try:
        os.replace(tmp, root)  # atomic when root is absent (or an empty directory)
        return
    except OSError:
        if not (root.exists() or root.is_symlink()):
            raise
    old = root.with_name(f".{root.name}.old-{uuid.uuid4().hex}")
    os.replace(root, old)
    os.replace(tmp, root)
    _remove(old)


_STALE_SECONDS = 3600.0


def _remove_stale(root: Path) -> None:
    """Remove temporary siblings of ``root`` left by killed runs (older than an hour, so never a live build)."""
    import time

    now = time.time()
    for pattern in (f".{root.name}.tmp-*", f".{root.name}.old-*"):
        for path in root.parent.glob(pattern):
            try:
                if now - path.stat().st_mtime > _STALE_SECONDS:
                    _remove(path)
            except OSError:
                pass


def make_toy_world(root: str | os.PathLike[str], n_identities: int = 48, seed: int = 0) -> Path:
    """Generate the toy world into ``root`` (layout in the module docstring).

    The dataset is built in a temporary sibling directory and moved into place with ``os.replace``, so
    ``root`` never holds a half-written world (a reader sees the old world or the new one; when a world is
    replaced, there is an instant between two renames when ``root`` is absent). Deterministic:
    the same ``(n_identities, seed)`` and library versions give byte-identical files. The default world
    (48 identities, 288 utterances, 480 PNG faces) takes about 31 s of CPU on one core and 44 MB of disk.

    Args:
        root: target directory; its parent is created if needed. It must be absent, an empty directory or
            a toy world (it has a ``TOY_VERSION`` file), which is replaced.
        n_identities: number of identities, ≥ 2 (see ``sample_identities``).
        seed: non-negative integer seed.

    Returns:
        ``Path(root)``.

    Raises:
        ValueError: bad ``n_identities`` or ``seed``.
        FileExistsError: ``root`` is a file or a non-empty directory that is not a toy world (nothing of
            the user's is ever deleted; ``ensure_toy_world`` replaces whatever is at its own cache path).
        OSError: the directory cannot be written; the temporary directory is removed.
    """
    root = Path(root)
    sample_identities(n_identities, seed)  # validate arguments before touching the disk
    if root.exists() or root.is_symlink():
        ours = root.is_dir() and not root.is_symlink() and (
            (root / "TOY_VERSION").is_file() or not any(root.iterdir()))
        if not ours:
            raise FileExistsError(
                f"{root} exists and is not a toy world (no TOY_VERSION file): choose another directory or remove it")
    _generate(root, n_identities, seed)
    return root


def _generate(root: Path, n_identities: int, seed: int, progress: bool = False) -> None:
    """Build in a temporary sibling, then install over whatever is at ``root``."""
    root.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{root.name}.tmp-", dir=root.parent))
    try:
        _write_world(tmp, n_identities, seed, progress)
        if is_toy_world(root, n_identities, seed):  # another process installed the same world meanwhile
            _remove(tmp)
        else:
            _install(tmp, root)
    except BaseException:
        _remove(tmp)
        raise


def is_toy_world(root: str | os.PathLike[str], n_identities: int, seed: int) -> bool:
    """True when ``root`` holds a complete, unmodified toy world of this ``TOY_VERSION``, ``n_identities`` and
    ``seed``: its ``TOY_VERSION`` and ``README.md`` match, and its files are exactly those listed in
    ``SHA256SUMS`` with those hashes (reads every file: about 0.1 s for the default world)."""
    root = Path(root)
    try:
        if (root / "TOY_VERSION").read_text(encoding="utf-8") != f"{TOY_VERSION}\n":
            return False
        identities = sample_identities(n_identities, seed)
        if (root / "README.md").read_text(encoding="utf-8") != _readme(n_identities, seed, identities):
            return False
        listed = {}
        for line in (root / _SUMS).read_text(encoding="utf-8").splitlines():
            digest, rel = line.split("  ", 1)
            listed[rel] = digest
        if set(_all_files(root)) != set(listed) | {_SUMS}:
            return False
        return all(_sha256_file(root / rel) == digest for rel, digest in listed.items())
    except (OSError, ValueError):
        return False


def ensure_toy_world(cache_root: str | os.PathLike[str], n_identities: int = 48, seed: int = 0,
                     progress: bool = False) -> Path:
    """Return the toy world ``cache_root / f"toy-v{TOY_VERSION}-n{n_identities}-s{seed}"``, generating it if needed.

    A complete world there (``is_toy_world``) is reused as is. Anything else at that path — a half-written
    copy, a modified world, a foreign file or directory — is replaced by a freshly generated world. Two
    processes racing to create it both generate; the first to finish installs its copy and the other keeps it.
    Temporary directories of killed runs (``.toy-v…tmp-*`` siblings older than an hour) are removed.

    Args:
        cache_root: the cache directory (``benchmark.settings.cache_dir()`` in the suite); created if absent.
        n_identities: number of identities, ≥ 2.
        seed: non-negative integer seed.
        progress: show a progress bar over identities while generating. Whenever it generates (about 45 s
            for the default world on one CPU core), one line on stderr says so, progress bar or not.

    Returns:
        The path of the toy world.

    Raises:
        ValueError: bad ``n_identities`` or ``seed``.
        OSError: the cache directory cannot be written.
    """
    sample_identities(n_identities, seed)
    root = Path(cache_root) / f"toy-v{TOY_VERSION}-n{n_identities}-s{seed}"
    if is_toy_world(root, n_identities, seed):
        return root
    root.parent.mkdir(parents=True, exist_ok=True)
    _remove_stale(root)
    import sys

    print(f"bench: making the toy world in {root} (first use only; about 45 s)", file=sys.stderr, flush=True)
    _generate(root, n_identities, seed, progress)
    return root
