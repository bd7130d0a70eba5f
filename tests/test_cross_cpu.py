"""The learned baselines' faces are the same bytes under another CPU family's kernels (issue 20 §6).

Each run is a fresh process, so the kernel choice is made from the environment as on another machine: torch's
non-vectorised kernels (``ATEN_CPU_CAPABILITY=default``, a CPU without AVX2), oneDNN off, two threads, and MKL's
SSE4.2 kernels, against this machine's own choices on one thread. In float32 (before
``baselines.trained.INFERENCE_DTYPE``) wen-gan's toy faces differed in 3 of 48 under ``ATEN_CPU_CAPABILITY=default``
alone, speech2face's in 10 and ar-spm's in 11 under all variants together (``benchmarks/cross_cpu.py``).
"""

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[1]

GENERATE = """
import sys, numpy as np, torch, os
torch.set_num_threads(int(os.environ.get("CROSS_CPU_THREADS", "1")))
torch.backends.mkldnn.enabled = os.environ.get("CROSS_CPU_MKLDNN", "1") == "1"
from benchmark.data.datasets import load_dataset
from benchmark.generators.build import voice_batch
from benchmark.generators.base import GeneratorContext
from benchmark.generators.registry import resolve_model
toy = load_dataset("toy", progress=False)
utts = [u for i in toy.split("test") for u in toy.utterances_of(i.id)]
gen = resolve_model(sys.argv[1])(GeneratorContext(manifest=toy), checkpoint=sys.argv[2])
waves, lengths = voice_batch([u.path for u in utts])
from benchmark.settings import caching_off
with caching_off():  # ar-spm's speaker embeddings computed here, not read from the other process's cache
    np.save(sys.argv[3], gen.generate(waves, lengths, [u.id for u in utts]).numpy())
"""

OTHER_CPU = {"ATEN_CPU_CAPABILITY": "default", "CROSS_CPU_MKLDNN": "0", "CROSS_CPU_THREADS": "2",
             "MKL_ENABLE_INSTRUCTIONS": "SSE4_2"}


def faces_in_fresh_process(model: str, out: Path, env: dict) -> np.ndarray:
    checkpoint = ROOT / "leaderboards" / "checkpoints" / "toy" / f"{model}.pt"
    full = {**os.environ, **env, "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")])}
    done = subprocess.run([sys.executable, "-c", GENERATE, model, str(checkpoint), str(out)], env=full, cwd=ROOT,
                          capture_output=True, text=True)
    assert done.returncode == 0, done.stderr[-3000:]
    return np.load(out)


@pytest.mark.slow
@pytest.mark.parametrize("model", ["wen-gan", "ar-spm"])
def test_faces_are_the_same_bytes_under_another_cpus_kernels(model, tmp_path):
    here = faces_in_fresh_process(model, tmp_path / "here.npy", {})
    other = faces_in_fresh_process(model, tmp_path / "other.npy", OTHER_CPU)
    assert here.dtype == np.uint8 and here.shape[0] == 48 and here.std() > 0  # 48 toy test probes, not blank
    differing = int((here != other).reshape(len(here), -1).any(axis=1).sum())
    assert differing == 0, f"{differing} of {len(here)} faces differ under {OTHER_CPU}"
