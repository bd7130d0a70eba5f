"""Issue 8 §3: Wen et al.'s split is three-way (F–Z train, A–B validation, C–E test: Table 1's 924/112/189);
protocols score "test" by default, another split is an explicit, recorded choice shown on the leaderboard."""

from __future__ import annotations

import copy

import pytest

from benchmark.data.manifest import parse_split, split_name, wen_split
from benchmark.errors import BenchError, ProtocolUnavailable
from conftest import MINI_SPLIT


@pytest.mark.parametrize("name, split", [("A.J._Buckley", "validation"), ("brian_Dennehy", "validation"),
                                         ("Caitriona_Balfe", "test"), ("Debi_Mazar", "test"),
                                         ("Edward_Asner", "test"), ("Fred_Williamson", "train"), ("Zoe", "train")])
def test_wen_three_way_rule(name, split):
    assert wen_split(name) == split


def test_split_expressions():
    assert parse_split("test") == ("test",)
    assert parse_split("test+validation") == ("validation", "test")
    assert parse_split("all") == ("train", "validation", "test")
    assert split_name("test+validation") == "validation+test" and split_name("train+validation+test") == "all"
    with pytest.raises(BenchError, match="unknown split 'dev'"):
        parse_split("dev")


@pytest.mark.realdata
def test_vox1_mini_split_counts(vox1_mini):
    from benchmark.data.datasets import load_dataset

    mini = load_dataset("vox1-mini", data_root=vox1_mini)
    summary = mini.summary()
    assert [summary[s]["identities"] for s in ("train", "validation", "test")] == [1, 2, 3]
    assert sorted(i.gender for i in mini.split("test")) == ["f", "f", "m"]
    assert {i.name for i in mini.split(MINI_SPLIT)} == {"A.J._Buckley", "Brian_Dennehy", "Caitriona_Balfe",
                                                       "Debi_Mazar", "Edward_Asner"}


@pytest.mark.realdata
def test_default_scores_test_and_another_split_is_recorded(vox1_mini):
    from benchmark.engine.run import run

    default = run("mean-face", "unstratified", "vox1-mini", data_root=vox1_mini, progress=False, write=False)
    assert default["evaluated_split"] == "test" and default["protocol"]["spec"]["probe_split"] == "test"
    assert default["scores"]["accuracy"]["n_identities"] == 3  # Caitriona_Balfe, Debi_Mazar, Edward_Asner
    both = run("mean-face", "unstratified", "vox1-mini", data_root=vox1_mini, split=MINI_SPLIT, progress=False,
               write=False)
    assert both["evaluated_split"] == MINI_SPLIT and both["scores"]["accuracy"]["n_identities"] == 5
    assert both["trials"]["sha256"] != default["trials"]["sha256"]


@pytest.mark.realdata
def test_a_split_with_training_identities_is_refused_for_a_generator_trained_on_it(vox1_mini):
    from benchmark.engine.run import run

    with pytest.raises(ProtocolUnavailable, match="own training identities"):
        run("mean-face", "unstratified", "vox1-mini", data_root=vox1_mini, split="all", progress=False, write=False)


def test_id_topk_seen_keeps_its_own_split():
    from benchmark.engine.plan import evaluated_spec
    from protocols import get_protocol

    seen = get_protocol("id-topk-seen")  # its probes are the training speakers' held-out videos, whatever --split
    assert evaluated_spec(seen, None) is seen and evaluated_spec(seen, "validation") is seen
    open_ = evaluated_spec(get_protocol("id-topk-open"), "validation+test")
    assert open_.probe_split == open_.reference_split == "validation+test"


def _result(split: str, generator: str, value: float) -> dict:
    from protocols import get_protocol

    spec = get_protocol("unstratified").to_dict()
    spec["probe_split"] = split
    return {"dataset": {"id": "vox1-mini", "synthetic": False}, "evaluated_split": split, "seed": 0,
            "protocol": {"name": "unstratified", "version": spec["version"], "spec": spec},
            "generator": {"name": generator}, "judge": {"id": "dlib-torch-resnet-v1", "name": "dlib-torch", "weights_sha256": "0" * 64},
            "trials": {"sha256": split}, "created": "2026-01-01",
            "scores": {"accuracy": {"value": value, "ci95": [value - 0.1, value + 0.1], "n": 10,
                                    "n_identities": 3}}}


def test_leaderboard_never_ranks_rows_of_different_splits_together():
    from benchmark.reports.leaderboard import build_tables, markdown_table

    results = [("a.json", _result("test", "g1", 0.6)), ("b.json", _result(MINI_SPLIT, "g2", 0.9)),
               ("c.json", _result("test", "g3", 0.7))]
    tables = build_tables(copy.deepcopy(results))
    by_split = {t.split: t for t in tables}
    assert set(by_split) == {"test", MINI_SPLIT}
    assert [r.generator for r in by_split["test"].rows] == ["g3", "g1"]
    assert [r.generator for r in by_split[MINI_SPLIT].rows] == ["g2"] and by_split[MINI_SPLIT].rows[0].rank == 1
    assert by_split["test"].slug == "unstratified" and by_split[MINI_SPLIT].slug == f"unstratified@{MINI_SPLIT}"
    assert "g2" not in markdown_table(by_split["test"])
