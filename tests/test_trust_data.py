"""Issue 21, silently wrong results: odd image files, a NaN score in a result, cache rows changed on disk."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from benchmark.data.images import MAX_FACE_PIXELS, load_image
from benchmark.errors import BenchError, DataError

STORED = next(p for p in (Path(__file__).resolve().parent.parent / "leaderboards" / "results" / "toy" / "test" / "oracle" / "stratified-seed0.json",
                          Path(__file__).resolve().parent.parent / "leaderboards" / "results" / "toy" / "oracle" / "stratified-seed0.json") if p.is_file())
PUBLISHED = Path(__file__).resolve().parent.parent / "leaderboards" / "published.json"


def face(h: int = 48, w: int = 40) -> np.ndarray:
    """A uint8 [h, w, 3] image with no symmetry (every pixel distinct enough to tell a rotation)."""
    rng = np.random.default_rng(0)
    return rng.integers(0, 256, size=(h, w, 3), dtype=np.uint8)


# --- images ----------------------------------------------------------------------------------------------------


def test_16bit_png_is_scaled_not_clipped(tmp_path):
    wide = (np.arange(64 * 64, dtype=np.uint32).reshape(64, 64) * 16).astype(np.uint16)  # 0 … 65520
    Image.fromarray(wide).save(tmp_path / "f.png")  # mode I;16 (16-bit greyscale PNG)
    with Image.open(tmp_path / "f.png") as img:
        assert img.mode in ("I;16", "I")
    out = load_image(tmp_path / "f.png")
    expected = np.rint(wide / 257.0).astype(np.uint8)  # full 16-bit range onto the full 8-bit range
    assert out.dtype == np.uint8 and out.shape == (64, 64, 3)
    assert np.array_equal(out[:, :, 0], expected) and np.array_equal(out[:, :, 1], expected)
    assert out.max() == 255 and out.min() == 0 and len(np.unique(out)) > 200  # not clipped to white


@pytest.mark.parametrize("orientation,upright", [(3, lambda a: a[::-1, ::-1]), (6, lambda a: np.rot90(a, k=-1)),
                                                  (8, lambda a: np.rot90(a, k=1))])
def test_exif_orientation_is_applied(tmp_path, orientation, upright):
    """EXIF 274 (Orientation), CIPA DC-008: 3 = stored upside down, 6 = shown rotated 90° clockwise, 8 = 90° anti."""
    stored = face()
    img = Image.fromarray(stored)
    exif = img.getexif()
    exif[0x0112] = orientation
    img.save(tmp_path / "f.png", exif=exif.tobytes())
    assert np.array_equal(load_image(tmp_path / "f.png"), upright(stored))


def test_a_multi_frame_image_is_refused(tmp_path):
    frames = [Image.fromarray(face()), Image.fromarray(255 - face())]
    frames[0].save(tmp_path / "anim.png", save_all=True, append_images=frames[1:])  # an animated PNG
    with pytest.raises(DataError, match=r"anim\.png.*2 frames"):
        load_image(tmp_path / "anim.png")


def test_pixel_limit_is_checked_from_the_header_before_decoding(tmp_path, monkeypatch):
    from PIL import ImageFile

    big = tmp_path / "big.png"
    Image.new("1", (5000, 4000)).save(big)  # 20 M pixels > MAX_FACE_PIXELS, a few kB on disk
    assert 5000 * 4000 > MAX_FACE_PIXELS

    def no_decoding(self):
        raise AssertionError("the image was decoded before its size was checked")

    monkeypatch.setattr(ImageFile.ImageFile, "load", no_decoding)
    with pytest.raises(DataError, match=r"big\.png is 5000×4000 px.*MAX_FACE_PIXELS"):
        load_image(big)


def test_an_ordinary_rgb_png_decodes_to_its_bytes(tmp_path):
    stored = face()
    Image.fromarray(stored).save(tmp_path / "f.png")
    assert np.array_equal(load_image(tmp_path / "f.png"), stored)


# --- a NaN score in a result -------------------------------------------------------------------------------------


@pytest.mark.parametrize("value", [float("nan"), float("inf"), "0.9"])
def test_leaderboard_refuses_a_non_finite_or_string_score(tmp_path, value):
    from benchmark.reports.leaderboard import leaderboard

    data = json.loads(STORED.read_text())
    metric = next(iter(data["scores"]))
    data["scores"][metric]["value"] = value
    path = tmp_path / "results" / "x" / "stratified-seed0.json"
    path.parent.mkdir(parents=True)
    path.write_text(json.dumps(data))  # json writes NaN / Infinity, and reads them back
    with pytest.raises(BenchError, match=rf"x/stratified-seed0\.json.*scores\.{metric}\.value"):
        leaderboard(tmp_path / "results", tmp_path / "out", published=PUBLISHED, write=False)


# --- cache rows changed on disk ----------------------------------------------------------------------------------


def test_a_cache_row_overwritten_in_place_is_recomputed_and_said(tmp_path, caplog, monkeypatch):
    import logging

    from benchmark.judges.base import embed_cached
    from benchmark.judges.cache import EmbeddingCache

    path = tmp_path / "emb.sqlite"
    images = [face(), 255 - face()]
    truth = np.array([[1, 0, 0, 0], [0, 1, 0, 0]], dtype=np.float32)
    calls = []

    def compute(batch):
        calls.append(len(batch))
        idx = [0 if np.array_equal(b, images[0]) else 1 for b in batch]
        yield truth[idx], np.ones(len(batch), dtype=bool)

    cache = EmbeddingCache(path)
    first = embed_cached(images, "|j", cache, 4, compute)
    cache.close()
    assert np.array_equal(first.vectors, truth) and calls == [2]
    db = sqlite3.connect(path)  # rot: one vector's bytes replaced in place (SQLite's integrity check still passes)
    db.execute("UPDATE emb SET vec = ? WHERE rowid = 1", (np.array([0, 0, 0, 1], dtype=np.float32).tobytes(),))
    db.commit()
    assert db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    db.close()

    cache = EmbeddingCache(path)
    # an earlier `bench` command in this session may have stopped the logger propagating (benchmark.log)
    monkeypatch.setattr(logging.getLogger("voice2face_bench"), "propagate", True)
    with caplog.at_level("INFO", logger="voice2face_bench"):
        again = embed_cached(images, "|j", cache, 4, compute)
    assert np.array_equal(again.vectors, truth)  # the rotten entry was computed again, not returned
    assert calls == [2, 1] and cache.rejected == 1
    assert "failed the checksum" in caplog.text and str(path) in caplog.text
    cache.close()
    db = sqlite3.connect(path)
    keys = sorted(k for (k,) in db.execute("SELECT key FROM emb"))
    db.close()
    cache = EmbeddingCache(path)  # and the row was replaced: both read back, nothing rejected
    assert len(cache.get_many(keys)) == 2 and cache.rejected == 0
    cache.close()
