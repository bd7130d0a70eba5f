"""Stage lines: one short line per stage of a run (loading, embedding, generating, scoring, writing).

The engine reports stages through the standard ``logging`` logger ``voice2face_bench`` at INFO level; the
``bench`` command prints them on stderr (``install_stderr_handler``), with or without ``--quiet``, so a long
first run is never silent. A program using the API sees them only if it configures logging.
"""

from __future__ import annotations

import logging
import sys

LOGGER = logging.getLogger("voice2face_bench")


def stage(message: str) -> None:
    """Report the start (or outcome) of one stage of a run, e.g. ``"embedding 93 real faces"``."""
    LOGGER.info(message)


class _StderrHandler(logging.Handler):
    """Writes ``bench: <message>`` to whatever ``sys.stderr`` is at the time (so captured streams work)."""

    def emit(self, record: logging.LogRecord) -> None:
        try:
            print(f"bench: {record.getMessage()}", file=sys.stderr, flush=True)
        except Exception:  # pragma: no cover - never let a log line break a run
            self.handleError(record)


def install_stderr_handler() -> None:
    """Print stage lines on stderr (idempotent); used by ``benchmark.cli.main``."""
    if not any(isinstance(h, _StderrHandler) for h in LOGGER.handlers):
        LOGGER.addHandler(_StderrHandler())
    LOGGER.setLevel(logging.INFO)
    LOGGER.propagate = False
