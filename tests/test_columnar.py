"""Columnar trials, blockwise scoring and manifest indexes against straightforward references (issue 11).

The references are the per-trial builders and full-matrix scorers the suite used before trials became columns:
one Python object per trial, one scalar ``Generator.integers`` call per draw, the whole similarity matrix at once.
The columnar code must give the same trials (same rows, same sha256) and the same scores.
"""

import dataclasses
import hashlib
import io

import numpy as np
import pytest
import torch

from benchmark.trials.columns import Column, csv_chunks
from benchmark.data.manifest import Face, Identity, Manifest, Utterance
from benchmark.metrics.pairwise import (blockwise_topk_hits, cosine_similarity_matrix, cosine_similarity_rows, gathered_dot,
                               gathered_matvec, l2_normalise, topk_hits)
from benchmark.tasks import get_task
from benchmark.tasks.base import FaceTable
from benchmark.tasks.trialsets import sample_distinct, sample_distinct_rows
from benchmark.trials.builders import build_match_trials, trial_rng, true_face_pool, usable_gallery
from protocols import get_protocol


def seeded_manifest(seed: int, n_ids: int = 9, source: str = "vggface") -> Manifest:
    """Identities with 1–6 faces (single-face identities included: draws with a bound of 1) and 1–5 utterances
    over 1–3 videos; genders mixed; faces from ``source`` (VoxCeleb1 crops carry the utterance's clip id)."""
    rng = np.random.default_rng(seed)
    identities, utts, faces = [], [], []
    for k in range(n_ids):
        vid = f"id{10000 + k}"
        identities.append(Identity(vid, f"C_{k}", "mf"[int(rng.integers(0, 2))] if k > 3 else "mf"[k % 2], "X",
                                   "test"))
        for n in range(int(rng.integers(1, 6))):
            video = f"v{int(rng.integers(0, 3))}"
            utts.append(Utterance(f"{vid}/{video}/{n:05d}", vid, "", video))
        for n in range(int(rng.integers(1, 7))):
            if source == "voxceleb":
                video = f"v{int(rng.integers(0, 3))}"
                faces.append(Face(f"voxceleb/{vid}/{video}/{n:05d}", vid, "", "voxceleb", video))
            else:
                faces.append(Face(f"vggface/C_{k}/{n:08d}", vid, "", "vggface"))
    return Manifest("seeded", "", identities, sorted(utts, key=lambda u: u.id), sorted(faces, key=lambda f: f.id))


def reference_csv(columns: dict[str, list[str]], context: dict[str, str] | None = None) -> bytes:
    """The trial file as the suite wrote it row by row before columns (``TrialTable.to_csv`` of the time)."""
    buf = io.StringIO()
    for key, value in (context or {}).items():
        buf.write(f"# {key}: {value}\n")
    buf.write("trial," + ",".join(columns) + "\n")
    for i, row in enumerate(zip(*columns.values())):
        buf.write(f"{i}," + ",".join(row) + "\n")
    return buf.getvalue().encode("utf-8")


def reference_match_trials(manifest, spec, seed, usable) -> dict[str, list[str]]:
    """``build_match_trials`` as it was: per-trial lists, one scalar draw per imposter face."""
    gallery, _ = usable_gallery(manifest, spec.probe_split, spec, usable)
    gender = {i.id: i.gender for i in manifest.identities}
    pools: dict[str, list[str]] = {}
    for ident in gallery:
        pools.setdefault(gender[ident] if spec.stratify_by == "gender" else "all", []).append(ident)
    speakers = [i for i in sorted(gallery) if len(pools[gender[i] if spec.stratify_by == "gender" else "all"]) >= 2]
    rng = trial_rng(spec, seed)
    k = spec.trials_per_probe
    cols: dict[str, list[str]] = {c: [] for c in ("probe", "speaker", "true_face", "imposter", "imposter_face",
                                                  "stratum")}
    for speaker in speakers:
        others = [i for i in pools[gender[speaker] if spec.stratify_by == "gender" else "all"] if i != speaker]
        for utt in [u for u in manifest.utterances if u.identity == speaker]:
            pool, _ = true_face_pool(spec, utt.id, gallery[speaker])
            true_idx = rng.integers(0, len(pool), size=k)
            imp_idx = rng.integers(0, len(others), size=k)
            imp_ids = [others[j] for j in imp_idx]
            imp_face_idx = [int(rng.integers(0, len(gallery[i]))) for i in imp_ids]
            cols["probe"] += [utt.id] * k
            cols["speaker"] += [speaker] * k
            cols["true_face"] += [pool[j] for j in true_idx]
            cols["imposter"] += imp_ids
            cols["imposter_face"] += [gallery[i][j] for i, j in zip(imp_ids, imp_face_idx)]
            cols["stratum"] += [gender[speaker]] * k
    return cols


