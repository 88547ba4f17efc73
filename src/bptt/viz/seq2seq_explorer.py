"""The explorer of one encoder–decoder pair (`bptt.Seq2Seq`, Goodfellow et al. §10.4): a
self-contained HTML page (embedded JSON, inline script, no network) that steps through the
encoder reading the source, each decoder step (its input, the attention over the source, the
context, the predicted distribution, the target and L(t)), then back: for a chosen loss term L(t)
(or J), through the decoder steps t' <= t and the encoder, to the errors ∂L(t)/∂e(j) that reach
each encoder step along the attention path and the final-state path; and the per-parameter
gradient norms of the one update. Drawn by assets/seq2seq_explorer.js.

    model, src_vocab, tgt_vocab = builtin_seq2seq(optimizer=bptt.optim.Adam(lr=0.01))
    explain_seq2seq("s2s.html", model, src_vocab, tgt_vocab, input_text="badge",
                    target_text="egdab")                  # `bptt explain --kind seq2seq`
    b = batch_pairs([(source, target)], src_vocab, tgt_vocab)
    html = seq2seq_explorer_html(model, model.trace(b.src, b.tgt), src_vocab, tgt_vocab)

The page needs the model as well as the trace: the trace keeps neither the encoder's states, nor
the contexts, nor the decoder's errors of each loss term alone. They are computed here from the
model's own forward pass and from its trace of each loss term alone (by linearity those add up to
the trace's errors of J), after checking that the model gives the trace's logits exactly.

The JSON (<script type="application/json" id="bptt-trace">) of the trace of ONE pair, the batch
axis dropped (B = 1); T' loss terms (decoder steps), S source steps, K state size, V target ids,
L layers; arrays nested lists, NaN/±inf as strings:
    config          kind "seq2seq", title, cell, attention (null, "dot", "general", "additive"),
                    bidirectional, num_layers, hidden_size, K, S, T (= T'), src_vocab_size,
                    tgt_vocab_size, src_chars, tgt_chars (the characters of ids 3, 4, ...; ids 0,
                    1, 2 are PAD, BOS, EOS), lr, dtype, trained (how the model was trained, or null)
    src (S,), src_real (S,) 0/1, tgt (T'+1,) ids; mask (T',) 0/1: the loss terms that count
    forward         E (S, K) the encoder's states e(j) = [h(j); g(j)]; s (T', K) the decoder's top
                    state s(t); ctx (T', K); o (T', V) logits; y_hat (T', V) = softmax(o);
                    alpha (T', S) or null
    loss, loss_terms (T',)          J and L(t) (J = Σ_t L(t))
    errors          o (T', V), s (T', L, K), ctx (T', K), score (T', S) or null: of J, as the
                    trace's; encoder (S, K) ∂J/∂e(j)
    term_errors     s (T', T', L, K), ctx (T', T', K), score (T', T', S) or null: [t, t'] is the
                    error at step t' of the loss term L(t) alone (0 for t' > t)
    by_term         attention, final (T', S, K): the trace's [t, j] = ∂L(t)/∂e(j) along each path
    reach           attention, final, total (T', S): trace.reach(t)'s norms of each term
    reach_J         attention, final, total (S,): the norms of the sums over t (total: ‖∂J/∂e(j)‖)
    params          {name: {"shape", "norm", "grad_norm"}} in the model's order (‖θ‖, ‖∂J/∂θ‖)
Displayed numbers carry data-key (a path into the JSON) and data-idx (the indices, comma
separated), shown to 4 significant digits as in `bptt.viz.explorer`.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np

from .. import _validate as v
from ..cells.seq2seq import Seq2Seq, Seq2SeqTrace
from ..cells.seq2seq.greedy import greedy_batch
from ..data.pairs import N_SPECIALS, PairVocab, batch_pairs
from ..data.seq2seq_tasks import task_pairs
from ..io.atomic import atomic_write_text
from ..nn.losses import per_step_loss
from .explorer_page import asset, json_array, script_json

__all__ = ["seq2seq_payload", "seq2seq_explorer_html", "explain_seq2seq", "builtin_seq2seq",
           "explain_builtin", "explain_kind", "BUILTIN_TASK", "BUILTIN_TEXT", "BUILTIN_STEPS", "BUILTIN_LR", "MAX_NUMBERS"]

MAX_NUMBERS = 500_000        # numbers in the embedded JSON, as bptt.viz.explorer
BUILTIN_TASK = "reverse"     # the built-in model reverses strings of 1..8 letters from a..j
BUILTIN_TEXT = "badge"       # its default source (target "egdab")
BUILTIN_MAX_LEN = 8          # the longest source it is trained on
BUILTIN_HIDDEN = 16
BUILTIN_STEPS = 600          # Adam(lr=BUILTIN_LR) on batches of 32: about 2 s on one core
BUILTIN_BATCH = 32
BUILTIN_PAIRS = 4000
BUILTIN_LR = 0.01


# -- checks ---------------------------------------------------------------------------------------
def _chars(vocab, name, owner, size):
    """The characters of ids 3, 4, ... from a PairVocab (or an object with .chars, or a str),
    checked against the model's vocabulary size."""
    chars = getattr(vocab, "chars", vocab)
    if not isinstance(chars, str):
        raise TypeError(f"The '{name}' argument of {owner} must be a PairVocab (or a str of its "
                        f"characters in id order). Got {type(vocab).__name__} instead.")
    if len(chars) + N_SPECIALS != size:
        raise ValueError(f"The '{name}' argument of {owner} has {len(chars) + N_SPECIALS} ids "
                         f"({len(chars)} characters after PAD, BOS, EOS), but the model's "
                         f"{name}_size is {size}: pass the vocabularies the model was trained "
                         f"with.")
    return chars


