"""Coverage of the identity-bootstrap intervals of ``benchmark.metrics.aggregate`` on synthetic trials with a known truth.

Run: ``python benchmarks/bootstrap_coverage.py`` (about 3 minutes, one CPU thread; ``--reps``/``--n-boot`` to change).

Model (a probit matching model; every effect is a normal random effect of an identity drawn from an infinite
population, so the truth is the population accuracy). Trial i: speaker s, utterance u of s, imposters o_1..o_M
(distinct, uniform over the other K − 1 identities), correct iff

    T = mu + a[s] - f[s] + v[u] + Z_0   >   max_j ( b[o_j] - f[o_j] + Z_j ),        Z ~ N(0, 1) per face/trial

    a  voice-side effect of the speaker (how well its voice predicts its face)     — "speaker"
    b  imposter-side effect (how confusable the identity's gallery photos are)     — "imposter"
    a, b independent                                                               — "both"
    f  one face effect in both roles: a distinctive face is hard to match as the
       true face and easy to reject as an imposter, so it cancels in the mean      — "face, both roles"
    v  utterance effect nested in the speaker (always on, sd 0.3)

Truth: P(T > max_j Y_j) = E_T[Phi(T / sd_Y)^M], T ~ N(mu, 1 + sa² + sf² + sv²), Y ~ N(0, 1 + sb² + sf²), by
Gauss–Hermite quadrature. Trials like the real protocols: 10 utterances per speaker, 10 trials per utterance (1:2),
3 per utterance (1:N, as ``match-1ofN``). For each setting, ``reps`` datasets are drawn; each gets the one-way
interval (``cluster_bootstrap_ci``) and the two-way one (``pigeonhole_bootstrap_ci``: pigeonhole weights for 1:2,
first-order weights for 1:N) from the library, and for 1:N also the product weights ``m[s] * prod_j m[o_j]``
(computed here, for comparison). Printed: empirical coverage of the truth, mean width, and the width an exact
interval would have (2 x 1.96 x the standard deviation of the estimate over the datasets).
"""

from __future__ import annotations

import argparse
import math
import time

import numpy as np
import torch

from benchmark.metrics.aggregate import cluster_bootstrap_ci, identity_multiplicities, pigeonhole_bootstrap_ci

SD = 0.7  # identity effect sd where the setting switches it on
SD_UTT = 0.3
MU = 1.0
SETTINGS = {"speaker": dict(sa=SD), "imposter": dict(sb=SD), "both": dict(sa=SD, sb=SD),
            "face, both roles": dict(sf=SD)}


def truth(m: int, sa: float = 0.0, sb: float = 0.0, sf: float = 0.0, sv: float = SD_UTT, mu: float = MU) -> float:
    """Population accuracy of the model (module docstring) with m imposters, by 80-point Gauss–Hermite."""
    x, w = np.polynomial.hermite_e.hermegauss(80)  # probabilists' Hermite: weight exp(-x²/2)
    t = mu + math.sqrt(1 + sa * sa + sf * sf + sv * sv) * x
    sd_y = math.sqrt(1 + sb * sb + sf * sf)
    phi = 0.5 * (1 + np.vectorize(math.erf)(t / sd_y / math.sqrt(2)))
    return float((w * phi ** m).sum() / w.sum())


def simulate(k: int, m: int, utts: int, per_utt: int, gen: torch.Generator, sa: float = 0.0, sb: float = 0.0,
             sf: float = 0.0, sv: float = SD_UTT, mu: float = MU):
    """One dataset: values float64 [N], speakers int64 [N], imposters int64 [N, m]."""
    a, b, f = (torch.randn(k, generator=gen, dtype=torch.float64) * s for s in (sa, sb, sf))  # [K] each
    v = torch.randn(k * utts, generator=gen, dtype=torch.float64) * sv  # [K * U]
    utt = torch.arange(k * utts).repeat_interleave(per_utt)  # [N]
    spk = utt // utts  # [N]
    n = spk.numel()
    if m == 1:
        imp = ((spk + torch.randint(1, k, (n,), generator=gen)) % k).unsqueeze(1)  # [N, 1] uniform over others
    else:
        keys = torch.rand(n, k, generator=gen)
        keys[torch.arange(n), spk] = 2.0  # the speaker sorts last: never its own imposter
        imp = keys.argsort(dim=1)[:, :m]  # [N, m] distinct, uniform over the others
    t = mu + a[spk] - f[spk] + v[utt] + torch.randn(n, generator=gen, dtype=torch.float64)  # [N]
    y = b[imp] - f[imp] + torch.randn(n, m, generator=gen, dtype=torch.float64)  # [N, m]
    return (t > y.max(dim=1).values).double(), spk, imp


