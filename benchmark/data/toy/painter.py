"""Drawing primitives of the toy faces: colour helpers, polygon smoothing, ellipses and ``_Painter``."""

from __future__ import annotations

import math

import numpy as np


def _interp_colour(stops, t: float) -> tuple[float, ...]:
    t = float(np.clip(t, 0.0, 1.0))
    for (t0, c0), (t1, c1) in zip(stops[:-1], stops[1:]):
        if t <= t1:
            w = (t - t0) / (t1 - t0)
            return tuple(a + (b - a) * w for a, b in zip(c0, c1))
    return tuple(float(c) for c in stops[-1][1])


def _mix(c0, c1, w: float) -> tuple[float, ...]:
    return tuple(a + (b - a) * w for a, b in zip(c0, c1))


def _scale(c, k: float) -> tuple[float, ...]:
    return tuple(a * k for a in c)


def _rgb(c) -> tuple[int, int, int]:
    return tuple(int(np.clip(round(v), 0, 255)) for v in c)


def _chaikin(pts, n: int = 3) -> np.ndarray:
    """Corner-cutting smoothing of a closed polygon ``[N, 2]`` → ``[N * 2**n, 2]``."""
    pts = np.asarray(pts, dtype=float)
    for _ in range(n):
        nxt = np.roll(pts, -1, axis=0)
        new = np.empty((2 * len(pts), 2))
        new[0::2] = 0.75 * pts + 0.25 * nxt
        new[1::2] = 0.25 * pts + 0.75 * nxt
        pts = new
    return pts


def _ellipse(cx, cy, rx, ry, n=40, t0=0.0, t1=2 * math.pi) -> np.ndarray:
    full = abs(t1 - t0) >= 2 * math.pi - 1e-9
    t = np.linspace(t0, t1, n, endpoint=not full)
    return np.stack([cx + rx * np.cos(t), cy + ry * np.sin(t)], axis=1)


class _Painter:
    """Draws polygons and soft (blurred, translucent) shapes in image units on a supersampled canvas."""

    def __init__(self, img, size_px: int, transform):
        self.img = img
        self.S = size_px
        self.T = transform

    def pts(self, pts) -> list[tuple[float, float]]:
        xy = self.T(np.asarray(pts, dtype=float).reshape(-1, 2)) * self.S
        return [(float(a), float(b)) for a, b in xy]

    def width(self, w: float) -> int:
        return max(1, int(round(w * self.S)))

    def poly(self, pts, colour) -> None:
        from PIL import ImageDraw

        ImageDraw.Draw(self.img).polygon(self.pts(pts), fill=_rgb(colour))

    def soft(self, shapes, colour, alpha: float, blur: float) -> None:
        """Composite ``colour`` through a mask of ``shapes`` blurred by ``blur`` (image units) at ``alpha``.

        ``shapes``: list of ``("poly", pts, value)`` or ``("line", pts, width, value)``; value 0..255
        (0 erases, so a later shape can cut a hole).
        """
        from PIL import Image, ImageDraw, ImageFilter

        conv = [(s[0], self.T(np.asarray(s[1], dtype=float).reshape(-1, 2)) * self.S, *s[2:]) for s in shapes]
        allp = np.vstack([s[1] for s in conv])
        pad = 3 * blur * self.S + 4 + max([self.width(s[2]) for s in conv if s[0] == "line"] or [0])
        x0, y0 = np.floor(allp.min(0) - pad).astype(int)
        x1, y1 = np.ceil(allp.max(0) + pad).astype(int)
        x0, y0, x1, y1 = max(0, x0), max(0, y0), min(self.S, x1), min(self.S, y1)
        if x1 <= x0 or y1 <= y0:
            return
        mask = Image.new("L", (x1 - x0, y1 - y0), 0)
        d = ImageDraw.Draw(mask)
        for s in conv:
            q = [(float(a), float(b)) for a, b in s[1] - [x0, y0]]
            if s[0] == "poly":
                d.polygon(q, fill=s[2])
            else:
                d.line(q, fill=s[3], width=self.width(s[2]), joint="curve")
        if blur > 0:
            mask = mask.filter(ImageFilter.GaussianBlur(blur * self.S))
        if alpha < 1:
            mask = mask.point([int(v * alpha + 0.5) for v in range(256)])
        region = self.img.crop((x0, y0, x1, y1))
        region = Image.composite(Image.new("RGB", region.size, _rgb(colour)), region, mask)
        self.img.paste(region, (x0, y0))