def _check(model, trace, owner):
    if not isinstance(model, Seq2Seq):
        raise TypeError(f"The 'model' argument of {owner} must be a Seq2Seq. "
                        f"Got {type(model).__name__} instead.")
    if not isinstance(trace, Seq2SeqTrace):
        raise TypeError(f"The 'trace' argument of {owner} must be a Seq2SeqTrace, as returned by "
                        f"Seq2Seq.trace. Got {type(trace).__name__} instead.")
    B = trace.o.shape[1]
    if B != 1:
        raise ValueError(f"The 'trace' argument of {owner} must be the trace of one pair (B = 1): "
                         f"the page steps through one source and its target. Got B = {B}; trace "
                         f"one pair, model.trace(src[:, b:b+1], tgt[:, b:b+1]).")


def _twin(model):
    """The model without the end-id check, sharing its parameter arrays: it traces any one loss
    term alone (a mask whose last real target is not the end id)."""
    twin = Seq2Seq(**{**model.config(), "eos_id": None})
    twin.params = model.params
    return twin


def count_numbers(S, T1, K, V, L) -> int:
    """About how many numbers the page embeds."""
    return S * K * (2 + 2 * T1) + T1 * (3 * V + (3 + L) * K + 5 * S) + T1 * T1 * ((L + 1) * K + S)


