"""What a generator may learn from: the training split minus the videos that ``id-topk-seen`` holds out.

``id-topk-seen`` (Wen, Singh, Raj, NeurIPS 2019, §4.2: identification among *seen* identities, from recordings
the model has not heard) probes each training speaker with the utterances of one video, so those videos must
never reach training. The rule is written once, here, and every path that learns from a dataset calls it:
``bench train`` (``baselines.train``), the voice-only references (``baselines.voice_only``), the chance
references (``baselines.chance`` through ``baselines.common.training_faces``) and the identification task
that builds the probes (``benchmark.tasks.identification``).

Rule ``HOLDOUT_RULE`` (version 1): for every identity of the "train" split whose utterances come from two or
more videos, its *held-out video* is the lexicographically last video id among its utterances. Its utterances
and its VoxCeleb1 face frames of that video (a face frame of the held-out video is a picture of the probe's
own recording) are held out. An identity with utterances from one video only keeps everything and gives no
probe. The rule depends on the manifest alone (no seed), so a generator can be trained once for every seed.

A generator declares the rule its training followed in ``GeneratorMeta.holdout_rule``; ``bench run`` refuses
``id-topk-seen`` for a generator that does not declare ``HOLDOUT_RULE`` (``check_declared``).
"""

from __future__ import annotations

from benchmark.data.manifest import Face, Identity, Manifest, Utterance
from benchmark.errors import ProtocolUnavailable

HOLDOUT_RULE = "train-minus-last-video-v1"
"""The name and version of the rule above; recorded in checkpoints, generator metadata and results."""


def held_out_videos(manifest: Manifest, split: str = "train") -> dict[str, str]:
    """``{identity id: held-out video id}`` for the identities of ``split`` with utterances from ≥ 2 videos.

    Args:
        manifest: the dataset.
        split: the split expression whose identities are considered (``id-topk-seen`` uses "train").

    Returns:
        A dict sorted by identity id; identities with one video are absent.
    """
    out: dict[str, str] = {}
    for ident in manifest.split(split):
        videos = sorted({u.video for u in manifest.utterances_of(ident.id)})
        if len(videos) >= 2:
            out[ident.id] = videos[-1]
    return out


def training_identities(manifest: Manifest) -> list[Identity]:
    """The identities a generator may learn from: the "train" split, sorted by id."""
    return manifest.split("train")


def training_utterances(manifest: Manifest) -> list[Utterance]:
    """Utterances of the training identities outside their held-out video, sorted by id."""
    held = held_out_videos(manifest)
    train = {i.id for i in training_identities(manifest)}
    return [u for u in manifest.utterances if u.identity in train and held.get(u.identity) != u.video]


def training_faces(manifest: Manifest) -> list[Face]:
    """Faces (every source) of the training identities, except VoxCeleb1 frames of a held-out video; sorted."""
    held = held_out_videos(manifest)
    train = {i.id for i in training_identities(manifest)}
    return [f for f in manifest.faces
            if f.identity in train and not (f.source == "voxceleb" and f.video and held.get(f.identity) == f.video)]


def check_declared(protocol: str, generator_name: str, declared: str) -> None:
    """Refuse to score a generator on a held-out protocol unless it declares ``HOLDOUT_RULE``.

    Args:
        protocol: the protocol name (for the message).
        generator_name: ``GeneratorMeta.name``.
        declared: ``GeneratorMeta.holdout_rule`` ("" when the generator declares none).

    Raises:
        ProtocolUnavailable: the generator declares no rule, or another one; the message says why and how to fix.
    """
    if declared == HOLDOUT_RULE:
        return
    what = f"declares {declared!r}" if declared else "declares no held-out rule"
    raise ProtocolUnavailable(
        f"protocol {protocol!r} probes training speakers with videos that must never reach training, and generator "
        f"{generator_name!r} {what}. Train it with this suite's `bench train` (checkpoints record "
        f"{HOLDOUT_RULE!r}), or, if it learned only from benchmark.data.heldout.training_utterances/training_faces, set "
        f"GeneratorMeta(holdout_rule={HOLDOUT_RULE!r}).")
