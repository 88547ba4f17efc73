"""The Seq2Seq figures are drawn from real traces and check their inputs."""
import numpy as np
import pytest

from bptt import Seq2Seq
from bptt.cells.seq2seq import Seq2SeqStepper
from bptt.viz.seq2seq import accuracy_curves, attention_heatmap, encoder_reach



def test_attention_heatmap_draws_the_weights():
    m = Seq2Seq(7, 5, 4, attention="additive", seed=0)
    st = Seq2SeqStepper(m, np.array([3, 4, 5, 6]))
    alpha = st.attention_weights([3, 4, 2])
    fig = attention_heatmap(alpha, list("abcd"), ["x", "y", "<eos>"])
    im = fig.axes[0].images[0]
    np.testing.assert_array_equal(im.get_array(), alpha)
    assert [t.get_text() for t in fig.axes[0].get_xticklabels()] == list("abcd")
    with pytest.raises(ValueError, match="'alpha' argument of attention_heatmap must have shape"):
        attention_heatmap(alpha, list("abc"), ["x", "y", "z"])
    with pytest.raises(ValueError, match="must hold finite weights >= 0"):
        attention_heatmap(-alpha, list("abcd"), ["x", "y", "z"])


def test_encoder_reach_plots_the_trace_norms():
    rng = np.random.default_rng(0)
    src, tgt = rng.integers(3, 9, size=(8, 1)), np.array([[1, 4, 2]]).T
    plain = Seq2Seq(9, 5, 6, seed=1).trace(src, tgt)
    att = Seq2Seq(9, 5, 6, attention="dot", seed=1).trace(src, tgt)
    fig = encoder_reach(plain, att, t=1)
    y = fig.axes[1].lines[1].get_ydata()                       # with attention: the attention path
    np.testing.assert_allclose(y, att.reach(1)["attention"])
    with pytest.raises(TypeError, match="'plain_trace' argument of encoder_reach must be a Seq2SeqTrace"):
        encoder_reach(object(), att)
    short = Seq2Seq(9, 5, 6, seed=1).trace(src[:4], tgt)
    with pytest.raises(ValueError, match="compares two traces of the same source: got 4 and 8"):
        encoder_reach(short, att)


def test_accuracy_curves():
    fig = accuracy_curves({"a": [{"step": 1, "exact_match": 0.1}, {"step": 2, "exact_match": 0.5}]})
    np.testing.assert_array_equal(fig.axes[0].lines[0].get_ydata(), [0.1, 0.5])
    with pytest.raises(ValueError, match="must be dicts with 'step' and 'exact_match'"):
        accuracy_curves({"a": [{"step": 1}]})
    with pytest.raises(ValueError, match="must be a non-empty dict"):
        accuracy_curves({})
