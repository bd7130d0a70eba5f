"""Network pieces shared by the learned baselines (``wen-gan``, ``speech2face``, ``ar-spm``) and their losses.

Every voice network here takes features ``[B, 64, F]`` from ``baselines.voice`` with int64 frame counts
``[B]`` and is *length-masked*: after every layer the positions beyond each recording's own length are set to
zero and pooling over time averages only valid positions. With zero padding in every convolution, a
recording's output is then the same whether it is run alone or zero-padded inside a batch (what
``benchmark.generators.conformance`` checks). During training all crops of a batch have one length, so the masks are
all-true there.

Images are float ``[B, 3, S, S]`` in [-1, 1]: ``(x - 127.5) / 127.5`` of uint8 RGB (Wen et al. 2019,
``dataset.load_face``); ``to_uint8`` inverts it.
"""

from __future__ import annotations

from typing import Sequence

import torch
import torch.nn.functional as F
from torch import nn


def to_unit_range(faces: torch.Tensor) -> torch.Tensor:
    """uint8 ``[B, 3, S, S]`` -> float32 in [-1, 1]: ``(x - 127.5) / 127.5``."""
    return (faces.float() - 127.5) / 127.5


def to_uint8(images: torch.Tensor) -> torch.Tensor:
    """float ``[B, 3, S, S]`` in [-1, 1] (clamped) -> uint8 ``[B, 3, S, S]`` (round half to even)."""
    return (images.clamp(-1, 1) * 127.5 + 127.5).round().to(torch.uint8)


def time_mask(lengths: torch.Tensor, size: int) -> torch.Tensor:
    """bool ``[B, size]``: True where the time index is below each length."""
    return torch.arange(size, device=lengths.device)[None, :] < lengths[:, None]


def strided_lengths(lengths: torch.Tensor, stride: int) -> torch.Tensor:
    """Output length of a 'same'-padded convolution or pooling with this stride: ``ceil(L / stride)``."""
    return torch.div(lengths + stride - 1, stride, rounding_mode="floor")


def masked_time_mean(x: torch.Tensor, lengths: torch.Tensor, time_dim: int = 2) -> torch.Tensor:
    """Mean over the time axis of valid positions only. ``x`` is ``[B, C, T]`` or ``[B, C, T, F]``.

    Returns:
        ``[B, C]`` (for ``[B, C, T, F]`` the frequency axis is averaged too).
    """
    mask = time_mask(lengths, x.shape[time_dim]).to(x.dtype)  # [B, T]
    shape = [x.shape[0]] + [1] * (x.ndim - 1)
    shape[time_dim] = x.shape[time_dim]
    mask = mask.view(shape)
    dims = tuple(range(2, x.ndim))
    count = mask.sum(dim=dims) * (x[0, 0].numel() / x.shape[time_dim])  # [B, 1]
    return (x * mask).sum(dim=dims) / count


# ----------------------------------------------------------------------------------------------------------
# Wen, Singh, Raj (NeurIPS 2019), Table 2 and the authors' network.py


class WenVoiceNet(nn.Module):
    """Voice embedding network: 1D convs 64 -> 256 -> 384 -> 576 -> 864 -> 64, kernel 3, stride 2, padding 1,
    BatchNorm + ReLU after the first four, average pooling over time -> ``[B, out_dim]``.

    Args:
        n_mels: input channels (64).
        channels: the four hidden widths (Table 2: 256, 384, 576, 864).
        out_dim: embedding size (64).
    """

    def __init__(self, n_mels: int = 64, channels: Sequence[int] = (256, 384, 576, 864), out_dim: int = 64):
        super().__init__()
        widths = [n_mels, *channels]
        self.blocks = nn.ModuleList(
            nn.Sequential(nn.Conv1d(a, b, 3, 2, 1, bias=False), nn.BatchNorm1d(b), nn.ReLU())
            for a, b in zip(widths[:-1], widths[1:])
        )
        self.last = nn.Conv1d(widths[-1], out_dim, 3, 2, 1, bias=True)

    def forward(self, x: torch.Tensor, frames: torch.Tensor | None = None) -> torch.Tensor:
        """``x``: float32 ``[B, 64, T]``; ``frames``: int64 ``[B]`` valid frames (None: all). Returns ``[B, out_dim]``."""
        if frames is None:  # every position valid (training crops): no masking needed
            for layer in [*self.blocks, self.last]:
                x = layer(x)
            return x.mean(dim=2)
        lengths = frames
        for layer in [*self.blocks, self.last]:
            x = layer(x)
            lengths = strided_lengths(lengths, 2)
            x = x * time_mask(lengths, x.shape[2])[:, None, :]
        return masked_time_mean(x, lengths)


