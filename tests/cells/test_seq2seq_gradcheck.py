"""Seq2Seq's gradients against central finite differences (float64), independent of PyTorch."""
import numpy as np
import pytest

from bptt import Seq2Seq
from test_seq2seq_torch import random_batch


def directional_errors(model, batch, seed=0):
    """Per parameter: |FD − analytic| / (max(|FD|, |analytic|) + 1e-7) of the derivative along a
    random direction, the smaller of central differences at eps = 1e-5 and 1e-6 (truncation
    error grows with eps, round-off, about 1e-10 / eps, shrinks with it; hence the floor too)."""
    rng = np.random.default_rng(seed)
    _, grads = model.loss_and_grads(*batch)
    errs = {}
    for k, p in model.params.items():
        d = rng.standard_normal(p.shape)
        an = float((grads[k] * d).sum())
        errs[k] = np.inf
        for eps in (1e-5, 1e-6):
            p += eps * d
            jp = model.loss(*batch)
            p -= 2 * eps * d
            jm = model.loss(*batch)
            p += eps * d
            fd = (jp - jm) / (2 * eps)
            errs[k] = min(errs[k], abs(fd - an) / (max(abs(fd), abs(an)) + 1e-7))
    return errs


@pytest.mark.parametrize("cell", ["rnn", "lstm", "gru"])
@pytest.mark.parametrize("attention", [None, "dot", "general", "additive"])
def test_finite_differences(cell, attention):
    rng = np.random.default_rng(11)
    model = Seq2Seq(6, 7, 4, cell=cell, attention=attention, bidirectional_encoder=True,
                    num_layers=2, seed=3)
    for p in model.params.values():              # larger weights: gradients far above FD noise
        p *= 3
    errs = directional_errors(model, random_batch(rng, 6, 7, S=4, T=4, B=2))
    worst = max(errs, key=errs.get)
    assert errs[worst] < 1e-5, (worst, errs[worst])


def test_finite_differences_catch_a_wrong_gradient():
    """The check above can fail: halve one gradient and it does."""
    rng = np.random.default_rng(11)
    model = Seq2Seq(6, 7, 4, cell="gru", attention="additive", seed=3)
    batch = random_batch(rng, 6, 7, S=4, T=4, B=2)
    real = model.loss_and_grads

    def broken(*a):
        J, g = real(*a)
        g["attn.v"] = g["attn.v"] * 0.5
        return J, g
    model.loss_and_grads = broken
    assert directional_errors(model, batch)["attn.v"] > 0.1
