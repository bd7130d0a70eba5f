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
§4 and Table 1) that ``benchmark.data.manifest.wen_split`` applies: names starting A–B are validation, C–E test,
F–Z training. For the default 48 identities: 8 validation (4 f, 4 m), 8 test (4 f, 4 m), 32 training (16 f, 16 m).
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

Modules: ``identities`` (``ToyIdentity``, ``sample_identities``, ``latent_twin``, the seeding scheme), ``faces``
(``render_face``; its drawing primitives in ``painter``), ``voices`` (``synthesize_voice``) and ``world``
(``make_toy_world``, ``is_toy_world``, ``ensure_toy_world``, ``read_toy_latents``, the README it writes). The
public names are re-exported here: ``from benchmark.data import toy; toy.render_face(...)``.
"""

from benchmark.data.toy.faces import render_face
from benchmark.data.toy.identities import (
    AGE_RANGE, FACE_NOISE_NAMES, TOY_VERSION, VOICE_NOISE_NAMES, ToyIdentity, latent_twin, sample_identities,
)
from benchmark.data.toy.voices import SAMPLE_RATE, synthesize_voice
from benchmark.data.toy.world import FACE_SIZE, ensure_toy_world, is_toy_world, make_toy_world, read_toy_latents

__all__ = [
    "AGE_RANGE", "FACE_NOISE_NAMES", "FACE_SIZE", "SAMPLE_RATE", "TOY_VERSION", "VOICE_NOISE_NAMES", "ToyIdentity",
    "ensure_toy_world", "is_toy_world", "latent_twin", "make_toy_world", "read_toy_latents", "render_face",
    "sample_identities", "synthesize_voice",
]
