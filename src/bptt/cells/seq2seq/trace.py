"""The trace of one Seq2Seq pass: every error, the attention weights, and the errors that reach
each encoder step from each decoder loss term, split into the two paths they travel.

Dimension letters: T' = T − 1 loss terms (decoder steps), S source steps, B batch, K state size,
V the target vocabulary, L layers.

A decoder loss term L(t) reaches the encoder's state e(j) along two paths:
  - through the attention: ∂L(t)/∂ctx(t') for t' <= t enters every e(j) at once (the value and
    key paths of attention.py), then runs back through the encoder's recurrence from there;
  - through the final state: down the decoder to s(−1) = the encoder's final state (and, without
    attention, through C = e_final read at every step), then back through every encoder step.
By linearity the two add up to ∂L(t)/∂e(j). Without attention the first path is zero, and the
error of a loss term has to cross all of the encoder's steps after j to reach e(j): the path
that attention shortens to one step.

Computed by running the pass on the batch repeated T' times, copy r weighting only loss term r
(so each row is exactly the trace of that one loss term), then the encoder's BPTT once per path.
"""
from __future__ import annotations

import numpy as np

from ..._validate import check_int
from ...nn.losses import loss_and_error
from ..tracing import check_size
from . import decoder, encoder
from .inputs import Checked


class Seq2SeqTrace:
    """Every error of one Seq2Seq pass (`Seq2Seq.trace`), and the errors of each loss term
    reaching each encoder step along the two paths; T' = T − 1 loss terms. Attributes:

        loss, grads            J and ∂J/∂θ (keyed like params), as model.loss_and_grads
        o, alpha               logits (T', B, V); attention weights (T', S, B) or None
        errors                 {"o": (T', B, V), "s": (T', L, B, K) the decoder's total state
                               errors, "ctx": (T', B, K), "score": (T', S, B) or None}
        encoder_errors         (S, B, K) ∂J/∂e(j), total
        by_term_attention      (T', S, B, K): [t, j] = ∂L(t)/∂e(j) along the attention path
        by_term_final          (T', S, B, K): [t, j] = ∂L(t)/∂e(j) along the final-state path
        src, tgt, src_real     the inputs (ids and the real source steps)

    The two paths add up to the total: by_term() (T', S, B, K) sums over the loss terms to
    encoder_errors (S, B, K).

    Examples:
        >>> from bptt import Seq2Seq
        >>> model = Seq2Seq(5, 6, 4, attention="dot", seed=0)
        >>> src = np.array([[3, 4], [4, 3], [3, 3]])              # (S, B)
        >>> tgt = np.array([[1, 1], [4, 5], [2, 2]])              # (T, B)
        >>> tr = model.trace(src, tgt)
        >>> tr
        Seq2SeqTrace(loss=4.0639, loss terms T'=2, source steps S=3, batch B=2, K=4, attention=yes)
        >>> bool(np.allclose(tr.by_term().sum(axis=0), tr.encoder_errors))
        True
        >>> reach = tr.reach(1)                                   # loss term 1, sequence 0
        >>> {k: r.shape for k, r in reach.items()}
        {'attention': (3,), 'final': (3,), 'total': (3,)}
        >>> bool(np.allclose(reach["total"], np.linalg.norm(tr.by_term()[1, :, 0], axis=-1)))
        True
    """

    def __init__(self, **fields):
        self.__dict__.update(fields)

    def by_term(self) -> np.ndarray:
        """(T', S, B, K) ∂L(t)/∂e(j) along both paths."""
        return self.by_term_attention + self.by_term_final

    def reach(self, t: int, b: int = 0) -> dict:
        """‖∂L(t)/∂e(j)‖ over j for sequence b: {"attention": (S,), "final": (S,), "total": (S,)}
        (the norms of by_term_attention, by_term_final and by_term() at [t, :, b])."""
        T1, S, B, _ = self.by_term_final.shape
        t = check_int(t, "t", "Seq2SeqTrace.reach", minimum=0)
        b = check_int(b, "b", "Seq2SeqTrace.reach", minimum=0)
        if t >= T1 or b >= B:
            raise ValueError(f"Seq2SeqTrace.reach takes a loss term t < {T1} and a sequence "
                             f"b < {B}. Got t={t}, b={b}.")
        norm = lambda a: np.linalg.norm(a[t, :, b], axis=-1)        # noqa: E731
        return {"attention": norm(self.by_term_attention), "final": norm(self.by_term_final),
                "total": norm(self.by_term())}

    def __repr__(self) -> str:
        T1, S, B, K = self.by_term_final.shape
        return (f"Seq2SeqTrace(loss={self.loss:.6g}, loss terms T'={T1}, source steps S={S}, "
                f"batch B={B}, K={K}, attention={'yes' if self.alpha is not None else 'no'})")


def trace(model, c: Checked, max_bytes: int) -> Seq2SeqTrace:
    S, B = c.src.shape
    T1 = c.tgt.shape[0] - 1
    K = model.K
    check_size("Seq2Seq.trace's errors by loss term", (2, T1, S, B, K), max_bytes)
    check_size("Seq2Seq.trace's repeated pass", (T1, max(S, T1), B, K * 4 + model.tgt_vocab_size),
               max_bytes)
    full, db = model._backward(c, record=True)
    errors = dict(db.errors)
    _, _, do = _loss_error(full.forward.o, c)
    errors["o"] = do
    # the batch repeated T' times; copy r keeps only loss term r
    rep = lambda a: np.tile(a, (1, T1))                                 # noqa: E731  (·, T'·B)
    w = np.zeros((T1, T1 * B), c.weight.dtype)
    for r in range(T1):
        w[r, r * B:(r + 1) * B] = c.weight[r]
    cr = Checked(rep(c.src), rep(c.tgt), rep(c.real), w)
    fw = model._forward(cr)
    _, _, do_r = _loss_error(fw.o, cr)
    dbr = decoder.backward(model._step, fw.dec, do_r, model._dec_keys, model._out(),
                           {"V": "dec.V", "c": "dec.c"}, model.attention, model._attn(),
                           {n: "attn." + n for n in model._attn()})
    d_final = [tuple(p) for p in dbr.d_init]
    if dbr.dC is not None:
        d_final[-1] = (d_final[-1][0] + dbr.dC,) + d_final[-1][1:]
    H = model.hidden_size
    per_term = lambda e: e.reshape(S, T1, B, K).transpose(1, 0, 2, 3)  # noqa: E731
    zeros = np.zeros((T1, S, B, K), model.dtype)
    if dbr.dE is not None:
        _, e_att = encoder.backward(model._step, fw.enc, dbr.dE, None, model._enc_keys, H, record=True)
        by_att = per_term(e_att)
    else:
        by_att = zeros
    _, e_fin = encoder.backward(model._step, fw.enc, None, d_final, model._enc_keys, H, record=True)
    return Seq2SeqTrace(loss=full.loss, grads=full.grads, o=full.forward.o, alpha=full.forward.alpha,
                        errors=errors, encoder_errors=full.d_states, by_term_attention=by_att,
                        by_term_final=per_term(e_fin), src=c.src, tgt=c.tgt, src_real=c.real)


def _loss_error(o, c: Checked):
    return loss_and_error("softmax", o, c.tgt[1:], c.weight)
