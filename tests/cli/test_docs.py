"""The README's and the tutorial's Python snippets run as written (each file's blocks in order,
in one namespace)."""
import pathlib
import re

import pytest

ROOT = pathlib.Path(__file__).parents[2]
DOCS = [ROOT / "README.md", ROOT / "docs" / "tutorial.md", ROOT / "docs" / "lstm.md", ROOT / "docs" / "gru.md",
        ROOT / "docs" / "bidirectional.md", ROOT / "docs" / "teacher_forcing.md",
        ROOT / "docs" / "seq2seq.md"]
DOCS += [ROOT / "docs" / "classification.md"]           # many-to-one: pooling, parity, brackets
DOCS += [ROOT / "docs" / "pytorch.md"]                 # bptt → PyTorch (Adam state, DDP) → bptt


def python_blocks(path):
    return re.findall(r"```python\n(.*?)```", path.read_text(encoding="utf-8"), flags=re.S)


@pytest.mark.parametrize("path", DOCS, ids=lambda p: p.name)
def test_snippets_run(path, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("MPLBACKEND", "Agg")
    blocks = python_blocks(path)
    assert blocks, f"{path.name} has no python blocks"
    namespace = {"__name__": "__docs__"}
    for i, code in enumerate(blocks):
        exec(compile(code, f"{path.name}[block {i}]", "exec"), namespace)
