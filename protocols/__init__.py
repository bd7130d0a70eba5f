"""Versioned protocol specs. ``PROTOCOLS`` is the one registry: name -> "module:attribute", loaded lazily."""

from __future__ import annotations

from benchmark.registry import import_object, lookup
from protocols.spec import ProtocolSpec

PROTOCOLS: dict[str, str] = {
    "unstratified": "protocols.matching:UNSTRATIFIED",
    "stratified": "protocols.matching:STRATIFIED",
}


def get_protocol(name: str) -> ProtocolSpec:
    """Return the spec registered as ``name``. Raises BenchError ("did you mean") for an unknown name."""
    return import_object(lookup(name, PROTOCOLS, "protocol"))


__all__ = ["PROTOCOLS", "ProtocolSpec", "get_protocol"]
