"""Scoring at full scale: trial building, scoring and bootstrap time against dataset size (issue 11, part 4).

Run: ``python benchmarks/scale.py`` (torch's default threads: both cores of a 2-core machine, as ``bench run`` uses
them) or ``OMP_NUM_THREADS=1 python benchmarks/scale.py`` (one core). Defaults: every embedding protocol at 48 and 189
identities, 1:2 matching also at 1,225. Options: ``--sizes 48,189,1225``, ``--protocols stratified,retrieval``,
``--naive-trials 200000`` (trials of the naive numpy loop, 0 to skip), ``--naive-torch-trials 20000`` (of the
naive torch loop), ``--skip-hash``.

What it does, per size: builds a synthetic manifest (every identity in the "test" split, genders alternating,
utterances and VGGFace faces spread over the identities by a seeded draw, five videos per identity) with the
totals of Wen et al.'s data (Wen, Singh, Raj, NeurIPS 2019, Table 1): 189 identities / 21,850 utterances / 20,455
faces is their test set, 1,225 identities / 149,354 utterances / 139,572 faces the whole data set; 48 identities get
the test set's per-identity counts. Synthetic judge embeddings (float32 ``[*, 128]``, seeded normal) stand in for the
real and generated faces. For each protocol that works from embeddings (every one but ``gender`` and ``age``, which
need the attribute predictor), it times, with the suite's own task modules:

* ``build``: ``task.build`` (the seeded trials);
* ``hash``: ``plan.trials.sha256`` (the canonical CSV form, hashed; what a result records);
* ``score``: ``task.score`` without the time spent in ``aggregate`` (gathering, similarities, metrics);
* ``bootstrap``: time spent in ``benchmark.tasks.base.aggregate`` (means, identity bootstrap CIs, strata);

and the peak resident memory of the process during each stage (``VmHWM`` of ``/proc/self/status``, reset before
each stage through ``/proc/self/clear_refs``; whole-process RSS, so it includes what earlier stages left alive).
1:2 matching (``stratified``) is run with Wen's 108 trials per probe (their Table 3 count: 2,359,800 trials on the
test set); the other protocols keep their registered specs.

The naive loops: the same 1:2 trials scored one trial at a time in Python, on the first ``--naive-trials`` (numpy)
or ``--naive-torch-trials`` (torch) trials, the time scaled linearly to all trials (stated in the output). Both look
each trial's probe and faces up in dicts and compare two cosines; the *numpy* loop computes them with
``np.dot`` / ``np.linalg.norm`` on numpy rows (the leanest per-trial Python), the *torch* loop with
``torch.nn.functional.cosine_similarity`` on torch rows (what per-trial code written with the suite's own library
costs). The issue does not say which loop its 63 s measurement was; both ratios are printed, each as naive /
(score + bootstrap) of the suite.

Timings on a shared 2-core machine vary with the load; ``/proc/loadavg`` is printed before and after.
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmark.data.manifest import Face, Identity, Manifest, Utterance  # noqa: E402
from benchmark.tasks import get_task  # noqa: E402
from benchmark.tasks.base import FaceTable, Generated  # noqa: E402
from protocols import get_protocol  # noqa: E402

WEN_TEST = (189, 21_850, 20_455)
WEN_ALL = (1_225, 149_354, 139_572)
EMBEDDING_PROTOCOLS = ("stratified", "unstratified", "match-1ofN", "match-1ofN-stratified", "id-topk-open",
                       "id-topk-seen", "retrieval", "retrieval-sf2f", "feature", "feature-sf2f", "consistency",
                       "detect")
DIM = 128


def counts_for(n_identities: int) -> tuple[int, int, int]:
    """(identities, utterances, faces): Wen's totals at 189 and 1,225 identities, the test set's ratios otherwise."""
    if n_identities == WEN_TEST[0]:
        return WEN_TEST
    if n_identities == WEN_ALL[0]:
        return WEN_ALL
    return n_identities, round(WEN_TEST[1] * n_identities / WEN_TEST[0]), round(WEN_TEST[2] * n_identities / WEN_TEST[0])


def spread(total: int, k: int, rng: np.random.Generator, minimum: int) -> np.ndarray:
    """``k`` counts ≥ ``minimum`` summing to ``total`` (multinomial on top of the minimum)."""
    return minimum + rng.multinomial(total - minimum * k, np.full(k, 1.0 / k))


def synthetic_manifest(n_identities: int, seed: int = 0) -> Manifest:
    """A manifest with Wen-like totals (module docstring); every identity in "test"."""
    k, n_utt, n_face = counts_for(n_identities)
    rng = np.random.default_rng(seed)
    identities = [Identity(id=f"id{10001 + i}", name=f"C{i:05d}", gender="mf"[i % 2], nationality="", split="test")
                  for i in range(k)]
    utterances, faces = [], []
    for ident, nu, nf in zip(identities, spread(n_utt, k, rng, 2), spread(n_face, k, rng, 1)):
        for j in range(nu):
            video = f"v{j % 5:010d}"
            utterances.append(Utterance(id=f"{ident.id}/{video}/{j:05d}", identity=ident.id, path="", video=video))
        for j in range(nf):
            faces.append(Face(id=f"vggface/{ident.name}/{j:08d}", identity=ident.id, path="", source="vggface"))
    return Manifest(dataset_id=f"synthetic-{k}", root="", identities=identities,
                    utterances=sorted(utterances, key=lambda u: u.id), faces=sorted(faces, key=lambda f: f.id))


def peak_reset() -> None:
    try:
        Path("/proc/self/clear_refs").write_text("5")
    except OSError:
        pass


def peak_mib() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    import resource

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


class AggregateTimer:
    """Wraps a task module's ``aggregate`` (and the ``ratio_summary`` of consistency) to time them."""

    def __init__(self, module):
        self.module, self.seconds, self.saved = module, 0.0, {}

    def __enter__(self):
        for name in ("aggregate", "ratio_summary"):
            fn = getattr(self.module, name, None)
            if fn is None:
                continue
            self.saved[name] = fn

            def timed(*a, _fn=fn, **kw):
                t = time.perf_counter()
                try:
                    return _fn(*a, **kw)
                finally:
                    self.seconds += time.perf_counter() - t

            setattr(self.module, name, timed)
        return self

    def __exit__(self, *exc):
        for name, fn in self.saved.items():
            setattr(self.module, name, fn)


