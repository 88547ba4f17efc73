"""The site's build-time pages and files (an MkDocs hook, listed in mkdocs.yml), so that what is
generated from the code cannot drift from it:

    cli.md          every subcommand's `--help`, rendered from bptt.cli.parser.build_parser()
    api.md          a mkdocstrings `:::` entry for every name in bptt.__all__, bptt.data.__all__,
                    bptt.decode.__all__, bptt.viz.__all__, and the training/io functions the
                    pages use (EXTRA below): a new public name appears without editing anything
    bptt-lab.html   the lab page itself, written by bptt.viz.lab.lab (embedded in lab.md, opened
                    by the lesson links of teaching.md)

The pages in EXECUTED have their Python blocks run in order at build time, each block followed by
what it printed (an error fails the build).

The notebooks (notebooks/NN_name.py, jupytext's text form) are rendered by mkdocs-jupyter from
docs/notebooks/NN_name.ipynb, which `make docs` writes by executing them (notebooks/run.py, about
a minute). A notebook not executed there (a fresh clone, the tests' quicker build) is shown from
its text form, without outputs, with a note saying so.

A page listed in OPTIONAL_NAV joins the nav once its file exists (pages being written elsewhere).

It also replaces the search polyfill that Material's offline plugin fetches from a CDN with the
local docs/javascripts/file_worker.js, and maps the links of pages that are also read on a code
host (docs/tutorial.md's ../ARCHITECTURE.md) onto the site's pages.
"""
from __future__ import annotations

import argparse
import contextlib
import html
import io
import os
import re
import tempfile
from pathlib import Path

from markdown import Extension
from markdown.preprocessors import Preprocessor
from mkdocs.plugins import CombinedEvent, event_priority
from mkdocs.structure.files import File

LAB_PAGE = "bptt-lab.html"
WORKER_SHIM = "javascripts/file_worker.js"
CLI_COLUMNS = "80"

# Public names outside the four __all__ lists that the pages call: (module, [names]).
EXTRA = [
    ("bptt.nn.dense", ["dense_forward", "dense_backward"]),
    ("bptt.cells.rnn.reference", ["step_forward", "step_backward"]),
    ("bptt.training.sampling", ["sample"]),
    ("bptt.training.classify", ["make_task", "ClassifyConfig", "train_classifier", "evaluate_classifier"]),
    ("bptt.cells.seq2seq", ["Seq2SeqStepper", "Seq2SeqTrace", "Seq2SeqForward", "Seq2SeqBackward"]),
    ("bptt.training.seq2seq", ["Seq2SeqConfig", "train_seq2seq", "evaluate_seq2seq", "translate"]),
    ("bptt.io.saving", ["load_model"]),
    ("bptt.io.seq2seq_saving", ["save_seq2seq", "load_seq2seq"]),
    ("bptt.io.corpus", ["prepare_corpus"]),
    ("bptt.viz.explorer", ["explain", "explorer_html", "write_explorer"]),
    ("bptt.viz.lab", ["lab"]),
]
NOTEBOOKS = Path(__file__).resolve().parents[2] / "notebooks"
NOTEBOOK_SOURCE = re.compile(r"^\d\d_\w+\.py$")          # as notebooks/run.py: 01_tutorial.py, ...
NOT_EXECUTED = ("**Shown without its outputs.** `make docs` executes the notebooks "
                "(`python notebooks/run.py --out docs/notebooks`) and the site then shows what "
                "every cell prints and draws.")
