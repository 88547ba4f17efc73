"""Independent PyTorch references for the GRU, in float64 (the helpers of the GRU test modules
that need torch). Import this module only after `pytest.importorskip("torch")`: it imports torch.

- `gru_reference`: torch.nn.GRU + nn.Linear with the weights copied by hand (reset="after" only,
  the form PyTorch computes): weight_ih_l{k} = [U_r; U_z; U_n], weight_hh_l{k} = [W_r; W_z; W_n],
  bias_ih_l{k} = [b_r; b_z; b_n], bias_hh_l{k} = [0; 0; b_hn] — PyTorch's gate order r, z, n.
- `torch_gru_loop`: the GRU equations of either reset placement written with torch ops, every
  intermediate retained, for reset="before" (which nn.GRU cannot express) and for the trace's
  errors (each retained .grad after J.backward() is the total gradient of J for that tensor).
"""
import numpy as np
import torch
import torch.nn.functional as F

torch.set_num_threads(1)
TORCH_ORDER = ("r", "z", "n")               # PyTorch's order, which is bptt's names


def name(base, layer):
    """The documented key convention: plain names for layer 0, "U_r.1" for layer 1, ..."""
    return base if layer == 0 else f"{base}.{layer}"


def t64(a):
    return torch.tensor(np.asarray(a), dtype=torch.float64)


def torch_gru(params, D, H, O, num_layers):
    """nn.GRU and nn.Linear holding the bptt parameters of a reset="after" GRU."""
    gru = torch.nn.GRU(D, H, num_layers=num_layers, dtype=torch.float64)
    lin = torch.nn.Linear(H, O, dtype=torch.float64)
    with torch.no_grad():
        for k in range(num_layers):
            for w, attr in (("U", "weight_ih"), ("W", "weight_hh"), ("b", "bias_ih")):
                getattr(gru, f"{attr}_l{k}").copy_(
                    torch.cat([t64(params[name(f"{w}_{g}", k)]) for g in TORCH_ORDER]))
            getattr(gru, f"bias_hh_l{k}").copy_(
                torch.cat([torch.zeros(2 * H, dtype=torch.float64), t64(params[name("b_hn", k)])]))
        lin.weight.copy_(t64(params["V"]))
        lin.bias.copy_(t64(params["c"]))
    return gru, lin


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


def gru_reference(model, x, y, h0, mask):
    """nn.GRU's loss, grads (keyed like model.params), dh0 in the model's layout, h, h_n, and
    dx = ∂J/∂x (T, B, D) for float inputs (None for token ids), from x.requires_grad_()."""
    assert model.reset == "after", "nn.GRU computes reset='after' only"
    D, H, O, L = model.input_size, model.hidden_size, model.output_size, model.num_layers
    gru, lin = torch_gru(model.params, D, H, O, L)
    xt = torch_inputs(x, D)
    dense = np.asarray(x).dtype.kind == "f"
    if dense:
        xt.requires_grad_()
    B = xt.shape[1]
    shape = (B, H) if L == 1 else (L, B, H)
    h0 = np.zeros(shape) if h0 is None else h0
    h0t = t64(h0).reshape(L, B, H).requires_grad_()
    out, h_n = gru(xt, h0t)
    J, _ = torch_loss(lin(out), y, mask, model.output)
    J.backward()
    grads = {"V": lin.weight.grad.numpy(), "c": lin.bias.grad.numpy()}
    for k in range(L):
        for w, attr in (("U", "weight_ih"), ("W", "weight_hh"), ("b", "bias_ih")):
            chunks = torch.chunk(getattr(gru, f"{attr}_l{k}").grad, 3)
            for g, chunk in zip(TORCH_ORDER, chunks):
                grads[name(f"{w}_{g}", k)] = chunk.numpy()
        grads[name("b_hn", k)] = torch.chunk(getattr(gru, f"bias_hh_l{k}").grad, 3)[2].numpy()
    return {"loss": J.item(), "grads": grads, "dh0": h0t.grad.numpy().reshape(shape),
            "dx": xt.grad.numpy().copy() if dense else None,
            "h": out.detach().numpy(), "h_n": h_n.detach().numpy().reshape(shape)}


def torch_gru_loop(model, x, y, h0, mask, *, backward=True):
    """The GRU equations (model.reset's form) with torch ops, every intermediate retained.

    Returns dict(J, L (T, B) per-term losses, o, P (the parameter leaves), h0 (L, B, H) leaf,
    x (the input leaf; it requires grad for float inputs), layers): layers[l] holds the lists
    "h", "r_hat", "z_hat", "n_hat" and, with reset="after", "hn_hat" = W_n h(t−1) + b_hn.
    With backward=True, J.backward() has run."""
    P = {k: t64(p).requires_grad_() for k, p in model.params.items()}
    Ln, H, after = model.num_layers, model.hidden_size, model.reset == "after"
    xt = torch_inputs(x, model.input_size)
    if np.asarray(x).dtype.kind == "f":
        xt.requires_grad_()
    T, B = xt.shape[:2]
    h0 = np.zeros((Ln, B, H)) if h0 is None else h0
    h0t = t64(h0).reshape(Ln, B, H).requires_grad_()
    layers, inp = [], list(xt)
    for k in range(Ln):
        p = {n: P[name(n, k)] for n in ("U_r", "U_z", "U_n", "W_r", "W_z", "W_n", "b_r", "b_z",
                                        "b_n", "b_hn") if name(n, k) in P}
        h_prev = h0t[k]
        rec = {n: [] for n in ("h", "r_hat", "z_hat", "n_hat") + (("hn_hat",) if after else ())}
        for t in range(T):
            vals = {"r_hat": inp[t] @ p["U_r"].T + h_prev @ p["W_r"].T + p["b_r"],
                    "z_hat": inp[t] @ p["U_z"].T + h_prev @ p["W_z"].T + p["b_z"]}
            r, z = torch.sigmoid(vals["r_hat"]), torch.sigmoid(vals["z_hat"])
            if after:
                vals["hn_hat"] = h_prev @ p["W_n"].T + p["b_hn"]
                vals["n_hat"] = inp[t] @ p["U_n"].T + p["b_n"] + r * vals["hn_hat"]
            else:
                vals["n_hat"] = inp[t] @ p["U_n"].T + (r * h_prev) @ p["W_n"].T + p["b_n"]
            vals["h"] = (1 - z) * torch.tanh(vals["n_hat"]) + z * h_prev
            for n, val in vals.items():
                val.retain_grad()
                rec[n].append(val)
            h_prev = vals["h"]
        layers.append(rec)
        inp = rec["h"]
    o = torch.stack(inp) @ P["V"].T + P["c"]
    o.retain_grad()
    J, L = torch_loss(o, y, mask, model.output)
    if backward:
        J.backward()
    return {"J": J, "L": L, "o": o, "P": P, "h0": h0t, "x": xt, "layers": layers}
