"""The ``facenet`` judge (issue 22): facenet-pytorch's network layout and outputs, the weights' loading and refusals,
SF2F's preprocessing, and ``retrieval-sf2f`` / ``feature-sf2f`` under ``--judge facenet`` against a port of SF2F's
evaluator (BAI-Yeqi/SF2F_PyTorch ``utils/s2f_evaluator.py``) on the same embeddings.

No real FaceNet weights exist here (no package ships them and there is no internet): the network's known answer is
facenet-pytorch 2.6.0's own module on a seeded state dict (``tests/data/facenet_reference.npz``, made by
``tests/data/make_facenet_fixture.py``), and the judge runs on that seeded state dict saved to a file, passed the
way a user passes the real one (``$VOICE2FACE_FACENET_WEIGHTS``).
"""

from __future__ import annotations

import numpy as np
import pytest
import torch

from benchmark.errors import BenchError
from conftest import MINI_SPLIT
from facenet_fixture import REFERENCE_FILE, published_layout, seeded_inputs, seeded_state_dict


@pytest.fixture(scope="module")
def seeded_weights(tmp_path_factory):
    """A seeded state dict in facenet-pytorch's layout, saved as a user's weights file: ``(path, sha256)``."""
    from benchmark.data.fingerprint import file_sha256

    path = tmp_path_factory.mktemp("facenet") / "seeded-vggface2.pt"
    torch.save(seeded_state_dict(), path)
    return path, file_sha256(path)


@pytest.fixture
def no_weights(tmp_path, monkeypatch):
    """No weights anywhere the judge looks: no env file, empty TORCH_HOME and suite cache."""
    monkeypatch.delenv("VOICE2FACE_FACENET_WEIGHTS", raising=False)
    monkeypatch.delenv("VOICE2FACE_FACENET_SHA256", raising=False)
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch"))
    monkeypatch.setenv("VOICE2FACE_CACHE_DIR", str(tmp_path / "cache"))


def test_network_has_facenet_pytorchs_state_dict_layout():
    from benchmark.judges.facenet_net import InceptionResnetV1

    ours = [(k, list(v.shape), str(v.dtype)) for k, v in InceptionResnetV1().state_dict().items()]
    published = published_layout()
    assert len(published) == 716
    assert ours == published  # names, shapes, dtypes and order
    assert ("logits.weight", [8631, 512], "torch.float32") in published


def test_network_equals_facenet_pytorchs_module_on_a_seeded_state_dict():
    from benchmark.judges.facenet_net import InceptionResnetV1

    model = InceptionResnetV1().eval()
    model.load_state_dict(seeded_state_dict(), strict=True)
    with torch.no_grad():
        ours = model(seeded_inputs()).numpy()  # [3, 512]
    reference = np.load(REFERENCE_FILE)["embeddings"]
    assert ours.shape == reference.shape == (3, 512)
    np.testing.assert_allclose(np.linalg.norm(ours, axis=1), 1.0, atol=1e-6)
    np.testing.assert_allclose(ours, reference, atol=2e-6)
    # the reference is no degenerate constant: the three images give three different embeddings
    assert np.abs(reference[0] - reference[1]).max() > 1e-3 and np.abs(reference[1] - reference[2]).max() > 1e-3


def test_weights_load_strictly_and_other_files_are_refused(seeded_weights, tmp_path):
    from benchmark.judges.facenet_weights import load_facenet

    path, sha = seeded_weights
    model, digest = load_facenet(path)
    assert digest == sha and not model.training
    assert load_facenet(path, sha256=sha.upper())[1] == sha  # an expected digest is checked, case-insensitively
    with pytest.raises(BenchError, match="expected 0{64}"):
        load_facenet(path, sha256="0" * 64)
    state = seeded_state_dict()
    del state["last_bn.running_var"]
    torch.save(state, tmp_path / "missing.pt")
    with pytest.raises(BenchError, match=r"missing.pt.*missing \['last_bn.running_var'\].*facenet_weights"):
        load_facenet(tmp_path / "missing.pt")
    state = seeded_state_dict()
    state["last_linear.weight"] = torch.zeros(128, 1792)
    torch.save(state, tmp_path / "shape.pt")
    with pytest.raises(BenchError, match=r"other shapes \['last_linear.weight'\]"):
        load_facenet(tmp_path / "shape.pt")
    torch.save({"not": "tensors", "weights": [1, 2]}, tmp_path / "code.pt")
    with pytest.raises(BenchError, match="code.pt"):
        load_facenet(tmp_path / "code.pt")


def test_the_judge_refuses_without_weights_and_names_the_fix(no_weights):
    from benchmark.judges import judge_status, make_judge

    with pytest.raises(BenchError, match=r"python -m benchmark.judges.facenet_weights.*VOICE2FACE_FACENET_WEIGHTS"):
        make_judge("facenet")
    status = judge_status("facenet")
    assert status.info is None and "facenet_weights" in status.reason


