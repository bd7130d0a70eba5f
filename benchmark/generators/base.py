"""The generator adapter: how the suite talks to any voice-to-face model.

A generator is any object with a ``meta`` attribute and one batched ``generate`` method
(a ``typing.Protocol``, as MTEB's model interface is — no base class to inherit):

    voices in : waveforms float32 ``[B, T]`` mono PCM at 16 kHz in [-1, 1], zero-padded after each clip;
                lengths int64 ``[B]`` (samples); the utterance ids (VoxCeleb1 ``<id>/<video>/<n>``)
    faces out : uint8 ``[B, 3, H, W]`` RGB, the same bytes a PNG holds, so scoring in memory and scoring a
                folder of PNGs agree.

Randomness: a generator that samples must derive its randomness from ``utterance_seed(seed, utterance_id)``
so that its output does not depend on batch size or order (checked by ``check_conformance``).

A generator is built by a *factory* ``factory(context: GeneratorContext, **model_args) -> Generator``;
the registry maps names to factories (``benchmark.generators.registry``).

Two optional hooks let a generator tell the engine more than its faces (``benchmark.engine`` reads them with
``getattr``; a generator without them is scored as before, and nothing else may change a run from the side):

    failed_utterances : a sequence of utterance ids the generator has no face for (e.g. a submission folder's
                        missing images, ``benchmark.generators.folder``). The face it returns for them is never
                        scored: the engine makes their judge embeddings NaN and lists them as failed
                        (``benchmark.engine.embed.mark_failed``), as it does for a blank face, and every task
                        scores their trials as failures.
    info_record(probes) : ``{key: JSON value}`` the record phase adds to the ``info`` of each protocol's result,
                        given that protocol's probe utterance ids (e.g. ``info.submission``).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Callable, Protocol, Sequence, runtime_checkable

import numpy as np
import torch

from benchmark.errors import GeneratorOutputError

if TYPE_CHECKING:
    from benchmark.data.manifest import Face, Manifest


@dataclass(frozen=True)
class GeneratorMeta:
    """What a result records about a generator.

    Attributes:
        name: short name shown on leaderboards.
        revision: code or checkpoint revision string.
        weights_sha256: sha256 of the checkpoint file, or None for a generator with no weights.
        image_size: side in pixels of the square faces it returns, or None if it varies.
        training_datasets: dataset ids it was trained on (or draws faces from).
        citation: the paper or source it implements.
        reference: "ceiling", "chance" or "" — reference rows are marked on leaderboards.
        trained_against_judge: True if it was trained on the judge's own embedding space (marked on
            leaderboards: such a model can overfit the scorer).
        notes: free text.
        holdout_rule: the held-out rule its training data followed (``benchmark.data.heldout.HOLDOUT_RULE``), or ""
            when it declares none; ``id-topk-seen`` refuses a generator that does not declare the current rule.
    """

    name: str
    revision: str = "0"
    weights_sha256: str | None = None
    image_size: int | None = None
    training_datasets: tuple[str, ...] = ()
    citation: str = ""
    reference: str = ""
    trained_against_judge: bool = False
    notes: str = ""
    holdout_rule: str = ""


@runtime_checkable
class Generator(Protocol):
    """Structural type of a generator (see the module docstring for shapes and dtypes)."""

    meta: GeneratorMeta

    def generate(self, waveforms: torch.Tensor, lengths: torch.Tensor, utterance_ids: Sequence[str]) -> torch.Tensor:
        """Return uint8 ``[B, 3, H, W]`` RGB faces for float32 ``[B, T]`` 16 kHz voices with int64 ``[B]`` lengths."""
        ...


@dataclass
class GeneratorContext:
    """What a factory is given to build a generator.

    Attributes:
        manifest: the dataset being scored. Learned generators must learn only from what
            ``benchmark.data.heldout`` allows (the "train" split minus the videos ``id-topk-seen`` holds out:
            ``training_utterances`` / ``training_faces``) and then declare ``GeneratorMeta.holdout_rule``; only
            reference generators (the oracle) may look at validation or test identities.
        seed: the run's seed (derive per-utterance seeds with ``utterance_seed``).
        device: torch device string ("cpu", "cuda", "cuda:1").
        gallery_source: the face source the protocol scores against ("vggface"); the oracle draws from the
            other sources so that it never returns a trial's own true face.
        load_face: callable ``Face -> uint8 [H, W, 3]`` reading a face image; raises ``DataError`` naming
            the file if it is unreadable. Use ``benchmark.data.images.is_blank`` to skip blank images.
        utterance_ids: the probe utterances this run will ask faces for (sorted), e.g. for a generator
            that reads pre-made images and must report missing ones up front.
    """

    manifest: "Manifest"
    seed: int = 0
    device: str = "cpu"
    gallery_source: str = "vggface"
    load_face: Callable[["Face"], np.ndarray] = field(default=None)
    utterance_ids: tuple[str, ...] = ()


def utterance_seed(seed: int, utterance_id: str) -> int:
    """Derive a 63-bit seed from the run seed and an utterance id (sha256; independent of batch order)."""
    digest = hashlib.sha256(f"{int(seed)}:{utterance_id}".encode()).digest()
    return int.from_bytes(digest[:8], "little") & ((1 << 63) - 1)


def check_faces(faces: object, batch: int, name: str) -> torch.Tensor:
    """Check a generator's output and return it on the CPU.

    Args:
        faces: what ``generate`` returned.
        batch: the number of voices it was given.
        name: the generator's name, for the message.

    Returns:
        uint8 ``[B, 3, H, W]`` CPU tensor.

    Raises:
        GeneratorOutputError: not a tensor, wrong dtype, rank, channel count, batch count, or an image
            smaller than 32 px; the message names the generator and what to change.
    """
    where = f"generator {name!r}"
    if not isinstance(faces, torch.Tensor):
        raise GeneratorOutputError(f"{where} returned {type(faces).__name__}; return a torch.Tensor [B, 3, H, W] uint8.")
    if faces.dtype != torch.uint8:
        raise GeneratorOutputError(
            f"{where} returned dtype {faces.dtype}; return uint8 RGB in [0, 255] "
            "(e.g. (x.clamp(-1, 1) * 127.5 + 127.5).round().to(torch.uint8))."
        )
    if faces.ndim != 4 or faces.shape[1] != 3:
        raise GeneratorOutputError(f"{where} returned shape {tuple(faces.shape)}; return [B, 3, H, W] (channels first, RGB).")
    if faces.shape[0] != batch:
        raise GeneratorOutputError(f"{where} returned {faces.shape[0]} faces for {batch} voices; return one face per voice.")
    from benchmark.data.images import MIN_FACE_SIDE

    if min(faces.shape[2], faces.shape[3]) < MIN_FACE_SIDE:
        raise GeneratorOutputError(f"{where} returned {faces.shape[2]}×{faces.shape[3]} images; the judge needs at least "
                                   f"{MIN_FACE_SIDE}×{MIN_FACE_SIDE} (benchmark.data.images.MIN_FACE_SIDE).")
    return faces.detach().cpu()
