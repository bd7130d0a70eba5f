"""The typed result schema: one ``Result`` dataclass for every result file, built, validated, read and written the
same way (lm-eval's and MTEB's result files are typed so; ``benchmark.results.io`` does the file side).

Schema version 1, top-level keys in file order: ``schema_version``, ``suite_version``, ``git_commit``, ``created``,
``protocol`` {name, version, spec, dataset_overrides?}, ``trials`` {sha256, count, probes, path, excluded_identities,
+ the task's plan info}, ``dataset`` {id, manifest_sha256, files, root, partial, summary, excluded_identities,
synthetic, identity, manifest? (a manifest path's run only)}, ``judge`` {id, weights_sha256, preprocess_version,
embedding_dim, library, name, device}, ``generator`` (``GeneratorMeta`` fields + spec, args), ``conformance`` {status,
reason | checks, voices}, ``evaluated_split``, ``seed``, ``device``, ``batch_size``, ``scores`` {metric: ``Summary``},
``strata`` {stratum: {metric: ``Summary``}},
``info`` (the task's conventions and counts, free form), ``inputs`` (faces embedded, excluded, failed),
``timing`` {step: seconds}, ``environment`` (library versions).

Rules:

* **Validated on read and on build.** A field of the wrong type, or a required one missing, gives one
  ``ResultSchemaError`` naming the file and the field (``scores.accuracy.value must be a number, got str 'high'``),
  never a ``KeyError`` from deep inside a reader. Required: ``schema_version``, ``protocol.name``,
  ``protocol.version``, ``trials.sha256``, ``dataset.id``, ``generator.name``, ``scores`` with every summary's
  ``value`` and two-number ``ci95``. Every other field is checked when present: keys added since version 1 was first
  written are optional, so older files stay readable.
* **Nothing is lost.** Keys this code does not know (written by newer code) are kept in each section's ``extra``,
  and the order of the keys as read is kept, so ``read`` then ``write`` gives the file back byte for byte.
* **Same bytes as before.** ``to_dict`` gives today's keys in today's order; ``benchmark.results.io`` writes it as
  2-space indented JSON with a final newline.
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields
from typing import Any, ClassVar

from benchmark.errors import BenchError

SCHEMA_VERSION = 1


class ResultSchemaError(BenchError):
    """A result file (or a result being built) does not follow the schema; the message names the file and field."""


class _Absent:
    """The value of a field the file does not have (unlike ``None``, which the file holds as ``null``)."""

    def __repr__(self) -> str:
        return "ABSENT"

    def __bool__(self) -> bool:
        return False


ABSENT: Any = _Absent()
"""A field not present in the file; ``to_dict`` leaves it out."""

# kinds of values: name -> (test, words for the message)
_KINDS = {
    "str": (lambda v: isinstance(v, str), "a string"),
    "int": (lambda v: isinstance(v, int) and not isinstance(v, bool), "a whole number"),
    "number": (lambda v: isinstance(v, (int, float)) and not isinstance(v, bool), "a number"),
    "bool": (lambda v: isinstance(v, bool), "true or false"),
    "list": (lambda v: isinstance(v, (list, tuple)), "a list"),
    "dict": (lambda v: isinstance(v, dict), "an object"),
    "any": (lambda v: True, "any value"),
}


def _f(kind: str, *, required: bool = False, nullable: bool = False, record: type | None = None,
       nesting: int = 0):
    """A schema field: ``kind`` (``_KINDS``, or "record" with ``record`` — ``nesting`` 1: a ``{key: record}`` map,
    2: ``{key: {key: record}}``), whether it must be present and whether it may be null."""
    return field(default=ABSENT, metadata={"kind": kind, "required": required, "nullable": nullable,
                                           "record": record, "nesting": nesting})


def _describe(value: Any) -> str:
    text = repr(value)
    return f"{type(value).__name__} {text[:40] + '…' if len(text) > 40 else text}"


class Record:
    """Base of every section: typed fields (``_f``), ``extra`` (unknown keys) and ``keys`` (the order as read)."""

    extra: dict
    keys: tuple

    SECTION: ClassVar[str] = ""

    @classmethod
    def _schema(cls):
        return [f for f in fields(cls) if "kind" in f.metadata]

    @classmethod
    def from_dict(cls, data: Any, where: str, source: str):
        """Validate ``data`` (a JSON object) and build the record.

        Args:
            data: the parsed JSON object.
            where: the field path of ``data`` in the file ("" for the top, "scores.accuracy").
            source: the file (or "result being built"), for the message.

        Raises:
            ResultSchemaError: naming ``source`` and the first bad field.
        """
        if not isinstance(data, dict):
            raise _error(source, where or "(top level)", "must be an object", data)
        values, known = {}, set()
        for f in cls._schema():
            known.add(f.name)
            path = f"{where}.{f.name}" if where else f.name
            if f.name not in data:
                if f.metadata["required"]:
                    raise ResultSchemaError(f"result file {source}: field {path!r} is missing. Re-run the "
                                            "result, or restore the file from version control.")
                continue
            values[f.name] = _check(data[f.name], f.metadata, path, source)
        extra = {k: v for k, v in data.items() if k not in known}
        return cls(**values, extra=extra, keys=tuple(data))

    def to_dict(self) -> dict:
        """The JSON object: fields and extra keys in the order read (built records: declared order, then extra)."""
        out: dict = {}
        present = {f.name: getattr(self, f.name) for f in self._schema() if getattr(self, f.name) is not ABSENT}
        order = list(self.keys) + [k for k in list(present) + list(self.extra) if k not in self.keys]
        for key in order:
            if key in present:
                out[key] = _plain(present[key])
            elif key in self.extra:
                out[key] = self.extra[key]
        return out

    def validate(self, source: str = "result being built") -> None:
        """Check the record as it stands (after edits in code), as ``from_dict`` checks a file.

        Raises:
            ResultSchemaError: naming ``source`` and the first bad field.
        """
        type(self).from_dict(self.to_dict(), self.SECTION, source)


def _error(source: str, path: str, rule: str, value: Any) -> ResultSchemaError:
    return ResultSchemaError(f"result file {source}: field {path!r} {rule}, got {_describe(value)}. Re-run the "
                             "result, or restore the file from version control.")


def _check(value: Any, meta: dict, path: str, source: str) -> Any:
    if value is None and meta["nullable"]:
        return None
    kind = meta["kind"]
    if kind == "record":
        return _nested(value, meta["record"], meta["nesting"], path, source)
    test, words = _KINDS[kind]
    if not test(value):
        raise _error(source, path, f"must be {words}" + (" or null" if meta["nullable"] else ""), value)
    return value


def _nested(value: Any, record: type, nesting: int, path: str, source: str) -> Any:
    if nesting == 0:
        return record.from_dict(value, path, source)
    if not isinstance(value, dict):
        raise _error(source, path, "must be an object", value)
    return {key: _nested(item, record, nesting - 1, f"{path}.{key}", source) for key, item in value.items()}


def _plain(value: Any) -> Any:
    if isinstance(value, Record):
        return value.to_dict()
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    return value


@dataclass
class Summary(Record):
    """One metric's aggregate (``benchmark.metrics.aggregate.summarize``): ``value`` and ``ci95`` [low, high] (the
    percentile bootstrap over identities), ``n`` trials, ``n_identities``, the ``bootstrap`` used, and a ``flag``
    when the interval cannot be trusted; two-way bootstraps add ``n_imposter_identities``, ``n_resampled`` and
    ``dropped_replicates``, set metrics ``n_real``; trial means add ``value_identity_weighted`` and
    ``ci95_identity_weighted`` (every speaker counted once, beside the utterance-weighted headline ``value``); a protocol's ranked metric keeps its bootstrap ``replicates``
    (``benchmark.metrics.paired.encode_replicates``: ``{"encoding", "n", "seed", "identities_sha256", "data"}``) for
    paired comparisons."""

    SECTION: ClassVar[str] = "scores.<metric>"
    value: float = _f("number", required=True)
    ci95: list = _f("list", required=True)
    n: int = _f("int")
    n_real: int = _f("int")
    n_identities: int = _f("int")
    bootstrap: str = _f("str")
    n_imposter_identities: int = _f("int")
    n_resampled: int = _f("int")
    dropped_replicates: int = _f("int")
    value_identity_weighted: float = _f("number")
    ci95_identity_weighted: list = _f("list")
    flag: str = _f("str")
    replicates: dict = _f("dict")
    extra: dict = field(default_factory=dict)
    keys: tuple = ()

    @classmethod
    def from_dict(cls, data: Any, where: str, source: str) -> "Summary":
        summary = super().from_dict(data, where, source)
        ci = summary.ci95
        if len(ci) != 2 or not all(_KINDS["number"][0](x) for x in ci):
            raise _error(source, f"{where}.ci95", "must be two numbers [low, high]", ci)
        return summary


@dataclass
class ProtocolRecord(Record):
    """The protocol scored: name, version, its spec as scored, and the fields the dataset fixed."""

    SECTION: ClassVar[str] = "protocol"
    name: str = _f("str", required=True)
    version: int = _f("int", required=True)
    spec: dict = _f("dict")
    dataset_overrides: dict = _f("dict")
    extra: dict = field(default_factory=dict)
    keys: tuple = ()


@dataclass
class TrialsRecord(Record):
    """The frozen trials: sha256 of their canonical form, counts, the cache path; the task's plan info in ``extra``."""

    SECTION: ClassVar[str] = "trials"
    sha256: str = _f("str", required=True)
    count: int = _f("int")
    probes: int = _f("int")
    path: str = _f("str", nullable=True)
    excluded_identities: list = _f("list")
    extra: dict = field(default_factory=dict)
    keys: tuple = ()


