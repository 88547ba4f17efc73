"""The gallery (docs/gallery.md, written by docs/make_gallery.py from one table): every figure
function of bptt.viz is in it, every code block of the page runs on its own and draws with the
function it is shown under, the page is what the script writes, and every picture is there."""
import importlib.util
import re

import pytest

import bptt.viz
from docs_site import ROOT

DOCS = ROOT / "docs"


def _load_gallery():
    spec = importlib.util.spec_from_file_location("make_gallery", DOCS / "make_gallery.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


gallery = _load_gallery()
PAGE = (DOCS / "gallery.md").read_text(encoding="utf-8")
SECTIONS = re.findall(r"^## `(\w+)`.*?```python\n(.*?)```", PAGE, flags=re.S | re.M)


def test_every_viz_name_is_drawn_in_the_gallery_or_said_to_have_no_picture():
    drawn = [e.function for e in gallery.GALLERY]
    assert len(drawn) == len(set(drawn))
    assert set(drawn).isdisjoint(gallery.NOT_FIGURES)
    assert set(bptt.viz.__all__) - set(drawn) - set(gallery.NOT_FIGURES) == set(), \
        "a bptt.viz name is neither in the gallery nor in NOT_FIGURES"
    assert set(drawn) | set(gallery.NOT_FIGURES) <= set(bptt.viz.__all__)


def test_the_page_is_what_make_gallery_writes():
    assert PAGE == gallery.markdown()
    assert [name for name, _ in SECTIONS] == [e.function for e in gallery.GALLERY]
    for e in gallery.GALLERY:
        path = DOCS / "figures" / "gallery" / e.image
        assert path.is_file() and path.stat().st_size > 1000, path
        assert f"](figures/gallery/{e.image})" in PAGE


@pytest.mark.parametrize("function,code", SECTIONS, ids=[name for name, _ in SECTIONS])
def test_each_code_block_runs_and_draws_with_its_function(function, code, tmp_path, monkeypatch):
    from matplotlib.figure import Figure
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("MPLBACKEND", "Agg")
    assert f"viz.{function}(" in code
    real, returned = getattr(bptt.viz, function), []

    def spy(*args, **kwargs):
        returned.append(real(*args, **kwargs))
        return returned[-1]

    monkeypatch.setattr(bptt.viz, function, spy)
    namespace = {"__name__": "__gallery__"}
    exec(compile(code, f"gallery.md[{function}]", "exec"), namespace)
    assert returned, f"the block under {function} never called bptt.viz.{function}"
    if "gif" in namespace:
        path = tmp_path / namespace["gif"]
        assert namespace["gif"] == returned[-1] and path.read_bytes()[:6] in (b"GIF87a", b"GIF89a")
    else:
        fig = namespace["fig"]
        assert fig is returned[-1] and isinstance(fig, Figure) and fig.axes
        assert bptt.viz.fig_to_rgba(fig).std() > 0                  # something was drawn
