"""The committed results are written only from a clean checkout (benchmark.results.provenance, issue 20 §6)."""

import shutil
import subprocess

import pytest

from benchmark.errors import BenchError
from benchmark.results import provenance
from benchmark.results.provenance import code_changes, in_store, require_clean_tree

pytestmark = pytest.mark.skipif(shutil.which("git") is None, reason="git is not installed")


def git(root, *args):
    subprocess.run(["git", *args], cwd=root, check=True, capture_output=True)


@pytest.fixture
def checkout(tmp_path):
    """A small committed checkout: code, the results store with one result, a generated table, an ignored folder."""
    root = tmp_path / "suite"
    (root / "benchmark").mkdir(parents=True)
    (root / "benchmark" / "x.py").write_text("A = 1\n")
    (root / "leaderboards" / "results" / "toy").mkdir(parents=True)
    (root / "leaderboards" / "results" / "toy" / "r.json").write_text("{}\n")
    (root / "leaderboards" / "README.md").write_text("table\n")
    (root / ".gitignore").write_text("/results/\n")
    git(root, "init", "-q")
    git(root, "add", ".")
    git(root, "-c", "user.email=t@t", "-c", "user.name=t", "commit", "-q", "-m", "init")
    return root.resolve()


def test_a_clean_checkout_may_write_into_the_store(checkout):
    assert code_changes(checkout) == []
    require_clean_tree(checkout / "leaderboards" / "results", checkout)
    require_clean_tree(checkout / "leaderboards" / "results" / "toy" / "new.json", checkout)  # --out


@pytest.mark.parametrize("change", ["edit", "untracked", "delete"])
def test_a_changed_checkout_may_not(checkout, change):
    if change == "edit":
        (checkout / "benchmark" / "x.py").write_text("A = 2\n")
    elif change == "untracked":
        (checkout / "benchmark" / "plugin.py").write_text("B = 1\n")
    else:
        (checkout / "benchmark" / "x.py").unlink()
    with pytest.raises(BenchError, match=r"refusing to write into .*leaderboards/results.*benchmark/.*Commit or stash"):
        require_clean_tree(checkout / "leaderboards" / "results", checkout)
    require_clean_tree(checkout / "results", checkout)  # a working folder: allowed (the result says -dirty)


def test_results_and_tables_being_regenerated_do_not_make_the_tree_dirty(checkout):
    """regenerate.sh removes and rewrites the store and the tables result by result from one clean commit."""
    (checkout / "leaderboards" / "results" / "toy" / "r.json").write_text('{"new": 1}\n')
    (checkout / "leaderboards" / "results" / "toy" / "s.json").write_text("{}\n")
    (checkout / "leaderboards" / "README.md").write_text("new table\n")
    (checkout / "results").mkdir()
    (checkout / "results" / "ignored.json").write_text("{}\n")
    assert code_changes(checkout) == []
    require_clean_tree(checkout / "leaderboards" / "results", checkout)


def test_in_store_follows_the_real_path(checkout, tmp_path):
    link = tmp_path / "link"
    link.symlink_to(checkout / "leaderboards")
    assert in_store(link / "results", checkout)
    assert in_store(checkout / "leaderboards" / "results" / ".." / "results" / "toy", checkout)
    assert not in_store(checkout / "leaderboards", checkout)
    assert not in_store(tmp_path / "elsewhere" / "leaderboards" / "results", checkout)


def test_bench_run_refuses_before_any_work(checkout, monkeypatch):
    """The one call site: ``benchmark.engine.preflight.check_outputs``, which run_many and bench score call first."""
    from benchmark.engine.run import run_many

    (checkout / "benchmark" / "x.py").write_text("A = 2\n")
    monkeypatch.setattr(provenance, "checkout_root", lambda: checkout)
    monkeypatch.setattr("benchmark.engine.plan.load_dataset",
                        lambda *a, **k: pytest.fail("the dataset was loaded before the refusal"))
    with pytest.raises(BenchError, match="uncommitted changes"):
        run_many("mean-face", ["stratified"], "toy", results_dir=checkout / "leaderboards" / "results",
                 progress=False)