# Pages other engineers are writing: in the nav (section, title) once the file is there, so that the
# strict build neither fails before it lands (a nav entry to nothing) nor after (a page off the nav).
OPTIONAL_NAV = [("pytorch.md", "Learn", "Outgrowing one CPU")]
# Pages whose Python blocks run at build time, their output shown under each block (a second or so).
EXECUTED = ("tutorial.md",)
# Links of pages read both on a code host and in the site: (pattern, the site's page).
LINK_MAP = [("../ARCHITECTURE.md", "architecture.md"), ("../CHANGELOG.md", "changelog.md")]
# Where docs/lab.md (also read on a code host, which shows no iframes) has the lab embedded.
LAB_MARKER = "<!-- the site embeds the lab here (docs/hooks/site.py) -->"
LAB_EMBED = f"""<div class="bptt-lab-embed">
<iframe id="bptt-lab-frame" src="{LAB_PAGE}" title="The BPTT lab"></iframe>
</div>

The lab above is the page `bptt lab --out lab.html` writes, built with this site. It is also
[on a page of its own]({LAB_PAGE}), and [Teaching with the lab](teaching.md) has lesson links
into it."""


# ---- the command-line reference -----------------------------------------------------------------
def _subcommands(parser: argparse.ArgumentParser):
    """(name, parser) of every subcommand, depth first, in the parser's order."""
    for action in parser._actions:                    # argparse keeps its subparsers only here
        if isinstance(action, argparse._SubParsersAction):
            for name, sub in action.choices.items():
                yield name, sub
                yield from ((f"{name} {n}", s) for n, s in _subcommands(sub))


def _help(parser: argparse.ArgumentParser) -> str:
    old = os.environ.get("COLUMNS")
    os.environ["COLUMNS"] = CLI_COLUMNS               # argparse wraps at the terminal's width
    try:
        return parser.format_help().rstrip()
    finally:
        if old is None:
            del os.environ["COLUMNS"]
        else:
            os.environ["COLUMNS"] = old


def cli_markdown() -> str:
    from bptt.cli.parser import build_parser
    parser = build_parser()
    subs = list(_subcommands(parser))
    out = ["# Command line", "",
           "Every subcommand's `--help`, rendered from the argument parser when the site is built "
           "(`bptt.cli.parser.build_parser`), so this page is what the installed `bptt` prints.", "",
           " · ".join(f"[`bptt {n}`](#bptt-{n.replace(' ', '-')})" for n, _ in subs), "",
           "## `bptt`", "", "```text", _help(parser), "```", ""]
    for name, sub in subs:
        out += [f"## `bptt {name}` {{#bptt-{name.replace(' ', '-')}}}", "", "```text", _help(sub), "```", ""]
    return "\n".join(out)


# ---- the API reference --------------------------------------------------------------------------
def _entries(module_name: str, names) -> list:
    import importlib
    import types
    module = importlib.import_module(module_name)
    out, constants = [], []
    for name in names:
        obj = getattr(module, name)                   # a name that does not exist fails the build
        if not callable(obj) and not isinstance(obj, types.ModuleType):
            constants.append((name, obj))             # values: griffe cannot always read them
        elif isinstance(obj, types.ModuleType):
            out += [f"::: {obj.__name__}", "    options:", "      show_root_heading: true",
                    "      heading_level: 3", ""]
        else:
            out += [f"::: {module_name}.{name}", ""]
    if constants:
        out += [f"### Constants of `{module_name}`", "", "| name | value |", "|---|---|"]
        out += [f'| <span id="{module_name}.{name}"></span>`{module_name}.{name}` | `{_short(obj)}` |'
                for name, obj in constants] + [""]
    return out


def _short(value, limit=90) -> str:
    text = repr(value).replace("|", "\\|").replace("`", "'")
    return text if len(text) <= limit else text[:limit - 1] + "…"


def api_markdown() -> str:
    import types

    import bptt
    import bptt.data
    import bptt.decode
    import bptt.viz
    out = ["# Python API", "",
           "Generated when the site is built from the docstrings of every public name: "
           "`bptt.__all__`, `bptt.data.__all__`, `bptt.decode.__all__`, `bptt.viz.__all__`, and "
           "the training, file and figure functions the pages use.", ""]
    sections = [("bptt", [n for n in bptt.__all__ if not (isinstance(getattr(bptt, n), types.ModuleType)
                                                          and n in ("data", "decode", "viz"))]),
                ("bptt.data", bptt.data.__all__), ("bptt.decode", bptt.decode.__all__),
                ("bptt.viz", bptt.viz.__all__)]
    for module_name, names in sections:
        out += [f"## `{module_name}`", ""] + _entries(module_name, sorted(names, key=str.lower))
    out += ["## Training, files and figures", ""]
    for module_name, names in EXTRA:
        out += _entries(module_name, names)
    return "\n".join(out)


