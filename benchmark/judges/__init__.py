"""Judges, one file each: the fixed pretrained face models that score every generator alike.

The interface is ``benchmark.judges.base`` (``JudgeInfo``, ``Embeddings``, the ``Judge`` Protocol). Judges are
made by name with ``make_judge`` from one explicit registry, ``JUDGES`` (name -> "module:Class", imported
lazily), as generators are (``benchmark.registry``); outside packages add judges through the entry-point group
``voice2face_bench.judges`` (``name = "package.module:Class"``). A wrong name gets a "did you mean" error.

- ``dlib-torch`` (the default since issue 22, ``benchmark.judges.dlib_torch.DlibTorchJudge``, id
  "dlib-torch-resnet-v1"): dlib's face-recognition ResNet in torch (weights read by ``benchmark.judges.dlib_dat``),
  chips and embeddings batched on any device.
- ``dlib`` (``benchmark.judges.dlib_bin.DlibJudge``, id "dlib-resnet-v1"): the same network run by dlib-bin on the
  CPU, the reference dlib-torch is checked against (tests/test_dlib_torch.py); the default until issue 22.
- ``sface`` (``benchmark.judges.sface.SFaceJudge``, id "sface-2021dec"): OpenCV Zoo's SFace with YuNet.
- ``facenet`` / ``facenet-128`` (``benchmark.judges.facenet.FaceNetJudge``, id "facenet-vggface2-20180402"): SF2F's
  evaluator, FaceNet with facenet-pytorch's VGGFace2 weights (a file the user provides) at 64 / 128 px.

Every judge class takes the keyword arguments ``cache`` (``benchmark.judges.cache.EmbeddingCache`` or None),
``device`` (str) and ``batch_size`` (int, or None for its default).
"""

from __future__ import annotations

from dataclasses import dataclass
from importlib.metadata import entry_points
from typing import TYPE_CHECKING

from benchmark.errors import BenchError

if TYPE_CHECKING:
    from benchmark.judges.base import Embeddings, Judge, JudgeInfo

__all__ = ["DEFAULT_JUDGE", "ENTRY_POINT_GROUP", "LEGACY_JUDGE_ID", "JUDGES", "Embeddings", "Judge", "JudgeInfo",
           "JudgeStatus", "judge_class", "judge_name_of", "judge_names", "judge_status", "make_judge"]

JUDGES: dict[str, str] = {
    "dlib": "benchmark.judges.dlib_bin:DlibJudge",
    "dlib-torch": "benchmark.judges.dlib_torch:DlibTorchJudge",
    "sface": "benchmark.judges.sface:SFaceJudge",
    # SF2F's evaluator (FaceNet, facenet-pytorch's VGGFace2 weights): unavailable until the weights file is present
    # (``python -m benchmark.judges.facenet_weights`` or $VOICE2FACE_FACENET_WEIGHTS; benchmark/judges/facenet.py)
    "facenet": "benchmark.judges.facenet:FaceNetJudge",
    "facenet-128": "benchmark.judges.facenet:FaceNet128Judge",
    # a hook, not a face judge: a user-supplied, sha256-checked TorchScript Inception file (FID/KID in Inception's
    # space for the realism protocol); unavailable until $VOICE2FACE_INCEPTION_PT and _SHA256 are set
    "inception": "benchmark.judges.inception:InceptionJudge",
}
"""Built-in judges: registry name -> "module:Class"."""

DEFAULT_JUDGE = "dlib-torch"
"""The judge a run uses unless told otherwise (issue 22: dlib's network in torch, batched on any device; ``dlib``,
dlib-bin, was the default before). Its results are written without a judge suffix
(``benchmark.engine.run.default_result_path``); every other judge's, ``dlib``'s included, with ``-judge-<name>``."""

LEGACY_JUDGE_ID = "dlib-resnet-v1"
"""``info.id`` of ``dlib`` (``DlibJudge.name``): results written before the registry recorded a judge's name record
only this id, and all of them were scored by ``dlib`` (``judge_name_of``)."""

ENTRY_POINT_GROUP = "voice2face_bench.judges"

_INTERFACE = ("Embeddings", "Judge", "JudgeInfo")


