"""The lab page without a browser: one self-contained file under its size budget, what it embeds,
`bptt lab` and `bptt explain` writing it, the visible names of invisible characters, and the loss
terms' palette checked through a deuteranopia simulation (Machado, Oliveira & Fernandes 2009)."""
import itertools
import json
import re

import numpy as np
import pytest

import bptt
from bptt.viz.explorer import explain, explorer_payload, default_explorer_trace
from bptt.viz.explorer_page import asset
from bptt.viz.lab import lab
from bptt.viz.lab_page import ENGINE, UI, lab_page_html, lab_settings, visible_text
from explorer_reference import embedded_json

BUDGET = 250_000          # bytes of the default page


def _lab_json(page):
    m = re.search(r'<script type="application/json" id="bptt-lab">(.*?)</script>', page, re.S)
    return json.loads(m.group(1))


def test_the_default_page_is_self_contained_and_under_budget(tmp_path):
    page = lab(tmp_path / "lab.html").read_text(encoding="utf-8")
    size = len(page.encode("utf-8"))
    assert size < BUDGET, f"the default lab page is {size:,} bytes"
    assert not re.search(r'(src|href)="(https?:)?//', page) and "http://" not in page.replace(
        "http://www.w3.org/2000/svg", "")
    for name in (*ENGINE, *UI, "visible_text.js", "explorer.js", "explorer_rnn.js", "explorer_lstm.js",
                 "explorer_gru.js"):
        assert asset(name)[:200] in page, name
    assert page.count("<script") == page.count("</script>")
    settings = _lab_json(page)
    assert settings == {"open": True, "text": "hello", "embedded": True, "reason": None}
    assert '<details class="lab" id="lab-panel" open>' in page


def test_explain_writes_the_lab_collapsed_with_the_same_trace(tmp_path):
    page = explain(tmp_path / "e.html", kind="lstm").read_text(encoding="utf-8")
    assert '<details class="lab" id="lab-panel">' in page
    data = embedded_json(page)
    want = explorer_payload(default_explorer_trace(kind="lstm"), lr=0.1, vocab="ehlo",
                            title=data["config"]["title"])
    assert data == json.loads(json.dumps(want))
    assert _lab_json(page)["embedded"] is True


def test_lab_settings_say_why_a_model_is_not_embedded():
    big = bptt.SimpleRNN(4, 40, 4, seed=0)
    tr = big.trace(np.array([[0], [1], [2]]), np.array([[1], [2], [3]]))
    s = lab_settings(explorer_payload(tr, vocab="abcd"), text="abcd")
    assert s["embedded"] is False and "H <= 32" in s["reason"]
    dense = bptt.SimpleRNN(2, 3, 2, output="identity", seed=0).trace(np.zeros((3, 1, 2)), np.zeros((3, 1, 2)))
    assert "labelled characters" in lab_settings(explorer_payload(dense))["reason"]
    with pytest.raises(TypeError, match="'open' parameter"):
        lab_page_html(explorer_payload(tr, vocab="abcd"), open="yes")


def test_cli_lab_with_a_trained_model(tmp_path):
    from cli_run import TINY, bptt as run
    from corpus import small_text
    text = tmp_path / "t.txt"
    text.write_text(small_text(3000), encoding="utf-8")
    r = run("train", text, "--out", tmp_path / "m", "--model", "lstm", "--peepholes", "--steps", 3,
            "--checkpoint-every", 3, *TINY, "--hidden", "4")   # the last --hidden wins
    assert r.returncode == 0, r.stderr
    out = tmp_path / "lab.html"
    r = run("lab", "--model", tmp_path / "m", "--input", "the cat", "--out", out)
    assert r.returncode == 0, r.stderr
    page = out.read_text(encoding="utf-8")
    data = embedded_json(page)
    assert data["config"]["kind"] == "lstm" and data["config"]["peepholes"] is True
    assert data["config"]["hidden_size"] == 4 and len(data["config"]["labels"]) == data["config"]["input_size"]
    assert _lab_json(page) == {"open": True, "text": "the cat", "embedded": True, "reason": None}
    r = run("lab", "--out", out, "--input", "hxq")
    assert r.returncode == 2 and "input_text" in r.stderr


def test_hostile_titles_and_vocabularies_stay_data(tmp_path):
    evil = "ab\u202e</script><script>alert(1)</script>"
    model = bptt.SimpleRNN(len(set(evil)), 3, len(set(evil)), seed=0)
    chars = "".join(sorted(set(evil)))
    page = explain(tmp_path / "h.html", model=model, vocab=chars, input_text=evil[:20]).read_text(encoding="utf-8")
    assert page.count("<script>alert") == 0 and "\u202e" not in page.split("<body")[0]
    assert "⟨RLO⟩" in page.split("<body")[0]                       # the <title>
    assert visible_text("a\u202eb\u200b\u0007\u2067c") == "a⟨RLO⟩b⟨ZWSP⟩⟨U+0007⟩⟨RLI⟩c"
    assert visible_text("שלום 😀") == "שלום 😀"


# -- the palette through a deuteranopia simulation ---------------------------------------------------
MACHADO_DEUTERANOPIA = np.array([[0.367322, 0.860646, -0.227968],     # severity 1.0, linear RGB
                                 [0.280085, 0.672501, 0.047413],
                                 [-0.011820, 0.042940, 0.968881]])


def _linear(srgb):
    c = np.asarray(srgb, dtype=float) / 255
    return np.where(c <= 0.04045, c / 12.92, ((c + 0.055) / 1.055) ** 2.4)


def _lab(lin):
    xyz = np.array([[0.4124, 0.3576, 0.1805], [0.2126, 0.7152, 0.0722], [0.0193, 0.1192, 0.9505]]) @ lin
    xyz = xyz / np.array([0.95047, 1.0, 1.08883])
    f = np.where(xyz > (6 / 29) ** 3, np.cbrt(xyz), xyz / (3 * (6 / 29) ** 2) + 4 / 29)
    return np.array([116 * f[1] - 16, 500 * (f[0] - f[1]), 200 * (f[1] - f[2])])


def _palette(name):
    m = re.search(rf"var {name} = \[(.*?)\];", asset("explorer.js"))
    return [tuple(int(h[i:i + 2], 16) for i in (1, 3, 5)) for h in re.findall(r'"(#[0-9A-Fa-f]{6})"', m.group(1))]


def test_loss_term_colours_stay_apart_for_deuteranopes():
    pal = _palette("PALETTE")
    assert len(pal) == 8
    seen = [_lab(np.clip(MACHADO_DEUTERANOPIA @ _linear(c), 0, 1)) for c in pal]
    dist = min(np.linalg.norm(a - b) for a, b in itertools.combinations(seen, 2))
    assert dist > 12, f"two loss-term colours are {dist:.1f} ΔE apart for a deuteranope"
    vir = [_lab(np.clip(MACHADO_DEUTERANOPIA @ _linear(c), 0, 1))[0] for c in _palette("VIRIDIS")]
    assert all(b > a + 3 for a, b in zip(vir, vir[1:]))              # lightness orders T > 8 terms


@pytest.mark.parametrize("name", ["lab_adapter.js", "lab_state.js", "lab_views.js", "lab_ui.js", "visible_text.js"])
def test_lab_scripts_are_small_and_never_parse_data_as_markup(name):
    js = asset(name)
    assert len(js.splitlines()) < 400
    assert "innerHTML" not in js and "insertAdjacentHTML" not in js and "document.write" not in js
