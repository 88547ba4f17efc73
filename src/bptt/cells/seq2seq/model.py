"""`bptt.Seq2Seq`: an encoder–decoder over token ids (Goodfellow et al. §10.4, fig. 10.12), with
no attention (the context is the encoder's final state) or Luong's dot / general or Bahdanau's
additive attention; trained with teacher forcing; exact BPTT from every decoder loss term back
through the attention and the final state into every encoder step.

Parameters (`params`, keys):
    "enc." + the encoder cell's names, as the same cell with bidirectional=bidirectional_encoder
            names them ("enc.U_r", "enc.U_r@rev", "enc.W_r.1", ...); input: the source ids
    "dec." + the decoder cell's names ("dec.U_r" (K, V_tgt + K), ...), and its output layer
            "dec.V" (V_tgt, K), "dec.c" (V_tgt,); K = hidden_size × (2 if bidirectional_encoder)
    "attn.W_a" (K, K) for "general"; "attn.W_q", "attn.W_k" (A, K), "attn.v" (A,) for
            "additive" (A = attention_size, default K)
The equations are in encoder.py, attention.py and decoder.py; the loss is
J = Σ_t Σ_b tgt_mask(t, b) L(t, b) / B with L the cross-entropy of tgt(t+1) under softmax(o(t)).
"""
from __future__ import annotations

from typing import NamedTuple, Optional

import numpy as np

from ... import _validate as v
from ...nn.init import uniform_fan_in
from ...nn.losses import loss_and_error, per_step_total
from ..bidirectional import direction_key, plain_names
from ..layers import layer_key
from ..registry import MODEL_KINDS
from . import attention as att
from . import decoder, encoder
from .inputs import check
from .steps import STEPS

CELLS = ("rnn", "lstm", "gru")
ATTENTIONS = (None, "dot", "general", "additive")


class Seq2SeqForward(NamedTuple):
    """What Seq2Seq.forward returns: `o` (T−1, B, V_tgt) the logits of every target step under
    teacher forcing; `alpha` (T−1, S, B) the attention weights (None without attention); `E`
    (S, B, K) the encoder's states e(j); `enc` and `dec`, the runs of the two halves.

    Examples:
        >>> from bptt import Seq2Seq
        >>> model = Seq2Seq(5, 6, 4, attention="dot", seed=0)
        >>> src = np.array([[3, 4], [4, 3], [3, 3]])              # (S, B) source ids
        >>> tgt = np.array([[1, 1], [4, 5], [2, 2]])              # (T, B): BOS, ..., EOS
        >>> fw = model.forward(src, tgt)
        >>> fw.o.shape, fw.alpha.shape, fw.E.shape
        ((2, 2, 6), (2, 3, 2), (3, 2, 4))
        >>> fw.alpha.sum(axis=1)                                  # a softmax over the source
        array([[1., 1.],
               [1., 1.]])
    """
    o: np.ndarray                  # (T−1, B, V_tgt) logits
    alpha: Optional[np.ndarray]    # (T−1, S, B) attention weights, None without attention
    E: np.ndarray                  # (S, B, K) the encoder's states e(j)
    enc: object                    # encoder.EncoderRun
    dec: object                    # decoder.DecoderRun


class Seq2SeqBackward(NamedTuple):
    """What Seq2Seq.backward returns: `loss` J, `grads` keyed and shaped like params,
    `d_states` (S, B, K) the total ∂J/∂e(j) of each encoder state, `d_attention` (S, B, K)
    the part of it entering through the attention (None without), `d_final` per layer the
    error of the encoder's final state (a tuple of (B, K) parts), and `forward`.

    Examples:
        >>> from bptt import Seq2Seq
        >>> model = Seq2Seq(5, 6, 4, attention="dot", seed=0)
        >>> src = np.array([[3, 4], [4, 3], [3, 3]])              # (S, B) source ids
        >>> tgt = np.array([[1, 1], [4, 5], [2, 2]])              # (T, B): BOS, ..., EOS
        >>> res = model.backward(src, tgt)
        >>> res.d_states.shape, res.grads["enc.W_r"].shape, res.d_final[0][0].shape
        ((3, 2, 4), (4, 4), (2, 4))
    """
    loss: float
    grads: dict                    # keyed like params
    d_states: np.ndarray           # (S, B, K) ∂J/∂e(j): the total error of each encoder state
    d_attention: Optional[np.ndarray]  # (S, B, K) the part of ∂J/∂e(j) entering through the attention
    d_final: list                  # per layer: ∂J/∂(final state), a tuple of (B, K) parts
    forward: Seq2SeqForward