@dataclass
class DatasetRecord(Record):
    """The dataset's identity: id, manifest sha256, files fingerprint, where it was read from, what it lacks."""

    SECTION: ClassVar[str] = "dataset"
    id: str = _f("str", required=True)
    manifest_sha256: str = _f("str")
    files: dict = _f("dict", nullable=True)
    root: str = _f("str")
    partial: dict = _f("dict", nullable=True)
    summary: dict = _f("dict")
    excluded_identities: list = _f("list")
    synthetic: bool = _f("bool")
    extra: dict = field(default_factory=dict)
    keys: tuple = ()


@dataclass
class JudgeRecord(Record):
    """The judge: ``benchmark.judges.base.JudgeInfo`` fields, its registry ``name`` and ``device``."""

    SECTION: ClassVar[str] = "judge"
    id: str = _f("str")
    weights_sha256: str = _f("str", nullable=True)
    preprocess_version: str = _f("str")
    embedding_dim: int = _f("int")
    library: str = _f("str")
    name: str = _f("str")
    device: str = _f("str")
    extra: dict = field(default_factory=dict)
    keys: tuple = ()


@dataclass
class GeneratorRecord(Record):
    """The generator: ``benchmark.generators.base.GeneratorMeta`` fields, its ``spec`` and factory ``args``."""

    SECTION: ClassVar[str] = "generator"
    name: str = _f("str", required=True)
    revision: str = _f("str")
    weights_sha256: str = _f("str", nullable=True)
    image_size: int = _f("int", nullable=True)
    training_datasets: list = _f("list")
    citation: str = _f("str")
    reference: str = _f("str")
    trained_against_judge: bool = _f("bool")
    notes: str = _f("str")
    holdout_rule: str = _f("str")
    spec: str = _f("str")
    args: dict = _f("dict")
    extra: dict = field(default_factory=dict)
    keys: tuple = ()


