"""Coverage of the identity-bootstrap intervals of ``benchmark.metrics.aggregate`` on synthetic trials with a known truth.

Run: ``python benchmarks/bootstrap_coverage.py --markdown`` (537 s on a shared 2-core AMD EPYC at nice 19, one
thread, load average 4–5: the 1:2 table 92 s, the 1:N table 430 s, the 1:N shape table 15 s); ``--part 1:N`` for
the two 1:N tables alone; ``--quick`` (100 / 50 datasets, 500 replicates) 27 s; ``--reps``/``--reps-n``/``--n-boot``
to change. The tables and what they show are in benchmarks/README.md.

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
3 per utterance per N (1:N, as ``match-1ofN``). For each setting, ``reps`` datasets are drawn; each gets the one-way
interval (``cluster_bootstrap_ci``) and the two-way one (``pigeonhole_bootstrap_ci``: pigeonhole weights for 1:2;
for 1:N the first-order weights, through ``summarize`` as the protocol calls it, with its flag and its one-way
fallback) from the library, and for 1:N also the product weights ``m[s] * prod_j m[o_j]`` (computed here, for
comparison). Printed: empirical coverage of the truth, mean width, and the width an exact interval would have
(2 x 1.96 x the standard deviation of the estimate over the datasets).

1:N designs (``coverage_designs``, issue 20 §5): balanced K = 30 and K = 22; vox1-s2f's test split (K = 22, its
1–4 clips per identity, 43 utterances) unstratified and stratified by its genders (9 f / 13 m, imposters from the
speaker's gender as ``match-1ofN-stratified``); balanced K = 30 stratified 15 / 15; all 130 vox1-s2f identities
(1–8 clips, 328 utterances) stratified 64 f / 66 m. N = 5 and 10; where 10 exceeds the smallest stratum (9 f in
the test split) the protocol does not score it, and N = 9, the largest it scores there, is used instead. A
stratified result is scored pooled (one multiplicity vector over all K identities, as ``summarize`` does) and per
stratum; for the pooled one a variant with each stratum's identities resampled apart is printed beside
(``coverage_designs.strata_resampled_ci``, not the library's). The truth is the same formula for every design:
identity effects come from one population whatever an identity's stratum or clip count, so the joint law of (T,
Y_1..Y_M) in each trial, and so every trial's expectation, is unchanged, and the utterance-weighted mean is unbiased
for it (checked: the "mean (SE)" column, and ``tests/test_bootstrap_coverage.py``). A third table varies one thing
at a time on balanced designs in one pool at N = 10: the share M / (K − 1) of the pool in each trial and the
trials per identity.
"""

from __future__ import annotations

import argparse
import math
import os
import time

import numpy as np
import torch

from benchmark.metrics.aggregate import cluster_bootstrap_ci, pigeonhole_bootstrap_ci
from coverage_designs import (MU, S2F_ALL, S2F_TEST, SD_UTT, Design, balanced, from_counts, intervals,
                              simulate as simulate_design)

SD = 0.7  # identity effect sd where the setting switches it on
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


SHAPE_DESIGNS = [(12, 10), (15, 10), (22, 10), (30, 10), (60, 10), (22, 1), (22, 2), (22, 4)]  # (K, utterances each)


def designs_1ofn() -> list[Design]:
    """The 1:N designs of the study (``coverage_designs``): balanced K = 30 and 22, vox1-s2f's test split (K = 22,
    its clips per identity) unstratified and stratified by its genders, balanced K = 30 stratified, and all 130
    vox1-s2f identities stratified."""
    return [balanced(30), balanced(22), from_counts("vox1-s2f test", S2F_TEST, False),
            from_counts("vox1-s2f test", S2F_TEST, True), balanced(30, stratified=True),
            from_counts("vox1-s2f all", S2F_ALL, True)]


