"""Converters: write a dataset manifest (``benchmark.data.manifest_io``) from one of the field's layouts.

One explicit registry ``layout -> "module:function"``, loaded lazily; each function has the signature
``convert(src: Path, out: Path, name: str | None = None, **options) -> Path`` (the written ``manifest.json``) and
documents its layout and split rule. ``bench dataset convert LAYOUT SRC --out DIR`` calls them.
"""

from __future__ import annotations

from benchmark.registry import import_object, lookup

CONVERTERS: dict[str, str] = {
    "vox1": "benchmark.data.converters.vox1:convert_vox1",
    "vox1-s2f": "benchmark.data.converters.vox1:convert_vox1_s2f",
    "hq-voxceleb": "benchmark.data.converters.hq_voxceleb:convert_hq_voxceleb",
    "clips": "benchmark.data.converters.clips:convert_clips",
    "vox2": "benchmark.data.converters.vox2:convert_vox2",
}
"""Layout name -> converter (``bench dataset convert --help`` lists them)."""

LAYOUTS: dict[str, str] = {
    "vox1": "VoxCeleb1 + VGGFace1 (vox1_meta.csv, voxceleb1/wav, vggface/); Wen et al. 2019's name split",
    "vox1-s2f": "the vox1-s2f sample (VoxCeleb1 clips with a face crop of each clip); Wen et al. 2019's name split",
    "hq-voxceleb": "HQ-VoxCeleb faces + VoxCeleb1/2 voices (SF2F's layout); SF2F's row-order split (8 train : 1 : 1)",
    "clips": "Speech2Face / AVSpeech-style clip folders, one identity per clip; split by a hash of the clip id",
    "vox2": "VoxCeleb2 (vox2_meta.csv, aac/<id>/<video>/<n>.m4a, faces); split by the metadata's Set (dev/test)",
}


def converter(layout: str):
    """The converter function of ``layout``.

    Raises:
        BenchError: an unknown layout ("did you mean").
    """
    return import_object(lookup(layout, CONVERTERS, "dataset layout"))
