"""The generic registry machinery: ``lookup`` in one explicit dict ``name -> "module:factory"`` with a "did you
mean" error (lm-eval's convention), and ``import_object`` for ``"module:attr"`` / ``"path/file.py:attr"``.

Each stage keeps its own table: generators in ``benchmark.generators.registry`` (``MODELS``, ``resolve_model``),
judges in ``benchmark.judges`` (``JUDGES``), tasks in ``benchmark.tasks``, datasets in ``benchmark.data.datasets``.
"""

from __future__ import annotations

import difflib
import importlib
import importlib.util
import sys
from pathlib import Path

from benchmark.errors import BenchError


def did_you_mean(name: str, choices: list[str], kind: str) -> BenchError:
    """The ``BenchError`` for an unknown ``name`` of a ``kind`` ("model", "judge"): up to three close names
    (``difflib.get_close_matches``) and the known ones."""
    close = difflib.get_close_matches(name, choices, n=3)
    hint = f" Did you mean {', '.join(repr(c) for c in close)}?" if close else ""
    return BenchError(f"unknown {kind} {name!r}.{hint} Known: {', '.join(sorted(choices))}.")


def import_object(target: str) -> object:
    """Import ``"module:attr"`` or ``"path/file.py:attr"``.

    Raises:
        BenchError: the module, file or attribute does not exist (the message names it).
    """
    module_name, sep, attr = target.rpartition(":")
    if not sep or not module_name or not attr:
        raise BenchError(f"{target!r} is not of the form 'module:Factory' or 'path/file.py:Factory'.")
    if module_name.endswith(".py"):
        path = Path(module_name)
        if not path.is_file():
            raise BenchError(f"generator file {path} not found.")
        mod_name = f"_v2f_user_{abs(hash(str(path.resolve())))}"
        spec = importlib.util.spec_from_file_location(mod_name, path)
        module = importlib.util.module_from_spec(spec)
        sys.modules[mod_name] = module
        spec.loader.exec_module(module)
    else:
        try:
            module = importlib.import_module(module_name)
        except ModuleNotFoundError as exc:
            raise BenchError(f"cannot import module {module_name!r} for {target!r}: {exc}") from exc
    try:
        return getattr(module, attr)
    except AttributeError:
        raise BenchError(f"{module_name} has no attribute {attr!r} (from {target!r}).") from None


def lookup(name: str, table: dict, kind: str):
    """Return ``table[name]`` or raise a "did you mean" ``BenchError`` naming the kind."""
    if name in table:
        return table[name]
    raise did_you_mean(name, list(table), kind)
