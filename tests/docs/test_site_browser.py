"""The built site in headless Chromium, opened from file:// (the site is built once per session by
tests/docs/conftest.py): the search finds "truncated"; the lab works inside the lab page (its
controls respond); every lesson link opens its lesson; every image of every page loads; no page
logs a console error; and no request leaves the machine (every request that is not file:, data:,
blob: or about: is aborted and recorded, and none may happen)."""
from urllib.parse import parse_qs, urlsplit

import pytest

from browser_helpers import browser  # noqa: F401  (the module's Chromium)
from docs_site import site, site_build  # noqa: F401  (the session's built site)

pytestmark = [pytest.mark.browser, pytest.mark.slow]
LOCAL = ("file:", "data:", "blob:", "about:")
LAB_READY = "() => document.documentElement.dataset.labReady === '1'"


class SiteSession:
    """A browser context that aborts and records every request leaving the machine, with the
    console errors and page errors of every page and frame."""

    def __init__(self, browser):  # noqa: F811
        self.context = browser.new_context(viewport={"width": 1400, "height": 900})
        self.outside, self.errors = [], []
        self.context.route("**/*", self._route)
        self.page = self.context.new_page()
        self.page.on("console", lambda m: m.type == "error" and self.errors.append(m.text))
        self.page.on("pageerror", lambda e: self.errors.append(str(e)))

    def _route(self, route):
        url = route.request.url
        if url.startswith(LOCAL):
            route.continue_()
        else:
            self.outside.append(url)
            route.abort()

    def open(self, path, fragment=""):
        self.page.goto("about:blank")                # a fresh document, also for a new fragment
        self.page.goto(path.as_uri() + fragment, wait_until="load")
        return self.page

    def check_clean(self):
        assert self.errors == []
        assert self.outside == []


@pytest.fixture
def s(browser):  # noqa: F811
    session = SiteSession(browser)
    yield session
    session.context.close()


def test_the_search_finds_truncated(site, s):
    page = s.open(site / "index.html")
    page.wait_for_function("() => typeof __index === 'object'")   # the offline index, inlined
    page.keyboard.press("s")                                       # Material's search shortcut
    page.keyboard.type("truncated", delay=30)
    page.wait_for_selector(".md-search-result__item", timeout=20000)
    results = page.locator(".md-search-result__item")
    assert results.count() >= 3
    assert "truncated" in page.inner_text(".md-search-result").lower()
    assert page.locator(".md-search-result mark").count() > 0
    hrefs = page.eval_on_selector_all(".md-search-result__link", "els => els.map(e => e.href)")
    assert any("tutorial.html" in h for h in hrefs)
    s.check_clean()


def test_the_lab_works_inside_the_lab_page(site, s):
    page = s.open(site / "lab.html")
    frame_el = page.wait_for_selector("iframe#bptt-lab-frame")
    frame = frame_el.content_frame()
    frame.wait_for_function(LAB_READY, timeout=30000)
    box = frame_el.bounding_box()
    assert box["width"] > 900 and box["height"] > 800                # the page's width, tall
    steps = lambda: frame.evaluate("() => bpttLab.state().steps")  # noqa: E731
    loss = lambda: frame.evaluate("() => bpttLab.state().loss")    # noqa: E731
    assert steps() == 0
    before = loss()
    frame.click("#lab-step")                                       # "+1 update"
    frame.wait_for_function("() => bpttLab.state().steps === 1")
    assert frame.inner_text("#lab-steps-done").startswith("1")
    assert loss() != before
    frame.fill("#lab-text", "abcabcab")                            # your own sequence
    frame.locator("#lab-text").blur()                              # a change event, as typed
    frame.wait_for_function("() => bpttLab.state().options.text === 'abcabcab'")
    assert "abcabcab" in frame.inner_text("#bptt-title")
    frame.select_option("#lab-kind", "lstm")                       # another model
    frame.wait_for_function("() => bpttLab.state().options.kind === 'lstm'")
    assert "LSTM" in frame.inner_text("#bptt-title")
    frame.fill("#lab-k2", "2")                                     # truncation
    frame.locator("#lab-k2").blur()
    frame.wait_for_function("() => bpttLab.state().options.k2 === 2")
    frame.click("#bptt-next")                                      # the explorer steps on
    assert frame.evaluate("() => document.getElementById('bptt-root').dataset.step") == "1"
    assert frame.inner_text("#lab-error") == ""
    s.check_clean()


def lesson_links(site, s):
    page = s.open(site / "teaching.html")
    return page.eval_on_selector_all("a[href*='bptt-lab.html#']", "els => els.map(e => e.getAttribute('href'))")


def test_every_lesson_link_opens_its_lesson(site, s):
    links = lesson_links(site, s)
    assert len(links) >= 6
    numbers = {"H": "hidden", "seed": "seed", "rho": "rho", "k2": "k2", "clip": "clip", "lr": "lr"}
    names = {"text": "text", "kind": "kind", "mask": "mask", "clipmode": "clip_mode", "opt": "optimizer",
             "init": "init", "act": "activation", "reset": "reset"}
    for href in links:
        q = {k: v[0] for k, v in parse_qs(urlsplit(href).fragment, keep_blank_values=True).items()}
        page = s.open(site / "bptt-lab.html", "#" + urlsplit(href).fragment)
        page.wait_for_function(LAB_READY, timeout=30000)
        assert page.inner_text("#lab-error") == "", href
        assert page.inner_text("#lab-lesson") == q["lesson"]
        shown = page.eval_on_selector_all("#lab-form [data-control]:not([hidden])",
                                          "els => els.map(e => e.dataset.control)")
        assert set(shown) == set(q["show"].split(",")), href
        state = page.evaluate("() => bpttLab.state()")
        assert state["steps"] == int(q.get("steps", 0))
        for key, option in numbers.items():
            if key in q:
                assert state["options"][option] == float(q[key]), (href, key)
        for key, option in names.items():
            if key in q:
                assert state["options"][option] == q[key], (href, key)
    s.check_clean()


def test_every_page_loads_its_images_without_errors_or_requests_out(site, s):
    # 404.html is a web server's answer to a missing URL: its links are absolute ("/assets/..."),
    # for any depth of the missing path, so it is the one page that is never opened from file://.
    pages = sorted(p for p in site.rglob("*.html") if p.name != "404.html")
    assert len(pages) >= 23 and len(list(site.glob("notebooks/*.html"))) >= 5
    images = 0
    for path in pages:
        page = s.open(path)
        page.wait_for_load_state("load")
        broken = page.evaluate("""() => Array.from(document.images).filter(
            im => !(im.complete && im.naturalWidth > 0)).map(im => im.src)""")
        assert broken == [], (path.name, broken)
        images += page.evaluate("() => document.images.length")
        assert s.errors == [], path.name
    assert images >= 30                                            # the figures and the gallery
    s.check_clean()


def test_a_request_out_of_the_machine_would_be_caught(site, s):
    page = s.open(site / "index.html")
    page.evaluate("() => { const i = new Image(); i.src = 'https://example.com/x.png'; "
                  "document.body.appendChild(i); }")
    page.wait_for_timeout(300)
    assert s.outside == ["https://example.com/x.png"]