class Seq2Seq:
    """An encoder–decoder over token ids (Goodfellow et al. §10.4) with optional attention,
    trained with teacher forcing, with exact BPTT through the attention and the final state.

    src (S, B) source ids below src_vocab_size; tgt (T, B) target ids below tgt_vocab_size,
    each column the begin id, the target, the end id (then padding); src_mask (S, B) and
    tgt_mask (T−1, B) of ones and zeros. The decoder reads tgt(t) and predicts tgt(t+1): logits
    (T−1, B, V_tgt). Parameters "enc.*" (the encoder cell's, input the source one-hots),
    "dec.*" (the decoder cell's, input [one-hot; context] of size V_tgt + K, output layer
    "dec.V" (V_tgt, K), "dec.c" (V_tgt,)) and "attn.*"; K = hidden_size, 2 × that with
    bidirectional_encoder.

    Examples:
        >>> from bptt import Seq2Seq
        >>> model = Seq2Seq(5, 6, 4, attention="dot", seed=0)
        >>> src = np.array([[3, 4], [4, 3], [3, 3]])              # (S, B) source ids
        >>> tgt = np.array([[1, 1], [4, 5], [2, 2]])              # (T, B): BOS, ..., EOS
        >>> model.forward(src, tgt).o.shape                     # (T−1, B, V_tgt)
        (2, 2, 6)
        >>> model.backward(src, tgt).d_states.shape             # (S, B, K)
        (3, 2, 4)
        >>> model.trace(src, tgt).by_term().shape               # (T−1, S, B, K)
        (2, 3, 2, 4)
        >>> J, grads = model.loss_and_grads(src, tgt)
        >>> bool(np.isclose(J, model.loss(src, tgt))), grads["dec.V"].shape
        (True, (6, 4))
        >>> from bptt import gradcheck
        >>> gradcheck(model, src, tgt).max_error < 1e-5
        True
        >>> model.encoder_model(), model.decoder_model()     # the halves, on the same arrays
        (GRU(5, 4, 1, ...), GRU(10, 4, 6, ...))
        >>> model.decoder_model().params["W_r"] is model.params["dec.W_r"]
        True
        >>> run, keys, C = model.encode(src, src > 0)          # every source step real
        >>> run.E.shape
        (3, 2, 4)
        >>> Seq2Seq(**model.config()).params.keys() == model.params.keys()
        True
    """

    owner = "Seq2Seq"
    kind = "seq2seq"

    def __init__(self, src_vocab_size, tgt_vocab_size, hidden_size, *, cell="gru", attention=None,
                 bidirectional_encoder=False, num_layers=1, attention_size=None, bos_id=1,
                 eos_id=2, dtype="float64", seed=0):
        o = self.owner
        self.src_vocab_size = v.check_int(src_vocab_size, "src_vocab_size", o)
        self.tgt_vocab_size = v.check_int(tgt_vocab_size, "tgt_vocab_size", o)
        self.hidden_size = v.check_int(hidden_size, "hidden_size", o)
        self.cell = v.check_choice(cell, "cell", o, CELLS)
        if attention not in ATTENTIONS:
            raise ValueError(f"The 'attention' parameter of {o} must be one of None, 'dot', "
                             f"'general', 'additive'. Got {attention!r}.")
        self.attention = attention
        self.bidirectional_encoder = v.check_bool(bidirectional_encoder, "bidirectional_encoder", o)
        self.num_layers = v.check_int(num_layers, "num_layers", o)
        self.dtype = v.check_dtype(dtype, o)
        self.bos_id = None if bos_id is None else self._special(bos_id, "bos_id")
        self.eos_id = None if eos_id is None else self._special(eos_id, "eos_id")
        K = self.hidden_size * (2 if self.bidirectional_encoder else 1)
        if attention_size is not None and attention != "additive":
            raise ValueError(f"The 'attention_size' parameter of {o} applies to attention="
                             f"'additive' only. Got attention={attention!r}.")
        self.attention_size = (None if attention != "additive" else
                               v.check_int(K if attention_size is None else attention_size,
                                           "attention_size", o))
        rng = v.check_rng(seed, o)
        seeds = [int(s) for s in rng.integers(0, 2**31 - 1, size=2)]
        cls = MODEL_KINDS[self.cell]
        L, H = self.num_layers, self.hidden_size
        self._enc = cls(self.src_vocab_size, H, 1, num_layers=L, bidirectional=self.bidirectional_encoder,
                        dtype=self.dtype.name, seed=seeds[0])
        self._dec = cls(self.tgt_vocab_size + K, K, self.tgt_vocab_size, num_layers=L,
                        dtype=self.dtype.name, seed=seeds[1])
        params = {"enc." + k: a for k, a in self._enc.params.items() if k not in ("V", "c")}
        params.update({"dec." + k: a for k, a in self._dec.params.items()})
        for n, shape in att.param_shapes(attention, K, self.attention_size).items() if attention else ():
            params["attn." + n] = uniform_fan_in(rng, shape, K, self.dtype)     # ±1/√K, as nn.Linear
        self.params = params
        self._names = plain_names(self._enc.params)
        self._step = STEPS[self.cell]
        self.K = K

    def _special(self, value, name):
        value = v.check_int(value, name, self.owner, minimum=0)
        if value >= self.tgt_vocab_size:
            raise ValueError(f"The '{name}' parameter of {self.owner} must be a target id below "
                             f"tgt_vocab_size={self.tgt_vocab_size}. Got {value}.")
        return value

    def config(self) -> dict:
        """The constructor's arguments (JSON-friendly): Seq2Seq(**model.config()) rebuilds it."""
        return {"src_vocab_size": self.src_vocab_size, "tgt_vocab_size": self.tgt_vocab_size,
                "hidden_size": self.hidden_size, "cell": self.cell, "attention": self.attention,
                "bidirectional_encoder": self.bidirectional_encoder, "num_layers": self.num_layers,
                "attention_size": self.attention_size, "bos_id": self.bos_id,
                "eos_id": self.eos_id, "dtype": self.dtype.name}

    def __repr__(self) -> str:
        return (f"Seq2Seq({self.src_vocab_size}, {self.tgt_vocab_size}, {self.hidden_size}, "
                f"cell={self.cell!r}, attention={self.attention!r}, bidirectional_encoder="
                f"{self.bidirectional_encoder}, num_layers={self.num_layers}, dtype={self.dtype.name!r})")

    # -- the parameters of one layer, under the cells' plain names ----------------------------------
    def _enc_layer(self, l, d):
        return {n: self.params["enc." + direction_key(n, l, d)] for n in self._names}

    def _enc_keys(self, l):
        dirs = 2 if self.bidirectional_encoder else 1
        return [{n: "enc." + direction_key(n, l, d) for n in self._names} for d in range(dirs)]

    def _dec_layer(self, l):
        return {n: self.params["dec." + layer_key(n, l)] for n in self._names}

    def _dec_keys(self, l):
        return {n: "dec." + layer_key(n, l) for n in self._names}

    def _out(self):
        return {"V": self.params["dec.V"], "c": self.params["dec.c"]}

    def _attn(self):
        return {k[5:]: a for k, a in self.params.items() if k.startswith("attn.")}

    # -- forward --------------------------------------------------------------------------------
    def encode(self, src, real):
        """The encoder's run and the decoder's start: (EncoderRun, keys or None, C or None),
        for src (S, B) ids and real (S, B) bools (the real source steps); the run's `.E` is
        (S, B, K); C (B, K), the final state, is the context without attention."""
        dirs = 2 if self.bidirectional_encoder else 1
        run = encoder.forward(self._step, self._enc, self._enc_layer, src, real, self.num_layers,
                              dirs, self.hidden_size, self.dtype)
        if self.attention is None:
            return run, None, run.finals[-1][0]                   # C = e_final (top layer)
        return run, att.keys(self.attention, run.E, real, self._attn()), None

    def _forward(self, c) -> Seq2SeqForward:
        run, kv, C = self.encode(c.src, c.real)
        dec = decoder.forward(self._step, self._dec, self._dec_layer, self._out(), self.attention,
                              self._attn(), kv, C, run.finals, c.tgt[:-1])
        return Seq2SeqForward(dec.o, dec.alpha, run.E, run, dec)

    def forward(self, src, tgt, src_mask=None, tgt_mask=None) -> Seq2SeqForward:
        """Logits of every target step under teacher forcing, and the attention weights: a
        `Seq2SeqForward` with o (T−1, B, V_tgt), alpha (T−1, S, B), E (S, B, K), for src (S, B)
        and tgt (T, B) ids."""
        return self._forward(check(self, src, tgt, src_mask, tgt_mask))

    def loss(self, src, tgt, src_mask=None, tgt_mask=None) -> float:
        """J alone (forward only) for src (S, B) and tgt (T, B) ids: Σ_t Σ_b tgt_mask(t, b)
        L(t, b) / B over the T−1 predicted steps."""
        c = check(self, src, tgt, src_mask, tgt_mask)
        return per_step_total("softmax", self._forward(c).o, c.tgt[1:], c.weight)

    # -- BPTT -----------------------------------------------------------------------------------
    def _backward(self, c, *, record=False):
        fw = self._forward(c)
        J, _, do = loss_and_error("softmax", fw.o, c.tgt[1:], c.weight)
        db = decoder.backward(self._step, fw.dec, do, self._dec_keys, self._out(),
                              {"V": "dec.V", "c": "dec.c"}, self.attention, self._attn(),
                              {n: "attn." + n for n in self._attn()}, record=record)
        d_final = [tuple(p) for p in db.d_init]                   # error of the encoder's finals
        if db.dC is not None:                                     # C = e_final: into the top layer
            top = d_final[-1]
            d_final[-1] = (top[0] + db.dC,) + top[1:]
        enc_grads, d_states = encoder.backward(self._step, fw.enc, db.dE, d_final, self._enc_keys,
                                               self.hidden_size, record=True)
        grads = dict(db.grads)
        grads.update(enc_grads)
        grads = {k: grads[k] if k in grads else np.zeros_like(a) for k, a in self.params.items()}
        return Seq2SeqBackward(J, grads, d_states, db.dE, d_final, fw), db

    def backward(self, src, tgt, src_mask=None, tgt_mask=None) -> Seq2SeqBackward:
        """Forward, the loss, and BPTT: grads keyed like params, and the errors that reach the
        encoder (d_states: the total ∂J/∂e(j); d_attention: what enters through the attention;
        d_final: what enters through each layer's final state). src (S, B), tgt (T, B) ids;
        d_states and d_attention are (S, B, K)."""
        return self._backward(check(self, src, tgt, src_mask, tgt_mask))[0]

    def loss_and_grads(self, src, tgt, src_mask=None, tgt_mask=None):
        """(J, grads) with grads keyed and shaped like params ("dec.V" (V_tgt, K), ...) for src
        (S, B) and tgt (T, B) ids."""
        b = self.backward(src, tgt, src_mask, tgt_mask)
        return b.loss, b.grads

    def trace(self, src, tgt, src_mask=None, tgt_mask=None, *, max_bytes=256 * 2**20):
        """Every error of the pass, and the errors reaching each encoder step from each decoder
        loss term along the two paths (`bptt.cells.seq2seq.trace.Seq2SeqTrace`), for src (S, B)
        and tgt (T, B) ids."""
        from .trace import trace
        return trace(self, check(self, src, tgt, src_mask, tgt_mask), max_bytes)

    # -- the two halves as bptt models (for to_torch, and for reading) ----------------------------
    def encoder_model(self):
        """The encoder as a bptt model of its cell whose params are this model's "enc." arrays
        (the same arrays), with an unused output layer V (1, K), c (1,) of zeros: it reads ids
        (S, B)."""
        m = MODEL_KINDS[self.cell](self.src_vocab_size, self.hidden_size, 1,
                                   num_layers=self.num_layers,
                                   bidirectional=self.bidirectional_encoder, dtype=self.dtype.name)
        m.params = {k: (self.params["enc." + k] if k not in ("V", "c") else np.zeros_like(a))
                    for k, a in m.params.items()}
        return m

    def decoder_model(self):
        """The decoder as a bptt model of its cell (input V_tgt + K, hidden K, output V_tgt) whose
        params are this model's "dec." arrays (the same arrays): U (K, V_tgt + K), V (V_tgt, K)."""
        m = MODEL_KINDS[self.cell](self.tgt_vocab_size + self.K, self.K, self.tgt_vocab_size,
                                   num_layers=self.num_layers, dtype=self.dtype.name)
        m.params = {k: self.params["dec." + k] for k in m.params}
        return m
