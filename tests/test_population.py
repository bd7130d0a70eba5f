"""One population per table (issue 20 §2): on vox1-s2f the oracle is scored only on speakers with two or more
faces; `bench run --two-face-speakers` scores any generator on that same population (same trials as the oracle),
and the leaderboard tables those rows apart from the whole split, with the oracle."""

import pytest

from benchmark.engine.config import default_result_path
from benchmark.engine.run import run_many
from benchmark.reports.leaderboard import build_tables
from benchmark.reports.tables import TWO_FACE, population_of


def test_result_path_of_a_two_face_run_does_not_overwrite_the_whole_split(tmp_path):
    whole = default_result_path(tmp_path, "vox1-s2f", "random-face", "stratified", 0)
    two = default_result_path(tmp_path, "vox1-s2f", "random-face", "stratified", 0, two_face_speakers=True)
    assert whole != two and two.name == "stratified-seed0-two-face-speakers.json"


@pytest.mark.slow
def test_a_generator_on_the_oracles_population_shares_its_trials_and_its_table(vox1_s2f):
    kw = dict(data_root=vox1_s2f, progress=False, write=False)
    [oracle] = run_many("oracle", ["stratified"], "vox1-s2f", **kw)
    [whole] = run_many("random-face", ["stratified"], "vox1-s2f", **kw)
    [two] = run_many("random-face", ["stratified"], "vox1-s2f", two_face_speakers=True, **kw)
    assert two["trials"]["sha256"] == oracle["trials"]["sha256"] != whole["trials"]["sha256"]
    assert population_of(two) == population_of(oracle) == TWO_FACE and population_of(whole) == ""
    tables = build_tables([("o.json", oracle), ("w.json", whole), ("t.json", two)])
    by_population = {t.population: sorted(r.generator for r in t.rows if r.kind == "measured") for t in tables}
    assert by_population == {"": ["random-face"], TWO_FACE: ["oracle", "random-face"]}