@dataclass
class ConformanceRecord(Record):
    """The plug-in conformance gate's record (``benchmark.generators.build.conformance_gate``)."""

    SECTION: ClassVar[str] = "conformance"
    status: str = _f("str", required=True)
    reason: str = _f("str")
    checks: list = _f("list")
    voices: int = _f("int")
    extra: dict = field(default_factory=dict)
    keys: tuple = ()


@dataclass
class InputsRecord(Record):
    """What went into the scores: real faces embedded for the run and for this protocol, excluded (small, blank),
    detected or centre-box fallback; generated faces, detected, fallback, failed (blank or missing) and their size."""

    SECTION: ClassVar[str] = "inputs"
    real_faces_embedded: int = _f("int")
    real_faces_scope: list = _f("list")
    real_faces_this_protocol: int = _f("int")
    real_faces_small_excluded: int = _f("int")
    real_faces_small_ids: list = _f("list")
    real_faces_blank_excluded: int = _f("int")
    real_faces_blank_ids: list = _f("list")
    real_faces_detected: int = _f("int")
    real_faces_fallback_box: int = _f("int")
    generated_faces: int = _f("int")
    generated_detected: int = _f("int")
    generated_fallback_box: int = _f("int")
    generated_failed_blank: int = _f("int")
    generated_failed_ids: list = _f("list")
    generated_image_size: list = _f("list")
    extra: dict = field(default_factory=dict)
    keys: tuple = ()


