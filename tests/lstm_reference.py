"""An independent PyTorch reference for the LSTM, built from torch.nn.LSTM + nn.Linear with the
weights copied by hand, in float64 (the helpers of the LSTM test modules that need torch).

PyTorch stacks the gates of weight_ih_l{k}, weight_hh_l{k}, bias_ih_l{k} in the order i, f, g, o,
which in Greff et al.'s names is i, f, z, o. bias_ih = b, bias_hh = 0. Import this module only
after `pytest.importorskip("torch")`: it imports torch.
"""
import numpy as np
import torch
import torch.nn.functional as F

torch.set_num_threads(1)
TORCH_ORDER = ("i", "f", "z", "o")          # PyTorch's i, f, g, o


def name(base, layer):
    """The documented key convention: plain names for layer 0, "W_z.1" for layer 1, ..."""
    return base if layer == 0 else f"{base}.{layer}"


def t64(a):
    return torch.tensor(np.asarray(a), dtype=torch.float64)


def torch_lstm(params, D, H, O, num_layers):
    """nn.LSTM and nn.Linear holding the bptt parameters (copied by hand, gate order i, f, g, o)."""
    lstm = torch.nn.LSTM(D, H, num_layers=num_layers, dtype=torch.float64)
    lin = torch.nn.Linear(H, O, dtype=torch.float64)
    with torch.no_grad():
        for k in range(num_layers):
            for w, attr in (("W", "weight_ih"), ("R", "weight_hh"), ("b", "bias_ih")):
                getattr(lstm, f"{attr}_l{k}").copy_(
                    torch.cat([t64(params[name(f"{w}_{g}", k)]) for g in TORCH_ORDER]))
            getattr(lstm, f"bias_hh_l{k}").zero_()
        lin.weight.copy_(t64(params["V"]))
        lin.bias.copy_(t64(params["c"]))
    return lstm, lin


def torch_inputs(x, D):
    xt = torch.tensor(np.asarray(x))
    if xt.dtype in (torch.int64, torch.int32):
        return F.one_hot(xt.long(), D).to(torch.float64)     # the reference may build one-hot
    return xt.to(torch.float64)


def torch_loss(o, y, mask, output):
    """J = (1/B) Σ mask·L and the per-term losses L (T, B)."""
    T, B = o.shape[:2]
    if output == "softmax":
        L = F.cross_entropy(o.reshape(T * B, -1), torch.tensor(y).long().reshape(-1),
                            reduction="none").reshape(T, B)
    else:
        L = 0.5 * ((o - t64(y)) ** 2).sum(-1)
    m = torch.ones(T, B, dtype=torch.float64) if mask is None else t64(mask)
    return (m * L).sum() / B, L


def lstm_reference(model, x, y, h0, mask):
    """loss, grads (keyed like model.params), (dh0, dc0) in the model's layout, h, h_n, c_n, and
    dx = ∂J/∂x (T, B, D) for float inputs (None for token ids), from x.requires_grad_()."""
    D, H, O, L = model.input_size, model.hidden_size, model.output_size, model.num_layers
    lstm, lin = torch_lstm(model.params, D, H, O, L)
    xt = torch_inputs(x, D)
    dense = np.asarray(x).dtype.kind == "f"
    if dense:
        xt.requires_grad_()
    B = xt.shape[1]
    if h0 is None:
        h0 = (np.zeros((L, B, H)), np.zeros((L, B, H)))
    h0t = t64(h0[0]).reshape(L, B, H).requires_grad_()
    c0t = t64(h0[1]).reshape(L, B, H).requires_grad_()
    out, (h_n, c_n) = lstm(xt, (h0t, c0t))
    J, _ = torch_loss(lin(out), y, mask, model.output)
    J.backward()
    grads = {"V": lin.weight.grad.numpy(), "c": lin.bias.grad.numpy()}
    for k in range(L):
        for w, attr in (("W", "weight_ih"), ("R", "weight_hh"), ("b", "bias_ih")):
            chunks = torch.chunk(getattr(lstm, f"{attr}_l{k}").grad, 4)
            for g, chunk in zip(TORCH_ORDER, chunks):
                grads[name(f"{w}_{g}", k)] = chunk.numpy()
    shape = np.shape(h0[0])
    return {"loss": J.item(), "grads": grads,
            "dh0": (h0t.grad.numpy().reshape(shape), c0t.grad.numpy().reshape(shape)),
            "dx": xt.grad.numpy().copy() if dense else None,
            "h": out.detach().numpy(), "h_n": h_n.detach().numpy().reshape(shape),
            "c_n": c_n.detach().numpy().reshape(shape)}


def rel_err(a, b):
    a, b = np.asarray(a), np.asarray(b)
    return float(np.abs(a - b).max() / max(np.abs(b).max(), 1e-300))
