#!/usr/bin/env bash
# Re-make every stored result under leaderboards/results and the generated tables, exactly as they are committed.
# Run from the repository root with the vox1-mini and vox1-s2f samples under data/ (or VOICE2FACE_DATA_DIR set).
#
#   bash leaderboards/regenerate.sh            # CPU, seed 0; about 30 minutes on 2 cores with a warm cache
#
# * toy world (the default dataset): every reference and learned baseline, every protocol, the default split
#   ("test"); the learned baselines from the inference-only checkpoints in leaderboards/checkpoints/toy/
#   (made with `bench train --preset cpu --seed 0`, then `bench export-checkpoint`; see README).
# * vox1-mini: the references on the validation + test split (Wen et al.'s A-E identities, 5 of them; its
#   C-E test split alone has 3), recorded as evaluated_split "validation+test". voice-gender and the learned
#   baselines cannot run there (one training identity).
set -euo pipefail
cd "$(dirname "$0")/.."
out=leaderboards/results
rm -rf "$out/toy" "$out/vox1-mini" "$out/vox1-s2f"
for model in oracle mean-face random-face voice-gender nearest-voice; do
  bench run --model "$model" --protocol all --dataset toy --seed 0 --results-dir "$out" --quiet
done
for model in wen-gan speech2face ar-spm; do
  bench run --model "$model" --model-arg "checkpoint=leaderboards/checkpoints/toy/$model.pt" --protocol all \
    --dataset toy --seed 0 --results-dir "$out" --quiet
done
for model in oracle mean-face random-face nearest-voice; do
  bench run --model "$model" --protocol all --dataset vox1-mini --split validation+test --seed 0 \
    --results-dir "$out" --quiet
done
# vox1-s2f: the references on the test split; the released Speech2Face outputs (never trained on VoxCeleb) on
# all 130 identities (--split all), face2face marked as the method's ceiling
for model in oracle mean-face random-face voice-gender nearest-voice; do
  bench run --model "$model" --protocol all --dataset vox1-s2f --seed 0 --results-dir "$out" --quiet
done
# the learned baselines trained on vox1-s2f's 95 training identities (commands in README.md, "Train the reference
# baselines": `bench train --baseline B --dataset vox1-s2f --preset cpu-small-data --seed 0 ...`), scored on test
for model in wen-gan speech2face ar-spm; do
  bench run --model "$model" --model-arg "checkpoint=leaderboards/checkpoints/vox1-s2f/$model.pt" --protocol all \
    --dataset vox1-s2f --seed 0 --results-dir "$out" --quiet
done
# the oracle's population (speakers with a second face; issue 20 §2): every generator also scored where the
# ceiling is, so the oracle's table has comparable rows (<protocol>-seed0-two-face-speakers.json)
paired="stratified,unstratified,retrieval,realism,match-1ofN"
for model in mean-face random-face voice-gender nearest-voice; do
  bench run --model "$model" --protocol "$paired" --dataset vox1-s2f --seed 0 --results-dir "$out" --quiet \
    --two-face-speakers
done
for model in wen-gan speech2face ar-spm; do
  bench run --model "$model" --model-arg "checkpoint=leaderboards/checkpoints/vox1-s2f/$model.pt" \
    --protocol "$paired" --dataset vox1-s2f --seed 0 --results-dir "$out" --quiet --two-face-speakers
done
c="Oh, Dekel, Kim, Mosseri, Freeman, Rubinstein, Matusik, Speech2Face: Learning the Face Behind a Voice, CVPR 2019;"
c="$c released outputs from the supplementary material, github.com/speech2face/speech2face.github.io @ ceb7cfa9ef75,"
c="$c figures/voxceleb"
s2f=data/vox1-s2f/speech2face
bench score --faces "$s2f/v2f-exg0.0" --protocol all --dataset vox1-s2f --split all --results-dir "$out" --quiet \
  --name speech2face-released --citation "$c, column V2face_exg0.0 (the model's output)"
for x in 0.7 1.4; do
  bench score --faces "$s2f/v2f-exg$x" --protocol all --dataset vox1-s2f --split all --results-dir "$out" --quiet \
    --name "speech2face-released-exg$x" --citation "$c, column V2face_exg$x (exaggeration factor $x)"
done
bench score --faces "$s2f/face2face" --protocol all --dataset vox1-s2f --split all --results-dir "$out" --quiet \
  --name speech2face-face2face --reference ceiling \
  --citation "$c, column Face2Face (the face decoder on the true face's feature: a ceiling for the method)"
# the other judges (issue 10: rankings across judges), on the protocols the judge-agreement table compares: dlib
# (dlib-bin, the reference the default dlib-torch is checked against; the default until issue 22) and sface;
# their results are written to <protocol>-seed0-judge-<judge>.json, the default judge's (dlib-torch) without suffix
judged="stratified,unstratified,retrieval,feature,realism"
for judge in dlib sface; do
  for model in oracle mean-face random-face voice-gender nearest-voice; do
    bench run --model "$model" --protocol "$judged" --dataset toy --seed 0 --results-dir "$out" --quiet --judge "$judge"
  done
  for model in wen-gan speech2face ar-spm; do
    bench run --model "$model" --model-arg "checkpoint=leaderboards/checkpoints/toy/$model.pt" --protocol "$judged" \
      --dataset toy --seed 0 --results-dir "$out" --quiet --judge "$judge"
  done
  for model in oracle mean-face random-face nearest-voice; do
    bench run --model "$model" --protocol "$judged" --dataset vox1-mini --split validation+test --seed 0 \
      --results-dir "$out" --quiet --judge "$judge"
  done
  for model in oracle mean-face random-face voice-gender nearest-voice; do
    bench run --model "$model" --protocol "$judged" --dataset vox1-s2f --seed 0 --results-dir "$out" --quiet \
      --judge "$judge"
  done
  for model in wen-gan speech2face ar-spm; do
    bench run --model "$model" --model-arg "checkpoint=leaderboards/checkpoints/vox1-s2f/$model.pt" \
      --protocol "$judged" --dataset vox1-s2f --seed 0 --results-dir "$out" --quiet --judge "$judge"
  done
  bench score --faces "$s2f/v2f-exg0.0" --protocol "$judged" --dataset vox1-s2f --split all --results-dir "$out" \
    --quiet --judge "$judge" --name speech2face-released --citation "$c, column V2face_exg0.0 (the model's output)"
  for x in 0.7 1.4; do
    bench score --faces "$s2f/v2f-exg$x" --protocol "$judged" --dataset vox1-s2f --split all --results-dir "$out" \
      --quiet --judge "$judge" --name "speech2face-released-exg$x" \
      --citation "$c, column V2face_exg$x (exaggeration factor $x)"
  done
  bench score --faces "$s2f/face2face" --protocol "$judged" --dataset vox1-s2f --split all --results-dir "$out" \
    --quiet --judge "$judge" --name speech2face-face2face --reference ceiling \
    --citation "$c, column Face2Face (the face decoder on the true face's feature: a ceiling for the method)"
done
# the tables, plots and the web page (leaderboards/page/index.html: issue 23 §3; opens from disk)
bench leaderboard --html leaderboards/page