def product_ci(values, spk, imp, n_boot, seed, k, chunk=256):
    """Percentile interval with the full product weights m[s] * prod_j m[o_j] (kept here only for comparison)."""
    mult = identity_multiplicities(k, n_boot, seed)  # [B, K]
    sums = torch.zeros(n_boot, dtype=torch.float64)
    tot = torch.zeros(n_boot, dtype=torch.float64)
    for a in range(0, values.numel(), chunk):
        w = mult[:, spk[a:a + chunk]] * mult[:, imp[a:a + chunk]].prod(dim=2)  # [B, chunk]
        sums += w @ values[a:a + chunk]
        tot += w.sum(1)
    kept = tot > 0
    lo, hi = torch.quantile(sums[kept] / tot[kept], torch.tensor([0.025, 0.975], dtype=torch.float64)).tolist()
    return lo, hi, int((~kept).sum())


def study(k, m, effects, reps, n_boot, seed, utts=10, per_utt=10, product=False):
    params = SETTINGS[effects]
    true = truth(m, **params)
    gen = torch.Generator().manual_seed(seed)
    est, rows = [], {"one-way": [], "two-way": [], "product": []}
    for r in range(reps):
        values, spk, imp = simulate(k, m, utts, per_utt, gen, **params)
        est.append(float(values.mean()))
        rows["one-way"].append(cluster_bootstrap_ci(values, spk, n_boot=n_boot, seed=seed + r) + (0,))
        rows["two-way"].append(pigeonhole_bootstrap_ci(values, spk, imp[:, 0] if m == 1 else imp, n_boot=n_boot,
                                                       seed=seed + r, n_identities=k))
        if product:
            rows["product"].append(product_ci(values, spk, imp, n_boot, seed + r, k))
    ideal = 2 * 1.959964 * float(np.std(est, ddof=1))
    out = {"truth": true, "mean": float(np.mean(est)), "ideal": ideal, "n": k * utts * per_utt}
    for name, cis in rows.items():
        if cis:
            lo, hi, dropped = (np.array(c, dtype=float) for c in zip(*cis))
            out[name] = (float(((lo <= true) & (true <= hi)).mean()), float((hi - lo).mean()), float(dropped.mean()))
    return out


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--reps", type=int, default=500, help="simulated datasets per 1:2 setting")
    p.add_argument("--reps-n", type=int, default=200, help="simulated datasets per 1:N setting")
    p.add_argument("--n-boot", type=int, default=1000, help="bootstrap replicates per interval")
    p.add_argument("--ks", default="10,30,100,189", help="identity counts K of the 1:2 study")
    p.add_argument("--seed", type=int, default=0)
    args = p.parse_args(argv)
    from tabulate import tabulate

    torch.set_num_threads(1)  # small matmuls: one thread is faster on a shared machine than two contending ones

    t0 = time.time()
    ks = [int(x) for x in args.ks.split(",")]
    se = lambda c, r: math.sqrt(c * (1 - c) / r)  # noqa: E731
    print(f"1:2 trials: K identities x 10 utterances x 10 trials; {args.reps} datasets per row, {args.n_boot} "
          f"bootstrap replicates per interval; Monte-Carlo SE of a coverage of 0.95: {se(0.95, args.reps):.3f}, "
          f"of 0.60: {se(0.6, args.reps):.3f}. Identity effect sd {SD}, utterance sd {SD_UTT}, mu {MU}.")
    rows = []
    for effects in SETTINGS:
        for k in ks:
            o = study(k, 1, effects, args.reps, args.n_boot, args.seed)
            rows.append([effects, k, o["n"], f"{o['truth']:.3f}", f"{o['one-way'][0]:.3f}", f"{o['one-way'][1]:.3f}",
                         f"{o['two-way'][0]:.3f}", f"{o['two-way'][1]:.3f}", f"{o['ideal']:.3f}",
                         f"{o['two-way'][2]:.1f}"])
    print(tabulate(rows, headers=["effects", "K", "trials", "truth", "one-way cover", "one-way width",
                                  "pigeonhole cover", "pigeonhole width", "exact width", "dropped/B"]))
    print()
    print(f"1:N trials (match-1ofN): K = 30 identities x 10 utterances x 3 trials; {args.reps_n} datasets per row, "
          f"{args.n_boot} replicates; Monte-Carlo SE at 0.95: {se(0.95, args.reps_n):.3f}. Two-way = first-order "
          "weights m[s] + sum_j m[o_j] - M (the library's); product = m[s] * prod_j m[o_j].")
    rows = []
    for n_way in (5, 10):
        for effects in ("imposter", "both"):
            o = study(30, n_way - 1, effects, args.reps_n, args.n_boot, args.seed, per_utt=3, product=True)
            rows.append([n_way, effects, o["n"], f"{o['truth']:.3f}", f"{o['one-way'][0]:.3f}",
                         f"{o['one-way'][1]:.3f}", f"{o['two-way'][0]:.3f}", f"{o['two-way'][1]:.3f}",
                         f"{o['product'][0]:.3f}", f"{o['product'][1]:.3f}", f"{o['ideal']:.3f}",
                         f"{o['product'][2]:.1f}"])
    print(tabulate(rows, headers=["N", "effects", "trials", "truth", "one-way cover", "one-way width",
                                  "first-order cover", "first-order width", "product cover", "product width",
                                  "exact width", "product dropped/B"]))
    print(f"\n{time.time() - t0:.0f} s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
