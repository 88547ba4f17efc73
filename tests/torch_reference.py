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


def _inputs(x, D):
    """x as a float64 tensor (token ids one-hot encoded) and whether it was dense; a dense x
    requires its gradient, ∂J/∂x."""
    xt = torch.tensor(np.asarray(x))
    if xt.dtype in (torch.int64, torch.int32):
        return F.one_hot(xt.long(), D).to(torch.float64), False   # the reference may build one-hot
    return xt.to(torch.float64).requires_grad_(), True


def _loss(o, y, mask, output):
    """J = (1/B) Σ mask·L and the per-term losses L (T, B)."""
    T, B = o.shape[:2]
    if output == "softmax":
        L = F.cross_entropy(o.reshape(T * B, -1), torch.tensor(y).long().reshape(-1),
                            reduction="none").reshape(T, B)
    else:
        L = 0.5 * ((o - _t(y)) ** 2).sum(-1)
    mask_t = torch.ones(T, B, dtype=torch.float64) if mask is None else _t(mask)
    return (mask_t * L).sum() / B, L


def rnn_stacked_reference(model, x, y, h0, mask):
    """A SimpleRNN of any depth (tanh or relu) as torch.nn.RNN(num_layers=L) + Linear, weights
    copied (layer l's U, W, b under "U.l", ...; bias_hh = 0). Returns dict(loss, grads, dh0 (L, B, H),
    h_n (L, B, H), dx) by autograd."""
    L, H, D = model.num_layers, model.hidden_size, model.input_size
    rnn = torch.nn.RNN(D, H, num_layers=L, nonlinearity=model.activation, dtype=torch.float64)
    lin = torch.nn.Linear(H, model.output_size, dtype=torch.float64)
    with torch.no_grad():
        for l in range(L):
            sfx = "" if l == 0 else f".{l}"
            getattr(rnn, f"weight_ih_l{l}").copy_(_t(model.params["U" + sfx]))
            getattr(rnn, f"weight_hh_l{l}").copy_(_t(model.params["W" + sfx]))
            getattr(rnn, f"bias_ih_l{l}").copy_(_t(model.params["b" + sfx]))
            getattr(rnn, f"bias_hh_l{l}").zero_()
        lin.weight.copy_(_t(model.params["V"]))
        lin.bias.copy_(_t(model.params["c"]))
    xt, dense = _inputs(x, D)
    B = xt.shape[1]
    h0t = (torch.zeros(L, B, H, dtype=torch.float64) if h0 is None
           else _t(h0).reshape(L, B, H)).requires_grad_()
    hs, hn = rnn(xt, h0t)
    J, _ = _loss(lin(hs), y, mask, model.output)
    J.backward()
    grads = {"V": lin.weight.grad, "c": lin.bias.grad}
    for l in range(L):
        sfx = "" if l == 0 else f".{l}"
        grads["U" + sfx] = getattr(rnn, f"weight_ih_l{l}").grad
        grads["W" + sfx] = getattr(rnn, f"weight_hh_l{l}").grad
        grads["b" + sfx] = getattr(rnn, f"bias_ih_l{l}").grad
    return {"loss": J.item(), "grads": {k: g.numpy() for k, g in grads.items()},
            "dh0": h0t.grad.numpy(), "h_n": hn.detach().numpy(),
            "dx": xt.grad.numpy().copy() if dense else None}


def rnn_reference(params, x, y, h0, mask, *, activation="tanh", output="softmax", keep=False,
                  backward=True):
    """Returns dict(loss, grads, dh0, dx, a, h, o) — a, h, o the retained (T, B, .) tensors, and
    per-term losses L (T, B) — computed by autograd from J = (1/B) Σ mask·L. dx = ∂J/∂x (T, B, D)
    from x.requires_grad_() for float inputs, None for token ids."""
    U, W, b, V, c = (_t(params[k]).requires_grad_() for k in "UWbVc")
    D = U.shape[1]
    xt, dense = _inputs(x, D)
    T, B = xt.shape[:2]
    H = U.shape[0]
    h0t = (torch.zeros(B, H, dtype=torch.float64) if h0 is None else _t(h0)).requires_grad_()

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
    J, L = _loss(o, y, mask, output)
    if not backward:
        return {"loss": J, "L": L, "a": a_list, "h": hs, "o": o}
    J.backward()
    params_t.update(V=lin.weight, c=lin.bias)
    out = {"loss": J.item(), "grads": {k: p.grad.numpy().copy() for k, p in params_t.items()},
           "dh0": h0t.grad.numpy().copy(), "dx": xt.grad.numpy().copy() if dense else None,
           "o": o, "L": L}
    if a_list is not None:
        out["a"] = a_list
        out["h"] = h_list
    return out


def rel_err(a, b):
    a, b = np.asarray(a), np.asarray(b)
    return float(np.abs(a - b).max() / max(np.abs(b).max(), 1e-300))
