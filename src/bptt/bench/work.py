"""The configurations of `bptt bench` and the work each side does on them (bptt and PyTorch,
the same weights through `bptt.to_torch`). Definitions are in `bptt.bench.runner`'s docstring."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class Config:
    name: str
    kind: str          # a key of bptt.cells.MODEL_KINDS: "rnn", "lstm" or "gru"
    T: int
    B: int
    D: int
    H: int
    O: int
    tokens: bool
    target: float      # bptt time / torch time, single-threaded, at most
    bidirectional: bool = False   # both directions of the layer, V (O, 2H); torch's bidirectional=True


CONFIGS = {c.name: c for c in (
    Config("rnn-T25-B1-V65-H100", "rnn", 25, 1, 65, 100, 65, True, 0.25),    # min-char-rnn's
    Config("rnn-T50-B32-V65-H256", "rnn", 50, 32, 65, 256, 65, True, 0.85),
    Config("rnn-T100-B64-D128-H512", "rnn", 100, 64, 128, 512, 128, False, 0.95),
    Config("rnn-T200-B16-D64-H128", "rnn", 200, 16, 64, 128, 65, False, 0.70),
    Config("lstm-T50-B32-V65-H256", "lstm", 50, 32, 65, 256, 65, True, 1.00),
    Config("gru-T50-B32-V65-H256", "gru", 50, 32, 65, 256, 65, True, 1.00),
    Config("rnn-bi-T50-B32-V65-H256", "rnn", 50, 32, 65, 256, 65, True, 1.00, True),
    Config("lstm-bi-T50-B32-V65-H256", "lstm", 50, 32, 65, 256, 65, True, 1.00, True),
    Config("gru-bi-T50-B32-V65-H256", "gru", 50, 32, 65, 256, 65, True, 1.00, True),
)}
GATES = {"rnn": 1, "gru": 3, "lstm": 4}     # weight blocks per layer: GEMM flops scale with it
PEAK_SHAPE = (512, 512, 2048)
MINCHAR_TARGET = 2.5


def lstm_class():
    """bptt's LSTM class (a function, so that a test can pretend it is missing)."""
    from ..cells.lstm.model import LSTM
    return LSTM


def gemm_flops(c: Config) -> float:
    """The model's GEMM flops, the same count for both sides (see the module docstring). A
    bidirectional model runs the recurrence (and the input projections) once in each direction,
    M = 2 of them, and its output layer reads 2H features."""
    N, G, M = c.T * c.B, GATES[c.kind], 2 if c.bidirectional else 1
    f = 2 * N * M * (3 * G * c.H * c.H + 3 * c.H * c.O)
    return f + (0 if c.tokens else 2 * N * M * 2 * G * c.H * c.D)


def executed_flops(c: Config, side: str) -> float:
    """The GEMM flops each side actually runs: bptt also computes ∂J/∂x for float inputs; torch
    multiplies its one-hot inputs (U x and ∂J/∂U as GEMMs) for token inputs."""
    N, G = c.T * c.B, GATES[c.kind]
    extra = 2 * N * G * c.H * c.D * (2 if c.bidirectional else 1)
    if side == "bptt":
        return gemm_flops(c)
    return gemm_flops(c) + (2 * extra if c.tokens else 0)


# -- the work of each side ---------------------------------------------------------------------
def _problem(c: Config, seed=0):
    rng = np.random.default_rng(seed)
    x = (rng.integers(0, c.D, size=(c.T, c.B)) if c.tokens
         else rng.standard_normal((c.T, c.B, c.D)).astype(np.float32))
    y = rng.integers(0, c.O, size=(c.T, c.B))
    return x, y


def make_model(c: Config, seed=0):
    from ..cells.registry import model_class
    if c.kind == "lstm":
        cls = lstm_class()
        if cls is None:
            raise RuntimeError("bptt.LSTM is not available")
        return cls(c.D, c.H, c.O, forget_bias=0.0, dtype="float32", seed=seed,
                   bidirectional=c.bidirectional)
    return model_class(c.kind)(c.D, c.H, c.O, dtype="float32", seed=seed,
                               bidirectional=c.bidirectional)


def bptt_backward(c: Config):
    model = make_model(c)
    x, y = _problem(c)
    return lambda: model.loss_and_grads(x, y)


def _torch_modules(c: Config, model=None):
    """bptt's model as torch modules (bptt.to_torch), with bias_hh frozen at 0 for the simple
    RNN and the LSTM: bptt has one bias per gate, so the models and their parameter sets are the
    same (a trainable bias_hh would get a duplicate gradient and a duplicate optimizer update).
    The GRU's bias_hh holds b_hn (inside the reset gate's product) and stays trainable."""
    from ..io.interop import to_torch
    rnn, linear = to_torch(model if model is not None else make_model(c))
    if c.kind != "gru":
        rnn.bias_hh_l0.requires_grad_(False)
        if c.bidirectional:
            rnn.bias_hh_l0_reverse.requires_grad_(False)
    params = [p for p in list(rnn.parameters()) + list(linear.parameters()) if p.requires_grad]
    return rnn, linear, params


def torch_backward(c: Config, model=None):
    import torch
    import torch.nn.functional as F
    rnn, linear, params = _torch_modules(c, model)
    x, y = _problem(c)
    xt = torch.from_numpy(x)
    xt = F.one_hot(xt, c.D).float() if c.tokens else xt           # built once, outside the timing
    yt = torch.from_numpy(y).reshape(-1)

    def run():
        for p in params:
            p.grad = None
        o = linear(rnn(xt)[0])
        loss = F.cross_entropy(o.reshape(-1, c.O), yt, reduction="sum") / c.B
        loss.backward()
        return loss
    return run


def bptt_train_step(c: Config):
    from ..training.clipping import clip_by_norm
    from ..training.optim import Adam
    model = make_model(c)
    x, y = _problem(c)
    x, y, h0, mask = model._inputs(x, y, None, None)
    opt = Adam(lr=2e-3)

    def run():
        res = model._backward(x, y, h0, mask, need_dx=False)
        clip_by_norm(res.grads, 5.0)
        opt.step(model.params, res.grads)
    return run


def torch_train_step(c: Config):
    import torch
    import torch.nn.functional as F
    rnn, linear, params = _torch_modules(c)
    x, y = _problem(c)
    xt = torch.from_numpy(x)
    xt = F.one_hot(xt, c.D).float() if c.tokens else xt
    yt = torch.from_numpy(y).reshape(-1)
    opt = torch.optim.Adam(params, lr=2e-3)

    def run():
        opt.zero_grad(set_to_none=True)
        o = linear(rnn(xt)[0])
        loss = F.cross_entropy(o.reshape(-1, c.O), yt, reduction="sum") / c.B
        loss.backward()
        torch.nn.utils.clip_grad_norm_(params, 5.0)
        opt.step()
    return run
