"""Seq2Seq assembled from torch modules, for the tests: the encoder is torch.nn.RNN/LSTM/GRU run on
a packed sequence (pack_padded_sequence), the decoder the same module kind run one step at a
time, the attention written in torch. The torch weights are built from leaf tensors holding
bptt's parameters (the name mapping of bptt.to_torch written again here), so autograd gives the
gradient of every bptt parameter directly."""
from __future__ import annotations

import numpy as np
import torch
from torch.func import functional_call
from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence

from bptt.io.interop import GREFF_IN_TORCH_ORDER, GRU_IN_TORCH_ORDER

MODULES = {"rnn": torch.nn.RNN, "lstm": torch.nn.LSTM, "gru": torch.nn.GRU}


def _weights(P, prefix, kind, L, dirs):
    """{torch parameter name: tensor} built from the leaves P[prefix + bptt name]."""
    out = {}
    for l in range(L):
        for d in range(dirs):
            rev = "@rev" if d else ""
            lay = f".{l}" if l else ""
            g = lambda n: P[f"{prefix}{n}{rev}{lay}"]          # noqa: E731
            if kind == "rnn":
                w_ih, w_hh, b = g("U"), g("W"), g("b")
                b_hh = torch.zeros_like(b)
            elif kind == "lstm":
                w_ih = torch.cat([g(f"W_{x}") for x in GREFF_IN_TORCH_ORDER])
                w_hh = torch.cat([g(f"R_{x}") for x in GREFF_IN_TORCH_ORDER])
                b = torch.cat([g(f"b_{x}") for x in GREFF_IN_TORCH_ORDER])
                b_hh = torch.zeros_like(b)
            else:
                w_ih = torch.cat([g(f"U_{x}") for x in GRU_IN_TORCH_ORDER])
                w_hh = torch.cat([g(f"W_{x}") for x in GRU_IN_TORCH_ORDER])
                b = torch.cat([g(f"b_{x}") for x in GRU_IN_TORCH_ORDER])
                H = g("b_hn").shape[0]
                b_hh = torch.cat([torch.zeros(2 * H, dtype=b.dtype), g("b_hn")])
            sfx = f"l{l}" + ("_reverse" if d else "")
            out.update({f"weight_ih_{sfx}": w_ih, f"weight_hh_{sfx}": w_hh,
                        f"bias_ih_{sfx}": b, f"bias_hh_{sfx}": b_hh})
    return out


def torch_loss(model, src, tgt, src_mask, tgt_mask):
    """(J, {key: ∂J/∂θ}, ∂J/∂E (S, B, K) through the attention, final-state errors) by autograd."""
    P = {k: torch.tensor(a, dtype=torch.float64, requires_grad=True) for k, a in model.params.items()}
    kind, L, H, K = model.cell, model.num_layers, model.hidden_size, model.K
    dirs = 2 if model.bidirectional_encoder else 1
    Vs, Vt = model.src_vocab_size, model.tgt_vocab_size
    S, B = src.shape
    enc = MODULES[kind](Vs, H, num_layers=L, bidirectional=dirs == 2, dtype=torch.float64)
    dec = MODULES[kind](Vt + K, K, num_layers=L, dtype=torch.float64)
    x = torch.nn.functional.one_hot(torch.as_tensor(src), Vs).to(torch.float64)
    lengths = torch.as_tensor(src_mask.sum(axis=0).astype(np.int64))
    packed = pack_padded_sequence(x, lengths, enforce_sorted=False)
    out, hn = functional_call(enc, _weights(P, "enc.", kind, L, dirs), (packed,))
    E, _ = pad_packed_sequence(out, total_length=S)                      # (S, B, K)
    E.retain_grad()
    parts = hn if kind == "lstm" else (hn,)
    finals = [p.view(L, dirs, B, H).permute(0, 2, 1, 3).reshape(L, B, K) for p in parts]
    for f in finals:
        f.retain_grad()
    state = tuple(finals) if kind == "lstm" else finals[0]
    real = torch.as_tensor(src_mask > 0)
    att = model.attention
    dec_w = _weights(P, "dec.", kind, L, 1)
    J = torch.zeros((), dtype=torch.float64)
    for t in range(tgt.shape[0] - 1):
        q = (state[0] if kind == "lstm" else state)[-1]                   # s_L(t−1)  (B, K)
        if att is None:
            ctx = finals[0][-1]
        else:
            if att == "dot":
                e = torch.einsum("sbk,bk->sb", E, q)
            elif att == "general":
                e = torch.einsum("sbk,bk->sb", E @ P["attn.W_a"].T, q)
            else:
                e = torch.tanh(E @ P["attn.W_k"].T + q @ P["attn.W_q"].T) @ P["attn.v"]
            alpha = torch.softmax(e.masked_fill(~real, float("-inf")), dim=0)
            ctx = torch.einsum("sb,sbk->bk", alpha, E)
        y_in = torch.nn.functional.one_hot(torch.as_tensor(tgt[t]), Vt).to(torch.float64)
        o_t, state = functional_call(dec, dec_w, (torch.cat([y_in, ctx], 1)[None], state))
        logits = o_t[0] @ P["dec.V"].T + P["dec.c"]
        ce = torch.nn.functional.cross_entropy(logits, torch.as_tensor(tgt[t + 1]), reduction="none")
        J = J + (torch.as_tensor(tgt_mask[t]) * ce).sum() / B
    J.backward()
    grads = {k: p.grad.numpy() if p.grad is not None else np.zeros(p.shape) for k, p in P.items()}
    d_final = [f.grad.numpy() if f.grad is not None else np.zeros(f.shape) for f in finals]
    dE = E.grad.numpy() if E.grad is not None else np.zeros(E.shape)
    return float(J.detach()), grads, dE, d_final
