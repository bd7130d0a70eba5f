#!/usr/bin/env bash
# Issue 24's table: each learned baseline trained with `--preset cpu-small-data` on vox1-s2f's 95 training identities
# (a fresh `bench train`, training data built from scratch in its own cache folder, wall time measured), then scored
# on validation+test (gender consistency, unstratified and stratified 1:2, feature cosine; 95 % identity-bootstrap
# CIs) next to the stored checkpoint it replaces, when one is given.
#
#   bash benchmarks/baselines_small_data.sh [OUT]                 # all three baselines (about 35 min on 2 cores)
#   BASELINES="speech2face" bash benchmarks/baselines_small_data.sh /tmp/s2f
#   BEFORE=path/to/old/checkpoints bash benchmarks/baselines_small_data.sh   # also score <BEFORE>/<baseline>.pt
#
# Prints one line per result (value [CI] (trials/identities)): the headline (other-video trials) and all tiers pooled.
set -euo pipefail
cd "$(dirname "$0")/.."
out="${1:-/tmp/v2f-small-data}"
mkdir -p "$out"
for b in ${BASELINES:-speech2face ar-spm wen-gan}; do
  rm -rf "$out/train-$b" "$out/cache-$b"
  start=$(date +%s)
  VOICE2FACE_CACHE_DIR="$out/cache-$b" bench train --baseline "$b" --dataset vox1-s2f --preset cpu-small-data --seed 0 \
    --out "$out/train-$b" --quiet
  echo "$b: bench train --preset cpu-small-data took $(( $(date +%s) - start )) s (load after: $(cut -d' ' -f1-3 /proc/loadavg))"
  checkpoints=("after=$out/train-$b/checkpoint.pt")
  if [ -n "${BEFORE:-}" ]; then checkpoints+=("before=$BEFORE/$b.pt"); fi
  for pair in "${checkpoints[@]}"; do
    tag="${pair%%=*}"
    bench run --model "$b" --model-arg "checkpoint=${pair#*=}" --dataset vox1-s2f --split validation+test \
      --protocol gender,unstratified,stratified,feature --seed 0 --results-dir "$out/results-$tag" --quiet >/dev/null
    python - "$out/results-$tag/vox1-s2f/validation+test/$b" "$b $tag" <<'EOF'
import json, pathlib, sys

folder, label = pathlib.Path(sys.argv[1]), sys.argv[2]


def cell(d):
    lo, hi = d["ci95"]
    return f"{d['value']:.3f} [{lo:.3f}, {hi:.3f}] ({d['n']}/{d['n_identities']})"


for protocol, key in (("gender", "gender_consistency"), ("unstratified", "accuracy"), ("stratified", "accuracy"),
                      ("feature", "cosine")):
    r = json.loads((folder / f"{protocol}-seed0.json").read_text())
    pooled = r.get("strata", {}).get("true_face=all", {}).get(key)
    print(f"{label} {r['generator']['revision']} {protocol}: {cell(r['scores'][key])}"
          + (f"; all tiers {cell(pooled)}" if pooled else ""))
EOF
  done
done
