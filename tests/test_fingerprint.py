"""Issue 8 §6: the dataset fingerprint changes when a file's bytes change (the manifest hash covers ids only), is
cached by (path, size, mtime) and is written nowhere with ``use_cache=False``."""

from __future__ import annotations

import os

import pytest

from benchmark.errors import DataError
from benchmark.data.fingerprint import files_fingerprint


def test_bytes_change_the_fingerprint_names_and_mtimes_do_not(tmp_path, monkeypatch):
    monkeypatch.setenv("VOICE2FACE_CACHE_DIR", str(tmp_path / "cache"))
    root = tmp_path / "data"
    root.mkdir()
    a, b = root / "a.wav", root / "b.jpg"
    a.write_bytes(b"RIFF-one")
    b.write_bytes(b"JPEG-two")
    first = files_fingerprint(root, [a, b, a])
    assert first["files"] == 2 and first["bytes"] == 16
    os.utime(a, ns=(1, 1))  # touched, same bytes: hashed again (new mtime), same fingerprint
    assert files_fingerprint(root, [b, a]) == first
    a.write_bytes(b"RIFF-ONE")  # same size, new bytes
    assert files_fingerprint(root, [a, b])["sha256"] != first["sha256"]


def test_no_cache_writes_nothing(tmp_path, monkeypatch):
    monkeypatch.setenv("VOICE2FACE_CACHE_DIR", str(tmp_path / "cache"))
    (tmp_path / "x").write_bytes(b"x")
    files_fingerprint(tmp_path, [tmp_path / "x"], use_cache=False)
    assert not (tmp_path / "cache" / "file_digests.sqlite").exists()
    files_fingerprint(tmp_path, [tmp_path / "x"])
    assert (tmp_path / "cache" / "file_digests.sqlite").exists()


def test_a_missing_file_is_named(tmp_path):
    with pytest.raises(DataError, match="gone.wav"):
        files_fingerprint(tmp_path, [tmp_path / "gone.wav"], use_cache=False)
