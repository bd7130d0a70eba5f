"""Issue 19, item 5: a run that scored nothing fails with its reasons; chance references flag a degenerate training
pool; flat submission names stay unambiguous with ids holding '__'; the hints of a submission outside the evaluated
split and of --data-root at a dataset's parent folder name the right fix."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from benchmark.cli import main
from benchmark.cli.printing import nothing_scored
from benchmark.generators.folder import flat_index, flat_name, scan_folder
from benchmark.errors import DataError


def test_nothing_scored_is_an_error_with_every_reason(capsys):
    skipped = [{"skipped": "too few identities", "protocol": {"name": "stratified"}},
               {"skipped": "no validation split", "protocol": {"name": "retrieval"}}]
    assert nothing_scored(skipped) == 2
    err = capsys.readouterr().err
    assert "stratified: too few identities" in err and "retrieval: no validation split" in err
    assert nothing_scored(skipped + [{"scores": {}}]) == 0  # one scored protocol: the run did something
    assert nothing_scored([]) == 0


def test_flat_names_with_double_underscore_ids(tmp_path):
    """A YouTube id may hold '__' (1IH__QbYhIM): its flat name still names it when no other id gives the same stem;
    two ids that give one stem are refused with the nested-layout fix."""
    ids = ["id1/1IH__QbYhIM/00001", "id1/other/00002", "a__b/c", "a/b__c"]
    unique, ambiguous = flat_index(ids)
    assert unique[flat_name("id1/1IH__QbYhIM/00001")] == "id1/1IH__QbYhIM/00001"
    assert ambiguous == {"a__b__c": ["a/b__c", "a__b/c"]}
    for stem in ("id1__1IH__QbYhIM__00001", "id1__other__00002", "a__b__c"):
        Image.fromarray(np.full((40, 40, 3), 128, np.uint8)).save(tmp_path / f"{stem}.png")
    scan = scan_folder(tmp_path, ["id1/1IH__QbYhIM/00001", "id1/other/00002", "a__b/c"], ids, decode=False)
    assert set(scan.found) == {"id1/1IH__QbYhIM/00001", "id1/other/00002"}
    assert scan.missing == ["a__b/c"]
    (extra, why), = scan.extra
    assert extra == "a__b__c.png" and "a/b__c.png" in why and "a__b/c.png" in why and "nested" in why


def test_flat_name_of_a_dataset_utterance_outside_the_run_says_split(tmp_path):
    Image.fromarray(np.full((40, 40, 3), 128, np.uint8)).save(tmp_path / "id2__v__00001.png")
    scan = scan_folder(tmp_path, ["id1/v/00001"], ["id1/v/00001", "id2/v/00001"], decode=False)
    assert scan.extra == [("id2__v__00001.png", "an utterance of the dataset that this run's protocol(s) do not use")]
    message = scan.message(1, True, "protocol x")
    assert "--split" in message and "do not delete them" in message and "Remove extra files" not in message


def test_data_root_at_the_parent_folder_names_the_dataset_folder(tmp_path):
    from benchmark.data.datasets import load_dataset

    (tmp_path / "vox1-s2f").mkdir()
    (tmp_path / "vox1-s2f" / "vox1_meta.csv").write_text("VoxCeleb1 ID\tVGGFace1 ID\tGender\n")
    with pytest.raises(DataError, match=r"--data-root .*vox1-s2f \(the dataset's own folder\)"):
        load_dataset("vox1-s2f", data_root=tmp_path)


class _Ctx:
    def __init__(self, genders):
        from benchmark.data.manifest import Identity, Manifest

        self.manifest = Manifest("d", "/", [Identity(i, i, g, "", "train") for i, g in genders.items()], [], [])


def test_degenerate_training_pool_is_flagged():
    from baselines.common import DEGENERATE_POOL, pool_flag
    from benchmark.data.manifest import Face

    def faces(ids):
        return [Face(id=f"f{i}", identity=i, path="", source="vggface") for i in ids]

    assert pool_flag(_Ctx({"a": "m", "b": "f"}), faces(["a", "b"]), "random-face") == ""
    one = pool_flag(_Ctx({"a": "m"}), faces(["a"]), "random-face")
    assert one.startswith(DEGENERATE_POOL) and "1 identity (a)" in one and "one gender only (m)" in one
    same = pool_flag(_Ctx({"a": "f", "b": "f"}), faces(["a", "b"]), "mean-face")
    assert "one gender only (f)" in same and "identity" not in same.split(":")[1].split(";")[0]
    assert "no gender labels" in pool_flag(_Ctx({"a": "", "b": ""}), faces(["a", "b"]), "mean-face")


@pytest.mark.realdata
def test_chance_reference_on_one_training_identity_is_flagged_in_its_result(vox1_mini):
    """vox1-mini has one training identity: random-face shows that one person for every voice, and says so."""
    from benchmark.engine.run import run

    r = run("random-face", "unstratified", "vox1-mini", split="validation+test", write=False, progress=False)
    assert r["generator"]["notes"].startswith("DEGENERATE TRAINING POOL")
    assert "1 identity" in r["generator"]["notes"]


@pytest.mark.realdata
def test_ls_datasets_counts_are_the_loaded_ones(vox1_mini, vox1_s2f, capsys):
    """`bench ls datasets` lists identities per split (issue 19, item 2): the numbers it prints are those of the data as
    loaded (the toy world, and the two real samples)."""
    from benchmark.data.datasets import IDENTITIES_PER_SPLIT, load_dataset

    assert main(["ls", "datasets"]) == 0
    out = capsys.readouterr().out
    for name, root in (("toy", None), ("vox1-mini", vox1_mini), ("vox1-s2f", vox1_s2f)):
        summary = load_dataset(name, data_root=root, progress=False).summary()
        counts = {s: summary[s]["identities"] for s in ("train", "validation", "test")}
        assert IDENTITIES_PER_SPLIT[name] == counts, name
        line = next(line for line in out.splitlines() if line.startswith(name + " "))
        assert line.split()[1:4] == [str(counts[s]) for s in ("train", "validation", "test")], line
