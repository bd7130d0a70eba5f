"""The three ways to plug a generator in — file, module, entry point — through the real lookup code
(``benchmark.generators.registry.resolve_model`` and ``importlib.metadata``), with the page's own example and pyproject."""

import re
import sys
import tomllib
from pathlib import Path

import pytest

from benchmark.cli import main
from benchmark.generators.registry import ENTRY_POINT_GROUP, model_names, resolve_model

REPO = Path(__file__).resolve().parent.parent
DOC = REPO / "docs" / "ADDING_A_GENERATOR.md"
EXAMPLE = REPO / "examples" / "tiny_generator.py"


def blocks(lang: str) -> list[str]:
    return re.findall(rf"```{lang}\n(.*?)```", DOC.read_text(encoding="utf-8"), re.S)


@pytest.fixture
def installed(tmp_path, monkeypatch):
    """The page's package "installed": its module and a dist-info with the page's entry points on sys.path."""
    site = tmp_path / "site"
    site.mkdir()
    (site / "my_generator.py").write_text(EXAMPLE.read_text(encoding="utf-8"), encoding="utf-8")
    project = tomllib.loads(blocks("toml")[0])
    name, version = project["project"]["name"], project["project"]["version"]
    dist = site / f"{name.replace('-', '_')}-{version}.dist-info"
    dist.mkdir()
    (dist / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n", encoding="utf-8")
    lines = []
    for group, entries in project["project"]["entry-points"].items():
        lines.append(f"[{group}]")
        lines += [f"{key} = {value}" for key, value in entries.items()]
    (dist / "entry_points.txt").write_text("\n".join(lines) + "\n", encoding="utf-8")
    monkeypatch.syspath_prepend(str(site))
    monkeypatch.delitem(sys.modules, "my_generator", raising=False)  # import it from this site, not a test before
    return project


def test_entry_point_is_found_by_the_registry(installed, capsys):
    (name, target), = installed["project"]["entry-points"][ENTRY_POINT_GROUP].items()
    assert name in model_names()
    factory = resolve_model(name)
    assert factory.__name__ == target.split(":")[1] and factory.__module__ == "my_generator"
    assert main(["ls", "models"]) == 0
    assert f"{name}" in capsys.readouterr().out


@pytest.mark.realdata
def test_entry_point_runs_as_the_page_says(installed, vox1_mini, tmp_path, monkeypatch):
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "vox1-mini").symlink_to(vox1_mini, target_is_directory=True)
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("VOICE2FACE_DATA_DIR", raising=False)
    commands = [line[2:] for line in blocks("sh")[-1].splitlines() if line.startswith("$ bench ")]
    assert commands, "the page shows how to run the installed plugin"
    for command in commands:
        assert main(command.split()[1:]) == 0
    assert (tmp_path / "my-results/vox1-mini/test/tiny-example/stratified-seed0.json").is_file()


def test_file_and_dotted_module_forms(tmp_path, monkeypatch):
    package = tmp_path / "mypkg"
    package.mkdir()
    (package / "__init__.py").write_text("")
    (package / "faces.py").write_text(EXAMPLE.read_text(encoding="utf-8"))
    monkeypatch.syspath_prepend(str(tmp_path))
    assert resolve_model("mypkg.faces:TinyVoiceGenerator").__name__ == "TinyVoiceGenerator"
    assert resolve_model(f"{EXAMPLE}:TinyVoiceGenerator").__name__ == "TinyVoiceGenerator"


def test_the_example_generator_follows_the_protocol():
    """Output dtype/shape via the engine's own check, and independence of batch composition."""
    import torch

    from benchmark.generators.base import GeneratorContext, check_faces
    from benchmark.registry import import_object

    gen = import_object(f"{EXAMPLE}:TinyVoiceGenerator")(GeneratorContext(manifest=None, seed=3))
    waves = torch.rand(3, 16000) * 0.2 - 0.1
    lengths = torch.tensor([16000, 8000, 12000])
    ids = ["a/v/00001", "b/v/00002", "c/v/00003"]
    batch = check_faces(gen.generate(waves, lengths, ids), 3, "tiny")
    alone = gen.generate(waves[1:2, :8000], lengths[1:2], ids[1:2])
    assert batch.dtype == torch.uint8 and batch.shape == (3, 3, 64, 64)
    assert torch.equal(batch[1], alone[0])
