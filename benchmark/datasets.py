"""Registered datasets: name -> loader. All three read the same official layout (``benchmark.data``).

* ``vox1-vggface``: a user's full VoxCeleb1 + VGGFace1 copy, at ``--data-root``, or ``$VOX1_VGGFACE_ROOT``,
  or ``<data dir>/vox1-vggface`` (data dir: see ``benchmark.settings``).
* ``vox1-mini``: the six-identity real sample, at ``<data dir>/vox1-mini`` (or ``--data-root``).
* ``toy``: the procedurally generated known-answer world (``benchmark.toy``), made on first use in the
  cache directory. Its numbers say nothing about real voices.
"""

from __future__ import annotations

import os
from pathlib import Path

from benchmark.data import Manifest, load_vox1_layout
from benchmark.errors import DataError
from benchmark.registry import lookup
from benchmark.settings import cache_dir, data_dir

DATASETS: dict[str, str] = {
    "vox1-vggface": "full VoxCeleb1 voices + VGGFace1 faces (924/112/189 identities by the Wen et al. rule)",
    "vox1-mini": "six real VoxCeleb1 + VGGFace identities (5 test, 1 train), for tests",
    "toy": "synthetic known-answer world, 48 identities (16 test); says nothing about real voices",
}
DEFAULT_DATASET = "toy"


def dataset_root(name: str, data_root: str | os.PathLike[str] | None = None,
                 data_dir_override: str | os.PathLike[str] | None = None) -> Path:
    """Return the directory a dataset is read from (generating the toy world if needed).

    Raises:
        BenchError: unknown name. DataError: the directory does not exist (the message says how to fix it).
    """
    lookup(name, DATASETS, "dataset")
    if name == "toy":
        from benchmark.toy import ensure_toy_world

        return ensure_toy_world(cache_dir() / "toy")
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
                 data_dir_override: str | os.PathLike[str] | None = None) -> Manifest:
    """Load a registered dataset's manifest (see ``benchmark.data.load_vox1_layout``)."""
    return load_vox1_layout(dataset_root(name, data_root, data_dir_override), name)
