"""The lab page from the keyboard, in headless Chromium: Tab reaches every interactive element, each
has an accessible name and a visible focus style, the stepping works from the keyboard, and the
charts and tables that carry numbers have text alternatives.
"""
import re

import pytest

from bptt.viz.lab import lab
from browser_helpers import Session, browser  # noqa: F401

pytestmark = pytest.mark.browser

MARK = """() => {
  const sel = 'a[href], button, input, select, textarea, summary, [tabindex]';
  let n = 0;
  for (const e of document.querySelectorAll(sel)) {
    const r = e.getBoundingClientRect();
    const own = e.matches('a[href], button, input, select, textarea, summary');   // a control, whatever its tabindex
    if (e.disabled || (!own && e.tabIndex < 0) || e.closest('[hidden]') || r.width === 0 || r.height === 0) continue;
    e.dataset.kb = String(n++);
  }
  return n;
}"""
# the accessible name as a screen reader computes it for these elements (aria-label, aria-labelledby,
# <label for>, a wrapping <label>, the text, the title)
FOCUSED = """() => {
  const e = document.activeElement;
  if (!e || e === document.body) return null;
  const text = (x) => (x && x.textContent || '').replace(/\\s+/g, ' ').trim();
  let name = (e.getAttribute('aria-label') || '').trim();
  if (!name && e.getAttribute('aria-labelledby')) name = e.getAttribute('aria-labelledby').split(/\\s+/).map(i => text(document.getElementById(i))).join(' ').trim();
  if (!name && e.id) name = text(document.querySelector('label[for="' + CSS.escape(e.id) + '"]'));
  if (!name && e.closest('label')) name = text(e.closest('label'));
  if (!name && !['INPUT', 'SELECT', 'TEXTAREA'].includes(e.tagName)) name = text(e);
  if (!name) name = (e.getAttribute('title') || '').trim();
  const cs = getComputedStyle(e);
  return {kb: e.dataset.kb === undefined ? null : Number(e.dataset.kb), tag: e.tagName, id: e.id, name: name,
          style: [cs.outlineStyle, cs.outlineWidth, cs.outlineColor, cs.boxShadow].join(' | ')};
}"""
UNFOCUSED = """(i) => { const cs = getComputedStyle(document.querySelector('[data-kb="' + i + '"]'));
  return [cs.outlineStyle, cs.outlineWidth, cs.outlineColor, cs.boxShadow].join(' | '); }"""


@pytest.fixture
def page(browser, tmp_path):  # noqa: F811
    s = Session(browser)
    s.page.goto(lab(tmp_path / "lab.html").as_uri())
    s.page.wait_for_function("() => document.documentElement.dataset.labReady === '1'")
    yield s.page
    s.check_clean()
    s.context.close()


@pytest.mark.parametrize("setup", ["() => bpttLab.set({mask: [1, 0, 1, 1]})",
                                   "() => { bpttLab.set({kind: 'lstm', clip_mode: 'norm'}); bpttLab.train(2); }"])
def test_tab_reaches_every_control_with_a_name_and_a_visible_focus(page, setup):
    page.evaluate(setup)
    page.evaluate("() => document.getElementById('bptt-next').click()")      # the gradient panel's tabs too
    n = page.evaluate(MARK)
    assert n > 30
    reached, first = {}, None
    for _ in range(3 * n):
        page.keyboard.press("Tab")
        f = page.evaluate(FOCUSED)
        if f is None:
            continue
        key = f["kb"] if f["kb"] is not None else f"{f['tag']}#{f['id']}"
        if key == first:
            break
        first = key if first is None else first
        reached[key] = f
    unmarked = [k for k in reached if not isinstance(k, int)]
    assert unmarked == [], f"Tab reached elements that are not controls: {unmarked}"
    missing = sorted(set(range(n)) - set(reached))
    assert missing == [], [page.evaluate("(i) => document.querySelector('[data-kb=\"' + i + '\"]').outerHTML.slice(0, 120)", i)
                           for i in missing]
    nameless = [f for f in reached.values() if not f["name"]]
    assert nameless == [], nameless
    page.evaluate("() => document.activeElement.blur()")
    plain = [f for i, f in reached.items() if page.evaluate(UNFOCUSED, i) == f["style"]]
    assert plain == [], f"no visible focus on {plain}"


def test_stepping_and_training_from_the_keyboard(page):
    page.focus("#bptt-next")
    page.keyboard.press("Enter")
    page.keyboard.press("Space")
    assert page.get_attribute("#bptt-root", "data-step") == "2"
    page.focus("#lab-text")
    page.keyboard.press("Tab")                                   # out of the text field
    page.keyboard.press("ArrowRight")
    assert page.get_attribute("#bptt-root", "data-step") in ("2", "3")   # a select may take the arrow
    page.evaluate("() => document.activeElement.blur()")
    page.keyboard.press("ArrowRight")
    page.keyboard.press("Home")
    assert page.get_attribute("#bptt-root", "data-step") == "0"
    page.focus("#lab-step")
    page.keyboard.press("Enter")
    page.focus("#lab-play")
    page.keyboard.press("Space")
    page.wait_for_function("() => bpttLab.state().steps > 3")
    assert page.evaluate("() => document.activeElement.id") == "lab-play"    # Play keeps the focus
    page.keyboard.press("Space")
    assert page.evaluate("() => bpttLab.state().playing") is False
    page.focus("#lab-kind")
    page.keyboard.press("ArrowDown")                             # a select changes from the keyboard
    assert page.evaluate("() => bpttLab.state().options.kind") != "rnn"


def test_views_that_carry_numbers_have_text_alternatives(page):
    page.evaluate("() => bpttLab.train(3)")
    svgs = page.evaluate("""() => Array.from(document.querySelectorAll('#lab-views svg')).map(
        s => [s.getAttribute('role'), s.getAttribute('aria-label') || ''])""")
    assert len(svgs) >= 6
    for role, label in svgs:
        assert role == "img" and re.search(r"\d\.\d", label), label           # the numbers, in words
    tables = page.evaluate("() => Array.from(document.querySelectorAll('#lab-views table')).map(t => t.getAttribute('aria-label'))")
    assert tables and all(tables), tables
    cells = page.evaluate("""() => Array.from(document.querySelectorAll('#lab-views td[data-v]')).filter(
        td => !td.title && !td.textContent).length""")
    assert cells == 0                                                     # every value has a title or text
    net = page.evaluate("() => document.getElementById('bptt-svg').getAttribute('role')")
    assert net != "img"                                                   # its numbers stay readable
