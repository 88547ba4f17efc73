"""An independent PyTorch reference for the simple RNN, built from autograd, in float64.

tanh and relu use torch.nn.RNN with the weights copied (weight_ih_l0 = U, weight_hh_l0 = W,
bias_ih_l0 = b, bias_hh_l0 = 0) and torch.nn.Linear(V, c); sigmoid and identity use a short
hand-written loop, since nn.RNN has no such nonlinearity.
"""
import numpy as np
import torch
import torch.nn.functional as F

torch.set_num_threads(1)


def _t(a):
    return torch.tensor(np.asarray(a), dtype=torch.float64)


def rnn_reference(params, x, y, h0, mask, *, activation="tanh", output="softmax", keep=False,
                  backward=True):
    """Returns dict(loss, grads, dh0, a, h, o) — a, h, o the retained (T, B, .) tensors, and
    per-term losses L (T, B) — computed by autograd from J = (1/B) Σ mask·L."""
    U, W, b, V, c = (_t(params[k]).requires_grad_() for k in "UWbVc")
    D = U.shape[1]
    xt = torch.tensor(x)
    if xt.dtype in (torch.int64, torch.int32):
        xt = F.one_hot(xt.long(), D).to(torch.float64)     # the reference may build one-hot
    else:
        xt = xt.to(torch.float64)
    T, B = xt.shape[:2]
    H = U.shape[0]
    h0t = (torch.zeros(B, H, dtype=torch.float64) if h0 is None else _t(h0)).requires_grad_()
    mask_t = torch.ones(T, B, dtype=torch.float64) if mask is None else _t(mask)

    if activation in ("tanh", "relu") and not keep:
        rnn = torch.nn.RNN(D, H, nonlinearity=activation, dtype=torch.float64)
        with torch.no_grad():
            rnn.weight_ih_l0.copy_(U); rnn.weight_hh_l0.copy_(W)
            rnn.bias_ih_l0.copy_(b); rnn.bias_hh_l0.zero_()
        hs, _ = rnn(xt, h0t[None])
        a_list = None
        params_t = {"U": rnn.weight_ih_l0, "W": rnn.weight_hh_l0, "b": rnn.bias_ih_l0}
    else:
        g = {"tanh": torch.tanh, "relu": torch.relu, "sigmoid": torch.sigmoid,
             "identity": lambda z: z}[activation]
        h_prev, a_list, h_list = h0t, [], []
        for t in range(T):
            a_t = b + h_prev @ W.T + xt[t] @ U.T
            a_t.retain_grad()
            h_t = g(a_t)
            h_t.retain_grad()
            a_list.append(a_t); h_list.append(h_t)
            h_prev = h_t
        hs = torch.stack(h_list)
        params_t = {"U": U, "W": W, "b": b}
    lin = torch.nn.Linear(H, V.shape[0], dtype=torch.float64)
    with torch.no_grad():
        lin.weight.copy_(V); lin.bias.copy_(c)
    o = lin(hs)
    o.retain_grad()
    if output == "softmax":
        L = F.cross_entropy(o.reshape(T * B, -1), torch.tensor(y).long().reshape(-1),
                            reduction="none").reshape(T, B)
    else:
        L = 0.5 * ((o - _t(y)) ** 2).sum(-1)
    J = (mask_t * L).sum() / B
    if not backward:
        return {"loss": J, "L": L, "a": a_list, "h": hs, "o": o}
    J.backward()
    params_t.update(V=lin.weight, c=lin.bias)
    out = {"loss": J.item(), "grads": {k: p.grad.numpy().copy() for k, p in params_t.items()},
           "dh0": h0t.grad.numpy().copy(), "o": o, "L": L}
    if a_list is not None:
        out["a"] = a_list
        out["h"] = h_list
    return out


def rel_err(a, b):
    a, b = np.asarray(a), np.asarray(b)
    return float(np.abs(a - b).max() / max(np.abs(b).max(), 1e-300))