def __getattr__(name: str):
    """``Embeddings``, ``Judge`` and ``JudgeInfo`` of ``benchmark.judges.base``, imported on first use (PEP 562):
    the registry's names (``DEFAULT_JUDGE``, ``judge_names``) stay free of numpy, so ``bench --help`` is fast."""
    if name in _INTERFACE:
        from benchmark.judges import base

        return getattr(base, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def _table() -> dict[str, str]:
    """Registered judges plus those of installed entry points (a built-in name wins)."""
    table = {ep.name: ep.value for ep in entry_points(group=ENTRY_POINT_GROUP)}
    table.update(JUDGES)
    return table


def judge_names() -> list[str]:
    """Registry names of every judge (built-in and entry points), sorted."""
    return sorted(_table())


def judge_class(name: str) -> type:
    """The class of a judge, imported on demand.

    Raises:
        BenchError: an unknown name ("did you mean"), or a judge whose module cannot be imported (the message
            names the judge, the module and the missing piece).
    """
    from benchmark.registry import import_object, lookup

    target = lookup(name, _table(), "judge")
    try:
        return import_object(target)
    except (BenchError, ImportError) as exc:
        raise BenchError(f"judge {name!r} is not available: {exc}. "
                         'Fix: `pip install -e ".[dev]"` installs every built-in judge.') from None


def make_judge(name: str, *, cache=None, device: str = "cpu", batch_size: int | None = None) -> Judge:
    """Make a judge by registry name.

    Args:
        name: a name of ``judge_names()`` (``bench ls judges``), e.g. "dlib".
        cache: a ``benchmark.judges.cache.EmbeddingCache`` to read and fill, or None to keep nothing.
        device: torch device string for the judge ("cpu", "cuda", "cuda:1"); a CPU-only judge refuses others.
        batch_size: images per batch of the judge's network, or None for the judge's own default; embeddings
            never depend on it.

    Returns:
        The judge (``isinstance(judge, benchmark.judges.Judge)``); call ``close()`` when done.

    Raises:
        BenchError: unknown name (with suggestions), a judge that cannot be imported or built (missing package,
            a model file with the wrong sha256, a device it cannot use), or a class that is not a ``Judge``.
    """
    from benchmark.judges.base import Judge, JudgeInfo

    cls = judge_class(name)
    try:
        judge = cls(cache=cache, device=device, batch_size=batch_size)
    except ImportError as exc:
        raise BenchError(f"judge {name!r} cannot be built: {exc}") from None
    if not isinstance(judge, Judge) or not isinstance(getattr(judge, "info", None), JudgeInfo):
        raise BenchError(f"judge {name!r} ({_table()[name]}) does not implement benchmark.judges.base.Judge "
                         "(an `info: JudgeInfo`, `embed(images, progress)` and `close()`).")
    return judge


def judge_name_of(judge: dict) -> str:
    """The registry name of the judge a result records (``result["judge"]``).

    Results record ``name`` since judges became plug-ins; a result without it predates them and was scored by
    ``dlib`` (dlib-bin, the default then), whose id it holds (``LEGACY_JUDGE_ID``). Any other id without a name is
    returned as is (``make_judge`` will then refuse it with a "did you mean").
    """
    if judge.get("name"):
        return str(judge["name"])
    return "dlib" if judge.get("id") == LEGACY_JUDGE_ID else str(judge.get("id", ""))


@dataclass(frozen=True)
class JudgeStatus:
    """One judge as ``bench ls judges`` lists it: its info when it can be built here, else why not."""

    name: str
    target: str
    info: JudgeInfo | None
    reason: str = ""


def judge_status(name: str) -> JudgeStatus:
    """Try to build a judge (on the CPU, without a cache) and report what it is or why it is unavailable.

    Raises:
        BenchError: an unknown name (with suggestions).
    """
    target = _table().get(name)
    if target is None:
        from benchmark.registry import lookup

        lookup(name, _table(), "judge")
    try:
        judge = make_judge(name)
    except Exception as exc:  # noqa: BLE001 - a listing reports a broken judge instead of failing on it
        return JudgeStatus(name, target, None, str(exc) if isinstance(exc, BenchError) else
                           f"{type(exc).__name__}: {exc}")
    try:
        return JudgeStatus(name, target, judge.info)
    finally:
        judge.close()
