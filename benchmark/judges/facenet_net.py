"""FaceNet's Inception-ResNet-v1 as a torch module whose state dict has facenet-pytorch's key layout.

The network is the one of Schroff et al. (FaceNet, CVPR 2015) in the Inception-ResNet-v1 form of Szegedy et al.
(AAAI 2017), as David Sandberg's ``facenet`` trained it on VGGFace2 (model 20180402-114759) and as
facenet-pytorch (timesler/facenet-pytorch, ``models/inception_resnet_v1.py``, release 2.6.0) ports it to torch.
This module is written for this suite from a reading of that file (facenet-pytorch itself cannot be installed
next to torch 2.13: its 2.6.0 release pins torch < 2.3). What it keeps, so that facenet-pytorch's published state
dict (``20180402-114759-vggface2.pt``) loads with ``strict=True``:

- module and parameter names: ``conv2d_1a`` … ``conv2d_4b`` (each ``conv`` without bias + ``bn`` BatchNorm with
  eps 1e-3), ``repeat_1`` (5 × Block35, scale 0.17), ``mixed_6a``, ``repeat_2`` (10 × Block17, scale 0.10),
  ``mixed_7a``, ``repeat_3`` (5 × Block8, scale 0.20), ``block8`` (Block8, scale 1, no ReLU), ``last_linear``
  (1792 → 512, no bias), ``last_bn`` (BatchNorm1d, eps 1e-3) and ``logits`` (512 → 8631 VGGFace2 identities; in
  the published file, unused for embeddings);
- the forward pass: stem, the three residual stages (``out = conv2d(cat(branches)) * scale + x``, then ReLU),
  global average pooling, dropout (identity in eval mode), ``last_linear``, ``last_bn``, L2 normalisation.

The key names and shapes of the published state dict are committed as test data
(``tests/data/facenet_vggface2_keys.json``, listed from facenet-pytorch 2.6.0's module) and checked by
``tests/test_facenet.py``.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

EMBED_DIM = 512
"""Length of a FaceNet embedding (``last_linear``'s output)."""

VGGFACE2_CLASSES = 8631
"""Identities of VGGFace2's training set: the ``logits`` layer of the published VGGFace2 state dict."""

BN_EPS = 1e-3
"""BatchNorm epsilon of every normalisation layer (TensorFlow's value in Sandberg's model; facenet-pytorch)."""


class BasicConv2d(nn.Module):
    """Convolution without bias, BatchNorm (eps 1e-3), ReLU. Parameters ``conv.weight`` and ``bn.*``."""

    def __init__(self, c_in: int, c_out: int, kernel_size, stride: int, padding=0):
        super().__init__()
        self.conv = nn.Conv2d(c_in, c_out, kernel_size=kernel_size, stride=stride, padding=padding, bias=False)
        self.bn = nn.BatchNorm2d(c_out, eps=BN_EPS, momentum=0.1, affine=True)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.relu(self.bn(self.conv(x)))


class _Residual(nn.Module):
    """What Block35, Block17 and Block8 share: branches concatenated, a 1×1 ``conv2d`` (with bias) back to the
    input width, scaled and added to the input, then a ReLU (unless ``relu`` is False)."""

    scale: float
    relu: bool

    def _branches(self, x: torch.Tensor) -> list[torch.Tensor]:
        raise NotImplementedError

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.conv2d(torch.cat(self._branches(x), 1)) * self.scale + x
        return F.relu(out) if self.relu else out


class Block35(_Residual):
    """Inception-ResNet-A on 256 channels (35×35 grid in the paper's 299 input)."""

    def __init__(self, scale: float = 1.0):
        super().__init__()
        self.scale, self.relu = scale, True
        self.branch0 = BasicConv2d(256, 32, 1, 1)
        self.branch1 = nn.Sequential(BasicConv2d(256, 32, 1, 1), BasicConv2d(32, 32, 3, 1, padding=1))
        self.branch2 = nn.Sequential(BasicConv2d(256, 32, 1, 1), BasicConv2d(32, 32, 3, 1, padding=1),
                                     BasicConv2d(32, 32, 3, 1, padding=1))
        self.conv2d = nn.Conv2d(96, 256, kernel_size=1, stride=1)

    def _branches(self, x: torch.Tensor) -> list[torch.Tensor]:
        return [self.branch0(x), self.branch1(x), self.branch2(x)]


class Block17(_Residual):
    """Inception-ResNet-B on 896 channels (factorised 1×7 / 7×1 convolutions)."""

    def __init__(self, scale: float = 1.0):
        super().__init__()
        self.scale, self.relu = scale, True
        self.branch0 = BasicConv2d(896, 128, 1, 1)
        self.branch1 = nn.Sequential(BasicConv2d(896, 128, 1, 1), BasicConv2d(128, 128, (1, 7), 1, padding=(0, 3)),
                                     BasicConv2d(128, 128, (7, 1), 1, padding=(3, 0)))
        self.conv2d = nn.Conv2d(256, 896, kernel_size=1, stride=1)

    def _branches(self, x: torch.Tensor) -> list[torch.Tensor]:
        return [self.branch0(x), self.branch1(x)]


class Block8(_Residual):
    """Inception-ResNet-C on 1792 channels (factorised 1×3 / 3×1 convolutions); ``noReLU`` drops the final ReLU
    (the last block of the network)."""

    def __init__(self, scale: float = 1.0, noReLU: bool = False):  # noqa: N803 - facenet-pytorch's argument name
        super().__init__()
        self.scale, self.relu = scale, not noReLU
        self.branch0 = BasicConv2d(1792, 192, 1, 1)
        self.branch1 = nn.Sequential(BasicConv2d(1792, 192, 1, 1), BasicConv2d(192, 192, (1, 3), 1, padding=(0, 1)),
                                     BasicConv2d(192, 192, (3, 1), 1, padding=(1, 0)))
        self.conv2d = nn.Conv2d(384, 1792, kernel_size=1, stride=1)

    def _branches(self, x: torch.Tensor) -> list[torch.Tensor]:
        return [self.branch0(x), self.branch1(x)]


class Mixed_6a(nn.Module):  # noqa: N801 - facenet-pytorch's module name
    """Reduction-A: 256 → 896 channels, stride 2 (two conv branches and a max pool, concatenated)."""

    def __init__(self):
        super().__init__()
        self.branch0 = BasicConv2d(256, 384, 3, 2)
        self.branch1 = nn.Sequential(BasicConv2d(256, 192, 1, 1), BasicConv2d(192, 192, 3, 1, padding=1),
                                     BasicConv2d(192, 256, 3, 2))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.cat((self.branch0(x), self.branch1(x), F.max_pool2d(x, 3, 2)), 1)


class Mixed_7a(nn.Module):  # noqa: N801 - facenet-pytorch's module name
    """Reduction-B: 896 → 1792 channels, stride 2 (three conv branches and a max pool, concatenated)."""

    def __init__(self):
        super().__init__()
        self.branch0 = nn.Sequential(BasicConv2d(896, 256, 1, 1), BasicConv2d(256, 384, 3, 2))
        self.branch1 = nn.Sequential(BasicConv2d(896, 256, 1, 1), BasicConv2d(256, 256, 3, 2))
        self.branch2 = nn.Sequential(BasicConv2d(896, 256, 1, 1), BasicConv2d(256, 256, 3, 1, padding=1),
                                     BasicConv2d(256, 256, 3, 2))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.cat((self.branch0(x), self.branch1(x), self.branch2(x), F.max_pool2d(x, 3, 2)), 1)


class InceptionResnetV1(nn.Module):
    """FaceNet's Inception-ResNet-v1 embedder (module docstring), for inference.

    Args:
        num_classes: rows of the ``logits`` layer the state dict to load carries (8631 for the VGGFace2 file); it
            takes no part in ``forward``.

    A bare module has untrained weights: load the published state dict with
    ``benchmark.judges.facenet_weights.load_facenet``.
    """

    def __init__(self, num_classes: int = VGGFACE2_CLASSES):
        super().__init__()
        self.conv2d_1a = BasicConv2d(3, 32, 3, 2)
        self.conv2d_2a = BasicConv2d(32, 32, 3, 1)
        self.conv2d_2b = BasicConv2d(32, 64, 3, 1, padding=1)
        self.conv2d_3b = BasicConv2d(64, 80, 1, 1)
        self.conv2d_4a = BasicConv2d(80, 192, 3, 1)
        self.conv2d_4b = BasicConv2d(192, 256, 3, 2)
        self.repeat_1 = nn.Sequential(*[Block35(scale=0.17) for _ in range(5)])
        self.mixed_6a = Mixed_6a()
        self.repeat_2 = nn.Sequential(*[Block17(scale=0.10) for _ in range(10)])
        self.mixed_7a = Mixed_7a()
        self.repeat_3 = nn.Sequential(*[Block8(scale=0.20) for _ in range(5)])
        self.block8 = Block8(noReLU=True)
        self.last_linear = nn.Linear(1792, EMBED_DIM, bias=False)
        self.last_bn = nn.BatchNorm1d(EMBED_DIM, eps=BN_EPS, momentum=0.1, affine=True)
        self.logits = nn.Linear(EMBED_DIM, num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Embeddings of standardised face images.

        Args:
            x: float32 ``[B, 3, H, W]`` RGB, standardised as ``(pixel - 127.5) / 128`` (facenet-pytorch's
                ``fixed_image_standardization``); H, W ≥ 75 (the network was trained at 160; SF2F feeds 140).

        Returns:
            float32 ``[B, 512]``, unit L2 norm (``F.normalize(last_bn(...))``, facenet-pytorch's ``classify=False``
            output). In eval mode (BatchNorm running statistics, no dropout) rows do not depend on each other.
        """
        x = self.conv2d_2b(self.conv2d_2a(self.conv2d_1a(x)))
        x = F.max_pool2d(x, 3, 2)  # maxpool_3a
        x = self.conv2d_4b(self.conv2d_4a(self.conv2d_3b(x)))
        x = self.repeat_3(self.mixed_7a(self.repeat_2(self.mixed_6a(self.repeat_1(x)))))
        x = self.block8(x)
        x = x.mean(dim=(2, 3))  # avgpool_1a: AdaptiveAvgPool2d(1); dropout: identity in eval mode
        x = F.dropout(x, p=0.6, training=self.training)
        x = self.last_bn(self.last_linear(x))
        return F.normalize(x, p=2, dim=1)
