"""The score phase: one protocol's task metric on its frozen trials, from the judge embeddings of the embed phase.

Scoring reads only what the earlier phases made (``RunPlan``: the trials and the real faces; ``Drawn``: the
generated faces' embeddings, with failed faces already marked) and the run's device and seed; it writes nothing.
"""

from __future__ import annotations

from benchmark.engine.embed import Drawn
from benchmark.engine.plan import RunPlan
from benchmark.log import stage
from benchmark.tasks.base import TaskScores
from protocols import ProtocolSpec


def score_protocol(planned: RunPlan, drawn: Drawn, spec: ProtocolSpec) -> TaskScores:
    """Score protocol ``spec`` (one of ``planned.plans``) with its task (``benchmark.tasks``), on
    ``planned.config.device`` with the bootstrap seeded by ``planned.config.seed``.

    Returns:
        The task's ``TaskScores``: ``scores`` {metric: summary}, ``strata`` {stratum: {metric: summary}}, ``info``.

    Raises:
        KeyError: ``spec`` is not a planned protocol (a skipped one has nothing to score; the caller checks).
    """
    config = planned.config
    stage(f"scoring {spec.name}")
    return planned.setup.tasks[spec.name].score(planned.plans[spec.name], drawn.generated, planned.real,
                                                planned.manifest, spec, config.device, config.seed)
