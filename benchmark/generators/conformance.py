"""Generator conformance: the properties every generator must have for its scores to mean anything.

``check_conformance`` runs a generator on a batch of voices and checks, in this order:

1. **meta**: ``generator.meta`` is a ``GeneratorMeta`` with a non-empty name;
2. **output** (``benchmark.generators.base.check_faces``): a ``torch.Tensor``, dtype uint8 (so values lie in
   [0, 255] by construction), shape ``[B, 3, H, W]`` with one face per voice and ``H, W >= 32``; and
   ``H == W == meta.image_size`` when the meta states a size;
3. **determinism**: a second call with the same voices and ids returns the same bytes;
4. **batch independence**: each voice generated alone (its waveform cut to its own length) and the batch
   in reverse order give, for every utterance, the same bytes as in the first batch — so scores cannot
   depend on ``--batch-size`` or on trial order (the design card's rule: randomness comes from
   ``utterance_seed(seed, utterance id)`` only).

Bytes must be equal, not close: the judge embeds exact pixels, and a one-level difference can change an
embedding.
"""

from __future__ import annotations

from typing import Sequence

import torch

from benchmark.errors import GeneratorOutputError
from benchmark.generators.base import GeneratorMeta, check_faces


def _generate(generator, waveforms: torch.Tensor, lengths: torch.Tensor, ids: Sequence[str], name: str) -> torch.Tensor:
    with torch.no_grad():
        faces = generator.generate(waveforms, lengths, list(ids))
    return check_faces(faces, len(ids), name)


def check_conformance(generator, waveforms: torch.Tensor, lengths: torch.Tensor, ids: Sequence[str]) -> dict:
    """Check a generator's meta, output format, determinism and batch independence (module docstring).

    Args:
        generator: an object with ``meta`` and ``generate`` (``benchmark.generators.base.Generator``).
        waveforms: float32 ``[B, T]`` 16 kHz mono in [-1, 1], zero-padded after each voice; B >= 2.
        lengths: int64 ``[B]`` samples.
        ids: B utterance ids.

    Returns:
        ``{"name", "batch", "image_size": [H, W], "checks": [names of the passed checks]}``.

    Raises:
        GeneratorOutputError: the first failed check, naming the generator, the check, the utterance and
            what to change.
        ValueError: fewer than two voices, or inconsistent input shapes.
    """
    if waveforms.ndim != 2 or lengths.shape != (waveforms.shape[0],) or len(ids) != waveforms.shape[0]:
        raise ValueError("check_conformance needs waveforms [B, T], lengths [B] and B utterance ids.")
    if len(ids) < 2:
        raise ValueError("check_conformance needs at least two voices to test batch independence.")
    meta = getattr(generator, "meta", None)
    if not isinstance(meta, GeneratorMeta) or not meta.name:
        raise GeneratorOutputError(f"{type(generator).__name__}: meta must be a GeneratorMeta with a name "
                                   f"(benchmark.generators.base.GeneratorMeta), got {meta!r}.")
    name = meta.name
    checks = ["meta"]
    first = _generate(generator, waveforms, lengths, ids, name)  # [B, 3, H, W] uint8
    size = [int(first.shape[2]), int(first.shape[3])]
    if meta.image_size is not None and size != [meta.image_size, meta.image_size]:
        raise GeneratorOutputError(f"generator {name!r} returned {size[0]}×{size[1]} images but its meta says "
                                   f"image_size={meta.image_size}; make them agree.")
    checks.append("output")

    again = _generate(generator, waveforms, lengths, ids, name)
    for b, utt in enumerate(ids):
        if not torch.equal(first[b], again[b]):
            raise GeneratorOutputError(
                f"generator {name!r} is not deterministic: utterance {utt!r} gave different faces in two calls "
                "with the same input; derive randomness from utterance_seed(ctx.seed, utterance_id).")
    checks.append("determinism")

    for b, utt in enumerate(ids):
        n = int(lengths[b])
        alone = _generate(generator, waveforms[b:b + 1, :n], lengths[b:b + 1], [utt], name)
        if not torch.equal(alone[0], first[b]):
            diff = int((alone[0].int() - first[b].int()).abs().max())
            raise GeneratorOutputError(
                f"generator {name!r} depends on the batch: utterance {utt!r} alone differs from the same utterance "
                f"in a batch of {len(ids)} (max difference {diff} levels); process each voice independently "
                "(mask padding, no batch statistics, per-utterance seeds).")
    order = list(range(len(ids)))[::-1]
    longest = int(lengths[order].max())
    rev = _generate(generator, waveforms[order, :longest], lengths[order], [ids[i] for i in order], name)
    for pos, b in enumerate(order):
        if not torch.equal(rev[pos], first[b]):
            raise GeneratorOutputError(
                f"generator {name!r} depends on batch order: utterance {ids[b]!r} differs when the batch is "
                "reversed; derive randomness from utterance_seed(ctx.seed, utterance_id), not from a shared stream.")
    checks.append("batch_independence")
    return {"name": name, "batch": len(ids), "image_size": size, "checks": checks}
