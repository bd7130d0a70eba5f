"""dlib's face-recognition ResNet and its 5-point face chips in torch, and ``DlibTorchJudge``.

Three modules, each checked against dlib-bin in ``tests/test_dlib_torch.py``; their public names are re-exported
here (``from benchmark.judges.dlib_torch import DlibTorchJudge``):

1. ``network``: ``DlibResNet``, the network of ``dlib_face_recognition_resnet_model_v1.dat`` (the ``anet_type`` of
   dlib's ``examples/dnn_face_recognition_ex.cpp``) as a torch module, with the weights read by
   ``benchmark.judges.dlib_dat`` and converted once into ``cache_dir()/judges/`` (a ``.pt`` keyed by the
   ``.dat`` file's sha256). It takes uint8 150×150 RGB chips and returns dlib's float32 128-d descriptors.
2. ``chips``: ``face_chip_details`` / ``extract_face_chips``, ``dlib.get_face_chip(img, shape, size=150,
   padding=0.25)`` for a batch of images, on any device (``dlib/image_transforms/interpolation.h``:
   ``get_face_chip_details``, ``chip_details``' constructor, ``extract_image_chips``; ``image_pyramid.h``:
   ``pyramid_down<2>``).
3. ``judge``: ``DlibTorchJudge``, the judge of ``benchmark.judges.dlib_bin.DlibJudge`` (same public surface, same
   preprocessing) with face detection and landmarks on the CPU (dlib HOG + 5-point shape predictor, optionally
   over a process pool), chips cut batched on the device (or by dlib next to the detector on a CPU-only run) and
   embedded in batches on the device.

The conventions kept from dlib, with their sources, are in the docstrings of ``network`` and ``chips``.
"""

from benchmark.judges.dlib_torch.chips import MEAN_FACE_5, ChipDetails, extract_face_chips, face_chip_details
from benchmark.judges.dlib_torch.judge import DlibTorchJudge
from benchmark.judges.dlib_torch.network import (WEIGHTS_FORMAT, DlibResNet, converted_weights_path, dat_to_state_dict,
                                                 default_dat_path, load_dlib_resnet)

__all__ = ["MEAN_FACE_5", "WEIGHTS_FORMAT", "ChipDetails", "DlibResNet", "DlibTorchJudge", "converted_weights_path",
           "dat_to_state_dict", "default_dat_path", "extract_face_chips", "face_chip_details", "load_dlib_resnet"]