# ---- the lab page -------------------------------------------------------------------------------
def lab_html() -> bytes:
    from bptt.viz.lab import lab
    with tempfile.TemporaryDirectory() as tmp:
        return lab(Path(tmp) / LAB_PAGE).read_bytes()


# ---- executed pages -----------------------------------------------------------------------------
PYTHON_BLOCK = re.compile(r"^```python\n(.*?)^```$", flags=re.S | re.M)


def executed(markdown: str, name: str) -> str:
    """The page with what each Python block prints shown under it; the blocks run in order in one
    namespace, in a temporary working directory (as tests/cli/test_docs.py runs them)."""
    os.environ.setdefault("MPLBACKEND", "Agg")             # figures drawn off-screen
    namespace, here = {"__name__": "__docs__"}, os.getcwd()
    counter = iter(range(10**6))

    def run(match):
        i, out = next(counter), io.StringIO()
        with contextlib.redirect_stdout(out):
            exec(compile(match.group(1), f"{name}[block {i}]", "exec"), namespace)
        text = out.getvalue().rstrip()
        return match.group(0) + (f'\n\n```text title="output"\n{text}\n```' if text else "")

    with tempfile.TemporaryDirectory() as tmp:
        os.chdir(tmp)
        try:
            return PYTHON_BLOCK.sub(run, markdown)
        finally:
            os.chdir(here)


# ---- doctest examples in docstrings -------------------------------------------------------------
class DoctestFences(Preprocessor):
    """Doctest examples (`>>> ` at the start of a line, outside fences, with the output lines that
    follow up to a blank line) as fenced `pycon` blocks: plain Markdown would read them as nested
    block quotes."""

    FENCE = re.compile(r"^(```|~~~)")

    def run(self, lines):
        out, in_fence, in_doctest = [], False, False
        for line in lines:
            if in_doctest and not line.strip():
                out += ["```", line]
                in_doctest = False
                continue
            if not in_doctest and self.FENCE.match(line):
                in_fence = not in_fence
            elif not in_fence and not in_doctest and line.startswith(">>> "):
                out += ["", "```pycon"]
                in_doctest = True
            out.append(line)
        return out + (["```"] if in_doctest else [])


class DoctestExtension(Extension):
    def extendMarkdown(self, md):
        md.preprocessors.register(DoctestFences(md), "bptt_doctest_fences", 40)   # before the fences


# ---- notebooks ----------------------------------------------------------------------------------
def unexecuted_notebooks(present, out_dir: Path) -> list:
    """(src_uri, path) of notebooks/NN_name.ipynb written to out_dir from the text form of every
    notebook whose executed form is not among `present` (src_uris)."""
    import jupytext
    import nbformat
    out = []
    for source in sorted(p for p in NOTEBOOKS.glob("*.py") if NOTEBOOK_SOURCE.match(p.name)):
        src_uri = f"notebooks/{source.stem}.ipynb"
        if src_uri in present:
            continue
        nb = jupytext.read(source, fmt="py:percent")
        at = 1 if nb.cells and nb.cells[0].cell_type == "markdown" else 0   # after the title
        nb.cells.insert(at, nbformat.v4.new_markdown_cell(NOT_EXECUTED))
        path = out_dir / f"{source.stem}.ipynb"
        nbformat.write(nb, path)
        out.append((src_uri, path))
    return out