# -- the payload ----------------------------------------------------------------------------------
def seq2seq_payload(model, trace, src_vocab, tgt_vocab, *, lr=0.1, title=None, trained=None) -> dict:
    """The dict the page embeds as JSON (see the module's docstring) of `trace`, the trace of one
    pair by `model` (model.trace(src, tgt) with B = 1); src_vocab, tgt_vocab: the model's
    PairVocabs (or the str of their characters); lr: the η of the update ‖Δθ‖ = η ‖∂J/∂θ‖."""
    owner = "seq2seq_explorer_html"
    _check(model, trace, owner)
    lr = v.check_float(lr, "lr", owner, low=0)
    src_chars = _chars(src_vocab, "src_vocab", owner, model.src_vocab_size)
    tgt_chars = _chars(tgt_vocab, "tgt_vocab", owner, model.tgt_vocab_size)
    for name, text in (("title", title), ("trained", trained)):
        if text is not None and not isinstance(text, str):
            raise TypeError(f"The '{name}' parameter of {owner} must be a str or None. "
                            f"Got {type(text).__name__} instead.")
    T1, S, _, K = trace.by_term_final.shape
    V, L = model.tgt_vocab_size, model.num_layers
    if trace.o.shape[2] != V or K != model.K or trace.src.shape[0] != S:
        raise ValueError(f"The 'trace' argument of {owner} was not made by this model: it has "
                         f"{trace.o.shape[2]} target ids and states of size {K}, the model "
                         f"{V} and {model.K}.")
    n = count_numbers(S, T1, K, V, L)
    if n > MAX_NUMBERS:
        raise ValueError(f"The trace is too large for the explorer: S={S} source steps, T'={T1} "
                         f"loss terms and K={K} need {n:,} numbers on the page, above its limit "
                         f"of {MAX_NUMBERS:,}. Trace a shorter pair.")
    src, tgt = trace.src[:, 0], trace.tgt[:, 0]
    mask = (trace.errors["o"][:, 0] != 0).any(axis=-1).astype(np.float64)   # the terms that count
    terms = per_step_loss("softmax", trace.o.astype(np.float64), trace.tgt[1:])[:, 0] * mask  # L(t)
    twin = _twin(model)
    real = trace.src_real.astype(model.dtype)
    fw = twin.forward(trace.src, trace.tgt, src_mask=real, tgt_mask=mask[:, None].astype(model.dtype))
    rtol = 1e-9 if model.dtype == np.float64 else 1e-4
    if not (np.array_equal(fw.o, trace.o) and np.isclose(terms.sum(), trace.loss, rtol=rtol, atol=0)):
        raise ValueError(f"The 'trace' argument of {owner} was not made by this model (with its "
                         f"current parameters): the model's logits on the trace's pair differ "
                         f"from the trace's. Trace the pair again before changing the model.")
    term = _term_errors(twin, trace, real, mask)
    o = trace.o[:, 0].astype(np.float64)
    y_hat = np.exp(o - o.max(axis=-1, keepdims=True))
    y_hat /= y_hat.sum(axis=-1, keepdims=True)
    reach = [trace.reach(t) for t in range(T1)]
    att, fin = trace.by_term_attention[:, :, 0], trace.by_term_final[:, :, 0]        # (T', S, K)
    errs = trace.errors
    bidirectional = model.bidirectional_encoder
    if title is None:
        title = (f"Seq2Seq explorer: {model.cell.upper()} encoder–decoder, "
                 f"{'no attention' if model.attention is None else model.attention + ' attention'}"
                 f", reading {PairVocab(src_chars).decode(src)!r} → {PairVocab(tgt_chars).decode(tgt)!r}")
    config = {
        "kind": "seq2seq", "title": title, "cell": model.cell, "attention": model.attention,
        "bidirectional": bidirectional, "num_layers": L, "hidden_size": model.hidden_size, "K": K,
        "S": S, "T": T1, "src_vocab_size": model.src_vocab_size, "tgt_vocab_size": V,
        "src_chars": src_chars, "tgt_chars": tgt_chars, "lr": lr, "dtype": model.dtype.name,
        "trained": trained,
    }
    nullable = lambda a: None if a is None else json_array(a)                 # noqa: E731
    return {
        "config": config, "src": json_array(src), "src_real": json_array(trace.src_real[:, 0]),
        "tgt": json_array(tgt), "mask": json_array(mask),
        "forward": {"E": json_array(fw.E[:, 0]), "s": json_array(fw.dec.top[:, 0]),
                    "ctx": json_array(fw.dec.ctx[:, 0]), "o": json_array(o), "y_hat": json_array(y_hat),
                    "alpha": nullable(None if trace.alpha is None else trace.alpha[:, :, 0])},
        "loss": json_array(trace.loss), "loss_terms": json_array(terms),
        "errors": {"o": json_array(errs["o"][:, 0]), "s": json_array(errs["s"][:, :, 0]),
                   "ctx": json_array(errs["ctx"][:, 0]),
                   "score": nullable(None if errs["score"] is None else errs["score"][:, :, 0]),
                   "encoder": json_array(trace.encoder_errors[:, 0])},
        "term_errors": {k: nullable(a) for k, a in term.items()},
        "by_term": {"attention": json_array(att), "final": json_array(fin)},
        "reach": {k: json_array(np.stack([r[k] for r in reach])) for k in ("attention", "final", "total")},
        "reach_J": {"attention": json_array(np.linalg.norm(att.sum(0), axis=-1)),
                    "final": json_array(np.linalg.norm(fin.sum(0), axis=-1)),
                    "total": json_array(np.linalg.norm(trace.encoder_errors[:, 0], axis=-1))},
        "params": {k: {"shape": list(p.shape), "norm": float(np.linalg.norm(p)),
                       "grad_norm": float(np.linalg.norm(trace.grads[k]))}
                   for k, p in model.params.items()},
    }


def _term_errors(twin, trace, real, mask):
    """{"s": (T', T', L, K), "ctx": (T', T', K), "score": (T', T', S) or None}: row t holds the
    decoder's errors of the loss term L(t) alone (the trace of a mask with only t set)."""
    T1, S, _, K = trace.by_term_final.shape
    s = np.zeros((T1, T1, twin.num_layers, K))
    ctx = np.zeros((T1, T1, K))
    score = None if trace.errors["score"] is None else np.zeros((T1, T1, S))
    for t in np.flatnonzero(mask):
        one = np.zeros((T1, 1), twin.dtype)
        one[t] = 1
        tr = twin.trace(trace.src, trace.tgt, src_mask=real, tgt_mask=one)
        s[t], ctx[t] = tr.errors["s"][:, :, 0], tr.errors["ctx"][:, 0]
        if score is not None:
            score[t] = tr.errors["score"][:, :, 0]
    return {"s": s, "ctx": ctx, "score": score}


