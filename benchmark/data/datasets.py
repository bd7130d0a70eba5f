"""Registered datasets: name -> loader. All three read the same official layout (``benchmark.data.manifest``).

* ``vox1-vggface``: a user's full VoxCeleb1 + VGGFace1 copy, at ``--data-root``, or ``$VOX1_VGGFACE_ROOT``,
  or ``<data dir>/vox1-vggface`` (data dir: see ``benchmark.settings``).
* ``vox1-mini``: the six-identity real sample, at ``<data dir>/vox1-mini`` (or ``--data-root``).
* ``vox1-s2f``: 130 real VoxCeleb1 identities (328 six-second clips, a face crop from each clip, no VGGFace1
  photos) with the released outputs of Speech2Face (Oh et al., CVPR 2019) for every clip, at
  ``<data dir>/vox1-s2f`` (or ``--data-root``). Its gallery is the VoxCeleb1 face crops
  (``DATASET_SPEC_OVERRIDES``), and its age protocol scores against the Speech2Face authors' human age bands
  (``benchmark.data.clip_labels``).
* ``toy``: the procedurally generated known-answer world (``benchmark.data.toy``), made on first use in the
  cache directory. Its numbers say nothing about real voices.
"""

from __future__ import annotations

import os
from pathlib import Path

from benchmark.data.manifest import Manifest, load_vox1_layout
from benchmark.errors import DataError
from benchmark.registry import lookup
from benchmark.settings import cache_dir, data_dir

DATASETS: dict[str, str] = {
    "vox1-vggface": "full VoxCeleb1 voices + VGGFace1 faces (924/112/189 identities by the Wen et al. rule)",
    "vox1-mini": ("six real VoxCeleb1 + VGGFace identities (train 1, validation 2, test 3: 2 f / 1 m), for tests; "
                  "its tests and stored results score --split validation+test (5 identities)"),
    "vox1-s2f": ("130 real VoxCeleb1 identities, 328 clips (train 95/241, validation 13/44, test 22/43 identities/"
                 "clips), gallery = VoxCeleb1 face crops, + the released Speech2Face outputs (Oh et al. CVPR 2019; "
                 "speech2face/speech2face.github.io @ ceb7cfa9ef75, figures/voxceleb). Not a random sample: the "
                 "Speech2Face authors' balanced display set (8 clips in each of 41 gender x native x age x ethnicity "
                 "cells); identities have 1 to 8 clips, so utterance-weighted values weight them unequally"),
    "toy": "synthetic known-answer world, 48 identities (train 32, validation 8, test 8); says nothing about real voices",
}
DEFAULT_DATASET = "toy"

EXPECTED_IDENTITIES: dict[str, dict[str, int]] = {
    "vox1-vggface": {"train": 924, "validation": 112, "test": 189},
    "vox1-s2f": {"train": 95, "validation": 13, "test": 22},
}
"""Identity counts per split of the registered *full* datasets (Wen, Singh, Raj, "Reconstructing faces from
voices", NeurIPS 2019, Table 1: 924 / 112 / 189 identities of VoxCeleb1 ∩ VGGFace1). A copy whose counts differ
is partial (``completeness``): its results say so and are never ranked with full runs. ``vox1-s2f``'s counts are
those of its README (the Wen et al. rule applied to its 130 identities)."""

DATASET_SPEC_OVERRIDES: dict[str, dict[str, object]] = {
    "vox1-s2f": {"gallery_source": "voxceleb"},
}
"""Protocol fields a dataset fixes, applied to every spec scored on it (``dataset_spec``) and recorded in the result's
``protocol.spec`` and ``protocol.dataset_overrides``. vox1-s2f has no VGGFace1 photos: its gallery is the VoxCeleb1
face crop of each clip, so a trial's true face follows ``benchmark.trials.builders.TRUE_FACE_RULE`` (another video of the
speaker whenever there is one)."""

HUMAN_AGE_BANDS: dict[str, dict[str, object]] = {
    "vox1-s2f": {"age_bands": (40.0, 59.0),
                 "age_reference": "human age band of the clip (20-39 / 40-59 / >=60), annotated by the Speech2Face "
                                  "authors (clip_attributes.csv: the age digit of each clip's s2f_code file prefix in "
                                  "speech2face/speech2face.github.io @ ceb7cfa9ef75, figures/voxceleb)"},
}
"""Datasets whose ``age`` protocol scores against human age bands per clip (``benchmark.data.clip_labels``) instead of
the age predicted from the speaker's real faces. The edges (40, 59) put whole-year predicted ages into the bands
20-39 (band 0: < 40), 40-59 (band 1: 40 ≤ age ≤ 59) and >=60 (band 2: > 59) by ``benchmark.metrics.pairwise.age_band``."""


