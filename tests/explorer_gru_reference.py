"""The GRU explorer's expected numbers, computed here from the Python trace and the parameters
independently of the library's explorer code (the helpers of tests/viz/test_explorer_gru*.py):
the pre-activations r̂, ẑ, n̂, ĥn by a formula of their own, and every data-key the page shows."""
import numpy as np

import bptt

ERRORS = ("o", "h", "r_hat", "z_hat", "n_hat")


def dense_gru_trace(reset="before"):
    """Dense inputs, identity output, a given h0, B = 2 and a mask with a zero and a half."""
    rng = np.random.default_rng(11)
    T, B, D, H, O = 5, 2, 3, 4, 2
    model = bptt.GRU(D, H, O, reset=reset, output="identity", seed=3)
    mask = np.ones((T, B))
    mask[1, 1] = 0.0
    mask[3, 0] = 0.5
    return model.trace(rng.normal(size=(T, B, D)), rng.normal(size=(T, B, O)),
                       h0=rng.normal(scale=0.5, size=(B, H)), mask=mask)


def float32_gru_trace():
    model = bptt.GRU(4, 3, 4, dtype="float32", reset="before", seed=4)
    return model.trace(np.array([[1, 2], [0, 3], [2, 2]]), np.array([[0, 1], [3, 3], [1, 0]]))


def preactivations(tr) -> dict:
    """forward.{r,z,n}_hat (and hn_hat with reset="after") of a one-layer GRU trace, from the
    equations with einsum (token inputs pick columns of U_*), not from the library's code."""
    p, x = tr.model.params, tr.x
    h_prev = np.concatenate([tr.h0[None], tr.forward.h[:-1]])              # h(t−1)   (T, B, H)
    r = tr.forward.gates["r"]

    def ux(g):
        U = p[f"U_{g}"]
        return U.T[x] if x.dtype.kind in "iu" else np.einsum("hd,tbd->tbh", U, x)

    def wh(W, h):
        return np.einsum("hk,tbk->tbh", W, h)

    out = {f"forward.{g}_hat": ux(g) + wh(p[f"W_{g}"], h_prev) + p[f"b_{g}"] for g in "rz"}
    if "b_hn" in p:                                                         # reset="after"
        hn = wh(p["W_n"], h_prev) + p["b_hn"]
        out["forward.hn_hat"] = hn
        out["forward.n_hat"] = ux("n") + p["b_n"] + r * hn
    else:                                                                   # reset="before"
        out["forward.n_hat"] = ux("n") + wh(p["W_n"], r * h_prev) + p["b_n"]
    return out


def error_keys(tr):
    return ERRORS + (("hn_hat",) if "hn_hat" in tr.errors else ())


def expected_values(tr, lr) -> dict:
    """data-key -> array indexed by the element's (s, t, b, i, j) attributes, from the trace."""
    T, B, H = tr.forward.h.shape
    fwd, m = tr.forward, tr.model
    if m.output == "softmax":
        p = np.take_along_axis(fwd.y_hat, tr.y[..., None], axis=-1)[..., 0]
        terms = -np.log(p) * tr.mask / B
        onehot = np.eye(m.output_size)[tr.y]
    else:
        terms = 0.5 * ((fwd.o - tr.y) ** 2).sum(-1) * tr.mask / B
        onehot = None
    out = {
        "forward.h": fwd.h, "forward.o": fwd.o, "forward.y_hat": fwd.y_hat,
        "x": tr.x, "y": tr.y, "mask": tr.mask, "loss": np.array(tr.loss),
        "loss_terms": terms, "onehot.y": onehot, "h0": tr.h0, "dh0": tr.dh0,
        "norm.errors_by_source.h": np.linalg.norm(tr.errors_by_source["h"], axis=-1),
        **preactivations(tr),
    }
    out.update({f"forward.gates.{g}": fwd.gates[g] for g in "rzn"})
    out.update({f"errors.{k}": tr.errors[k] for k in error_keys(tr)})
    for k in m.params:
        out["params." + k] = m.params[k]
        out["per_step." + k] = tr.per_step[k]
        out["grads." + k] = tr.grads[k]
        out["updated." + k] = m.params[k] - lr * tr.grads[k]
    return out
