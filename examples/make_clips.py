"""Make a small Speech2Face-style clip folder from the vox1-mini sample (docs/ADDING_A_DATASET.md, step 1).

Usage: python make_clips.py VOX1_MINI_FOLDER OUT_FOLDER

Each VoxCeleb1 utterance becomes one clip folder OUT/<video>_<n>/ holding speech.wav (a copy) and face.jpg (a
VGGFace1 photo of the speaker, drawn by the clip's number among the photos that are not one flat colour: 13 of the
sample's crops are blank white images, as in the public copy of VGGFace). No speaker id is kept, as in AVSpeech: the
converter treats every clip as its own identity.
"""

import csv
import shutil
import sys
from pathlib import Path

import numpy as np
from PIL import Image

src, out = Path(sys.argv[1]), Path(sys.argv[2])
with open(src / "vox1_meta.csv", encoding="utf-8", newline="") as handle:
    photo_folder = {row["VoxCeleb1 ID"].strip(): row["VGGFace1 ID"].strip()
                    for row in csv.DictReader(handle, delimiter="\t")}
clips = 0
for wav in sorted((src / "voxceleb1" / "wav").rglob("*.wav")):
    speaker, video, number = wav.relative_to(src / "voxceleb1" / "wav").with_suffix("").parts
    photos = [p for p in sorted((src / "vggface" / photo_folder[speaker]).glob("*.jpg"))
              if np.asarray(Image.open(p).convert("RGB"), dtype=np.float64).std(axis=(0, 1)).max() >= 2.0]
    clip = out / f"{video}_{number}"
    clip.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(wav, clip / "speech.wav")
    shutil.copyfile(photos[int(number) % len(photos)], clip / "face.jpg")
    clips += 1
print(f"{clips} clips written to {out}")
