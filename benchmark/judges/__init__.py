"""Judges, one file each: the fixed pretrained face models that score every generator alike.

- ``benchmark.judges.dlib_dat``: a pure-Python reader of dlib's serialized face-recognition network (``.dat``).
- ``benchmark.judges.dlib_torch``: the same network as a torch module, the batched 5-point chip extraction, and
  ``DlibTorchJudge`` (the dlib judge with chips and embeddings on any torch device).

The reference judge is still ``benchmark.judge.DlibJudge`` (dlib-bin on the CPU).
"""
