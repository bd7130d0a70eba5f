"""Seeded stand-ins for facenet-pytorch's VGGFace2 state dict, shared by ``tests/test_facenet.py`` and
``tests/data/make_facenet_fixture.py`` (which made the committed reference outputs with facenet-pytorch's own
module). Only numpy's seeded generator is used, so the same tensors come out on every machine and torch version."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

DATA = Path(__file__).parent / "data"
KEYS_FILE = DATA / "facenet_vggface2_keys.json"
"""Key names, shapes and dtypes of facenet-pytorch 2.6.0's ``InceptionResnetV1(pretrained="vggface2")`` state dict
(``make_facenet_fixture.py`` lists them from facenet-pytorch's module)."""
REFERENCE_FILE = DATA / "facenet_reference.npz"
"""facenet-pytorch 2.6.0's ``InceptionResnetV1`` outputs (eval, ``classify=False``) on ``seeded_inputs()`` with
``seeded_state_dict()`` loaded (``make_facenet_fixture.py``)."""


def published_layout() -> list[tuple[str, list[int], str]]:
    """``[(key, shape, dtype)]`` of the published state dict, in its order."""
    return [(k, list(shape), dtype) for k, shape, dtype in json.loads(KEYS_FILE.read_text())["keys"]]


def seeded_state_dict(seed: int = 0, num_classes: int | None = None):
    """A state dict with the published layout and seeded values of a plausible scale: convolution and linear weights
    ~ N(0, 1/fan_in), biases and BatchNorm shifts ~ N(0, 0.05²), BatchNorm scales ~ 1 + N(0, 0.05²), running means
    ~ N(0, 0.05²), running variances in [0.5, 1.5], ``num_batches_tracked`` 0.

    Args:
        seed: numpy seed.
        num_classes: rows of ``logits`` (default: the published 8631).

    Returns:
        ``{key: torch tensor}`` in the published key order.
    """
    import torch

    rng = np.random.default_rng(seed)
    state = {}
    for key, shape, dtype in published_layout():
        if key.startswith("logits.") and num_classes is not None:
            shape = [num_classes, *shape[1:]]
        if dtype == "torch.int64":
            state[key] = torch.zeros(shape, dtype=torch.int64)
            continue
        leaf = key.rsplit(".", 1)[1]
        if leaf == "weight" and len(shape) >= 2:
            value = rng.standard_normal(shape) / np.sqrt(np.prod(shape[1:]))
        elif leaf == "weight":  # BatchNorm scale
            value = 1 + 0.05 * rng.standard_normal(shape)
        elif leaf == "running_var":
            value = rng.uniform(0.5, 1.5, shape)
        else:  # bias, running_mean
            value = 0.05 * rng.standard_normal(shape)
        state[key] = torch.from_numpy(np.asarray(value, dtype=np.float32))
    return state


def seeded_inputs(seed: int = 1, n: int = 3, size: int = 140):
    """float32 ``[n, 3, size, size]`` standardised images ``(u8 - 127.5) / 128`` of seeded uint8 pixels."""
    import torch

    pixels = np.random.default_rng(seed).integers(0, 256, (n, 3, size, size)).astype(np.float32)
    return torch.from_numpy((pixels - 127.5) / 128.0)
