"""E[KID] and E[floor] on one simulated population whose faces cluster by identity (issue 20 §1), before and after
realism v2, at vox1-s2f's clip counts (K = 22: its test split; K = 130: all of it).

Model: 128-d embeddings, identity effect + face noise with intra-identity correlation 0.5, unit-RMS features
(``benchmark.metrics.sets.unit_rms_features``); the generated set is a generator consistent per speaker drawing from
the real faces' population (its own identity effects), so the true MMD² is 0. Columns:

* v1 kid: ``mmd2_unbiased`` (all pairs, same-identity pairs included); v1 floor: real faces of two identity halves.
* v1 kid (unclustered generator): one independent identity per generated face ("random-face"-like).
* v2 kid, v2 floor: ``mmd2_between_identities``; the floor as ``benchmark.tasks.realism`` builds it (a donor
  identity's real faces for each identity's utterances, against the real set).

Run: ``python benchmarks/realism_cluster_bias.py [reps]``; prints mean ± standard error per column.
"""

import math
import sys

import numpy as np
import torch

from benchmark.metrics import sets

CLIPS = {22: [1] * 13 + [2] * 3 + [4] * 6, 130: [1] * 70 + [2] * 17 + [3] * 8 + [4] * 20 + [8] * 15}
DIM, ICC = 128, 0.5


def draw(rng, counts):
    centres = rng.normal(size=(len(counts), DIM)) * math.sqrt(ICC)
    x = np.repeat(centres, counts, axis=0) + rng.normal(size=(sum(counts), DIM)) * math.sqrt(1 - ICC)
    return sets.unit_rms_features(torch.from_numpy(x))


def one(rng, clips):
    k = len(clips)
    owners = torch.from_numpy(np.repeat(np.arange(k), clips))
    y, x = draw(rng, clips), draw(rng, clips)
    x_flat = draw(rng, [1] * sum(clips))
    half = rng.permutation(k)[: k // 2]
    in_a = torch.from_numpy(np.isin(owners.numpy(), half))
    order = rng.permutation(k)
    donor = np.empty(k, int)
    donor[order] = order[(np.arange(k) + 1) % k]
    rows = np.concatenate([np.flatnonzero(owners.numpy() == donor[a])[np.arange(n) % clips[donor[a]]]
                           for a, n in enumerate(clips)])
    return {"v1 kid": sets.mmd2_unbiased(x, y), "v1 floor": sets.mmd2_unbiased(y[in_a], y[~in_a]),
            "v1 kid (unclustered gen.)": sets.mmd2_unbiased(x_flat, y),
            "v2 kid": float(sets.mmd2_between_identities(x, owners, y, owners)[0]),
            "v2 floor": float(sets.mmd2_between_identities(y[rows], owners[rows], y, owners)[0])}


def main(reps: int = 400) -> None:
    rng = np.random.default_rng(0)
    print(f"| K | clips | {' | '.join(one(rng, CLIPS[22]))} |")
    print("|---" * 7 + "|")
    for k, clips in CLIPS.items():
        vals = [one(rng, clips) for _ in range(reps)]
        cells = []
        for key in vals[0]:
            v = np.array([d[key] for d in vals])
            cells.append(f"{v.mean():+.4f} ± {v.std(ddof=1) / math.sqrt(reps):.4f}")
        print(f"| {k} | {sum(clips)} | {' | '.join(cells)} |")


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 400)
