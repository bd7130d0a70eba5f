"""Generators: the adapter every voice-to-face model implements (``benchmark.generators.base``), and the
conformance check that a plug-in must pass before it is scored."""

from benchmark.generators.base import Generator, GeneratorContext, GeneratorMeta, check_faces, utterance_seed

__all__ = ["Generator", "GeneratorContext", "GeneratorMeta", "check_faces", "utterance_seed"]
