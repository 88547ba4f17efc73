"""Weights to and from PyTorch — the way out when a model outgrows bptt.

    rnn, linear = bptt.to_torch(model)        # torch.nn.RNN, LSTM or GRU, and torch.nn.Linear
    model = bptt.from_torch(rnn, linear)      # the same function in bptt

The torch modules compute the same function as the model: time-major input (T, B, D)
(`batch_first=False`), logits = linear(rnn(x, h0)[0]); softmax or the identity is applied by the
loss, as in bptt. PyTorch is imported only inside these functions.

Names (layer l; the suffix ".l" for l >= 1, see `bptt.cells.layers`):

    SimpleRNN   nn.RNN                         LSTM (Greff et al.)   nn.LSTM
    U           weight_ih_l{l}                 [W_i; W_f; W_z; W_o]  weight_ih_l{l}
    W           weight_hh_l{l}                 [R_i; R_f; R_z; R_o]  weight_hh_l{l}
    b           bias_ih_l{l} + bias_hh_l{l}    [b_i; b_f; b_z; b_o]  bias_ih_l{l} + bias_hh_l{l}
    V, c        Linear.weight, Linear.bias     V, c                  Linear.weight, Linear.bias

    GRU (reset="after")       nn.GRU
    [U_r; U_z; U_n]           weight_ih_l{l}
    [W_r; W_z; W_n]           weight_hh_l{l}
    [b_r; b_z; b_n]           bias_ih_l{l}   (exported; imported: b_r = b_ir + b_hr, b_z = b_iz + b_hz,
    [0; 0; b_hn]              bias_hh_l{l}    b_n = b_in, b_hn = b_hn)
    V, c                      Linear.weight, Linear.bias

PyTorch's LSTM gate order i, f, g, o is Greff's i, f, z, o (g, the "cell gate", is the block
input z); its GRU order r, z, n is bptt's. bptt has one bias per gate; exporting puts it in bias_ih
and zeros in bias_hh, and importing adds the two — except the GRU's candidate, whose recurrent
bias b_hn sits inside the reset gate's product, r ⊙ (W_n h + b_hn), and so stays a parameter of
its own. Not expressible in PyTorch's modules, and refused with a message: sigmoid or identity
activations of a SimpleRNN, LSTM peepholes, and a GRU with reset="before" (the reset gate applied
to h(t−1) before W_n, as in Cho et al. 2014).

Bidirectional models (`bidirectional=True`, see `bptt.cells.bidirectional`) map onto the torch
module with bidirectional=True and a Linear(2H, O): the backward direction's parameters
("U@rev", "W_z@rev.1", ...) are torch's "_reverse" ones (weight_ih_l{l}_reverse, ...), by the
same table; h0 (2L, B, H) is torch's h_0 as it is.
"""
from __future__ import annotations

import numpy as np

from ..cells.bidirectional import direction_key

GREFF_IN_TORCH_ORDER = ("i", "f", "z", "o")
GRU_IN_TORCH_ORDER = ("r", "z", "n")


def _torch():
    try:
        import torch
    except ImportError:
        raise ImportError("bptt.to_torch/from_torch need PyTorch: pip install 'bptt[torch]' "
                          "(torch==2.13.0).") from None
    return torch


