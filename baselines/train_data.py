"""What a ``bench train`` run learns from (``TrainData``): training identities only, their voices through the Wen et al.
front end and their faces, plus judge and speaker embeddings when a recipe needs them (``baselines.train``'s
docstring)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

import torch

from benchmark.errors import BenchError


def training_identities(manifest, identities: Sequence[str] | None = None) -> list:
    """The identities a run may learn from: the manifest's training split, or the named subset of it.

    Args:
        manifest: a ``benchmark.data.manifest.Manifest``.
        identities: VoxCeleb1 IDs to train on (None: the whole training split).

    Returns:
        ``Identity`` objects, sorted by id.

    Raises:
        BenchError: a named identity is unknown or belongs to the test split (refused: a baseline must never
            see a test identity), or fewer than two training identities remain.
    """
    train = {i.id: i for i in manifest.split("train")}
    if identities is None:
        chosen = list(train.values())
    else:
        known = {i.id: i for i in manifest.identities}
        unknown = sorted(set(identities) - set(known))
        if unknown:
            raise BenchError(f"dataset {manifest.dataset_id!r} has no identities {unknown}.")
        test = sorted(i for i in identities if known[i].split != "train")
        if test:
            raise BenchError(
                f"refusing to train on test identities {test} of {manifest.dataset_id!r} (VGGFace1 names A–E are "
                "the test split, Wen et al. 2019); name only training identities, or none for the whole training split.")
        chosen = [train[i] for i in sorted(set(identities))]
    if len(chosen) < 2:
        raise BenchError(f"dataset {manifest.dataset_id!r} has {len(chosen)} training identit"
                         f"{'y' if len(chosen) == 1 else 'ies'}; training a baseline needs at least two "
                         "(VGGFace1 names F–Z).")
    return sorted(chosen, key=lambda i: i.id)


@dataclass
class TrainData:
    """Everything a recipe learns from, all from training identities only.

    Attributes:
        dataset_id, manifest_sha256: provenance.
        identities: training VoxCeleb1 IDs, sorted; a label is an index into this list.
        genders: "m"/"f" per identity.
        utt_ids: training utterance ids, sorted.
        utt_label: int64 ``[U]`` identity label of each utterance.
        feats: U float32 tensors ``[64, F_u]``: normalised log mel of each whole utterance (``baselines.voice``).
        face_ids: training face ids (non-blank, every source), sorted.
        faces: uint8 ``[N, 3, S, S]`` face images (centre square, Pillow bicubic; dlib-aligned
            chips when ``load_train_data``'s ``face_align`` is given).
        face_label: int64 ``[N]``.
        judge: float32 ``[N, 128]`` judge embeddings of the original face images, or None.
        speaker: float32 ``[U, 256]`` resemblyzer embeddings of the utterances, or None.
    """

    dataset_id: str
    manifest_sha256: str
    identities: list[str]
    genders: list[str]
    utt_ids: list[str]
    utt_label: torch.Tensor
    feats: list[torch.Tensor]
    face_ids: list[str]
    faces: torch.Tensor
    face_label: torch.Tensor
    judge: torch.Tensor | None = None
    speaker: torch.Tensor | None = None

    @property
    def n_identities(self) -> int:
        return len(self.identities)

    def gender_index(self) -> torch.Tensor:
        """int64 ``[K]``: 1 for "f", 0 for "m", per identity."""
        return torch.tensor([1 if g == "f" else 0 for g in self.genders], dtype=torch.int64)


def load_train_data(manifest, identities: Sequence[str] | None = None, image_size: int = 64,
                    needs: frozenset[str] | set[str] = frozenset(), progress: bool = True,
                    face_align: float | None = None) -> TrainData:
    """Build ``TrainData`` from a manifest's training identities (see ``training_identities``).

    Args:
        manifest: the dataset.
        identities: optional subset of training identities (test identities are refused).
        image_size: side of the face images in pixels.
        needs: "judge" for the judge's face embeddings, "speaker" for resemblyzer voice embeddings.
        progress: tqdm bars.
        face_align: None (default): each face is its centre square, resized; a padding (e.g. 0.6): each face is the
            judge's dlib 5-point aligned chip with that padding (``baselines.face_chips``).

    Raises:
        BenchError: test identities asked for, too few identities, an identity without usable faces, or
            unreadable files (``DataError`` names the file).
    """
    from tqdm import tqdm

    from benchmark.data.audio import load_audio
    from benchmark.data.images import is_blank, load_image, square_resize, to_chw_tensor
    from baselines.voice import VoiceFrontEnd

    from benchmark.data.heldout import training_faces, training_utterances

    chosen = training_identities(manifest, identities)
    label = {ident.id: k for k, ident in enumerate(chosen)}
    # never the videos id-topk-seen holds out (benchmark.data.heldout, one rule for every training path)
    utts = [u for u in training_utterances(manifest) if u.identity in label]
    faces = [f for f in training_faces(manifest) if f.identity in label]
    front = VoiceFrontEnd()
    feats = []
    for utt in tqdm(utts, desc="train data: voices", disable=not progress, leave=False):
        wave = torch.from_numpy(load_audio(utt.path))
        f, n = front(wave[None], torch.tensor([len(wave)]))
        feats.append(f[0, :, : int(n[0])].contiguous())
    images, kept, originals = [], [], []
    for face in tqdm(faces, desc="train data: faces", disable=not progress, leave=False):
        image = load_image(face.path)
        if is_blank(image):
            continue
        kept.append(face)
        images.append(square_resize(image, image_size))
        if "judge" in needs or face_align is not None:
            originals.append(image)
    missing = sorted(set(label) - {f.identity for f in kept})
    if missing:
        raise BenchError(f"training identities {missing} of {manifest.dataset_id!r} have no usable (non-blank) face.")
    if face_align is not None:
        from baselines.face_chips import aligned_faces

        images = aligned_faces(originals, image_size, float(face_align))
    data = TrainData(
        dataset_id=manifest.dataset_id, manifest_sha256=manifest.sha256(),
        identities=[i.id for i in chosen], genders=[i.gender for i in chosen],
        utt_ids=[u.id for u in utts], utt_label=torch.tensor([label[u.identity] for u in utts], dtype=torch.int64),
        feats=feats, face_ids=[f.id for f in kept], faces=to_chw_tensor(images),
        face_label=torch.tensor([label[f.identity] for f in kept], dtype=torch.int64),
    )
    if "judge" in needs:
        from benchmark.judges.cache import EmbeddingCache
        from benchmark.judges import DEFAULT_JUDGE, make_judge
        from benchmark.settings import cache_dir

        cache = EmbeddingCache(cache_dir() / "embeddings.sqlite")
        try:
            judge = make_judge(DEFAULT_JUDGE, cache=cache)
            try:
                emb = judge.embed(originals, progress="train data: judge" if progress else None)
            finally:
                judge.close()
        finally:
            cache.close()
        data.judge = torch.from_numpy(emb.vectors)
    if "speaker" in needs:
        from baselines.speaker import SpeakerEncoder, embed_files

        data.speaker = torch.from_numpy(embed_files(SpeakerEncoder(), [u.path for u in utts]))
    return data