def study_1ofn(design: Design, n: int, effects: str, reps: int, n_boot: int, seed: int, product: bool = True) -> dict:
    """Coverage of the 1:N intervals on ``reps`` datasets of ``design`` at N = n (capped by the caller).

    Returns:
        {scope: {"truth", "mean", "mean_se", "ideal" (exact width), "trials", "reps", "one-way": (cover, width),
        "first-order": (cover, width, flagged share, one-way fallback share), "product": (cover, width)}}, scope
        "pooled" and, stratified, "stratum f"/"stratum m". The truth is the same for every scope: identity effects
        come from one population whatever an identity's stratum or clip count (module docstring).
    """
    params = SETTINGS[effects]
    true = truth(n - 1, **params)
    gen = torch.Generator().manual_seed(seed)
    runs: dict[str, list] = {}
    trials: dict[str, int] = {}
    for r in range(reps):
        values, spk, imp = simulate_design(design, n - 1, gen, **params)
        for scope, res in intervals(design, values, spk, imp, n_boot, seed + r, product).items():
            runs.setdefault(scope, []).append(res)
            if design.strata is None or scope == "pooled":
                trials[scope] = values.numel()
            else:
                trials[scope] = int((design.strata[spk.numpy()] == ("stratum f", "stratum m").index(scope)).sum())
    out = {}
    for scope, res in runs.items():
        est = np.array([x["estimate"] for x in res])
        o = {"truth": true, "mean": float(est.mean()), "mean_se": float(est.std(ddof=1) / math.sqrt(reps)),
             "ideal": 2 * 1.959964 * float(est.std(ddof=1)), "trials": trials[scope], "reps": reps}
        for kind in ("one-way", "first-order", "product", "strata resampled"):
            if kind in res[0]:
                c = np.array([x[kind] for x in res], dtype=float)  # [reps, 2..4]
                o[kind] = (float(((c[:, 0] <= true) & (true <= c[:, 1])).mean()), float((c[:, 1] - c[:, 0]).mean()),
                           *c[:, 2:].mean(0).tolist())
        out[scope] = o
    return out


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--reps", type=int, default=500, help="simulated datasets per 1:2 setting")
    p.add_argument("--reps-n", type=int, default=400, help="simulated datasets per 1:N setting")
    p.add_argument("--n-boot", type=int, default=1000, help="bootstrap replicates per interval")
    p.add_argument("--ks", default="10,30,100,189", help="identity counts K of the 1:2 study")
    p.add_argument("--part", choices=("all", "1:2", "1:N"), default="all", help="which study to run")
    p.add_argument("--quick", action="store_true", help="--reps 100 --reps-n 50 --n-boot 500 (a smoke run)")
    p.add_argument("--markdown", action="store_true", help="print the tables as Markdown (benchmarks/README.md)")
    p.add_argument("--seed", type=int, default=0)
    args = p.parse_args(argv)
    if args.quick:
        args.reps, args.reps_n, args.n_boot = 100, 50, 500
    from tabulate import tabulate

    fmt = "github" if args.markdown else "simple"
    torch.set_num_threads(1)  # small matmuls: one thread is faster on a shared machine than two contending ones
    print(f"load average before: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    t0 = time.time()
    se = lambda c, r: math.sqrt(c * (1 - c) / r)  # noqa: E731
    if args.part in ("all", "1:2"):
        ks = [int(x) for x in args.ks.split(",")]
        print(f"1:2 trials: K identities x 10 utterances x 10 trials; {args.reps} datasets per row, {args.n_boot} "
              f"bootstrap replicates per interval; Monte-Carlo SE of a coverage of 0.95: {se(0.95, args.reps):.3f}, "
              f"of 0.60: {se(0.6, args.reps):.3f}. Identity effect sd {SD}, utterance sd {SD_UTT}, mu {MU}.\n")
        rows = []
        for effects in SETTINGS:
            for k in ks:
                o = study(k, 1, effects, args.reps, args.n_boot, args.seed)
                rows.append([effects, k, o["n"], f"{o['truth']:.3f}", f"{o['one-way'][0]:.3f}",
                             f"{o['one-way'][1]:.3f}", f"{o['two-way'][0]:.3f}", f"{o['two-way'][1]:.3f}",
                             f"{o['ideal']:.3f}", f"{o['two-way'][2]:.1f}"])
        print(tabulate(rows, headers=["effects", "K", "trials", "truth", "one-way cover", "one-way width",
                                      "pigeonhole cover", "pigeonhole width", "exact width", "dropped/B"],
                       tablefmt=fmt))
        print(f"\n1:2 study: {time.time() - t0:.0f} s\n")
    if args.part in ("all", "1:N"):
        t1 = time.time()
        print(f"1:N trials (match-1ofN): 3 trials per utterance per N, N − 1 distinct imposters uniform over the "
              f"speaker's pool (every other identity; stratified: every other identity of its stratum); "
              f"{args.reps_n} datasets per row, {args.n_boot} replicates; Monte-Carlo SE of a coverage of 0.95: "
              f"{se(0.95, args.reps_n):.3f}. first-order = the library's interval as the protocol reports it "
              "(summarize: weights m[s] + sum_j m[o_j] - M, its flag, its one-way fallback); product = "
              "m[s] * prod_j m[o_j] (pooled only). Cover (SE) = share of datasets whose interval holds the truth "
              "(its Monte-Carlo SE); mean (SE) = mean estimate over the datasets (its SE): the truth check. "
              "flagged = share of intervals the library flags.\n")
        rows = []
        for design in designs_1ofn():
            for n_req in (5, 10):
                n = design.scored_n(n_req)
                if n < n_req and n_req != 10:
                    continue
                for effects in ("imposter", "both"):
                    res = study_1ofn(design, n, effects, args.reps_n, args.n_boot, args.seed)
                    for scope, o in res.items():
                        fo, ow = o["first-order"], o["one-way"]
                        pr = [f"{o[x][0]:.3f}" + f" / {o[x][1]:.3f}" if x in o else "" for x in
                              ("product", "strata resampled")]
                        rows.append([design.name, scope, f"{n}" + (" (capped)" if n < n_req else ""), effects,
                                     o["trials"], f"{o['truth']:.3f}", f"{o['mean']:.3f} ({o['mean_se']:.3f})",
                                     f"{ow[0]:.3f}", f"{ow[1]:.3f}",
                                     f"**{fo[0]:.3f}** ({se(fo[0], o['reps']):.3f})" if args.markdown
                                     else f"{fo[0]:.3f} ({se(fo[0], o['reps']):.3f})",
                                     f"{fo[1]:.3f}", *pr, f"{o['ideal']:.3f}",
                                     f"{fo[2]:.2f}" + (" (one-way fallback)" if fo[3] else "")])
        print(tabulate(rows, headers=["design", "scope", "N", "effects", "trials", "truth", "mean (SE)",
                                      "one-way cover", "one-way width", "first-order cover (SE)",
                                      "first-order width", "product cover / width",
                                      "strata resampled cover / width", "exact width",
                                      "flagged"], tablefmt=fmt, disable_numparse=True))
        print(f"\n1:N study: {time.time() - t1:.0f} s\n")
        t2 = time.time()
        print(f"What drives the first-order interval (N = 10, imposter effects, unstratified, balanced): the share "
              f"M / (K - 1) of the pool in each trial, and the trials per identity; {args.reps_n} datasets per row.\n")
        rows = []
        for k, utts in SHAPE_DESIGNS:
            design = balanced(k, utts)
            o = study_1ofn(design, 10, "imposter", args.reps_n, args.n_boot, args.seed, product=False)["pooled"]
            fo = o["first-order"]
            rows.append([k, utts, o["trials"], f"{9 / (k - 1):.2f}", f"{fo[0]:.3f} ({se(fo[0], o['reps']):.3f})",
                         f"{fo[1]:.3f}", f"{o['ideal']:.3f}", f"{fo[1] / o['ideal']:.2f}", f"{fo[2]:.2f}"])
        print(tabulate(rows, headers=["K", "utts each", "trials", "M / (K - 1)", "first-order cover (SE)",
                                      "first-order width", "exact width", "width / exact", "flagged"], tablefmt=fmt,
                       disable_numparse=True))
        print(f"\n1:N shape study: {time.time() - t2:.0f} s")
    print(f"\n{time.time() - t0:.0f} s in all; load average after: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
