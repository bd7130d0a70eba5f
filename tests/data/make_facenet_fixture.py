"""Make ``facenet_vggface2_keys.json`` and ``facenet_reference.npz`` from facenet-pytorch's own module (not a test).

facenet-pytorch 2.6.0 pins torch < 2.3, so it is never installed next to this suite; its pure-torch
``models/inception_resnet_v1.py`` is imported from the unpacked wheel:

    pip download --no-deps facenet-pytorch==2.6.0 -d /tmp/fnp && unzip -q /tmp/fnp/*.whl -d /tmp/fnp/x
    PYTHONPATH=. python tests/data/make_facenet_fixture.py /tmp/fnp/x

It writes (1) the key names, shapes and dtypes of ``InceptionResnetV1(pretrained="vggface2")``'s state dict (a
model made with ``classify=True, num_classes=8631``: the same modules, ``logits`` included, without the download)
and (2) that module's embeddings of ``tests.facenet_fixture.seeded_inputs()`` with
``tests.facenet_fixture.seeded_state_dict()`` loaded (strict), in eval mode.
"""

from __future__ import annotations

import importlib.util
import json
import sys
import types
from pathlib import Path

import numpy as np
import torch

HERE = Path(__file__).parent


def facenet_pytorch_module(root: Path):
    """facenet-pytorch's ``models/inception_resnet_v1.py`` from an unpacked wheel, without its package ``__init__``
    (which imports MTCNN and torchvision)."""
    pkg = root / "facenet_pytorch"
    for name, path in (("facenet_pytorch", pkg), ("facenet_pytorch.models", pkg / "models"),
                       ("facenet_pytorch.models.utils", pkg / "models" / "utils")):
        mod = types.ModuleType(name)
        mod.__path__ = [str(path)]
        sys.modules[name] = mod
    spec = importlib.util.spec_from_file_location("facenet_pytorch.models.inception_resnet_v1",
                                                  pkg / "models" / "inception_resnet_v1.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


def main(root: str) -> None:
    sys.path.insert(0, str(HERE.parents[1]))
    from tests.facenet_fixture import KEYS_FILE, REFERENCE_FILE, seeded_inputs, seeded_state_dict

    irv1 = facenet_pytorch_module(Path(root))
    model = irv1.InceptionResnetV1(classify=True, num_classes=8631).eval()
    layout = [[k, list(v.shape), str(v.dtype)] for k, v in model.state_dict().items()]
    source = "facenet-pytorch 2.6.0, models/inception_resnet_v1.py, InceptionResnetV1(pretrained='vggface2') state dict"
    rows = ",\n".join(json.dumps(row) for row in layout)  # one key per line
    KEYS_FILE.write_text(f'{{"source": {json.dumps(source)},\n"keys": [\n{rows}\n]}}\n')
    model.load_state_dict(seeded_state_dict(), strict=True)
    model.classify = False
    with torch.no_grad():
        out = model(seeded_inputs()).numpy()
    np.savez_compressed(REFERENCE_FILE, embeddings=out.astype(np.float32))
    print(f"{len(layout)} keys -> {KEYS_FILE}; embeddings {out.shape} -> {REFERENCE_FILE}")


if __name__ == "__main__":
    main(sys.argv[1])
