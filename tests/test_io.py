"""Audio front end and image I/O: conversions, and errors that name the file."""

import numpy as np
import pytest
import soundfile as sf
from PIL import Image

from benchmark.data.audio import SAMPLE_RATE, load_audio
from benchmark.errors import DataError
from benchmark.data.images import is_blank, load_image, square_resize


def test_stereo_44k_becomes_16k_mono(tmp_path):
    t = np.arange(44100) / 44100
    left, right = 0.5 * np.sin(2 * np.pi * 440 * t), 0.1 * np.sin(2 * np.pi * 440 * t)
    path = tmp_path / "a.flac"
    sf.write(path, np.stack([left, right], 1), 44100)
    wav = load_audio(path)
    assert wav.dtype == np.float32 and wav.ndim == 1
    assert abs(len(wav) - SAMPLE_RATE) <= 1
    assert 0.25 < np.abs(wav).max() <= 0.31  # mean of the two channels: 0.3 peak


@pytest.mark.parametrize("kind", ["corrupt", "empty", "silent", "missing"])
def test_bad_audio_names_the_file(tmp_path, kind):
    path = tmp_path / f"{kind}.wav"
    if kind == "corrupt":
        path.write_bytes(b"RIFF\x00\x00garbage" * 10)
    elif kind == "empty":
        sf.write(path, np.zeros(0), SAMPLE_RATE)
    elif kind == "silent":
        sf.write(path, np.zeros(16000), SAMPLE_RATE)
    with pytest.raises(DataError, match=str(path.name)):
        load_audio(path)


def test_image_modes_are_converted(tmp_path):
    grey = tmp_path / "g.png"
    Image.fromarray(np.full((20, 30), 77, np.uint8)).save(grey)
    assert load_image(grey).shape == (20, 30, 3) and load_image(grey)[0, 0].tolist() == [77, 77, 77]
    rgba = np.zeros((10, 10, 4), np.uint8)
    rgba[..., 0] = 200
    rgba[:5, :, 3] = 255  # top half opaque red, bottom half transparent -> white
    path = tmp_path / "a.png"
    Image.fromarray(rgba, "RGBA").save(path)
    img = load_image(path)
    assert img[0, 0].tolist() == [200, 0, 0] and img[9, 9].tolist() == [255, 255, 255]


def test_corrupt_image_names_the_file(tmp_path):
    path = tmp_path / "broken.jpg"
    path.write_bytes(b"\xff\xd8\xff\xe0 not really a jpeg")
    with pytest.raises(DataError, match="broken.jpg"):
        load_image(path)


def test_blank_detection_and_square_resize():
    assert is_blank(np.full((8, 8, 3), 255, np.uint8))
    rng = np.random.default_rng(0)
    noisy = rng.integers(0, 255, (8, 8, 3), dtype=np.uint8)
    assert not is_blank(noisy)
    out = square_resize(rng.integers(0, 255, (40, 60, 3), dtype=np.uint8), 32)
    assert out.shape == (32, 32, 3) and out.dtype == np.uint8
