"""A click that ends editing a lab field is not lost: the field's change (which redraws the
explorer) waits until the pointer is released, so the click lands on the explorer it was aimed at
and the change still applies."""
import pytest

from bptt.viz.lab import lab
from browser_helpers import Session, browser  # noqa: F401

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def lab_file(tmp_path_factory):
    return lab(tmp_path_factory.mktemp("lab") / "lab.html")


@pytest.fixture
def session(browser):  # noqa: F811
    s = Session(browser)
    yield s
    s.context.close()


def test_editing_a_field_then_clicking_the_explorer_does_both(session, lab_file):
    page = session.page
    page.goto(lab_file.as_uri())
    page.wait_for_function("() => document.documentElement.dataset.labReady === '1'")
    step = lambda: page.evaluate("() => document.getElementById('bptt-root').dataset.step")  # noqa: E731
    assert step() == "0"
    page.fill("#lab-k2", "2")                      # typed, not yet committed: no blur
    page.click("#bptt-next")                       # the press blurs the field: change, then click
    page.wait_for_function("() => bpttLab.state().options.k2 === 2")
    assert step() == "1"                           # the click stepped the explorer on
    page.fill("#lab-hidden", "5")
    page.click("#bptt-next")
    page.wait_for_function("() => bpttLab.state().options.hidden === 5")
    assert step() == "2"                           # the step is kept across the redraw
    page.fill("#lab-seed", "3")                    # a change by keyboard alone applies at once
    page.press("#lab-seed", "Tab")
    page.wait_for_function("() => bpttLab.state().options.seed === 3")
    assert page.inner_text("#lab-error") == ""
    session.check_clean()
