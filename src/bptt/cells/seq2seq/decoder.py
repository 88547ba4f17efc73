"""The decoder of `bptt.Seq2Seq` with teacher forcing: stacked layers of one cell, run one step at
a time, each step reading the previous target token and a context.

Dimension letters: T' = T − 1 decoder steps, B batch, V the target vocabulary, K the decoder's
state size (= the encoder's K), L layers.

Step t (t = 0..T'−1) reads the token y_in(t) = tgt(t) and predicts tgt(t+1):

    ctx(t) = attention(s_L(t−1), e(·))       with attention (attention.py)
    ctx(t) = C = e_final                      without: the encoder's final top-layer state
    x(t) = [onehot(y_in(t)); ctx(t)]          (B, V + K): layer 0's input
    s_l(t) = cell(x_l(t), s_l(t−1))            x_0(t) = x(t), x_l(t) = s_{l−1}(t)
    o(t) = c + V s_L(t)                        (B, V) logits; s_l(−1) = the encoder's final state

Backward, t = T'−1..0: the top layer's state error is Vᵀ ∂J/∂o(t) plus ∂J/∂s_L(t) from step t+1's
query and recurrence; layer 0's ∂J/∂x(t) splits into the (unused) one-hot part and ∂J/∂ctx(t),
which goes back through the attention (to s_L(t−1) and to every e(j)), or, without attention,
into ∂J/∂C. What reaches s_l(−1) is the error of the encoder's final state.
"""
from __future__ import annotations

from typing import NamedTuple, Optional

import numpy as np

from . import attention as att
from .steps import add_grads


class DecoderRun(NamedTuple):
    o: np.ndarray                  # (T', B, V) logits
    top: np.ndarray                # (T', B, K) s_L(t)
    ctx: np.ndarray                # (T', B, K)
    alpha: Optional[np.ndarray]    # (T', S, B) attention weights, None without attention
    caches: list                   # caches[t][l]
    acaches: list                  # attention caches per step (empty without attention)
    kv: Optional[att.Keys]


def one_hot_inputs(ids, ctx, V: int):
    """x(t) = [onehot(ids); ctx] (B, V + K)."""
    x = np.zeros((ids.shape[0], V + ctx.shape[1]), ctx.dtype)
    x[np.arange(ids.shape[0]), ids] = 1
    x[:, V:] = ctx
    return x


def step(stepfn, cell, layer_params, score, attn_p, kv, C, state, ids, V):
    """One decoder step from `state` (per layer, a tuple of parts) and token ids (B,): returns
    (new state, caches per layer, ctx, alpha, attention cache)."""
    q = state[-1][0]                                                # s_L(t−1)
    if score is None:
        ctx, alpha, acache = C, None, None
    else:
        ctx, alpha, acache = att.attend(score, q, kv, attn_p)
    x = one_hot_inputs(ids, ctx, V)
    new, caches = [], []
    for l, s in enumerate(state):
        s, cache = stepfn.forward(cell, x, s, layer_params(l))      # s_l(t)
        new.append(s)
        caches.append(cache)
        x = s[0]
    return new, caches, ctx, alpha, acache


def forward(stepfn, cell, layer_params, out_p, score, attn_p, kv, C, init, tgt_in) -> DecoderRun:
    T1 = tgt_in.shape[0]
    V = out_p["V"].shape[0]
    state = list(init)
    tops, ctxs, alphas, caches, acaches = [], [], [], [], []
    for t in range(T1):
        state, cs, ctx, alpha, ac = step(stepfn, cell, layer_params, score, attn_p, kv, C, state,
                                         tgt_in[t], V)
        tops.append(state[-1][0])
        ctxs.append(ctx)
        caches.append(cs)
        if score is not None:
            alphas.append(alpha)
            acaches.append(ac)
    top = np.stack(tops)
    o = top @ out_p["V"].T + out_p["c"]                             # o(t) = c + V s_L(t)
    alpha = np.stack(alphas) if alphas else None
    return DecoderRun(o, top, np.stack(ctxs), alpha, caches, acaches, kv)


class DecoderBackward(NamedTuple):
    grads: dict                    # decoder, output layer and attention parameters
    d_init: list                   # per layer: the error of s_l(−1), a tuple of (B, K) parts
    dE: Optional[np.ndarray]       # (S, B, K) ∂J/∂e(j) through the attention (None without)
    dC: Optional[np.ndarray]       # (B, K) ∂J/∂C without attention, else None
    errors: Optional[dict]         # when recorded: "s" (T', L, B, K), "ctx" (T', B, K), "score" (T', S, B)


def backward(stepfn, run: DecoderRun, do, layer_keys, out_p, out_keys, score, attn_p, attn_keys,
             *, record=False) -> DecoderBackward:
    """BPTT through the decoder from do = ∂J/∂o (T', B, V). layer_keys(l): {plain name: key};
    out_keys / attn_keys: {"V": key, ...} / {name: key}."""
    T1, B, K = run.top.shape
    L = len(run.caches[0])
    V = out_p["V"].shape[0]
    grads = {out_keys["V"]: np.einsum("tbv,tbk->vk", do, run.top),  # Σ_t ∂J/∂o(t) s_L(t)ᵀ
             out_keys["c"]: do.sum(axis=(0, 1))}
    d_out = do @ out_p["V"]                                         # Vᵀ ∂J/∂o(t)      (T', B, K)
    dstate = [tuple(np.zeros((B, K), run.top.dtype) for _ in range(stepfn.parts)) for _ in range(L)]
    dq = np.zeros((B, K), run.top.dtype)                            # ∂J/∂s_L(t) from step t+1's query
    acc = att.zero_grads(score, run.kv, attn_p) if score is not None else None
    dC = None if score is not None else np.zeros((B, K), run.top.dtype)
    errors = ({"s": np.zeros((T1, L, B, K), run.top.dtype), "ctx": np.zeros_like(run.ctx),
               "score": None if score is None else np.zeros_like(run.alpha)} if record else None)
    for t in reversed(range(T1)):
        d_above = d_out[t] + dq
        for l in reversed(range(L)):
            d = (dstate[l][0] + d_above,) + dstate[l][1:]          # total ∂J/∂s_l(t)
            if record:
                errors["s"][t, l] = d[0]
            dx, dstate[l], g = stepfn.backward(d, run.caches[t][l])
            add_grads(grads, g, layer_keys(l))
            d_above = dx                                            # to s_{l−1}(t), or x(t)
        dctx = d_above[:, V:]                                       # ∂J/∂ctx(t)       (B, K)
        if record:
            errors["ctx"][t] = dctx
        if score is None:
            dC += dctx
            continue
        dq, de = att.attend_backward(score, dctx, run.kv, run.acaches[t], attn_p, acc)
        if record:
            errors["score"][t] = de
    top = dstate[-1]
    dstate[-1] = (top[0] + (dq if score is not None else 0),) + top[1:]   # s_L(−1) was step 0's query
    dE = None
    if score is not None:
        dE, ag = att.finish(score, acc, run.kv, attn_p)
        grads.update({attn_keys[n]: g for n, g in ag.items()})
    return DecoderBackward(grads, dstate, dE, dC, errors)
