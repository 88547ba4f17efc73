"""`bptt lab`: the BPTT lab page with its controls open (the page itself: `bptt.viz.lab_page`).

    lab("lab.html")                                   # the built-in tiny SimpleRNN reading "hello"
    lab("lab.html", kind="lstm", input_text="hello")  # the built-in tiny LSTM
    lab("lab.html", model=model, vocab=vocab, input_text="the cat")   # a trained one-layer model

With a model (a one-layer SimpleRNN, LSTM or GRU with H <= 32 and token inputs, such as
`bptt.io.saving.load_model(DIR)` gives), the page starts from its weights and vocabulary; a text
with characters outside that vocabulary, or any change of the model's options, starts a fresh
model of the page's own (seeded) on the text's own characters.
"""
from __future__ import annotations

from pathlib import Path

from .explorer import explain

__all__ = ["lab"]


def lab(out, *, model=None, input_text=None, seed=0, vocab=None, lr=0.1, kind=None) -> Path:
    """Write the lab page to `out` (controls open); return its Path. The arguments are explain's."""
    if model is None and input_text is None:
        input_text = "hello"
    name = type(model).__name__ if model is not None else {"lstm": "LSTM", "gru": "GRU"}.get(kind, "SimpleRNN")
    from .lab_page import visible_text
    title = f"BPTT lab: {name} reading {visible_text(input_text or '')!r}"
    return explain(out, model=model, input_text=input_text, seed=seed, vocab=vocab, lr=lr,
                   kind=kind, title=title, lab_open=True)