class WenGenerator(nn.Module):
    """Generator: 64-d embedding -> deconv 4x4 to 1024x4x4, then deconvs 4x4 stride 2 to 512x8x8, 256x16x16,
    128x32x32, 64x64x64 (ReLU after each), then a 1x1 deconv to 3x64x64 with no output activation (the
    authors' network.py; outputs are clamped to [-1, 1] when turned into images)."""

    def __init__(self, in_dim: int = 64, channels: Sequence[int] = (1024, 512, 256, 128, 64)):
        super().__init__()
        layers: list[nn.Module] = [nn.ConvTranspose2d(in_dim, channels[0], 4, 1, 0), nn.ReLU()]
        for a, b in zip(channels[:-1], channels[1:]):
            layers += [nn.ConvTranspose2d(a, b, 4, 2, 1), nn.ReLU()]
        layers.append(nn.ConvTranspose2d(channels[-1], 3, 1, 1, 0))
        self.model = nn.Sequential(*layers)

    def forward(self, e: torch.Tensor) -> torch.Tensor:
        """``e``: ``[B, in_dim]`` -> images ``[B, 3, 64, 64]`` (4 * 2^(len(channels) - 1) pixels)."""
        return self.model(e[:, :, None, None])


class WenFaceTrunk(nn.Module):
    """The conv trunk shared by the discriminator and the identity classifier: 1x1 conv to 32 channels, then
    3x3 stride-2 convs 64, 128, 256, 512 (64x64 -> 4x4), then a 4x4 conv to 64 (LeakyReLU 0.2 between)."""

    def __init__(self, channels: Sequence[int] = (32, 64, 128, 256, 512), out_dim: int = 64):
        super().__init__()
        layers: list[nn.Module] = [nn.Conv2d(3, channels[0], 1, 1, 0), nn.LeakyReLU(0.2)]
        for a, b in zip(channels[:-1], channels[1:]):
            layers += [nn.Conv2d(a, b, 3, 2, 1), nn.LeakyReLU(0.2)]
        layers.append(nn.Conv2d(channels[-1], out_dim, 4, 1, 0))
        self.model = nn.Sequential(*layers)

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        """``images``: ``[B, 3, 64, 64]`` in [-1, 1] -> ``[B, out_dim]``."""
        return self.model(images).flatten(1)


# ----------------------------------------------------------------------------------------------------------
# Speech2Face (Oh et al., CVPR 2019), Table 1, and CBAM (Woo et al., ECCV 2018) for AR-SPM