@dataclass
class EnvironmentRecord(Record):
    """Library versions of the run (``benchmark.results.io.environment``); ``dlib`` / ``cuda`` null when absent."""

    SECTION: ClassVar[str] = "environment"
    python: str = _f("str")
    platform: str = _f("str")
    torch: str = _f("str")
    numpy: str = _f("str")
    dlib: str = _f("str", nullable=True)
    cuda: str = _f("str", nullable=True)
    extra: dict = field(default_factory=dict)
    keys: tuple = ()


@dataclass
class Result(Record):
    """One result file (module docstring): typed sections, ``scores`` and ``strata`` of ``Summary``.

    Build one with ``Result.from_dict(data, "", source)`` (what the engine's record phase does, and what
    ``benchmark.results.io.load_result`` does with a file); ``to_dict()`` gives the JSON object back.
    """

    SECTION: ClassVar[str] = ""
    schema_version: int = _f("int", required=True)
    suite_version: str = _f("str")
    git_commit: str = _f("str")
    created: str = _f("str")
    protocol: ProtocolRecord = _f("record", required=True, record=ProtocolRecord)
    trials: TrialsRecord = _f("record", required=True, record=TrialsRecord)
    dataset: DatasetRecord = _f("record", required=True, record=DatasetRecord)
    judge: JudgeRecord = _f("record", record=JudgeRecord)
    generator: GeneratorRecord = _f("record", required=True, record=GeneratorRecord)
    conformance: ConformanceRecord = _f("record", nullable=True, record=ConformanceRecord)
    evaluated_split: str = _f("str")
    seed: int = _f("int")
    device: str = _f("str")
    batch_size: int = _f("int")
    scores: dict = _f("record", required=True, record=Summary, nesting=1)
    strata: dict = _f("record", record=Summary, nesting=2)
    info: dict = _f("dict")
    inputs: InputsRecord = _f("record", record=InputsRecord)
    timing: dict = _f("dict")
    environment: EnvironmentRecord = _f("record", record=EnvironmentRecord)
    extra: dict = field(default_factory=dict)
    keys: tuple = ()

    @classmethod
    def from_dict(cls, data: Any, where: str = "", source: str = "result being built") -> "Result":
        """Validate a result's JSON object and build the ``Result`` (``Record.from_dict``); also checks the
        schema version and that timing values are numbers.

        Raises:
            ResultSchemaError: naming ``source`` and the first bad field, or an unknown ``schema_version``.
        """
        if isinstance(data, dict) and "schema_version" in data and data["schema_version"] != SCHEMA_VERSION:
            raise ResultSchemaError(f"result file {source} has schema_version {data['schema_version']!r}; this "
                                    f"suite reads {SCHEMA_VERSION}. Re-run it with this version.")
        result = super().from_dict(data, where, source)
        for key, seconds in (result.timing or {}).items():
            if not _KINDS["number"][0](seconds):
                raise _error(source, f"timing.{key}", "must be a number of seconds", seconds)
        return result

    def all_summaries(self) -> list[tuple[str, str, Summary]]:
        """``(stratum, metric, Summary)`` for the overall scores ("all") and then every stratum, in file order."""
        out = [("all", metric, s) for metric, s in self.scores.items()]
        for stratum, scores in (self.strata or {}).items():
            out += [(stratum, metric, s) for metric, s in scores.items()]
        return out
