"""Replaying a BPTT lab experiment in Python: `LabExport.replay()` (the export itself is read by
`bptt.io.lab_export`, which sits below training and so cannot import the optimizers; this module
attaches `replay` to its LabExport class, as `bptt.viz` attaches displays to the trace classes).

Each update of the history, as the page's engine makes it (lab_train.js `train`), from params0:

    J, ∂J/∂θ    full BPTT (model.loss_and_grads), or with config.k2 the truncated gradient
                TBPTT(1, k2): the sum over the windows of model.tbptt(x, y, k1=1, k2=k2, h0, mask),
                computed with no update between windows (each loss term L(s) back-propagated
                through steps s−k2+1..s only); J is then the sum of the windows' losses
    clip        bptt.clipping.clip_by_norm / clip_by_value with config.clip, or nothing ("none")
    step        bptt.optim.make_optimizer(config.optimizer, config.lr).step(params, grads)

    ex = bptt.load_lab_export("lab.json")
    losses, params = ex.replay()     # equal to ex.losses and ex.params to round-off
"""
from __future__ import annotations

import numpy as np

from ..io.lab_export import LabExport, load_lab_export
from .clipping import clip_by_norm, clip_by_value
from .optim import make_optimizer

__all__ = ["gradient", "replay", "load_lab_export"]


def gradient(model, ex: LabExport, k2=None):
    """(J, ∂J/∂θ) of `model` on the export's problem: full BPTT, or TBPTT(1, k2) summed over its
    windows when k2 is set."""
    if k2 is None:
        return model.loss_and_grads(ex.x, ex.y, ex.h0, ex.mask)
    loss, grads = 0.0, {k: np.zeros_like(p) for k, p in model.params.items()}
    for w in model.tbptt(ex.x, ex.y, 1, k2, h0=ex.h0, mask=ex.mask):
        loss += w.loss                                        # L(t_end) of the window
        for k in grads:
            grads[k] += w.grads[k]                            # ∂L(t_end)/∂θ through k2 steps
    return loss, grads


def replay(ex: LabExport):
    """(losses, params): every update of the export's history re-run from params0; losses[i] is
    J before update i (as the page records it), params the parameters after the last update."""
    cfg = ex.config
    model = ex.model0()
    opt = make_optimizer(cfg["optimizer"], cfg["lr"])
    losses = []
    for _ in range(len(ex.losses)):
        loss, grads = gradient(model, ex, cfg["k2"])
        if cfg["clip_mode"] == "norm":
            clip_by_norm(grads, cfg["clip"])
        elif cfg["clip_mode"] == "value":
            clip_by_value(grads, cfg["clip"])
        opt.step(model.params, grads)
        losses.append(loss)
    return np.array(losses, dtype=np.float64), model.params


LabExport.replay = replay
