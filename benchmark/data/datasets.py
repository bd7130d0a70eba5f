"""Registered datasets: name -> loader, plus dataset plug-ins and manifests named by path.

A ``--dataset`` value is one of: a registered name below (all read the official VoxCeleb1 + VGGFace layout,
``benchmark.data.manifest``); the name of an installed plug-in (entry point group ``voice2face_bench.datasets``: a
callable ``load(data_root: Path | None) -> Manifest | str`` returning a manifest or the path of a manifest folder); or
the path of a manifest (``benchmark.data.manifest_io``: a ``manifest.json`` or the folder holding one), scored
without any registration.

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
ENTRY_POINT_GROUP = "voice2face_bench.datasets"


def plugin_datasets() -> dict:
    """Installed dataset plug-ins: ``{name: entry point}`` of the group ``ENTRY_POINT_GROUP`` (a registered name wins
    over a plug-in of the same name)."""
    from importlib.metadata import entry_points

    return {ep.name: ep for ep in entry_points(group=ENTRY_POINT_GROUP) if ep.name not in DATASETS}

IDENTITIES_PER_SPLIT: dict[str, dict[str, int]] = {
    "vox1-vggface": {"train": 924, "validation": 112, "test": 189},
    "vox1-mini": {"train": 1, "validation": 2, "test": 3},
    "vox1-s2f": {"train": 95, "validation": 13, "test": 22},
    "toy": {"train": 32, "validation": 8, "test": 8},
}
"""Identities per split of each registered dataset, as its description states (``bench ls datasets``)."""


def dataset_rows() -> list[list]:
    """Rows ``[name, train, validation, test, what]`` of the registered datasets and installed plug-ins."""
    rows = [[n, *(IDENTITIES_PER_SPLIT.get(n, {}).get(s, "?") for s in ("train", "validation", "test")), d]
            for n, d in DATASETS.items()]
    rows += [[n, "?", "?", "?", f"plug-in {ep.value}"] for n, ep in sorted(plugin_datasets().items())]
    rows.append(["path/to/manifest", "", "", "", "any manifest folder (bench dataset validate PATH shows its counts)"])
    return rows


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

MANIFEST_AGE_REFERENCE = ("manifest age labels: each identity's age (whole years, or a band) with its source from the "
                          "identities table (human, or model:<name>@<weights sha256>)")
"""``age_reference`` of the ``age`` protocol on a manifest whose identities carry ages (``dataset_spec``): the truth is
the manifest's labels (``benchmark.tasks.age_labels``), not the age predicted from the speaker's real faces."""


def dataset_spec(spec, dataset):
    """The protocol spec as scored on a dataset: ``DATASET_SPEC_OVERRIDES`` (and, for the ``age`` task,
    ``HUMAN_AGE_BANDS``, or ``manifest_age_fields`` for a loaded manifest with age labels) applied with
    ``dataclasses.replace``; ``spec`` itself for other datasets. Given a loaded
    ``Manifest`` that has no photos (every face a video frame or clip crop, ``benchmark.data.manifest_io``), a photo
    gallery (``gallery_source="vggface"``) becomes its frames (``"voxceleb"``), as vox1-s2f's override does.

    Args:
        spec: a ``protocols.spec.ProtocolSpec``.
        dataset: the dataset name, or its loaded ``Manifest``.

    Returns:
        A ``ProtocolSpec``; fields not overridden are unchanged (the version stays: the override is recorded).
    """
    from dataclasses import replace

    dataset_id = dataset.dataset_id if isinstance(dataset, Manifest) else dataset
    fields = dict(DATASET_SPEC_OVERRIDES.get(dataset_id, {}))
    if (isinstance(dataset, Manifest) and dataset.origin == "manifest" and dataset.faces
            and not any(f.source == "vggface" for f in dataset.faces)):
        fields.setdefault("gallery_source", "voxceleb")
    if spec.task == "age":
        fields.update(HUMAN_AGE_BANDS.get(dataset_id, {}))
        if dataset_id not in HUMAN_AGE_BANDS and isinstance(dataset, Manifest):
            fields.update(manifest_age_fields(dataset))
    fields = {k: v for k, v in fields.items() if getattr(spec, k) != v}
    return replace(spec, **fields) if fields else spec


def manifest_age_fields(manifest: Manifest) -> dict[str, object]:
    """The ``age`` protocol fields a manifest with age labels fixes: ``age_reference`` = ``MANIFEST_AGE_REFERENCE``,
    and ``age_bands`` = (40, 59) when every label is one of Speech2Face's bands (``benchmark.data.clip_labels.AGE_BANDS``:
    20-39 / 40-59 / >=60, the bands vox1-s2f's human labels use); {} when no identity has an age (the protocol then
    keeps its predicted reference, so registered datasets are unchanged). Other labels are read against the protocol's
    own edges (a band across an edge is excluded: ``benchmark.tasks.age_labels.label_band``)."""
    from benchmark.data.clip_labels import AGE_BANDS

    ages = {i.age for i in manifest.identities if i.age}
    if not ages:
        return {}
    fields: dict[str, object] = {"age_reference": MANIFEST_AGE_REFERENCE}
    if ages <= set(AGE_BANDS):
        fields["age_bands"] = HUMAN_AGE_BANDS["vox1-s2f"]["age_bands"]
    return fields


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
            or the toy world cannot be written; a manifest path's header is malformed.

    A manifest path gives its ``root`` (``benchmark.data.manifest_io``); a plug-in the root of the manifest it loads.
    """
    if name not in DATASETS:
        from benchmark.data.manifest_io import looks_like_manifest, read_header

        if looks_like_manifest(name):  # a manifest: its root is where its files are
            file, head = read_header(name)
            return (file.parent / str(head.get("root", "."))).resolve()
        if name in plugin_datasets():
            return Path(load_dataset(name, data_root, data_dir_override, progress).root)
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
    """Load a dataset's manifest: a manifest path (``benchmark.data.manifest_io.read_manifest``), a registered name
    (``benchmark.data.manifest.load_vox1_layout``; arguments as ``dataset_root``), or an installed plug-in's name.

    Raises:
        DataError: the data is missing or malformed (the message names the file and the fix); ``--data-root`` or
            ``--data-dir`` given with a manifest path (the manifest says where its files are).
        BenchError: an unknown name (with "did you mean").
    """
    from benchmark.data.manifest_io import looks_like_manifest, read_manifest

    if name not in DATASETS and looks_like_manifest(name):
        if data_root or data_dir_override:
            raise DataError(f"--data-root/--data-dir do not apply to the manifest {name}: its manifest.json says where "
                            "its files are (\"root\"); drop the option.")
        return read_manifest(name)
    plugins = plugin_datasets() if name not in DATASETS else {}
    if name in plugins:
        loaded = plugins[name].load()(Path(data_root).expanduser() if data_root else None)
        return loaded if isinstance(loaded, Manifest) else read_manifest(loaded)
    if name not in DATASETS:
        lookup(name, {**DATASETS, **plugins}, "dataset")
    root = dataset_root(name, data_root, data_dir_override, progress)
    refuse_parent_folder(root, name)
    return load_vox1_layout(root, name)


def refuse_parent_folder(root: Path, name: str) -> None:
    """Refuse a root that is the *parent* of a dataset folder (``--data-root data`` for ``data/vox1-s2f``) with the
    right fix, instead of asking for a metadata file that is one level down.

    Raises:
        DataError: ``root`` has no ``vox1_meta.csv`` but a sub-folder has one (the message names it).
    """
    if (root / "vox1_meta.csv").is_file() or not root.is_dir():
        return
    below = sorted(p.parent for p in root.glob("*/vox1_meta.csv"))
    if below:
        best = next((p for p in below if p.name == name), below[0])
        raise DataError(f"{root} is not a dataset folder but holds {len(below)}: "
                        f"{', '.join(p.name for p in below)}. Pass --data-root {best} (the dataset's own folder), "
                        f"or --data-dir {root} (the folder holding <dataset>/ folders).")


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
    if name not in DATASETS:
        from benchmark.data.manifest_io import looks_like_manifest

        if looks_like_manifest(name):
            folder = Path(name).expanduser().resolve()
            return f"manifest {(folder.parent if name.endswith('.json') else folder).name}"
        return f"plug-in {name}"
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
