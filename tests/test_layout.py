"""The layout rules the maintainers enforce (issue 18), checked on the source itself:

- no import cycle between modules of ``benchmark/`` (static: every ``import`` in the module body or inside a
  function or method counts, as both run; imports under ``if TYPE_CHECKING:`` never run and do not count);
- no module of ``benchmark/``, ``baselines/`` or ``protocols/`` over 400 lines (data tables excepted, named below);
- building the ``bench`` parser imports no torch or numpy, so ``bench --help`` answers at once
  (benchmarks/cli_speed.py measures the time).
"""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
MAX_LINES = 400

DATA_TABLES: dict[str, str] = {}
"""Modules allowed over ``MAX_LINES`` because they are data tables, not code: path -> why. None today."""


def module_name(path: Path) -> str:
    """``benchmark/judges/base.py`` -> ``benchmark.judges.base``; a package's ``__init__.py`` -> the package."""
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _type_checking_only(node: ast.If) -> bool:
    test = node.test
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING")


def imported_modules(path: Path, known: set[str]) -> set[str]:
    """The modules of ``known`` that ``path`` imports anywhere (module body, functions, methods; relative imports
    resolved). ``from pkg import name`` imports ``pkg.name`` when that is a module, else ``pkg``."""
    me = module_name(path)
    package = me if path.name == "__init__.py" else me.rpartition(".")[0]
    out: set[str] = set()

    def visit(node: ast.AST) -> None:
        if isinstance(node, ast.If) and _type_checking_only(node):
            for child in node.orelse:
                visit(child)
            return
        if isinstance(node, ast.Import):
            for alias in node.names:
                name = alias.name
                while name and name not in known:
                    name = name.rpartition(".")[0]
                if name:
                    out.add(name)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[:len(base) - (node.level - 1)]
                target = ".".join(base + ([node.module] if node.module else []))
            else:
                target = node.module or ""
            for alias in node.names:
                if f"{target}.{alias.name}" in known:
                    out.add(f"{target}.{alias.name}")
                elif target in known:
                    out.add(target)
        for child in ast.iter_child_nodes(node):
            visit(child)

    visit(ast.parse(path.read_text(encoding="utf-8"), filename=str(path)))
    out.discard(me)
    return out


def import_graph(package: str) -> dict[str, set[str]]:
    """module -> the modules of the same top-level package it imports."""
    files = sorted((ROOT / package).rglob("*.py"))
    known = {module_name(f) for f in files}
    return {module_name(f): imported_modules(f, known) for f in files}


def import_cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components of more than one module (Tarjan), each sorted; every cycle lies in one."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    out: list[list[str]] = []

    def strongconnect(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in sorted(graph.get(v, ())):
            if w not in index:
                strongconnect(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                out.append(sorted(component))

    sys.setrecursionlimit(max(sys.getrecursionlimit(), 10_000))
    for v in sorted(graph):
        if v not in index:
            strongconnect(v)
    return sorted(out)


def describe(cycle: list[str], graph: dict[str, set[str]]) -> str:
    """One cycle's modules and the imports that close it."""
    edges = [f"{a} -> {b}" for a in cycle for b in sorted(graph[a]) if b in cycle]
    return f"{{{', '.join(cycle)}}}: " + "; ".join(edges)


def test_cycle_finder_finds_a_cycle_and_a_function_level_import(tmp_path, monkeypatch):
    """The checker itself: a cycle closed by an import inside a function is found; a TYPE_CHECKING import is not."""
    pkg = tmp_path / "pkg"
    pkg.mkdir()
    (pkg / "__init__.py").write_text("")
    (pkg / "a.py").write_text("from pkg import b\n")
    (pkg / "b.py").write_text("def f():\n    from . import c\n")
    (pkg / "c.py").write_text("import pkg.a\n")
    (pkg / "d.py").write_text("from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from pkg import e\n")
    (pkg / "e.py").write_text("from pkg.d import x\n")
    monkeypatch.setattr(sys.modules[__name__], "ROOT", tmp_path)
    graph = import_graph("pkg")
    assert graph["pkg.b"] == {"pkg.c"}
    assert import_cycles(graph) == [["pkg.a", "pkg.b", "pkg.c"]]


def test_no_import_cycle_in_benchmark():
    graph = import_graph("benchmark")
    assert len(graph) > 50  # the walk found the package
    cycles = import_cycles(graph)
    assert not cycles, "import cycles in benchmark/:\n" + "\n".join(describe(c, graph) for c in cycles)


def long_modules() -> dict[str, int]:
    """Modules of benchmark/, baselines/ and protocols/ over MAX_LINES lines (DATA_TABLES excepted): path -> lines."""
    out = {}
    for package in ("benchmark", "baselines", "protocols"):
        for path in sorted((ROOT / package).rglob("*.py")):
            rel = path.relative_to(ROOT).as_posix()
            lines = len(path.read_text(encoding="utf-8").splitlines())
            if lines > MAX_LINES and rel not in DATA_TABLES:
                out[rel] = lines
    return out


def test_data_table_exceptions_exist():
    for rel, why in DATA_TABLES.items():
        assert (ROOT / rel).is_file() and why, rel


def test_no_module_over_400_lines():
    assert long_modules() == {}


def test_bench_parser_imports_no_torch():
    """Importing benchmark.cli and building every subcommand's parser loads neither torch nor numpy (a fresh
    interpreter: this test session has imported both long ago)."""
    code = ("import sys\n"
            "from benchmark.cli import build_parser\n"
            "parser = build_parser()\n"
            "assert parser.parse_args(['ls', 'models']).command == 'ls'\n"
            "print(' '.join(sorted(m for m in sys.modules if m.split('.')[0] in ('torch', 'numpy'))))\n")
    proc = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True,
                          env={"PATH": "", "PYTHONPATH": str(ROOT), "HOME": str(ROOT)})
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "", f"building the bench parser imported: {proc.stdout.strip()[:300]}"


def test_bench_help_and_argument_errors_answer_without_work():
    """``python -m benchmark.cli`` (the package's __main__) prints help, and an argument error exits 2 naming it."""
    help_out = subprocess.run([sys.executable, "-m", "benchmark.cli", "--help"], cwd=ROOT, capture_output=True,
                              text=True, env={"PATH": "", "PYTHONPATH": str(ROOT), "HOME": str(ROOT)})
    assert help_out.returncode == 0 and "{run,embed,ls,score" in help_out.stdout
    err = subprocess.run([sys.executable, "-m", "benchmark.cli", "run", "--protocol", "stratified"], cwd=ROOT,
                         capture_output=True, text=True, env={"PATH": "", "PYTHONPATH": str(ROOT), "HOME": str(ROOT)})
    assert err.returncode == 2 and "--model" in err.stderr
