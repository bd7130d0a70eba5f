"""docs/ADDING_A_GENERATOR.md, followed literally: its Python files are written as the page says, and every
`$ …` line of its `console` blocks is run in order, in an empty folder with the vox1-mini sample linked in."""

import os
import re
import shlex
import subprocess
import sys
from pathlib import Path

import pytest

from benchmark.cli import main

pytestmark = pytest.mark.realdata

REPO = Path(__file__).resolve().parent.parent
DOC = REPO / "docs" / "ADDING_A_GENERATOR.md"
EXAMPLE = REPO / "examples" / "tiny_generator.py"


def doc_steps(text: str) -> list[tuple[str, str, str]]:
    """The page's steps in order: ("file", name, content) for each ```python block (named by the last
    "as `name.py`" before it), ("command", line, "") for each "$ " line of a ```console block."""
    steps = []
    for match in re.finditer(r"```(\w+)\n(.*?)```", text, re.S):
        lang, body = match.group(1), match.group(2)
        if lang == "python":
            names = re.findall(r"as `([\w./-]+\.py)`", text[: match.start()])
            steps.append(("file", names[-1], body))
        elif lang == "console":
            steps += [("command", line[2:].strip(), "") for line in body.splitlines() if line.startswith("$ ")]
    return steps


def test_the_example_on_the_page_is_the_example_in_the_repository():
    steps = doc_steps(DOC.read_text(encoding="utf-8"))
    files = {name: body for kind, name, body in steps if kind == "file"}
    assert files["my_generator.py"] == EXAMPLE.read_text(encoding="utf-8")
    assert set(files) == {"my_generator.py", "make_faces.py"}


def run_command(line: str, cwd: Path, monkeypatch) -> None:
    words = shlex.split(line)
    env = {}
    while "=" in words[0]:
        key, value = words.pop(0).split("=", 1)
        env[key] = value
    if words[0] == "bench":
        if "PYTHONPATH" in env:
            for part in env.pop("PYTHONPATH").split(os.pathsep):
                monkeypatch.syspath_prepend(str((cwd / part).resolve()))
        assert not env, f"unsupported environment in {line!r}"
        assert main(words[1:]) == 0, line
    elif words[0] == "python":
        paths = os.pathsep.join([str(REPO), os.environ.get("PYTHONPATH", "")])
        proc = subprocess.run([sys.executable, *words[1:]], cwd=cwd, capture_output=True, text=True,
                              env={**os.environ, **env, "PYTHONPATH": paths}, timeout=300)
        assert proc.returncode == 0, f"{line}: {proc.stderr}"
    else:
        raise AssertionError(f"the page runs {line!r}; teach this test how (or put it in a sh block)")


def test_follow_the_page_from_zero_to_a_leaderboard_row(vox1_mini, tmp_path, monkeypatch, capsys):
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "vox1-mini").symlink_to(vox1_mini, target_is_directory=True)
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("VOICE2FACE_DATA_DIR", raising=False)
    monkeypatch.delitem(sys.modules, "my_generator", raising=False)  # the page's module, from this folder
    for kind, what, body in doc_steps(DOC.read_text(encoding="utf-8")):
        if kind == "file":
            (tmp_path / what).write_text(body, encoding="utf-8")
        else:
            run_command(what, tmp_path, monkeypatch)
    capsys.readouterr()

    # what the page promises
    assert (tmp_path / "my-results/vox1-mini/test/tiny-example/stratified-seed0.json").is_file()
    assert (tmp_path / "my-results/vox1-mini/test/tiny-example/stratified-seed0-margins.png").is_file()
    assert (tmp_path / "my-results/vox1-mini/test/tiny-example/unstratified-seed0.json").is_file()
    assert (tmp_path / "my-sheet.png").is_file()
    # stratified on vox1-mini's test split (C–E): the two women, 12 + 8 utterances; Edward_Asner, the only man,
    # has no same-gender imposter
    assert len(list((tmp_path / "my-faces").rglob("*.png"))) == 20
    board = (tmp_path / "my-leaderboard/tables/vox1-mini/stratified.md").read_text(encoding="utf-8")
    rows = {line.split("|")[2].strip(): line.split("|")[4].strip() for line in board.splitlines()
            if line.startswith("| ") and "measured" in line}
    assert set(rows) == {"tiny-example", "tiny-example-pngs"}
    assert rows["tiny-example"] == rows["tiny-example-pngs"]  # same bytes, same numbers
    assert "tiny-example" in (tmp_path / "my-leaderboard/README.md").read_text(encoding="utf-8")
