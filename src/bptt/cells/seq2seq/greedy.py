"""Greedy decoding of a batch of different sources at once: what evaluation runs (exact match on
held-out pairs) and `bptt translate` without a beam. One source at a time, with sampling or beam
search, is `bptt.decode` over a `Seq2SeqStepper`; both give the same greedy output.

Each row feeds back its own argmax until it emits the end id or reaches max_len tokens; rows that
have finished keep stepping (the batch stays rectangular) but their later tokens are dropped.
"""
from __future__ import annotations

import numpy as np

from ... import _validate as v
from . import decoder


def pad_sources(sources, pad_id: int = 0):
    """(src (S, B) ids, real (S, B) bool) from a list of 1-D id arrays, padded at the end."""
    S = max(len(s) for s in sources)
    src = np.full((S, len(sources)), pad_id, np.intp)
    real = np.zeros((S, len(sources)), bool)
    for b, s in enumerate(sources):
        src[:len(s), b] = s
        real[:len(s), b] = True
    return src, real


def greedy_batch(model, sources, *, max_len: int) -> list:
    """The greedy output ids (without the end id) of every source in `sources` (a list of
    non-empty 1-D id arrays)."""
    o = "greedy_batch"
    max_len = v.check_int(max_len, "max_len", o)
    if not sources or any(len(s) == 0 for s in sources):
        raise ValueError(f"The 'sources' argument of {o} must be a non-empty list of non-empty "
                         f"id arrays (an empty source has nothing to encode).")
    if model.bos_id is None or model.eos_id is None:
        raise ValueError(f"{o} needs the model's begin and end ids; this model has bos_id="
                         f"{model.bos_id}, eos_id={model.eos_id}.")
    sources = [v.as_array(s, "sources", o) for s in sources]
    bad = next((i for i, s in enumerate(sources) if s.ndim != 1 or s.dtype.kind not in "iu"), None)
    if bad is not None:
        raise TypeError(f"The 'sources' argument of {o} must hold 1-D arrays of integer ids. "
                        f"Source {bad} has shape {sources[bad].shape} and dtype {sources[bad].dtype}.")
    src, real = pad_sources(sources)
    v.check_token_ids(src, "sources", o, src.shape, model.src_vocab_size)
    run, kv, C = model.encode(src, real)
    state = list(run.finals)
    B = len(sources)
    tokens = np.full(B, model.bos_id, np.intp)
    out, done = [[] for _ in range(B)], np.zeros(B, bool)
    for _ in range(max_len):
        state, _, _, _, _ = decoder.step(model._step, model._dec, model._dec_layer, model.attention,
                                         model._attn(), kv, C, state, tokens, model.tgt_vocab_size)
        logits = state[-1][0] @ model.params["dec.V"].T + model.params["dec.c"]
        tokens = logits.argmax(axis=1)
        for b in np.flatnonzero(~done):
            if tokens[b] == model.eos_id:
                done[b] = True
            else:
                out[b].append(int(tokens[b]))
        if done.all():
            break
    return out
