"""Exceptions of the suite. Each message names the offending file or object and the fix."""


class BenchError(Exception):
    """Base class of every error the suite raises on purpose (bad input, missing data, bad output)."""


class DataError(BenchError):
    """A dataset file is missing, unreadable, empty, silent or malformed."""


class GeneratorOutputError(BenchError):
    """A generator returned faces of the wrong shape, dtype, range or count."""


class ProtocolUnavailable(BenchError):
    """A protocol cannot run on a dataset (too few identities, faces or videos); the message says why."""


class GeneratorError(BenchError):
    """A generator cannot be built (its factory raised, an unknown ``--model-arg``, no ``meta``), raised while
    generating, or failed the conformance check; the message names the generator, the utterances and the fix."""