# -- the page -------------------------------------------------------------------------------------
def seq2seq_explorer_html(model, trace, src_vocab, tgt_vocab, *, lr=0.1, title=None,
                          trained=None) -> str:
    """The page of seq2seq_payload(model, trace, src_vocab, tgt_vocab, ...): one
    self-contained HTML document (inline CSS, JS and SVG; it loads nothing)."""
    import html
    payload = seq2seq_payload(model, trace, src_vocab, tgt_vocab, lr=lr, title=title, trained=trained)
    t = html.escape(payload["config"]["title"])
    js = ('(function () {\n"use strict";\n' + asset("visible_text.js")
          + asset("seq2seq_explorer.js") + "start();\n})();")
    body = asset("seq2seq_explorer_body.html").rstrip("\n").format(title=t)
    return asset("explorer_page.html").format(title=t, css=asset("seq2seq_explorer.css"), body=body,
                                              data=script_json(payload), js=js)


# -- the built-in model and `bptt explain --kind seq2seq` ---------------------------------------------
def _builtin_data(seed):
    """(pairs, vocab) of the built-in task: the same letters on both sides."""
    pairs = task_pairs(BUILTIN_TASK, BUILTIN_PAIRS, seed=seed)
    return pairs, PairVocab.from_texts(s for s, _ in pairs)


def builtin_seq2seq(*, cell="gru", attention="additive", seed=0, optimizer=None,
                    steps=BUILTIN_STEPS):
    """(model, src_vocab, tgt_vocab): a Seq2Seq(hidden 16, `cell`, `attention`; None: no
    attention) on the built-in task "reverse" (BUILTIN_PAIRS pairs of task_pairs("reverse",
    seed=seed): strings of 1..8 letters a..j and their reversal), trained for `steps` steps on
    batches of 32 with `optimizer` (an object with .step(params, grads), such as
    bptt.optim.Adam(lr=BUILTIN_LR), what `bptt explain --kind seq2seq` uses), or untrained
    (random weights from `seed`) when optimizer is None."""
    owner = "builtin_seq2seq"
    seed = v.check_int(seed, "seed", owner, minimum=0)
    steps = v.check_int(steps, "steps", owner, minimum=0)
    if optimizer is not None and not callable(getattr(optimizer, "step", None)):
        raise TypeError(f"The 'optimizer' parameter of {owner} must be None or an optimizer with "
                        f".step(params, grads), such as bptt.optim.Adam(lr={BUILTIN_LR}). Got "
                        f"{type(optimizer).__name__} instead.")
    pairs, vocab = _builtin_data(seed)
    model = Seq2Seq(vocab.size, vocab.size, BUILTIN_HIDDEN, cell=cell, attention=attention, seed=seed)
    rng = np.random.default_rng([seed, 1])
    for _ in range(steps if optimizer is not None else 0):
        b = batch_pairs([pairs[i] for i in rng.integers(0, len(pairs), BUILTIN_BATCH)], vocab, vocab)
        _, grads = model.loss_and_grads(b.src, b.tgt, b.src_mask, b.tgt_mask)
        optimizer.step(model.params, grads)                            # θ ← update(θ, ∂J/∂θ)
    return model, vocab, vocab


def explain_seq2seq(out, model, src_vocab, tgt_vocab, *, input_text, target_text=None, lr=0.1,
                    title=None, trained=None, max_len=None) -> Path:
    """Write the explorer of `model` on the pair (input_text, target_text) to `out` (atomically);
    return its Path. target_text None: the model's greedy translation of input_text (at most
    max_len characters, default 2·len + 10), so that the page shows what the model itself says;
    trained: a line on how the model was trained, shown on the page."""
    owner = "explain_seq2seq"
    if not isinstance(model, Seq2Seq):
        raise TypeError(f"The 'model' argument of {owner} must be a Seq2Seq. "
                        f"Got {type(model).__name__} instead.")
    src_chars = _chars(src_vocab, "src_vocab", owner, model.src_vocab_size)
    tgt_chars = _chars(tgt_vocab, "tgt_vocab", owner, model.tgt_vocab_size)
    sv, tv = PairVocab(src_chars), PairVocab(tgt_chars)
    text = input_text
    if not isinstance(text, str) or not text:
        raise ValueError(f"The 'input_text' argument of {owner} must be a non-empty str (the "
                         f"source to translate). Got {text!r}.")
    if target_text is None:
        limit = 2 * len(text) + 10 if max_len is None else v.check_int(max_len, "max_len", owner)
        ids = greedy_batch(model, [sv.encode(text, eos=True)], max_len=limit)[0]
        target_text = tv.decode(ids)
    elif not isinstance(target_text, str):
        raise TypeError(f"The 'target_text' argument of {owner} must be a str or None. "
                        f"Got {type(target_text).__name__} instead.")
    b = batch_pairs([(text, target_text)], sv, tv)
    trace = model.trace(b.src, b.tgt, b.src_mask, b.tgt_mask)
    page = seq2seq_explorer_html(model, trace, sv, tv, lr=lr, title=title, trained=trained)
    return Path(atomic_write_text(out, page))


