"""How far a re-run may move a stored score in ``bench check``: one tolerance per judge and kind of metric.

The rule is chosen by the checking invocation and the judge, never by a field of the file under check: the
``--tolerance`` option, the ``--device`` option (``auto_rule``) and the judge the re-run used (its registry name
from the re-run's own result, after ``compare`` has made sure it is the judge the stored result records, same
``judge.id``). The stored file's ``environment`` (torch, numpy, dlib versions), ``judge.library``, ``device`` and
``git_commit`` select nothing: a score edited together with any of them fails like an edited score alone.

Rules:

* ``numeric`` (``auto`` on the CPU): the measured cross-CPU drift of the judge (``DRIFT``), per kind of metric
  (``metric_kind``), with a margin, on the value and on both CI ends; counts (``n``, ``n_identities``) exactly.

  - **rate** (a fraction of trials: accuracy, acc@N, top-k, R@k, detection and agreement rates): at most
    ``flips`` trials may change outcome, so ``|Δvalue| ≤ flips / n`` and ``|ΔCI end| ≤ CI_FLIP_WEIGHT · flips
    / n`` (in a bootstrap replicate a trial counts as often as its identity is drawn; ``CI_FLIP_WEIGHT`` = 3 draws
    at the replicate that is the percentile), plus the float rounding of ``rel``/``abs``. With ``flips = 0`` only
    rounding is allowed.
  - **set** (``fd``, ``kid`` and their floors): ``|Δ| ≤ abs + set_rel·|stored|``. FD's matrix square root
    amplifies last-bit differences of the embeddings (the covariance of N < D faces is singular): on an Intel
    AVX-512 CPU, ``vox1-mini/mean-face/realism-seed0-judge-dlib-torch.json`` moved FD 50.3609 → 50.3212
    (7.9e-4 relative) from dlib-torch's float32 embeddings alone.
  - **continuous** (every other metric: distances, cosines, angles, ratios, age gaps): ``|Δ| ≤ abs + rel·|stored|``.

* ``exact``: equal to the last bit (only on the machine that stored the result).
* ``ci`` (``auto`` when ``--device`` names a GPU: no GPU drift has been measured): each value inside the other run's
  95 % interval (ends included), counts equal. It accepts about ±11 points on vox1-s2f's test split, so it is never
  chosen for a CPU re-run.

Where the numbers come from (``benchmarks/cross_cpu.py``; ``benchmarks/README.md`` has the tables): the learned
baselines infer in float64 (``baselines.trained``), so generated faces are the same bytes under every kernel
variant measured (torch without AVX2, oneDNN off, threads, MKL SSE4.2, numpy/OpenBLAS/OpenCV without AVX2); what is
left is the judges' own drift. On a 2-core AMD EPYC (AVX2), dlib-torch's embeddings moved by at most 9.6e-7, FD by
1.1e-6 and KID by 3.1e-6 relative, other continuous scores by 9.7e-7, and no rate moved (``rel`` = 1e-4 is 100
times that); dlib (C++, kernels fixed at build time) reproduced to the bit. FD on an Intel AVX-512 CPU moved 7.9e-4
(above), so ``SET_REL`` is set from that. sface (OpenCV's DNN module picks AVX-512, AVX2 or SSE kernels at run
time) moved 31 of 120 stored results beyond 1e-4 with OpenCV's AVX kernels disabled: one 1:2 trial of 1,093
flipped, KID CI ends by 1.5e-4 relative (commit e2a5a9e); its embeddings move by up to 2e-3 here without AVX2, and
cosines near 0 (mean-face's, in [-0.11, 0.14]) moved by up to 9e-6 absolute between the storing CPU and this one,
beyond any relative tolerance: ``abs`` = 1e-4 for sface, 1e-5 for dlib-torch (ten times their measured absolute
drift; embeddings 9.6e-7 for dlib-torch), far below a 1-point change.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass

from benchmark.errors import BenchError

RULES = ("numeric", "exact", "ci")

CI_FLIP_WEIGHT = 3
"""How many times one flipped trial may count at the percentile replicate of an identity bootstrap (rate metrics)."""

_SET = re.compile(r"^(fd|kid)(_floor)?$")
_RATE = re.compile(r"^(accuracy|acc@N=\d+|top-\d+|R@\d+|detected|real_faces_detected|band_accuracy|"
                   r"real_face_band_accuracy|gender_consistency|real_face_accuracy)$")


def metric_kind(metric: str) -> str:
    """"rate", "set" or "continuous" for a score name (the module docstring says what each allows).

    A name this module does not know is "continuous": the strictest rule for a metric that is not a rate.
    """
    if _SET.match(metric):
        return "set"
    if _RATE.match(metric):
        return "rate"
    return "continuous"


@dataclass(frozen=True)
class Drift:
    """A judge's cross-CPU drift allowance (module docstring).

    Attributes:
        rel: relative tolerance of continuous values and CI ends (float rounding).
        abs: absolute tolerance, for values at or near 0.
        set_rel: relative tolerance of FD and KID values and CI ends.
        flips: trials of a rate metric whose outcome may change.
        source: where the numbers come from, in words (shown in ``bench check``'s table as the rule).
    """

    rel: float
    abs: float
    set_rel: float
    flips: int
    source: str


SET_REL = 5e-3
"""FD/KID relative tolerance, every judge: 6x the largest drift measured (7.9e-4, dlib-torch FD on an Intel
AVX-512 CPU; see ``DRIFT`` for this CPU's kernel variants), and below a 1 % change of FD."""

DRIFT: dict[str, Drift] = {
    "dlib": Drift(rel=1e-4, abs=1e-6, set_rel=SET_REL, flips=0,
                  source="dlib: bit-identical embeddings on every CPU measured"),
    "dlib-torch": Drift(rel=1e-4, abs=1e-5, set_rel=SET_REL, flips=0,
                        source="dlib-torch: float32 rounding of the embeddings"),
    "sface": Drift(rel=1e-3, abs=1e-4, set_rel=SET_REL, flips=1,
                   source="sface: OpenCV DNN kernels by CPU, 1 flipped trial"),
}
"""Per judge registry name. A judge not listed (a plug-in) gets ``UNMEASURED``."""

UNMEASURED = Drift(rel=1e-4, abs=1e-6, set_rel=SET_REL, flips=0, source="judge without measured drift: rounding only")


def drift_of(judge: str | None) -> Drift:
    """The ``Drift`` of a judge registry name (``UNMEASURED`` for one not in ``DRIFT``)."""
    return DRIFT.get(judge or "", UNMEASURED)


def auto_rule(device: str | None) -> str:
    """The rule ``--tolerance auto`` means for a ``bench check --device`` value: "numeric" on the CPU (no
    ``--device`` re-runs each result on the device it records, and CPU results are all stored ones), "ci" when the
    command line names another device."""
    return "numeric" if device in (None, "cpu") else "ci"


def _close(a: float, b: float, allowed: float) -> bool:
    if isinstance(a, float) and isinstance(b, float) and math.isnan(a) and math.isnan(b):
        return True
    return abs(b - a) <= allowed


def within(metric: str, stored: dict, new: dict, rule: str, judge: str | None) -> tuple[bool, str, str]:
    """Does a re-run score agree with the stored one under ``rule``?

    Args:
        metric: the score's name (``metric_kind``).
        stored, new: ``{"value", "ci95": [lo, hi], "n", "n_identities"}`` score dicts (``benchmark.results.io``).
        rule: "numeric", "exact" or "ci".
        judge: the re-run's judge registry name (``DRIFT``).

    Returns:
        (ok, the rule in words, a note on what moved or "").

    Raises:
        BenchError: an unknown rule.
    """
    if rule not in RULES:
        raise BenchError(f"unknown comparison rule {rule!r}; one of {', '.join(RULES)}.")
    a, b = stored["value"], new["value"]
    (lo, hi), (nlo, nhi) = stored["ci95"], new["ci95"]
    counts_ok = stored.get("n") == new.get("n") and stored.get("n_identities") == new.get("n_identities")
    note = "" if counts_ok else (f"n {stored.get('n')}→{new.get('n')}, identities {stored.get('n_identities')}→"
                                 f"{new.get('n_identities')}")
    if rule == "exact":
        return a == b and [lo, hi] == [nlo, nhi] and counts_ok, "exact", note
    if rule == "ci":
        return lo <= b <= hi and nlo <= a <= nhi and counts_ok, "within CIs", note
    d, kind = drift_of(judge), metric_kind(metric)
    if kind == "set":
        label = f"rel {d.set_rel:g} (FD/KID)"
        allowed = [d.abs + d.set_rel * abs(x) for x in (a, lo, hi)]
    elif kind == "rate" and d.flips:
        n = max(int(stored.get("n") or 1), 1)
        label = f"{d.flips} flipped trial(s) of {n}"
        allowed = [d.abs + d.rel * abs(a) + d.flips / n] + [d.abs + d.rel * abs(x) + CI_FLIP_WEIGHT * d.flips / n
                                                             for x in (lo, hi)]
    else:
        label = f"rel {d.rel:g}"
        allowed = [d.abs + d.rel * abs(x) for x in (a, lo, hi)]
    checks = [_close(x, y, tol) for x, y, tol in zip((a, lo, hi), (b, nlo, nhi), allowed)]
    if counts_ok and checks[0] and not all(checks):
        note = f"CI moved: [{lo:.6g}, {hi:.6g}] → [{nlo:.6g}, {nhi:.6g}]"
    return all(checks) and counts_ok, label, note
