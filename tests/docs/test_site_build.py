"""The documentation site's strict build (built once per session by tests/docs/conftest.py): it
succeeds without a warning, every page of the nav is there, the command-line reference is what the
parser prints, the API reference has every public name, and a broken link, a missing image, a
broken anchor or a missing page fails the build."""
import argparse
import html
import os
import re
import shutil

import pytest
from mkdocs.config import load_config

import bptt
import bptt.data
import bptt.decode
import bptt.viz
from bptt.cli.parser import build_parser
from docs_site import ROOT, mkdocs_build, site, site_build  # noqa: F401  (fixtures)

pytestmark = pytest.mark.slow


def nav_pages(nav):
    for item in nav:
        value = next(iter(item.values())) if isinstance(item, dict) else item
        if isinstance(value, list):
            yield from nav_pages(value)
        else:
            yield value


def test_the_strict_build_succeeds_without_a_warning(site_build):
    assert site_build.returncode == 0, site_build.output[-4000:]
    assert "Documentation built" in site_build.output
    assert not re.search(r"WARNING|ERROR", site_build.output), site_build.output


def test_every_page_of_the_nav_is_built_and_opens_from_file(site):
    config = load_config(str(ROOT / "mkdocs.yml"))
    assert config.use_directory_urls is False and config.theme["font"] is False
    pages = list(nav_pages(config.nav))
    assert pages[0] == "index.md" and len(pages) >= 17
    for page in pages:
        assert (site / re.sub(r"\.(md|ipynb)$", ".html", page)).is_file(), page
    assert sum(p.endswith(".ipynb") for p in pages) >= 5                # the notebooks
    assert (site / "bptt-lab.html").is_file()
    assert (site / "search" / "search_index.js").is_file()          # search from file://
    index = (site / "index.html").read_text(encoding="utf-8")
    assert "fonts.googleapis" not in index and "unpkg.com" not in index


def _subcommands(parser):
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            yield from action.choices.items()


def _words(text):
    return " ".join(text.split())


def test_the_cli_reference_is_every_subcommands_help(site, monkeypatch):
    monkeypatch.setenv("COLUMNS", "80")
    page = (site / "cli.html").read_text(encoding="utf-8")
    blocks = {}
    for anchor, code in re.findall(r'<h2 id="([^"]+)".*?</h2>\s*<div class="highlight"><pre>.*?<code>(.*?)</code>',
                                   page, flags=re.S):
        blocks[anchor] = html.unescape(re.sub(r"<[^>]+>", "", code))
    parser = build_parser()
    subs = dict(_subcommands(parser))
    assert {"train", "sample", "eval", "lab", "explain", "figures", "bench", "demo"} <= set(subs)
    assert set(blocks) == {"bptt"} | {f"bptt-{name}" for name in subs}
    assert _words(blocks["bptt"]) == _words(parser.format_help())
    for name, sub in subs.items():
        assert _words(blocks[f"bptt-{name}"]) == _words(sub.format_help()), name


def test_the_api_reference_documents_every_public_name(site):
    page = (site / "api.html").read_text(encoding="utf-8")
    ids = set(re.findall(r'id="([^"]+)"', page))
    missing = []
    for module in (bptt, bptt.data, bptt.decode, bptt.viz):
        for name in module.__all__:
            obj = getattr(module, name)
            if obj in (bptt.data, bptt.decode, bptt.viz):
                continue                                            # their own sections
            want = obj.__name__ if type(obj) is type(bptt) else f"{module.__name__}.{name}"
            if want not in ids:
                missing.append(want)
    assert missing == []
    for name in ("bptt.training.seq2seq.train_seq2seq", "bptt.io.saving.load_model", "bptt.viz.lab.lab",
                 "bptt.training.sampling.sample"):
        assert name in ids
    assert "<blockquote>" not in page                               # doctests are code, not quotes


def test_a_broken_link_image_anchor_or_page_fails_the_build(tmp_path):
    for name in ("mkdocs.yml", "ARCHITECTURE.md", "CHANGELOG.md"):
        shutil.copy(ROOT / name, tmp_path / name)
    shutil.copytree(ROOT / "docs", tmp_path / "docs")
    (tmp_path / "benchmarks").mkdir()
    shutil.copy(ROOT / "benchmarks" / "RESULTS.md", tmp_path / "benchmarks" / "RESULTS.md")
    os.symlink(ROOT / "src", tmp_path / "src")
    os.symlink(ROOT / "notebooks", tmp_path / "notebooks")
    page = tmp_path / "docs" / "index.md"
    page.write_text(page.read_text(encoding="utf-8") + "\n[gone](no_such_page.md) "
                    "[anchor](tutorial.md#no-such-section)\n\n![missing](figures/no_such_figure.png)\n",
                    encoding="utf-8")
    config = tmp_path / "mkdocs.yml"
    text = config.read_text(encoding="utf-8")
    assert "  - Changelog: changelog.md\n" in text
    config.write_text(text.replace("  - Changelog: changelog.md\n",
                                   "  - Changelog: changelog.md\n  - Missing: no_such_nav_page.md\n"),
                      encoding="utf-8")
    b = mkdocs_build(tmp_path, tmp_path / "site")
    assert b.returncode != 0
    assert "Aborted with" in b.output and "strict mode" in b.output
    for fault in ("no_such_page.md", "no-such-section", "no_such_figure.png", "no_such_nav_page.md"):
        assert fault in b.output, fault