def _escape_copy_text():
    """mkdocs-jupyter 0.25 puts each code cell's source, unescaped, into a hidden <div> for its
    copy button, so code holding HTML (a '<img ...>' in a string) becomes live HTML in the page.
    Its highlight filter, wrapped: the same output with that source escaped."""
    from mkdocs_jupyter import nbconvert2
    make = nbconvert2.mk_custom_highlight_code
    if getattr(make, "bptt_escaped", False):
        return

    def escaped_make(extra_css_classes=""):
        highlight = make(extra_css_classes)

        def escaped(source, language=None, metadata=None):
            out = highlight(source, language, metadata)
            raw = f'class="clipboard-copy-txt">{source}</div>'
            i = out.rfind(raw)
            if i < 0:
                return out
            return out[:i] + f'class="clipboard-copy-txt">{html.escape(source)}</div>' + out[i + len(raw):]
        return escaped

    escaped_make.bptt_escaped = True
    nbconvert2.mk_custom_highlight_code = escaped_make


# ---- MkDocs events ------------------------------------------------------------------------------
@event_priority(100)                                  # before mkdocstrings copies the extensions
def _add_markdown_extensions(config):
    config.markdown_extensions.append(DoctestExtension())
    _escape_copy_text()
    return config


def _optional_nav(config):
    listed = set(_nav_files(config.nav or []))
    for page, section, title in OPTIONAL_NAV:
        if page in listed or not (Path(config.docs_dir) / page).is_file():
            continue
        for item in config.nav:
            if isinstance(item, dict) and isinstance(item.get(section), list):
                item[section].append({title: page})
                break
        else:
            raise ValueError(f"mkdocs.yml's nav has no section {section!r} for {page}")
    return config


def _nav_files(nav):
    for item in nav:
        value = next(iter(item.values())) if isinstance(item, dict) else item
        yield from (_nav_files(value) if isinstance(value, list) else [value])


@event_priority(-100)                                 # after the offline plugin has added its shim
def _local_search_worker(config):
    polyfills = [p for p in config.extra.get("polyfills", []) if "iframe-worker" not in str(p)]
    config.extra["polyfills"] = polyfills + [WORKER_SHIM]
    return config


on_config = CombinedEvent(_add_markdown_extensions, _local_search_worker, event_priority(0)(_optional_nav))


_TMP = []                                             # folders removed when the build ends


@event_priority(100)                                  # before mkdocs-jupyter takes the notebooks
def on_files(files, config):
    for src_uri, content in (("cli.md", cli_markdown()), ("api.md", api_markdown()),
                             (LAB_PAGE, lab_html())):
        files.append(File.generated(config, src_uri, content=content))
    _TMP.append(tempfile.TemporaryDirectory(prefix="bptt-notebooks-"))
    present = {f.src_uri for f in files}
    folder = Path(_TMP[-1].name) / "notebooks"         # mkdocs-jupyter matches "notebooks/*.ipynb"
    folder.mkdir()
    for src_uri, path in unexecuted_notebooks(present, folder):
        # a File of another source folder, not File.generated: mkdocs-jupyter's wrapper finds the
        # path of a notebook only through src_dir
        files.append(File(src_uri, src_dir=_TMP[-1].name, dest_dir=config.site_dir,
                          use_directory_urls=config.use_directory_urls))
    return files


def on_post_build(config):
    while _TMP:
        _TMP.pop().cleanup()


def on_page_markdown(markdown, page, config, files):
    for old, new in LINK_MAP:
        markdown = markdown.replace(f"]({old})", f"]({new})")
    if page.file.src_uri in EXECUTED:
        markdown = executed(markdown, page.file.src_uri)
    if page.file.src_uri == "lab.md":                 # the embedded lab needs the page's width
        if markdown.count(LAB_MARKER) != 1:
            raise ValueError(f"docs/lab.md must hold the line {LAB_MARKER!r} once, where the site "
                             f"embeds the lab; found it {markdown.count(LAB_MARKER)} times")
        markdown = markdown.replace(LAB_MARKER, LAB_EMBED)
        page.meta.setdefault("hide", ["navigation", "toc"])
    return markdown