def reference_match_n_trials(manifest, spec, seed, usable, ns) -> dict[str, list[str]]:
    """``match_n.build``'s trials by the rule of protocol version 3, trial by trial in Python: every draw a scalar
    ``Generator.integers`` call, in the rule's three groups (true faces; Fisher–Yates draws through
    ``sample_distinct``; imposter faces)."""
    gallery, _ = usable_gallery(manifest, spec.probe_split, spec, usable)
    gender = {i.id: i.gender for i in manifest.identities}
    key = (lambda i: gender[i]) if spec.stratify_by == "gender" else (lambda i: "all")
    pools: dict[str, list[str]] = {}
    for ident in gallery:
        pools.setdefault(key(ident), []).append(ident)
    speakers = [i for i in sorted(gallery) if len(pools[key(i)]) >= 2]
    rng = trial_rng(spec, seed)
    rows = []  # (utterance, speaker, n, true-face pool, others)
    for speaker in speakers:
        others = [i for i in pools[key(speaker)] if i != speaker]
        for utt in [u for u in manifest.utterances if u.identity == speaker]:
            pool, _ = true_face_pool(spec, utt.id, gallery[speaker])
            rows += [(utt.id, speaker, n, pool, others) for n in ns for _ in range(spec.trials_per_probe)]
    true_faces = [pool[int(rng.integers(0, len(pool)))] for _, _, _, pool, _ in rows]
    imposters = [[others[j] for j in sample_distinct(rng, len(others), n - 1)] for _, _, n, _, others in rows]
    imp_faces = [[gallery[i][int(rng.integers(0, len(gallery[i])))] for i in imps] for imps in imposters]
    return {"probe": [r[0] for r in rows], "speaker": [r[1] for r in rows], "n": [str(r[2]) for r in rows],
            "true_face": true_faces, "imposters": [";".join(x) for x in imposters],
            "imposter_faces": [";".join(x) for x in imp_faces], "stratum": [gender[r[1]] for r in rows]}


def real_table(manifest, seed=0, dim=16) -> FaceTable:
    rng = np.random.default_rng(seed)
    return FaceTable(ids=[f.id for f in manifest.faces],
                     vectors=rng.standard_normal((len(manifest.faces), dim)).astype(np.float32),
                     aligned=np.ones(len(manifest.faces), dtype=bool), blank=[])


@pytest.mark.parametrize("seed", range(6))
@pytest.mark.parametrize("name", ["unstratified", "stratified"])
@pytest.mark.parametrize("source", ["vggface", "voxceleb"])
def test_columnar_match_trials_equal_the_per_trial_reference(seed, name, source):
    m = seeded_manifest(seed, source=source)
    spec = dataclasses.replace(get_protocol(name), gallery_source=source, trials_per_probe=7)
    usable = {f.id for f in m.faces}
    try:
        ref = reference_match_trials(m, spec, seed, usable)
    except (IndexError, ValueError):  # fewer than two eligible speakers in a stratum: the builder refuses too
        pytest.skip("seeded manifest without two eligible speakers")
    if len(set(ref["speaker"])) < 2:
        pytest.skip("seeded manifest without two eligible speakers")
    trials = build_match_trials(m, spec, seed, usable)
    for column in trials.COLUMNS:
        assert list(getattr(trials, column)) == ref[column], column
    assert trials.to_csv() == reference_csv(ref)
    assert trials.sha256 == hashlib.sha256(reference_csv(ref)).hexdigest()


@pytest.mark.parametrize("seed", range(4))
@pytest.mark.parametrize("name", ["match-1ofN", "match-1ofN-stratified"])
def test_columnar_match_n_trials_equal_the_per_trial_reference(seed, name):
    m = seeded_manifest(seed, n_ids=12)
    spec = dataclasses.replace(get_protocol(name), trials_per_probe=2)
    real = real_table(m)
    plan = get_task(spec.task).build(m, spec, seed, real)
    ref = reference_match_n_trials(m, spec, seed, set(real.ids), plan.info["ns"])
    for column, values in ref.items():
        assert list(plan.trials[column]) == values, column
    assert plan.trials.to_csv() == reference_csv(ref)