def explain_builtin(out, *, input_text=None, cell="gru", attention="additive", seed=0,
                    optimizer=None, lr=0.1, title=None) -> Path:
    """The built-in model (builtin_seq2seq, trained with `optimizer`) on the pair (input_text,
    its reversal): what `bptt explain --kind seq2seq` and explain(kind="seq2seq") write."""
    owner = "explain"
    text = BUILTIN_TEXT if input_text is None else input_text
    if not isinstance(text, str):
        raise TypeError(f"The 'input_text' argument of {owner} must be a str. "
                        f"Got {type(text).__name__} instead.")
    letters = _builtin_data(v.check_int(seed, "seed", owner, minimum=0))[1].chars
    unknown = sorted(set(text) - set(letters))
    if not 1 <= len(text) <= BUILTIN_MAX_LEN or unknown:
        raise ValueError(f"The 'input_text' argument of {owner} must be 1 to {BUILTIN_MAX_LEN} "
                         f"letters from {letters!r} (the built-in seq2seq model reverses such "
                         f"strings). Got {text!r}"
                         + (f", with {', '.join(map(repr, unknown))} not among them." if unknown else "."))
    model, sv, tv = builtin_seq2seq(cell=cell, attention=attention, seed=seed, optimizer=optimizer)
    trained = (f"trained for {BUILTIN_STEPS} steps of {type(optimizer).__name__} on the task "
               f"{BUILTIN_TASK!r}" if optimizer is not None else "untrained (random weights)")
    return explain_seq2seq(out, model, sv, tv, input_text=text, target_text=text[::-1], lr=lr,
                           title=title, trained=trained)


def explain_kind(out, *, model, vocab, input_text, seed, lr, title, bidirectional, mode, lab_open):
    """explain(kind="seq2seq") of `bptt.viz.explorer`: the built-in model, untrained (train it with
    explain_builtin(optimizer=...), as `bptt explain --kind seq2seq` does), or `model` (a Seq2Seq)
    with vocab = (src_vocab, tgt_vocab) on input_text and its greedy translation."""
    owner = "explain"
    if bidirectional is not False:
        raise ValueError(f"The 'bidirectional' parameter of {owner} is for the SimpleRNN, LSTM and "
                         f"GRU; a Seq2Seq's encoder is bidirectional when the model is "
                         f"(bidirectional_encoder=True). Leave it out with kind='seq2seq'.")
    if mode is not None:
        raise ValueError(f"The 'mode' parameter of {owner} is for kind='output_rnn'; a Seq2Seq is "
                         f"traced with teacher forcing. Got mode={mode!r} with kind='seq2seq'.")
    if lab_open is not False:
        raise ValueError(f"The 'lab_open' parameter of {owner} opens the lab, which runs one-layer "
                         f"SimpleRNN, LSTM and GRU models; a Seq2Seq gets its explorer alone.")
    if model is None:
        if vocab is not None:
            raise ValueError(f"The 'vocab' parameter of {owner} is only used with 'model'; the "
                             f"built-in seq2seq model has its own.")
        return explain_builtin(out, input_text=input_text, seed=seed, lr=lr, title=title)
    if not isinstance(model, Seq2Seq):
        raise TypeError(f"The 'model' argument of {owner} must be a Seq2Seq with kind='seq2seq'. "
                        f"Got {type(model).__name__} instead.")
    if not (isinstance(vocab, (tuple, list)) and len(vocab) == 2):
        raise ValueError(f"The 'vocab' parameter of {owner} must be the pair (src_vocab, "
                         f"tgt_vocab) with a Seq2Seq. Got {type(vocab).__name__}.")
    return explain_seq2seq(out, model, vocab[0], vocab[1], input_text=input_text, lr=lr, title=title)