def to_torch(model):
    """(torch.nn.RNN, LSTM or GRU, torch.nn.Linear) computing the same function as model:
    time-major x (T, B, D), logits = linear(rnn(x, h0)[0]) (T, B, O); weights copied, no
    transposes (U (H, D) is weight_ih_l0).

    Examples:
        >>> import torch
        >>> from bptt import SimpleRNN, to_torch
        >>> model = SimpleRNN(3, 4, 2, seed=0)
        >>> rnn, linear = to_torch(model)
        >>> rnn, linear
        (RNN(3, 4), Linear(in_features=4, out_features=2, bias=True))
        >>> x = np.random.default_rng(0).normal(size=(5, 2, 3))             # (T, B, D)
        >>> logits = linear(rnn(torch.from_numpy(x))[0]).detach().numpy()   # (T, B, O)
        >>> bool(np.allclose(logits, model.forward(x).o, rtol=0, atol=1e-12))
        True
    """
    from ..cells.gru.model import GRU
    from ..cells.lstm.model import LSTM
    from ..cells.rnn.model import SimpleRNN
    if not isinstance(model, (SimpleRNN, LSTM, GRU)):
        raise TypeError(f"The 'model' argument of to_torch must be a SimpleRNN, an LSTM or a GRU. "
                        f"Got {type(model).__name__}.")
    torch = _torch()
    dtype = torch.float64 if model.dtype == np.float64 else torch.float32
    D, H, O, L = model.input_size, model.hidden_size, model.output_size, model.num_layers
    P = model.params
    bi = model.bidirectional
    dirs = [(l, d) for l in range(L) for d in ((0, 1) if bi else (0,))]   # torch's order
    k_ = lambda name, ld: direction_key(name, *ld)                  # noqa: E731
    t = lambda a: torch.from_numpy(np.ascontiguousarray(a))     # noqa: E731
    stack = lambda names, ld: np.concatenate([P[k_(k, ld)] for k in names])   # noqa: E731
    if model.kind == "rnn":
        if model.activation not in ("tanh", "relu"):
            raise ValueError(f"PyTorch's nn.RNN has only tanh and relu nonlinearities; this "
                             f"SimpleRNN uses {model.activation!r} and cannot be exported.")
        rnn = torch.nn.RNN(D, H, num_layers=L, nonlinearity=model.activation, bidirectional=bi,
                           dtype=dtype)
        weights = {ld: (P[k_("U", ld)], P[k_("W", ld)], P[k_("b", ld)], None) for ld in dirs}
    elif model.kind == "lstm":
        if model.peepholes:
            raise ValueError("PyTorch's nn.LSTM has no peephole connections (p_i, p_f, p_o); "
                             "an LSTM with peepholes=True cannot be exported.")
        rnn = torch.nn.LSTM(D, H, num_layers=L, bidirectional=bi, dtype=dtype)
        weights = {ld: tuple(stack([f"{m}_{g}" for g in GREFF_IN_TORCH_ORDER], ld)
                             for m in ("W", "R", "b")) + (None,) for ld in dirs}
    else:
        if model.reset != "after":
            raise ValueError("PyTorch's nn.GRU applies the reset gate after W_n, "
                             "r ⊙ (W_n h + b_hn); a GRU with reset='before', W_n (r ⊙ h), "
                             "cannot be exported.")
        rnn = torch.nn.GRU(D, H, num_layers=L, bidirectional=bi, dtype=dtype)
        zeros = np.zeros(2 * H, dtype=model.dtype)
        weights = {ld: tuple(stack([f"{m}_{g}" for g in GRU_IN_TORCH_ORDER], ld) for m in ("U", "W", "b"))
                   + (np.concatenate([zeros, P[k_("b_hn", ld)]]),) for ld in dirs}
    linear = torch.nn.Linear(2 * H if bi else H, O, dtype=dtype)
    with torch.no_grad():
        for (l, d), (w_ih, w_hh, b, b_hh) in weights.items():
            sfx = f"l{l}_reverse" if d else f"l{l}"
            getattr(rnn, f"weight_ih_{sfx}").copy_(t(w_ih))
            getattr(rnn, f"weight_hh_{sfx}").copy_(t(w_hh))
            getattr(rnn, f"bias_ih_{sfx}").copy_(t(b))
            if b_hh is None:
                getattr(rnn, f"bias_hh_{sfx}").zero_()
            else:
                getattr(rnn, f"bias_hh_{sfx}").copy_(t(b_hh))
        linear.weight.copy_(t(P["V"]))
        linear.bias.copy_(t(P["c"]))
    return rnn, linear


