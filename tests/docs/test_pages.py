"""The site's own pages say true things: the getting-started commands are commands the parser and
the Makefile take, the Python blocks of the pages written for the site run, and the README's
table names every page of the site's nav."""
import re
import shlex

import pytest
from mkdocs.config import load_config

from bptt.cli.parser import build_parser
from docs_site import ROOT

DOCS = ROOT / "docs"


def blocks(path, lang):
    return re.findall(rf"```{lang}\n(.*?)```", path.read_text(encoding="utf-8"), flags=re.S)


def test_the_getting_started_commands_parse():
    parser = build_parser()
    commands = [line for b in blocks(DOCS / "index.md", "sh") for line in b.splitlines() if line.strip()]
    bptt_commands = [c for c in commands if c.startswith("bptt ")]
    assert len(bptt_commands) >= 6
    seen = set()
    for line in bptt_commands:
        argv = shlex.split(line, comments=True)[1:]
        args = parser.parse_args(argv)                  # a usage error exits with status 2
        seen.add(args.command)
    assert {"train", "sample", "eval", "lab"} <= seen
    makefile = (ROOT / "Makefile").read_text(encoding="utf-8")
    for line in commands:
        if line.startswith("make "):
            target = shlex.split(line, comments=True)[1]
            assert re.search(rf"^{target}:", makefile, flags=re.M), target


def test_a_command_that_does_not_exist_is_caught():
    with pytest.raises(SystemExit) as e:
        build_parser().parse_args(shlex.split('train --out runs/x --hiden 32', comments=True))
    assert e.value.code == 2


@pytest.mark.parametrize("page", ["index.md", "conventions.md"])
def test_the_python_blocks_run(page, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    namespace = {"__name__": "__docs__"}
    found = blocks(DOCS / page, "python")
    assert found
    for i, code in enumerate(found):
        exec(compile(code, f"{page}[block {i}]", "exec"), namespace)


def _nav_pages(nav):
    for item in nav:
        value = next(iter(item.values())) if isinstance(item, dict) else item
        yield from (_nav_pages(value) if isinstance(value, list) else [value])


def test_the_readme_names_every_page_of_the_site():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    section = readme.split("## The documentation site", 1)[1].split("\n## ", 1)[0]
    assert "make docs" in section and "site/index.html" in section
    for page in _nav_pages(load_config(str(ROOT / "mkdocs.yml")).nav):
        assert re.sub(r"\.(md|ipynb)$", ".html", page.split("/")[-1]) in section, page
    for link in re.findall(r"\]\(([^)]+)\)", section):
        assert (ROOT / link).is_file(), link