def naive_match(trials, generated: Generated, real: FaceTable, limit: int) -> tuple[float, int]:
    """Accuracy of the first ``limit`` 1:2 trials, one trial at a time (module docstring); returns (accuracy, n)."""
    g_index = {u: i for i, u in enumerate(generated.utterance_ids)}
    f_index = {f: i for i, f in enumerate(real.ids)}
    gen, faces = generated.vectors, real.vectors
    correct, n = 0.0, 0
    for p, t, q in zip(trials.probe, trials.true_face, trials.imposter_face):
        if n == limit:
            break
        g, a, b = gen[g_index[p]], faces[f_index[t]], faces[f_index[q]]
        gn = np.linalg.norm(g)
        s_t = float(np.dot(g, a) / (gn * np.linalg.norm(a)))
        s_i = float(np.dot(g, b) / (gn * np.linalg.norm(b)))
        correct += 1.0 if s_t > s_i else (0.5 if s_t == s_i else 0.0)
        n += 1
    return correct / max(n, 1), n


def naive_match_torch(trials, generated: Generated, real: FaceTable, limit: int) -> tuple[float, int]:
    """``naive_match`` with torch rows and ``torch.nn.functional.cosine_similarity`` per trial."""
    import torch
    import torch.nn.functional as tf

    g_index = {u: i for i, u in enumerate(generated.utterance_ids)}
    f_index = {f: i for i, f in enumerate(real.ids)}
    gen, faces = torch.from_numpy(generated.vectors), torch.from_numpy(real.vectors)
    correct, n = 0.0, 0
    for p, t, q in zip(trials.probe, trials.true_face, trials.imposter_face):
        if n == limit:
            break
        g = gen[g_index[p]]
        s_t = tf.cosine_similarity(g, faces[f_index[t]], dim=0).item()
        s_i = tf.cosine_similarity(g, faces[f_index[q]], dim=0).item()
        correct += 1.0 if s_t > s_i else (0.5 if s_t == s_i else 0.0)
        n += 1
    return correct / max(n, 1), n


