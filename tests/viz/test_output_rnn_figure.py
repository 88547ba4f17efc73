"""teacher_forcing_flow draws the two traces' flow matrices, exactly, zeros blank."""
import numpy as np
import pytest

import bptt
from bptt.viz import teacher_forcing_flow


def traces(T=7):
    rng = np.random.default_rng(0)
    m = bptt.OutputRNN(3, 6, 4, seed=1)
    m.params["W"] *= 3.0
    x, y = rng.normal(size=(T, 2, 3)), rng.integers(0, 4, (T, 2))
    return m.trace(x, y, mode="teacher"), m.trace(x, y, mode="free")


def test_drawn_arrays_equal_the_flows():
    teacher, free = traces()
    fig = teacher_forcing_flow(teacher, free)
    axes = [ax for ax in fig.axes if ax.images]
    assert len(axes) == 2
    for ax, tr in zip(axes, (teacher, free)):
        drawn = ax.images[0].get_array()
        np.testing.assert_array_equal(drawn.filled(0.0), tr.flow)
        np.testing.assert_array_equal(np.ma.getmaskarray(drawn), tr.flow == 0)   # zeros blank
    assert axes[0].images[0].norm is axes[1].images[0].norm                      # one scale
    teacher_mask = np.ma.getmaskarray(axes[0].images[0].get_array())
    assert np.array_equal(~teacher_mask, np.eye(7, dtype=bool))                  # the diagonal only
    assert not np.ma.getmaskarray(axes[1].images[0].get_array())[np.tril_indices(7)].any()
    fig.canvas.draw()


def test_refuses_other_traces():
    teacher, free = traces()
    rnn_tr = bptt.SimpleRNN(3, 4, 4).trace(np.zeros((7, 2, 3)), np.zeros((7, 2), int))
    with pytest.raises(TypeError, match="'free_trace' argument of teacher_forcing_flow must be an OutputRNNTrace"):
        teacher_forcing_flow(teacher, rnn_tr)
    short, _ = traces(T=5)
    with pytest.raises(ValueError, match="same length"):
        teacher_forcing_flow(short, free)