def test_sample_distinct_rows_equals_row_by_row_sample_distinct():
    """The vectorised partial Fisher–Yates equals ``sample_distinct`` called row by row on the same stream: counts of
    0, full permutations (count == n_items, a last draw with a bound of 1), and a population wide enough that the
    swap table is processed in several blocks."""
    params = np.random.default_rng(5)
    n_items = np.concatenate([params.integers(1, 12, size=300), params.integers(4000, 6000, size=1700)])
    width = 9
    counts = np.minimum(params.integers(0, width + 1, size=n_items.size), n_items)
    counts[:20] = np.minimum(n_items[:20], width)  # full permutations of small populations
    picks, mask = sample_distinct_rows(np.random.default_rng(11), counts, n_items, width)
    rng = np.random.default_rng(11)
    for r, (c, n) in enumerate(zip(counts, n_items)):
        expected = sample_distinct(rng, int(n), int(c))
        assert picks[r, :c].tolist() == expected and mask[r].sum() == c and (picks[r, c:] == -1).all(), r
    with pytest.raises(ValueError, match="more distinct items"):
        sample_distinct_rows(np.random.default_rng(0), np.asarray([3]), np.asarray([2]), width)


def test_csv_chunks_made_by_threads_equal_one_thread(monkeypatch):
    """``csv_chunks`` makes blocks in threads when there are at least four: the bytes, in order, equal one thread's
    and the row-by-row reference's (ragged joined column and multi-digit row numbers included)."""
    import benchmark.trials.columns as columns

    rng = np.random.default_rng(3)
    n = 1000
    ids = Column([f"id{i:03d}" for i in range(37)], rng.integers(0, 37, size=n))
    names = ["a", "bb", "ccc", "dddd"]
    joined = np.full((n, 3), -1)
    width = rng.integers(0, 4, size=n)
    for r in range(n):
        joined[r, :width[r]] = rng.integers(0, 4, size=width[r])
    cols = [ids, Column(names, joined)]
    reference = reference_csv({"id": list(ids), "joined": list(Column(names, joined))}, {"k": "v"})
    monkeypatch.setattr(columns, "CSV_THREADS", 1)
    one = b"".join(csv_chunks(["# k: v"], ["id", "joined"], cols, block_rows=37))
    monkeypatch.setattr(columns, "CSV_THREADS", 2)
    chunks = list(csv_chunks(["# k: v"], ["id", "joined"], cols, block_rows=37))
    assert len(chunks) == 1 + -(-n // 37)
    assert b"".join(chunks) == one == reference


def test_array_bound_draws_equal_scalar_draws():
    """The columnar builders rest on this: ``Generator.integers`` with array bounds (bounds of 1 included) draws the
    same values from the same stream positions as one scalar call per element."""
    params = np.random.default_rng(99)
    rng_a, rng_b = np.random.default_rng(7), np.random.default_rng(7)
    for _ in range(300):
        highs = params.integers(1, 40, size=int(params.integers(1, 12)))
        lows = np.minimum(highs - 1, params.integers(0, 3, size=len(highs)))
        assert rng_a.integers(lows, highs).tolist() == [int(rng_b.integers(lo, hi)) for lo, hi in zip(lows, highs)]
        assert rng_a.integers(0, 2 ** 31) == rng_b.integers(0, 2 ** 31)  # and the streams stay in step


def test_csv_chunks_equal_row_by_row_join_across_blocks():
    rng = np.random.default_rng(3)
    table = ["a", "bb", "ccc/dd", "", "é-ü"]
    single = Column(table, rng.integers(0, len(table), size=1234))
    joined_codes = rng.integers(0, len(table), size=(1234, 3))
    joined_codes[rng.random(1234) < 0.3, 2] = -1  # rows of two values
    joined = Column(table, joined_codes)
    cols = {"x": list(single), "y": list(joined)}
    want = reference_csv(cols, {"k": "v"})
    for block in (1, 7, 1000, 5000):
        got = b"".join(csv_chunks(["# k: v"], ["x", "y"], [single, joined], block_rows=block))
        assert got == want
    assert list(joined)[0] == ";".join(table[c] for c in joined_codes[0] if c >= 0)


def test_column_reads_as_its_strings():
    col = Column.from_strings(["b", "a", "b", "c"])
    assert list(col) == ["b", "a", "b", "c"] and col == ["b", "a", "b", "c"] and len(col) == 4
    assert col[2] == "b" and list(col[np.array([3, 0])]) == ["c", "b"] and "c" in col and "z" not in col
    names, inverse = col.factorize()
    assert names.tolist() == ["a", "b", "c"] and inverse.tolist() == [1, 0, 1, 2]
    assert col.lookup({"a": 10, "b": 11, "c": 12}).tolist() == [11, 10, 11, 12]
    unused = Column(["z", "b", "a", "c"], [1, 0, 1, 2, 0])  # "c" is in the table but no row uses it
    assert unused.distinct() == ["a", "b", "z"] == sorted(set(unused)) and unused[:3].distinct() == ["b", "z"]
    assert Column(["z", "b", "a"], [[1, -1], [0, 2]]).distinct() == ["a", "b", "z"]
    with pytest.raises(ValueError, match="table holds"):
        Column(["a"], [0, 1])


@pytest.mark.parametrize("memory", [1, 600, 1 << 20])
def test_blockwise_similarities_equal_the_full_computation(memory):
    """Tiny budgets force blocks of one row and of a few rows; the values must equal the all-at-once ones."""
    rng = torch.Generator().manual_seed(0)
    gen = torch.randn(13, 8, generator=rng)
    faces = torch.randn(21, 8, generator=rng)
    gi = torch.randint(0, 13, (50,), generator=rng)
    fi = torch.randint(0, 21, (50,), generator=rng)
    full = cosine_similarity_rows(gen[gi], faces[fi])
    got = gathered_dot(l2_normalise(gen, 1e-8), gi, l2_normalise(faces, 1e-8), fi, memory_bytes=memory)
    torch.testing.assert_close(got, full, rtol=1e-6, atol=1e-7)
    cand = torch.randint(0, 21, (50, 4), generator=rng)
    want = torch.bmm(faces[cand], gen[gi].unsqueeze(2)).squeeze(2)
    torch.testing.assert_close(gathered_matvec(faces, cand, gen, gi, memory_bytes=memory), want)


@pytest.mark.parametrize("memory", [1, 700, 1 << 20])
def test_blockwise_topk_equals_the_full_matrix(memory):
    rng = torch.Generator().manual_seed(1)
    queries = torch.randn(40, 8, generator=rng)
    refs = torch.randn(11, 8, generator=rng)
    refs[3] = refs[2]  # a tie between two references
    target = torch.randint(0, 11, (40,), generator=rng)
    own = torch.rand(40, generator=rng) * 2 - 1
    allowed = torch.rand(3, 11, generator=rng) > 0.3
    group = torch.randint(0, 3, (40,), generator=rng)
    allowed[group, target] = True  # the target is always a member of its gallery
    ks = (1, 2, 5)
    sims = cosine_similarity_matrix(queries, refs)
    sims[torch.arange(40), target] = own
    sims = sims.masked_fill(~allowed[group], float("-inf"))
    want = topk_hits(sims, target, ks)
    got = blockwise_topk_hits(queries, refs, target, ks, own=own, allowed=allowed, allowed_rows=group,
                              memory_bytes=memory)
    torch.testing.assert_close(got, want)
    assert 0.0 < float(want[:, 0].mean()) < 1.0  # neither all hits nor all misses: the comparison means something


@pytest.mark.parametrize("seed", range(3))
def test_manifest_indexes_agree_with_linear_scans(seed):
    m = seeded_manifest(seed, n_ids=15, source="voxceleb")
    m = dataclasses.replace(m, faces=sorted(m.faces + [Face(f"vggface/C_{k}/x", f"id{10000 + k}", "", "vggface")
                                                        for k in range(0, 15, 2)], key=lambda f: f.id))
    for ident in [i.id for i in m.identities] + ["id99999"]:
        assert m.utterances_of(ident) == [u for u in m.utterances if u.identity == ident]
        assert m.faces_of(ident) == [f for f in m.faces if f.identity == ident]
        for source in ("vggface", "voxceleb", "other"):
            assert m.faces_of(ident, source) == [f for f in m.faces if f.identity == ident and f.source == source]
    assert m.identity("id10003") == next(i for i in m.identities if i.id == "id10003")
    m.utterances.append(Utterance("id10003/v9/00099", "id10003", "", "v9"))  # a list changed after loading
    assert m.utterances_of("id10003")[-1].id == "id10003/v9/00099"  # the index is rebuilt, not stale