def test_bench_ls_judges_shows_facenet_unavailable(no_weights, capsys):
    from benchmark.cli import main

    assert main(["ls", "judges"]) == 0
    lines = [line for line in capsys.readouterr().out.splitlines() if line.startswith("facenet")]
    assert len(lines) == 2 and all("no: " in line and "VGGFace2 weights" in line for line in lines)


def test_preprocessing_is_sf2fs_crop_and_resize():
    from benchmark.judges.facenet import network_input, resize_to, vgg_box_slices

    # SF2F's crop_vgg_box at 64: left int(0.235*64)=15, right int(0.765*64)=48, top 12, bottom 58, ends included
    assert vgg_box_slices(64) == (slice(12, 59), slice(15, 49))
    assert vgg_box_slices(128) == (slice(24, 118), slice(30, 98))
    rng = np.random.default_rng(0)
    images = rng.integers(0, 256, (2, 64, 64, 3), dtype=np.uint8)
    # naive SF2F: fixed_image_standardization, crop_vgg_box, nn.UpsamplingBilinear2d((140, 140))
    x = (torch.from_numpy(images).permute(0, 3, 1, 2).float() - 127.5) / 128.0
    x = x[:, :, 12:58 + 1, 15:48 + 1]
    expected = torch.nn.UpsamplingBilinear2d(size=(140, 140))(x)
    np.testing.assert_allclose(network_input(images, 64).numpy(), expected.numpy(), atol=1e-6)
    assert np.array_equal(resize_to(list(images), 64), images)  # SF2F's size: the pixels as they are
    big = rng.integers(0, 256, (100, 90, 3), dtype=np.uint8)
    from PIL import Image

    assert np.array_equal(resize_to([big], 64)[0], np.asarray(Image.fromarray(big).resize((64, 64), Image.BILINEAR)))
    with pytest.raises(BenchError, match="uint8"):
        resize_to([big.astype(np.float32)], 64)


def test_judge_embeds_any_size_batch_independently(seeded_weights, monkeypatch):
    from benchmark.judges import make_judge

    monkeypatch.setenv("VOICE2FACE_FACENET_WEIGHTS", str(seeded_weights[0]))
    rng = np.random.default_rng(3)
    images = [rng.integers(0, 256, (h, w, 3), dtype=np.uint8) for h, w in ((64, 64), (150, 120), (40, 50))]
    judge = make_judge("facenet", batch_size=1)
    one = judge.embed(images)
    all_at_once = make_judge("facenet", batch_size=8).embed(images)
    assert one.vectors.shape == (3, 512) and one.aligned.all()  # no detector in SF2F's pipeline
    np.testing.assert_allclose(one.vectors, all_at_once.vectors, atol=1e-5)
    info = judge.info
    assert info.weights_sha256 == seeded_weights[1] and info.embedding_dim == 512
    assert "64" in info.preprocess_version
    assert make_judge("facenet-128").info.preprocess_version != info.preprocess_version


# ---------------------------------------------------------------------------------------------------------------
# SF2F's evaluator, ported naively from BAI-Yeqi/SF2F_PyTorch utils/s2f_evaluator.py (S2fEvaluator with
# face_gen_mode="average_facenet_embedding", extraction_size=100, recall_method="cos_sim")


def sf2f_metrics(dataset_embedding: torch.Tensor, pred_img_embedding: torch.Tensor, ks) -> dict:
    """``S2fEvaluator.get_metrics``: rows are identities in the loader's (sorted) order; the dataset embedding is the
    mean FaceNet embedding of each identity's faces, the prediction the mean of the embeddings of its generated
    faces."""
    l2 = torch.nn.PairwiseDistance(p=2.0, eps=1e-06)(dataset_embedding, pred_img_embedding).mean().item()
    l1 = torch.nn.PairwiseDistance(p=1.0, eps=1e-06)(dataset_embedding, pred_img_embedding).mean().item()
    cos = torch.nn.CosineSimilarity(dim=-1, eps=1e-08)(dataset_embedding, pred_img_embedding).mean().item()
    x, y = pred_img_embedding[0:100].unsqueeze(1), dataset_embedding[0:100].unsqueeze(0)  # cos_query
    cos_table = torch.nn.CosineSimilarity(dim=-1, eps=1e-08)(x, y)  # [N, N]
    recalls = {}
    for k in ks:
        top = torch.topk(cos_table, k, dim=-1).indices
        recalls[k] = float(np.mean([1.0 if i in top[i] else 0.0 for i in range(len(top))]))  # in_top_k
    return {"l1": l1, "l2": l2, "cos": cos, "recall": recalls}


