#!/usr/bin/env bash
# Every CUDA path of the suite in one run (issue 22 §3), one table: dlib-torch chips/s and faces/s, facenet faces/s,
# sface on the GPU (onnxruntime CUDA provider, or why not), `bench embed` under torchrun with nccl, `bench run
# --protocol all` on vox1-s2f with the judge on cuda (scores compared with the stored CPU results), and one training
# step of each learned baseline on cuda. Under 8 minutes on one H100-class GPU; the steps are described in
# benchmarks/gpu_check.py.
#
#   bash benchmarks/gpu_check.sh             # needs a CUDA device and the vox1-s2f sample (data/ or $VOICE2FACE_DATA_DIR)
#   bash benchmarks/gpu_check.sh --dry-run   # runs nothing: the commands it would run and the table's rows
#
# Exit status: 0 all steps ok; 1 a step failed (the table says which); 2 no CUDA device.
set -euo pipefail
cd "$(dirname "$0")/.."
export PYTHONPATH="$PWD${PYTHONPATH:+:$PYTHONPATH}"
echo "before: $(uptime)"
status=0
python benchmarks/gpu_check.py "$@" || status=$?
echo "after:  $(uptime)"
exit "$status"
