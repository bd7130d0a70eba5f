"""Tasks: the trial rule and the scoring of each family of protocols, one module each.

A task module exposes:

* ``faces_needed(manifest, spec) -> list[Face]``: the real faces the judge must embed;
* ``build(manifest, spec, seed, real: FaceTable) -> Plan``: the seeded, hashed trials and the probe
  utterances to generate for (raise ``ProtocolUnavailable`` with the reason when the dataset cannot
  support the protocol);
* ``score(plan, generated: Generated, real: FaceTable, manifest, spec, device, seed) -> TaskScores``;
* ``NEEDS``: the analyses of generated faces it reads (``{"embedding"}``; ``"attributes"`` for gender/age).

``TASKS`` maps a ``ProtocolSpec.task`` to its module (one explicit registry, loaded lazily).
"""

from __future__ import annotations

import importlib

from benchmark.registry import lookup

TASKS: dict[str, str] = {
    "match-1to2": "benchmark.tasks.matching",
    "match-1ofN": "benchmark.tasks.match_n",
    "id-topk": "benchmark.tasks.identification",
    "retrieval": "benchmark.tasks.retrieval",
    "feature": "benchmark.tasks.feature",
    "gender": "benchmark.tasks.gender",
    "age": "benchmark.tasks.age",
    "consistency": "benchmark.tasks.consistency",
    "detect": "benchmark.tasks.detect",
    "realism": "benchmark.tasks.realism",
}


def get_task(name: str):
    """Import and return the module of task ``name``. Raises BenchError ("did you mean") if unknown."""
    return importlib.import_module(lookup(name, TASKS, "task"))