def dataset_spec(spec, dataset_id: str):
    """The protocol spec as scored on ``dataset_id``: ``DATASET_SPEC_OVERRIDES`` (and, for the ``age`` task,
    ``HUMAN_AGE_BANDS``) applied with ``dataclasses.replace``; ``spec`` itself for other datasets.

    Args:
        spec: a ``protocols.spec.ProtocolSpec``.
        dataset_id: the registered dataset name.

    Returns:
        A ``ProtocolSpec``; fields not overridden are unchanged (the version stays: the override is recorded).
    """
    from dataclasses import replace

    fields = dict(DATASET_SPEC_OVERRIDES.get(dataset_id, {}))
    if spec.task == "age":
        fields.update(HUMAN_AGE_BANDS.get(dataset_id, {}))
    fields = {k: v for k, v in fields.items() if getattr(spec, k) != v}
    return replace(spec, **fields) if fields else spec


def dataset_root(name: str, data_root: str | os.PathLike[str] | None = None,
                 data_dir_override: str | os.PathLike[str] | None = None, progress: bool = True) -> Path:
    """Return the directory a dataset is read from (generating the toy world if needed).

    Args:
        name: a registered dataset name.
        data_root: the dataset's own directory (``--data-root``), overriding the lookup.
        data_dir_override: the folder holding ``<dataset>/`` directories (``--data-dir``).
        progress: a progress bar while the toy world is made on first use (a one-line note on stderr
            either way).

    Raises:
        BenchError: unknown name. DataError: the directory does not exist (the message says how to fix it),
            or the toy world cannot be written.
    """
    lookup(name, DATASETS, "dataset")
    if name == "toy":
        from benchmark.data.toy import ensure_toy_world

        base = cache_dir() / "toy"
        try:
            return ensure_toy_world(base, progress=progress)
        except OSError as exc:
            raise DataError(f"the toy world cannot be made in {base} ({exc}); set VOICE2FACE_CACHE_DIR to a "
                            "writable folder.") from None
    if data_root:
        root = Path(data_root).expanduser()
    elif name == "vox1-vggface" and os.environ.get("VOX1_VGGFACE_ROOT"):
        root = Path(os.environ["VOX1_VGGFACE_ROOT"]).expanduser()
    else:
        root = data_dir(data_dir_override) / name
    if not root.is_dir():
        raise DataError(
            f"dataset {name!r} not found at {root}. Put it there (see README: 'Data layout'), or pass "
            f"--data-root DIR, or set VOICE2FACE_DATA_DIR to the folder that holds {name}/."
        )
    return root


def load_dataset(name: str, data_root: str | os.PathLike[str] | None = None,
                 data_dir_override: str | os.PathLike[str] | None = None, progress: bool = True) -> Manifest:
    """Load a registered dataset's manifest (see ``benchmark.data.manifest.load_vox1_layout``; arguments as
    ``dataset_root``)."""
    return load_vox1_layout(dataset_root(name, data_root, data_dir_override, progress), name)


def root_label(name: str, data_root: str | os.PathLike[str] | None = None,
               data_dir_override: str | os.PathLike[str] | None = None) -> str:
    """Where a dataset was read from, in a form that means something on another machine (for result files).

    Returns:
        ``"<cache>/toy-v…"`` for the toy world; ``"--data-root <folder name>"`` for an explicit root;
        ``"$VOX1_VGGFACE_ROOT"`` when that variable chose it; else ``"<data dir>/<name>"`` with the data
        directory setting that applied (``--data-dir``, ``$VOICE2FACE_DATA_DIR`` or ``./data``) — never an
        absolute local path.
    """
    if name == "toy":
        from benchmark.data.toy import TOY_VERSION

        return f"<cache>/toy/toy-v{TOY_VERSION}-n48-s0"
    if data_root:
        return f"--data-root {Path(data_root).expanduser().resolve().name}"
    if name == "vox1-vggface" and os.environ.get("VOX1_VGGFACE_ROOT"):
        return "$VOX1_VGGFACE_ROOT"
    if data_dir_override:
        return f"--data-dir/{name}"
    if os.environ.get("VOICE2FACE_DATA_DIR"):
        return f"$VOICE2FACE_DATA_DIR/{name}"
    return f"./data/{name}"


def completeness(manifest: Manifest) -> dict | None:
    """Compare a registered full dataset's identity counts per split with ``EXPECTED_IDENTITIES``.

    Splits are counted from ``Identity.split``. A manifest whose identities carry no "validation" split (a
    two-way train/test rule) is compared on train+validation together and test.

    Returns:
        None when the dataset has no expected counts (vox1-mini, toy) or its counts match; else
        ``{"expected": {split: n}, "found": {split: n}, "note": "..."}`` — the copy is partial (or otherwise
        not the full dataset), and its results must not be ranked with full runs.
    """
    expected = EXPECTED_IDENTITIES.get(manifest.dataset_id)
    if expected is None:
        return None
    found = {split: 0 for split in expected}
    for identity in manifest.identities:
        found[identity.split] = found.get(identity.split, 0) + 1
    if "validation" in expected and not found.get("validation"):
        expected = {"train": expected["train"] + expected["validation"], "test": expected["test"]}
        found = {"train": found.get("train", 0) + found.get("validation", 0), "test": found.get("test", 0)}
    if found == expected:
        return None
    counts = ", ".join(f"{found.get(s, 0)} of {n} {s}" for s, n in expected.items())
    return {"expected": expected, "found": found,
            "note": f"partial copy: {counts} identities (Wen et al. 2019, Table 1); not comparable with runs on "
                    "the full dataset"}