@pytest.mark.realdata
def test_sf2f_protocols_under_facenet_equal_sf2fs_evaluator(vox1_mini, seeded_weights, monkeypatch):
    from benchmark.engine.run import run_many
    from benchmark.tasks.trialsets import gallery_faces

    monkeypatch.setenv("VOICE2FACE_FACENET_WEIGHTS", str(seeded_weights[0]))
    seen = {}

    def capture(generated, real, plans, **_):
        seen.update(generated=generated, real=real)

    results = run_many("oracle", ["retrieval-sf2f", "feature-sf2f"], "vox1-mini", split=MINI_SPLIT, judge="facenet",
                       write=False, progress=False, before_scoring=capture)
    retrieval, feature = results
    assert retrieval["judge"]["name"] == "facenet" and retrieval["judge"]["weights_sha256"] == seeded_weights[1]

    from benchmark.data.datasets import load_dataset
    from protocols import get_protocol

    manifest = load_dataset("vox1-mini", progress=False)
    spec = get_protocol("feature-sf2f")
    gen, real = seen["generated"], seen["real"]
    g_index, f_index = gen.index(), real.index()
    identities = sorted({i.id for i in manifest.split(MINI_SPLIT)})
    faces = {i: [f.id for f in gallery_faces(manifest, MINI_SPLIT, spec) if f.identity == i and f.id in f_index]
             for i in identities}
    utts = {i: [u.id for u in manifest.utterances_of(i) if u.id in g_index] for i in identities}
    assert all(faces[i] and utts[i] for i in identities) and len(identities) == 5
    dataset_embedding = torch.stack([torch.from_numpy(real.vectors[[f_index[f] for f in faces[i]]]).mean(0)
                                     for i in identities])  # get_dataset_embeddings (hq_emb_dict)
    pred = torch.stack([torch.from_numpy(gen.vectors[[g_index[u] for u in utts[i]]]).mean(0) for i in identities])
    ks = [int(m[2:]) for m in retrieval["scores"] if m.startswith("R@")]
    assert ks == [1, 2]  # K < 5 identities: R@5 and R@10 are not scored on vox1-mini
    sf2f = sf2f_metrics(dataset_embedding, pred, ks)
    for k in ks:
        assert retrieval["scores"][f"R@{k}"]["value"] == pytest.approx(sf2f["recall"][k], abs=1e-9)
        assert retrieval["scores"][f"R@{k}"]["n"] == 5
    assert feature["scores"]["l1@centroid"]["value"] == pytest.approx(sf2f["l1"], rel=1e-6)
    assert feature["scores"]["l2@centroid"]["value"] == pytest.approx(sf2f["l2"], rel=1e-6)
    assert feature["scores"]["cosine@centroid"]["value"] == pytest.approx(sf2f["cos"], abs=1e-6)
    assert feature["scores"]["cosine@centroid"]["n"] == 5


def test_cuda_runs_in_ieee_float32_and_restores_the_settings():
    from benchmark.judges.facenet import _ieee_fp32

    before = torch.backends.cudnn.conv.fp32_precision, torch.backends.cuda.matmul.fp32_precision
    with _ieee_fp32("cuda"):  # the settings exist on a CPU build too
        assert (torch.backends.cudnn.conv.fp32_precision, torch.backends.cuda.matmul.fp32_precision) == ("ieee",) * 2
    with _ieee_fp32("cpu"):
        assert (torch.backends.cudnn.conv.fp32_precision, torch.backends.cuda.matmul.fp32_precision) == before
    assert (torch.backends.cudnn.conv.fp32_precision, torch.backends.cuda.matmul.fp32_precision) == before


def test_the_download_saves_atomically_and_checks_an_expected_digest(seeded_weights, tmp_path, monkeypatch):
    from benchmark.judges.facenet_weights import download, find_weights

    path, sha = seeded_weights
    monkeypatch.delenv("VOICE2FACE_FACENET_WEIGHTS", raising=False)
    monkeypatch.setenv("VOICE2FACE_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch"))
    with pytest.raises(BenchError, match="cannot download"):
        download(url=(tmp_path / "absent.pt").as_uri())
    monkeypatch.setenv("VOICE2FACE_FACENET_SHA256", "0" * 64)
    with pytest.raises(BenchError, match=f"sha256 {sha}, expected 0{{64}}: not saved"):
        download(url=path.as_uri())
    assert not list((tmp_path / "cache").rglob("*.pt*"))  # nothing half-written or refused is left behind
    monkeypatch.setenv("VOICE2FACE_FACENET_SHA256", sha)
    saved = download(url=path.as_uri())  # file:// stands in for the GitHub release URL
    assert saved == tmp_path / "cache" / "judges" / "20180402-114759-vggface2.pt"
    assert find_weights() == saved and saved.read_bytes() == path.read_bytes()