def run_protocol(name: str, manifest: Manifest, real: FaceTable, gen_all: np.ndarray, utt_row: dict,
                 args) -> dict:
    spec = get_protocol(name)
    if name in ("stratified", "unstratified"):
        spec = dataclasses.replace(spec, trials_per_probe=108)
    if name == "id-topk-seen":  # the synthetic manifest has no train split: same code path on the test split
        spec = dataclasses.replace(spec, probe_split="test", reference_split="test")
    task = get_task(spec.task)
    row: dict = {"protocol": name}
    peak_reset()
    t = time.perf_counter()
    plan = task.build(manifest, spec, args.seed, real)
    row["build"], row["build_mib"] = time.perf_counter() - t, peak_mib()
    row["trials"] = len(plan.trials)
    if not args.skip_hash:
        peak_reset()
        t = time.perf_counter()
        digest = plan.trials.sha256
        row["hash"], row["hash_mib"] = time.perf_counter() - t, peak_mib()
        row["sha256"] = digest[:12]
    probes = list(plan.probes)
    rows = np.fromiter((utt_row[u] for u in probes), dtype=np.int64, count=len(probes))
    generated = Generated(utterance_ids=probes, vectors=gen_all[rows], aligned=np.ones(len(probes), dtype=bool),
                          image_size=(64, 64))
    peak_reset()
    with AggregateTimer(task) as timer:
        t = time.perf_counter()
        result = task.score(plan, generated, real, manifest, spec, "cpu", args.seed)
        total = time.perf_counter() - t
    row["score"], row["bootstrap"], row["score_mib"] = total - timer.seconds, timer.seconds, peak_mib()
    first = next(iter(result.scores))
    row["value"] = f"{first}={result.scores[first]['value']:.4f}"
    if name == "stratified" and args.naive_trials:
        limit = min(args.naive_trials, len(plan.trials))
        t = time.perf_counter()
        acc, n = naive_match(plan.trials, generated, real, limit)
        naive = (time.perf_counter() - t) * len(plan.trials) / n
        row["naive"] = naive
        row["naive_note"] = f"naive loop on {n:,} of {len(plan.trials):,} trials, scaled"
        row["ratio"] = naive / (row["score"] + row["bootstrap"])
        if n == len(plan.trials):
            row["naive_check"] = f"naive accuracy {acc:.6f} vs suite {result.scores['accuracy']['value']:.6f}"
    if name == "stratified" and args.naive_torch_trials:
        limit = min(args.naive_torch_trials, len(plan.trials))
        t = time.perf_counter()
        _, n = naive_match_torch(plan.trials, generated, real, limit)
        row["naive_torch"] = (time.perf_counter() - t) * len(plan.trials) / n
        row["naive_torch_note"] = f"on {n:,} trials, scaled"
        row["ratio_torch"] = row["naive_torch"] / (row["score"] + row["bootstrap"])
    return row


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sizes", default="48,189,1225", help="identity counts, comma-separated")
    parser.add_argument("--protocols", default=",".join(EMBEDDING_PROTOCOLS))
    parser.add_argument("--large-protocols", default="stratified",
                        help="protocols run at sizes above 189 identities (the others only up to 189)")
    parser.add_argument("--naive-trials", type=int, default=200_000)
    parser.add_argument("--naive-torch-trials", type=int, default=20_000)
    parser.add_argument("--skip-hash", action="store_true")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    print("load before:", Path("/proc/loadavg").read_text().strip(), "| OMP_NUM_THREADS =",
          os.environ.get("OMP_NUM_THREADS"), "| torch threads:", __import__("torch").get_num_threads())
    for size in [int(s) for s in args.sizes.split(",")]:
        t = time.perf_counter()
        manifest = synthetic_manifest(size, args.seed)
        rng = np.random.default_rng(args.seed + 1)
        real = FaceTable(ids=[f.id for f in manifest.faces],
                         vectors=rng.standard_normal((len(manifest.faces), DIM), dtype=np.float32),
                         aligned=np.ones(len(manifest.faces), dtype=bool), blank=[])
        gen_all = rng.standard_normal((len(manifest.utterances), DIM), dtype=np.float32)
        utt_row = {u.id: i for i, u in enumerate(manifest.utterances)}
        print(f"\n== {len(manifest.identities):,} identities, {len(manifest.utterances):,} utterances, "
              f"{len(manifest.faces):,} faces (synthetic manifest + embeddings: {time.perf_counter() - t:.1f} s)")
        print(f"{'protocol':24s} {'trials':>10s} {'build s':>8s} {'hash s':>7s} {'score s':>8s} {'boot s':>7s} "
              f"{'b+s+b s':>8s} {'peak MiB b/h/s':>16s}  value")
        names = args.protocols.split(",")
        if size > WEN_TEST[0]:
            names = [n for n in names if n in args.large_protocols.split(",")]
        for name in names:
            row = run_protocol(name, manifest, real, gen_all, utt_row, args)
            total = row["build"] + row["score"] + row["bootstrap"]
            print(f"{name:24s} {row['trials']:>10,} {row['build']:8.2f} {row.get('hash', float('nan')):7.2f} "
                  f"{row['score']:8.2f} {row['bootstrap']:7.2f} {total:8.2f} "
                  f"{row['build_mib']:5.0f}/{row.get('hash_mib', float('nan')):4.0f}/{row['score_mib']:5.0f}  "
                  f"{row['value']}", flush=True)
            if "naive" in row:
                print(f"{'':24s} naive numpy loop {row['naive']:.1f} s ({row['naive_note']}); naive / (score + "
                      f"bootstrap) = {row['ratio']:.0f}x" + (f"; {row['naive_check']}" if "naive_check" in row else ""),
                      flush=True)
            if "naive_torch" in row:
                print(f"{'':24s} naive torch loop {row['naive_torch']:.1f} s ({row['naive_torch_note']}); naive / "
                      f"(score + bootstrap) = {row['ratio_torch']:.0f}x", flush=True)
    print("\nload after:", Path("/proc/loadavg").read_text().strip())


if __name__ == "__main__":
    main()
