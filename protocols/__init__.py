"""Versioned protocol specs. ``PROTOCOLS`` is the one registry: name -> "module:attribute", loaded lazily."""

from __future__ import annotations

from benchmark.registry import import_object, lookup
from protocols.spec import ProtocolSpec

PROTOCOLS: dict[str, str] = {
    "unstratified": "protocols.matching:UNSTRATIFIED",
    "stratified": "protocols.matching:STRATIFIED",
    "match-1ofN": "protocols.match_n:MATCH_1OFN",
    "match-1ofN-stratified": "protocols.match_n:MATCH_1OFN_STRATIFIED",
    "id-topk-seen": "protocols.identification:ID_TOPK_SEEN",
    "id-topk-open": "protocols.identification:ID_TOPK_OPEN",
    "retrieval": "protocols.retrieval:RETRIEVAL",
    "retrieval-sf2f": "protocols.retrieval:RETRIEVAL_SF2F",
    "feature": "protocols.feature:FEATURE",
    "feature-sf2f": "protocols.feature:FEATURE_SF2F",
    "gender": "protocols.attributes:GENDER",
    "age": "protocols.attributes:AGE",
    "consistency": "protocols.consistency:CONSISTENCY",
    "detect": "protocols.detect:DETECT",
    "realism": "protocols.realism:REALISM",
}


def get_protocol(name: str) -> ProtocolSpec:
    """Return the spec registered as ``name``. Raises BenchError ("did you mean") for an unknown name."""
    return import_object(lookup(name, PROTOCOLS, "protocol"))


__all__ = ["PROTOCOLS", "ProtocolSpec", "get_protocol"]
