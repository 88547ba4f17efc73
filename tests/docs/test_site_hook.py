"""The site's build hook (docs/hooks/site.py), part by part: doctest examples become code blocks,
notebooks not yet executed are shown from their text form with a note, the CLI page holds every
subcommand, the API page names every public name, and a page's Python blocks are shown with what
they print."""
import importlib.util
import re

import jupytext
import markdown
import nbformat

import bptt
import bptt.data
import bptt.decode
import bptt.viz
from docs_site import ROOT


def _load_hook():
    spec = importlib.util.spec_from_file_location("bptt_site_hook", ROOT / "docs" / "hooks" / "site.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


hook = _load_hook()


def render(text):
    return markdown.markdown(text, extensions=["fenced_code", hook.DoctestExtension()])


def test_doctest_examples_become_code_and_fences_stay_as_they_are():
    doc = ("Text before.\n\n>>> v = Vocab('hello')\n>>> v.chars, v.size\n('ehlo', 4)\n\nText after.\n\n"
           "```python\n>>> inside_a_fence\n```\n")
    out = render(doc)
    assert "<blockquote>" not in out
    assert out.count("<code") == 2
    assert "&gt;&gt;&gt; v = Vocab('hello')\n&gt;&gt;&gt; v.chars, v.size\n('ehlo', 4)" in out
    assert "<p>Text after.</p>" in out
    assert '<code class="language-python">&gt;&gt;&gt; inside_a_fence' in out
    plain = markdown.markdown(">>> v = 1\n")                       # what it would be without
    assert "<blockquote>" in plain


def test_a_notebook_not_executed_is_shown_from_its_text_with_a_note(tmp_path):
    sources = sorted(p for p in (ROOT / "notebooks").glob("*.py") if hook.NOTEBOOK_SOURCE.match(p.name))
    assert len(sources) >= 5
    present = {f"notebooks/{sources[0].stem}.ipynb"}                # as if executed already
    written = hook.unexecuted_notebooks(present, tmp_path)
    assert [uri for uri, _ in written] == [f"notebooks/{p.stem}.ipynb" for p in sources[1:]]
    for (uri, path), source in zip(written, sources[1:]):
        nb = nbformat.read(path, as_version=4)
        text = jupytext.read(source, fmt="py:percent")
        assert len(nb.cells) == len(text.cells) + 1
        notes = [c for c in nb.cells if c.source == hook.NOT_EXECUTED]
        assert len(notes) == 1 and nb.cells.index(notes[0]) <= 1
        assert all(not c.get("outputs") for c in nb.cells if c.cell_type == "code")


def test_the_cli_page_holds_every_subcommand():
    page = hook.cli_markdown()
    from bptt.cli.parser import build_parser
    names = [name for name, _ in hook._subcommands(build_parser())]
    assert {"train", "sample", "eval", "lab", "bench"} <= set(names)
    for name in names:
        assert f"## `bptt {name}`" in page and f"usage: bptt {name}" in page


def test_the_api_page_names_every_public_name():
    page = hook.api_markdown()
    for module in (bptt.data, bptt.decode, bptt.viz):
        for name in module.__all__:
            assert (f"::: {module.__name__}.{name}\n" in page
                    or f'<span id="{module.__name__}.{name}">' in page), name
    assert "::: bptt.SimpleRNN\n" in page and "::: bptt.training.optim\n" in page


def test_a_pages_python_blocks_are_shown_with_what_they_print(tmp_path):
    page = "Intro.\n\n```python\nx = 6 * 7\nprint('x =', x)\n```\n\n```python\ny = x + 1\n```\n"
    out = hook.executed(page, "example.md")
    assert out.count('```text title="output"\nx = 42\n```') == 1
    assert out.count("```text") == 1                                  # nothing printed, nothing shown
    assert re.search(r"print\('x =', x\)\n```\n\n```text", out)
