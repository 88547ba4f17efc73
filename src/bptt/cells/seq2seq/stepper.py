"""Decoding a Seq2Seq one token at a time: the stepper protocol of `bptt.decode` (start, step,
select) over one encoded source, for greedy search, sampling and beam search.

The state of n rows is (the decoder's state per layer, the attention's keys, C): the encoder runs
once; `select` picks rows of all three (repeats allowed), which is how a beam follows its
hypotheses. Logits are o = c + V s_L(t), as in training; the first step feeds the begin id.
"""
from __future__ import annotations

import numpy as np

from ... import _validate as v
from . import attention as att
from . import decoder


class Seq2SeqStepper:
    """A Seq2Seq decoded one token at a time for one source `src_ids` (S,): the stepper protocol
    of `bptt.decode` (start, step, select), so greedy, sample and beam_search translate with it.
    Logits are (N, V_tgt); the state holds the decoder's state (N, K) per layer, the attention's
    keys and C.

    Examples:
        >>> from bptt import Seq2Seq
        >>> from bptt.cells.seq2seq import Seq2SeqStepper
        >>> from bptt.decode import greedy
        >>> model = Seq2Seq(5, 6, 4, attention="dot", seed=0)
        >>> stepper = Seq2SeqStepper(model, [3, 4, 3])
        >>> logits, state = stepper.start(2)              # after feeding the begin id: (2, V_tgt)
        >>> logits, state = stepper.step(state, np.array([4, 5]))
        >>> logits.shape, len(stepper.select(state, [1, 1, 0])[0][0][0])
        ((2, 6), 3)
        >>> stepper.attention_weights([4, 2]).shape       # (len(tokens), S)
        (2, 3)
        >>> len(greedy(stepper, max_len=4, eos=2).tokens) <= 4
        True
    """

    def __init__(self, model, src_ids):
        o = "Seq2SeqStepper"
        ids = v.as_array(src_ids, "src_ids", o)
        if ids.ndim != 1 or ids.size == 0:
            raise ValueError(f"The 'src_ids' argument of {o} must be a non-empty 1-D array of "
                             f"source ids (an empty source has nothing to encode). Got shape "
                             f"{ids.shape}.")
        ids = v.check_token_ids(ids, "src_ids", o, ids.shape, model.src_vocab_size)
        if model.bos_id is None:
            raise ValueError("Decoding needs the model's begin id; this Seq2Seq has bos_id=None.")
        self.model = model
        self.vocab_size = model.tgt_vocab_size
        run, self._kv, self._C = model.encode(ids[:, None], np.ones((ids.size, 1), bool))
        self._init = [tuple(run.finals[l]) for l in range(model.num_layers)]

    def _rows(self, state, rows):
        dec, kv, C = state
        dec = [tuple(p[rows] for p in s) for s in dec]
        if kv is not None:
            kv = att.Keys(kv.E[:, rows], kv.k[:, rows], kv.real[:, rows])
        return dec, kv, None if C is None else C[rows]

    def start(self, n: int):
        """Logits (n, V_tgt) of the first target token (the begin id fed) and the state in n
        identical rows."""
        n = v.check_int(n, "n", "Seq2SeqStepper.start")
        state = self._rows((self._init, self._kv, self._C), np.zeros(n, np.intp))
        return self.step(state, np.full(n, self.model.bos_id))

    def step(self, state, tokens):
        """Feed tokens (N,), one per row: the next logits (N, V_tgt) and the new state."""
        m = self.model
        dec, kv, C = state
        new, _, _, _, _ = decoder.step(m._step, m._dec, m._dec_layer, m.attention, m._attn(), kv,
                                       C, dec, np.asarray(tokens, np.intp), m.tgt_vocab_size)
        logits = new[-1][0] @ m.params["dec.V"].T + m.params["dec.c"]
        return logits.astype(np.float64), (new, kv, C)

    def select(self, state, rows):
        """The state of rows (M,) of `state` (repeats allowed), for beams."""
        return self._rows(state, np.asarray(rows, np.intp))

    def attention_weights(self, tokens):
        """The attention weights (N, S) of decoding N `tokens` (which follow the begin id) one at
        a time from the start: the heatmap of a translation."""
        m = self.model
        if m.attention is None:
            raise ValueError("This Seq2Seq has no attention (attention=None): no weights to show.")
        state = self._rows((self._init, self._kv, self._C), np.zeros(1, np.intp))
        rows, prev = [], m.bos_id
        for tok in [prev] + list(tokens)[:-1]:
            dec, kv, C = state
            new, _, _, alpha, _ = decoder.step(m._step, m._dec, m._dec_layer, m.attention, m._attn(),
                                               kv, C, dec, np.array([tok], np.intp), m.tgt_vocab_size)
            rows.append(alpha[:, 0])
            state = (new, kv, C)
        return np.array(rows)
