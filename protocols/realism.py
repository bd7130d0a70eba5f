"""Realism: how far the *set* of generated faces lies from the set of real faces of the same identities, as a
distribution, in the judge's embedding space — Fréchet distance (``fd``) and kernel distance (``kid``), the
statistics newer voice-to-face papers report (there in Inception-v3's space, as FID and KID).

Conventions (the metric functions are ``benchmark.metrics.sets``; the trial rule and the floor ``benchmark.tasks.realism``):

* Feature space: the judge's face embedding — whichever judge the run uses (the result's ``judge`` names it, with
  its weights sha256; rows of different judges are never ranked together), not Inception's. Each embedding is
  L2-normalised (``normalise_embeddings``) and scaled by sqrt(D). Why: every other protocol compares judge
  embeddings by cosine only, so the norm is not part of what the suite treats as a face's identity (dlib's
  descriptors have norm ≈ 1 by training; SFace's norms vary with image quality and differ in scale between
  judges, so un-normalised numbers would not mean the same thing under two judges); the sqrt(D) scale gives every
  coordinate unit RMS, the scale Bińkowski et al.'s kernel ``(x·y/d + 1)^3`` assumes (the 1/d keeps ``x·y/d`` of
  order one when coordinates are), so on these features the kernel is ``(cos + 1)^3``. On unit vectors instead,
  ``x·y/d ≤ 1/128`` and the cubic kernel degenerates to ≈ ``1 + 3·x·y/d``, a comparison of means only. FD on
  these features is D times the FD of the unit vectors.
* Sets: one generated face per probe utterance of the probe split (all of them, no cap) against every usable
  gallery face of the same identities. Failed (blank) generated faces are left out of the set and counted.
* KID: the MMD² over the pairs of faces of two *different* identities of the two full sets
  (``benchmark.metrics.sets.mmd2_between_identities``). Both sets hold several faces per identity; the plain
  U-statistic (``mmd2_unbiased``, unbiased only for independent faces; clean-fid's and torch-fidelity's subsets
  average to it) would count same-identity pairs and be biased upwards by about 1/K (0.09 at vox1-s2f's test
  K = 22), so values would differ across splits and a generator consistent per speaker would be penalised. FD:
  scipy.linalg.sqrtm with pytorch-fid's fallbacks, flagged below 10 x D faces per set (FD measures N there).
  Leaderboards rank by ``kid`` (``rank_by``).
* Real-face floor (``kid_floor``, ``fd_floor``): the generated set replaced by real faces of *another* identity
  (a seeded derangement: each identity's utterances get a donor's faces), against the real set — the same size and
  cluster structure as the generated set. KID's floor and a generator drawing from the real population both
  expect 0. A generated set that copies the real set (the oracle on vox1-s2f) is marked not applicable; a wholly
  negative KID interval is truncated to [0, 0] and flagged.
* Version 2 (issue 20): between-identity KID, the derangement floor, the FD flag; version 1's KID and floor were
  biased by the identity clusters (vox1-s2f test: floor 0.30 above random-face's 0.07).
* 95 % CI: bootstrap over identities (each resampled identity brings its generated and its real faces), the
  statistic recomputed on every replicate (``spec.bootstrap`` replicates), percentile interval re-centred on the
  point estimate (``benchmark.tasks.realism`` says why).
"""

from protocols.spec import ProtocolSpec

REALISM = ProtocolSpec(
    name="realism",
    version=2,
    task="realism",
    description="FD and KID between the generated and the real test faces in the judge's embedding space (+ floor)",
    source="FD: Heusel et al. 2017 (in the judge's space, not Inception's); KID: Bińkowski et al. 2018",
    trials_per_probe=1,
    similarity="set: FD and KID (cubic kernel) on L2-normalised judge embeddings scaled by sqrt(D)",
    ground_truth="set (every usable gallery face of the probe split's identities)",
    metric="set distance",
    normalise_embeddings=True,
    rank_by="kid",
)