class CBAM(nn.Module):
    """Convolutional block attention (Woo et al. 2018): channel attention from masked average- and max-pooled
    descriptors through a shared MLP (reduction 16), then spatial attention from a 7x7 conv over the
    channel-wise mean and max maps. Masked along time so that padding never enters a statistic."""

    def __init__(self, channels: int, reduction: int = 16):
        super().__init__()
        hidden = max(1, channels // reduction)
        self.mlp = nn.Sequential(nn.Linear(channels, hidden), nn.ReLU(), nn.Linear(hidden, channels))
        self.spatial = nn.Conv2d(2, 1, 7, 1, 3)

    def forward(self, x: torch.Tensor, lengths: torch.Tensor | None) -> torch.Tensor:
        """``x``: ``[B, C, T, F]`` (zero beyond ``lengths`` along T; None: all valid) -> same shape."""
        if lengths is None:
            x = x * torch.sigmoid(self.mlp(x.mean(dim=(2, 3))) + self.mlp(x.amax(dim=(2, 3))))[:, :, None, None]
            maps = torch.cat([x.mean(dim=1, keepdim=True), x.amax(dim=1, keepdim=True)], dim=1)
            return x * torch.sigmoid(self.spatial(maps))
        mask = time_mask(lengths, x.shape[2])[:, None, :, None]  # [B, 1, T, 1]
        avg = masked_time_mean(x, lengths)  # [B, C]
        mx = x.masked_fill(~mask, float("-inf")).amax(dim=(2, 3))  # [B, C]
        x = x * torch.sigmoid(self.mlp(avg) + self.mlp(mx))[:, :, None, None]
        maps = torch.cat([x.mean(dim=1, keepdim=True), x.amax(dim=1, keepdim=True)], dim=1) * mask
        return x * torch.sigmoid(self.spatial(maps)) * mask


class S2FVoiceEncoder(nn.Module):
    """Speech2Face's voice encoder (Oh et al. 2019, Table 1) on log mel input ``[B, 1, T, 64]``.

    conv 4x4 64, 64, 128 -> maxpool 2x1 (time) -> conv 128 -> maxpool -> conv 128 -> maxpool -> conv 256 ->
    conv 512 stride 2 -> conv 512 stride 2 -> average pool over time and frequency -> FC 4096 -> ReLU ->
    FC ``out_dim``; BatchNorm + ReLU after every conv. The paper took a 598x257 complex spectrogram; the
    input here is the shared 64-bin log mel front end (documented deviation). ``cbam=True`` puts a CBAM block
    after every conv (AR-SPM's attention encoder).

    Args:
        channels: the eight conv widths (paper: 64, 64, 128, 128, 128, 256, 512, 512).
        fc_dim: hidden FC width (paper: 4096).
        out_dim: size of the predicted face feature.
        cbam: add CBAM attention.
    """

    #: per conv: (stride, max-pool over time after it)
    PLAN = ((1, False), (1, False), (1, True), (1, True), (1, True), (1, False), (2, False), (2, False))

    def __init__(self, channels: Sequence[int] = (64, 64, 128, 128, 128, 256, 512, 512), fc_dim: int = 4096,
                 out_dim: int = 128, cbam: bool = False):
        super().__init__()
        if len(channels) != len(self.PLAN):
            raise ValueError(f"S2FVoiceEncoder needs {len(self.PLAN)} channel widths, got {len(channels)}.")
        widths = [1, *channels]
        self.convs = nn.ModuleList(
            nn.Sequential(nn.ZeroPad2d((1, 2, 1, 2)), nn.Conv2d(a, b, 4, s, 0, bias=False), nn.BatchNorm2d(b),
                          nn.ReLU())
            for (a, b), (s, _) in zip(zip(widths[:-1], widths[1:]), self.PLAN)
        )
        self.attention = nn.ModuleList(CBAM(c) for c in channels) if cbam else None
        self.fc = nn.Sequential(nn.Linear(channels[-1], fc_dim), nn.ReLU(), nn.Linear(fc_dim, out_dim))

    def forward(self, x: torch.Tensor, frames: torch.Tensor | None = None) -> torch.Tensor:
        """``x``: float32 ``[B, 64, T]`` features; ``frames``: int64 ``[B]`` (None: all valid). -> ``[B, out_dim]``."""
        masked = frames is not None  # None: every position valid (training crops), no masking needed
        lengths = frames
        x = x.transpose(1, 2)[:, None]  # [B, 1, T, 64]
        for i, (conv, (stride, pool)) in enumerate(zip(self.convs, self.PLAN)):
            x = conv(x)
            if masked:
                lengths = strided_lengths(lengths, stride)
                x = x * time_mask(lengths, x.shape[2])[:, None, :, None]
            if self.attention is not None:
                x = self.attention[i](x, lengths)
            if pool:
                x = F.max_pool2d(x, (2, 1))
                if masked:
                    lengths = torch.div(lengths, 2, rounding_mode="floor").clamp_min(1)
                    x = x * time_mask(lengths, x.shape[2])[:, None, :, None]
        return self.fc(masked_time_mean(x, lengths) if masked else x.mean(dim=(2, 3)))


def doublings(size: int) -> int:
    """How many times a side of ``size`` pixels halves exactly while staying >= 4 (64 -> 4, 224 -> 5: 7x7).

    Raises:
        ValueError: ``size`` is below 8 or odd.
    """
    k = 0
    while size % 2 ** (k + 1) == 0 and size // 2 ** (k + 1) >= 4:
        k += 1
    if k < 1:
        raise ValueError(f"image size must be even and at least 8 pixels, got {size}.")
    return k


class FaceDecoder(nn.Module):
    """Face decoder from a face feature (Speech2Face's decoder role; AR-SPM reuses it): FC ``in_dim -> fc_dim``
    (ReLU; "the decoder's first FC output" of both papers' losses), FC to ``channels[0] x s0 x s0`` (ReLU;
    ``s0 = size / 2^doublings(size)``: 4 for 64 px, 7 for 224 px), then 4x4 stride-2 deconvs (BatchNorm +
    ReLU) doubling to ``size``, then a 3x3 conv to RGB with tanh.

    Speech2Face's decoder (Cole et al. 2017) predicts landmarks and a texture and warps one into the other;
    with no landmark annotations here, the obvious choice is this direct image decoder (documented deviation).

    Args:
        in_dim: face feature size.
        size: output side in pixels (64 default, 224 as in the papers; see ``doublings``).
        channels: deconv widths, one per doubling (default: 512 halving, at least 32).
        fc_dim: first FC width (Speech2Face: 1000).
    """

    def __init__(self, in_dim: int = 128, size: int = 64, channels: Sequence[int] | None = None, fc_dim: int = 1000):
        super().__init__()
        n_up = doublings(size)
        self.s0 = size // 2 ** n_up
        channels = list(channels) if channels else [max(32, 512 // 2 ** i) for i in range(n_up)]
        if len(channels) != n_up:
            raise ValueError(f"FaceDecoder of size {size} needs {n_up} deconv widths, got {len(channels)}.")
        self.fc1 = nn.Linear(in_dim, fc_dim)
        self.fc2 = nn.Linear(fc_dim, channels[0] * self.s0 ** 2)
        self.c0 = channels[0]
        layers: list[nn.Module] = []
        for a, b in zip(channels, channels[1:] + [channels[-1]]):
            layers += [nn.ConvTranspose2d(a, b, 4, 2, 1, bias=False), nn.BatchNorm2d(b), nn.ReLU()]
        layers += [nn.Conv2d(channels[-1], 3, 3, 1, 1), nn.Tanh()]
        self.deconv = nn.Sequential(*layers)

    def first(self, f: torch.Tensor) -> torch.Tensor:
        """The first FC layer's output (after ReLU), ``[B, fc_dim]``."""
        return F.relu(self.fc1(f))

    def forward(self, f: torch.Tensor) -> torch.Tensor:
        """``f``: ``[B, in_dim]`` -> images ``[B, 3, size, size]`` in [-1, 1]."""
        h = F.relu(self.fc2(self.first(f)))
        return self.deconv(h.view(-1, self.c0, self.s0, self.s0))


class FaceEncoder(nn.Module):
    """A small face encoder (AR-SPM's face model here): 3x3 convs with BatchNorm + LeakyReLU, stride 2
    ``doublings(size)`` times, global average pool, FC to ``out_dim``, L2-normalised (trained as the encoder half
    of an autoencoder with ``FaceDecoder``; see ``baselines.ar_spm``)."""

    def __init__(self, size: int = 64, width: int = 32, out_dim: int = 128, max_width: int = 256):
        super().__init__()
        n_down = doublings(size)
        layers: list[nn.Module] = []
        a = 3
        for i in range(n_down):
            b = min(max_width, width * 2 ** i)
            layers += [nn.Conv2d(a, b, 3, 2, 1, bias=False), nn.BatchNorm2d(b), nn.LeakyReLU(0.2)]
            a = b
        self.trunk = nn.Sequential(*layers)
        self.fc = nn.Linear(a, out_dim)

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        """``images``: ``[B, 3, S, S]`` in [-1, 1] -> unit-norm features ``[B, out_dim]``."""
        return F.normalize(self.fc(self.trunk(images).mean(dim=(2, 3))), dim=1)


# ----------------------------------------------------------------------------------------------------------
# MS-SSIM (Wang, Simoncelli, Bovik 2003) for the 0.84 MS-SSIM + 0.16 L1 mix of Zhao et al. (IEEE TCI 2017)

MS_SSIM_WEIGHTS = (0.0448, 0.2856, 0.3001, 0.2363, 0.1333)


def _gaussian_window(size: int = 11, sigma: float = 1.5, device=None) -> torch.Tensor:
    coords = torch.arange(size, dtype=torch.float32, device=device) - (size - 1) / 2
    g = torch.exp(-coords.square() / (2 * sigma ** 2))
    return g / g.sum()


def _ssim(x: torch.Tensor, y: torch.Tensor, window: torch.Tensor, data_range: float) -> tuple[torch.Tensor, torch.Tensor]:
    c = x.shape[1]
    w_h = window.view(1, 1, 1, -1).repeat(c, 1, 1, 1)
    w_v = window.view(1, 1, -1, 1).repeat(c, 1, 1, 1)

    def blur(t):
        return F.conv2d(F.conv2d(t, w_h, groups=c), w_v, groups=c)

    c1, c2 = (0.01 * data_range) ** 2, (0.03 * data_range) ** 2
    mu_x, mu_y = blur(x), blur(y)
    sxx = blur(x * x) - mu_x.square()
    syy = blur(y * y) - mu_y.square()
    sxy = blur(x * y) - mu_x * mu_y
    cs = (2 * sxy + c2) / (sxx + syy + c2)
    ssim = (2 * mu_x * mu_y + c1) / (mu_x.square() + mu_y.square() + c1) * cs
    return ssim.mean(dim=(1, 2, 3)), cs.mean(dim=(1, 2, 3))


def ms_ssim(x: torch.Tensor, y: torch.Tensor, data_range: float = 2.0, window_size: int = 11) -> torch.Tensor:
    """Multi-scale SSIM per image, Gaussian window 11, sigma 1.5, K = (0.01, 0.03).

    The number of scales is the largest (at most 5) whose smallest side still holds the window; the standard
    weights (0.0448, 0.2856, 0.3001, 0.2363, 0.1333) are cut to that many and renormalised (64 px: 3 scales).
    Negative contrast terms are clamped at 0 before the power (as pytorch-msssim does).

    Args:
        x, y: float ``[B, C, H, W]`` images in a range of width ``data_range`` (2 for [-1, 1]).

    Returns:
        float ``[B]`` in [0, 1] (1 for identical images).
    """
    levels = 1
    while levels < len(MS_SSIM_WEIGHTS) and min(x.shape[2:]) // 2 ** levels >= window_size:
        levels += 1
    weights = torch.tensor(MS_SSIM_WEIGHTS[:levels], device=x.device)
    weights = weights / weights.sum()
    window = _gaussian_window(window_size, 1.5, x.device)
    values = []
    for level in range(levels):
        ssim, cs = _ssim(x, y, window, data_range)
        if level < levels - 1:
            values.append(cs.clamp_min(0))
            x, y = F.avg_pool2d(x, 2), F.avg_pool2d(y, 2)
        else:
            values.append(ssim.clamp_min(0))
    stack = torch.stack(values, dim=1)  # [B, levels]
    return torch.prod(stack ** weights[None, :], dim=1)
