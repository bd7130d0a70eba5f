"""Generator protocol checks and the model registry."""

import pytest
import torch

from benchmark.errors import BenchError, GeneratorOutputError
from benchmark.generators.base import check_faces, utterance_seed
from benchmark.generators.registry import resolve_model
from protocols import get_protocol


def test_check_faces_accepts_uint8_bchw():
    out = check_faces(torch.zeros(2, 3, 64, 64, dtype=torch.uint8), 2, "g")
    assert out.shape == (2, 3, 64, 64)


@pytest.mark.parametrize("faces, match", [
    (torch.zeros(2, 3, 64, 64), "dtype"),
    (torch.zeros(2, 64, 64, 3, dtype=torch.uint8), "shape"),
    (torch.zeros(3, 3, 64, 64, dtype=torch.uint8), "3 faces for 2 voices"),
    (torch.zeros(2, 3, 16, 16, dtype=torch.uint8), "at least 32"),
    ([1, 2], "torch.Tensor"),
])
def test_check_faces_rejects_with_generator_name(faces, match):
    with pytest.raises(GeneratorOutputError, match=match) as err:
        check_faces(faces, 2, "my-gen")
    assert "my-gen" in str(err.value)


def test_utterance_seed_is_stable_and_distinct():
    assert utterance_seed(0, "id1/v/00001") == utterance_seed(0, "id1/v/00001")
    assert utterance_seed(0, "id1/v/00001") != utterance_seed(1, "id1/v/00001")
    assert utterance_seed(0, "id1/v/00001") != utterance_seed(0, "id1/v/00002")
    # a fixed value (sha256 of b"0:id10001/1zcIwhmdeo4/00001", first 8 bytes little-endian, 63 bits):
    # the derivation must not change between versions or machines
    assert utterance_seed(0, "id10001/1zcIwhmdeo4/00001") == 5971910342875832523


def test_registry_did_you_mean():
    with pytest.raises(BenchError, match="Did you mean 'oracle'"):
        resolve_model("oracel")
    with pytest.raises(BenchError, match="Did you mean 'stratified'"):
        get_protocol("stratifed")


def test_model_from_file(tmp_path):
    src = tmp_path / "mine.py"
    src.write_text("class Factory:\n    pass\n")
    assert resolve_model(f"{src}:Factory").__name__ == "Factory"
    with pytest.raises(BenchError, match="no attribute"):
        resolve_model(f"{src}:Nope")