def from_torch(rnn, linear, *, output="softmax"):
    """A bptt model with the weights of (rnn, linear): nn.RNN → SimpleRNN, nn.LSTM → LSTM,
    nn.GRU → GRU (reset="after"). weight_ih_l0 (H, D) becomes U, Linear.weight (O, H) V.

    Examples:
        >>> import torch
        >>> from bptt import GRU, from_torch, to_torch
        >>> rnn, linear = torch.nn.GRU(3, 4).double(), torch.nn.Linear(4, 2).double()
        >>> model = from_torch(rnn, linear)
        >>> model
        GRU(3, 4, 2, num_layers=1, reset='after', output='softmax', dtype='float64')
        >>> x = torch.randn(5, 2, 3, dtype=torch.float64)                    # (T, B, D)
        >>> bool(np.allclose(model.forward(x.numpy()).o, linear(rnn(x)[0]).detach().numpy()))
        True
        >>> back, _ = to_torch(model)                   # and back: the same function again
        >>> bool(torch.allclose(back(x)[0], rnn(x)[0]))
        True
    """
    torch = _torch()
    if not isinstance(linear, torch.nn.Linear):
        raise TypeError(f"The 'linear' argument of from_torch must be a torch.nn.Linear. "
                        f"Got {type(linear).__name__}.")
    if not isinstance(rnn, (torch.nn.RNN, torch.nn.LSTM, torch.nn.GRU)):
        raise TypeError(f"The 'rnn' argument of from_torch must be a torch.nn.RNN, "
                        f"torch.nn.LSTM or torch.nn.GRU. Got {type(rnn).__name__}.")
    if getattr(rnn, "proj_size", 0):
        raise ValueError(f"from_torch: an LSTM with proj_size={rnn.proj_size} has no bptt equivalent.")
    bi = bool(rnn.bidirectional)
    width = 2 * rnn.hidden_size if bi else rnn.hidden_size
    if linear.in_features != width:
        what = "2 · the RNN's hidden_size (bidirectional)" if bi else "the RNN's hidden_size"
        raise ValueError(f"from_torch: linear.in_features = {linear.in_features} must equal "
                         f"{what} = {width}.")
    if linear.bias is None:
        raise ValueError("from_torch: the Linear layer needs a bias (it becomes c).")
    w = rnn.weight_ih_l0
    dtype = {torch.float64: "float64", torch.float32: "float32"}.get(w.dtype)
    if dtype is None:
        raise ValueError(f"from_torch: weights of dtype {w.dtype} are not supported "
                         f"(float32 or float64).")
    D, H, L, O = rnn.input_size, rnn.hidden_size, rnn.num_layers, linear.out_features
    n = lambda a: a.detach().cpu().numpy().astype(dtype, copy=True)   # noqa: E731
    dirs = [(l, d) for l in range(L) for d in ((0, 1) if bi else (0,))]
    sfx = lambda ld: f"l{ld[0]}_reverse" if ld[1] else f"l{ld[0]}"        # noqa: E731
    k_ = lambda name, ld: direction_key(name, *ld)                      # noqa: E731

    def bias(ld, kinds=("ih", "hh")):
        parts = [getattr(rnn, f"bias_{k}_{sfx(ld)}", None) for k in kinds]
        parts = [n(p) for p in parts if p is not None]
        return sum(parts) if parts else np.zeros(getattr(rnn, f"weight_hh_{sfx(ld)}").shape[0], dtype)

    if isinstance(rnn, torch.nn.GRU):
        from ..cells.gru.model import GRU
        model = GRU(D, H, O, num_layers=L, bidirectional=bi, output=output, dtype=dtype)
        for ld in dirs:
            b_ih, b_hh = bias(ld, ("ih",)), bias(ld, ("hh",))
            blocks = {"U": n(getattr(rnn, f"weight_ih_{sfx(ld)}")), "W": n(getattr(rnn, f"weight_hh_{sfx(ld)}")),
                      "b": np.concatenate([b_ih[:2 * H] + b_hh[:2 * H], b_ih[2 * H:]])}
            for m, full in blocks.items():       # b_r = b_ir + b_hr, b_z = b_iz + b_hz, b_n = b_in
                for i, g in enumerate(GRU_IN_TORCH_ORDER):
                    model.params[k_(f"{m}_{g}", ld)][...] = full[i * H:(i + 1) * H]
            model.params[k_("b_hn", ld)][...] = b_hh[2 * H:]            # inside r ⊙ (W_n h + b_hn)
    elif isinstance(rnn, torch.nn.LSTM):
        from ..cells.lstm.model import LSTM
        model = LSTM(D, H, O, num_layers=L, bidirectional=bi, output=output, dtype=dtype)
        for ld in dirs:
            blocks = {"W": n(getattr(rnn, f"weight_ih_{sfx(ld)}")), "R": n(getattr(rnn, f"weight_hh_{sfx(ld)}")),
                      "b": bias(ld)}
            for m, full in blocks.items():
                for i, g in enumerate(GREFF_IN_TORCH_ORDER):
                    model.params[k_(f"{m}_{g}", ld)][...] = full[i * H:(i + 1) * H]
    else:
        from ..cells.rnn.model import SimpleRNN
        model = SimpleRNN(D, H, O, num_layers=L, activation=rnn.nonlinearity, bidirectional=bi,
                          output=output, dtype=dtype)
        for ld in dirs:
            model.params[k_("U", ld)][...] = n(getattr(rnn, f"weight_ih_{sfx(ld)}"))
            model.params[k_("W", ld)][...] = n(getattr(rnn, f"weight_hh_{sfx(ld)}"))
            model.params[k_("b", ld)][...] = bias(ld)
    model.params["V"][...] = n(linear.weight)
    model.params["c"][...] = n(linear.bias)
    return model
