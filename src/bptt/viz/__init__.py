"""bptt.viz: figures and animations of the unfolded network and of errors flowing back through
time, made from the real numbers of a trace (`model.trace(x, y)`).

Needs the plots extra (matplotlib, Pillow): `pip install bptt[plots]`. They are imported inside
the functions, on matplotlib's Agg canvas (no pyplot, no global state); `import bptt.viz` works
without them and each function then raises an ImportError saying what to install.

    tr = bptt.viz.demo_trace()                       # a tiny SimpleRNN reading "hell" -> "ello"
    unfolded_network(tr, vocab=DEMO_VOCAB)           # the article's unfolded network, with values
    error_flow(tr)                                   # ‖∂L(s)/∂a(t)‖: heatmap and norm vs s − t
    error_flow(lstm_tr, path="cell")                 # an LSTM: ‖∂L(s)/∂c(t)‖, or "hidden": ‖∂L(s)/∂y(t)‖
    error_flow(gru_tr)                               # a GRU: ‖∂L(s)/∂h(t)‖
    flow_comparison([rnn_tr, gru_tr, lstm_tr])       # how far back each one's error reaches
    vanishing_exploding()                            # W = r·(orthogonal), r < 1 and r > 1
    per_step_contributions(tr, "W")                  # (∂J/∂W)^(t) per step and their sum ∂J/∂W
    hidden_states(tr)                                # h(t), units × steps (GRU: which="z" its gate)
    error_animation(tr, "bptt.gif")                  # the backward pass, frame by frame (GIF)
    save_png(fig, "fig.png"); fig_to_rgba(fig)       # every function returns a Figure

Every figure takes the trace of a SimpleRNN; error_flow, flow_matrix and flow_comparison take
LSTM and GRU traces too, and per_step_contributions, hidden_states and the animation GRU traces
(the others refuse a trace they do not draw with a TypeError naming the figures that do).

The interactive HTML explorer lives in `bptt.viz.explorer` and is imported only when used; it
draws one-layer SimpleRNN, LSTM and GRU traces.
"""
from ._common import DEMO_TEXT, DEMO_VOCAB, demo_trace, fig_to_rgba, format_values, save_png
from .animation import animation_frames, error_animation, error_frame, source_colors
from .bidirectional import bidirectional_flow, bidirectional_flows
from .classification import pooling_errors
from .figures import hidden_states, per_step_contributions, save_demo_figures
from .flow import error_flow, flow_matrix, orthogonal_rnn_trace, vanishing_exploding
from .lstm_flow import flow_comparison
from .output_rnn import teacher_forcing_flow
from .seq2seq import accuracy_curves, attention_heatmap, encoder_reach
from .unfolded import unfolded_network

__all__ = [
    "DEMO_TEXT", "DEMO_VOCAB", "animation_frames", "demo_trace", "error_animation", "error_flow",
    "error_frame",
    "fig_to_rgba", "flow_comparison", "flow_matrix", "format_values", "hidden_states", "orthogonal_rnn_trace",
    "per_step_contributions", "save_demo_figures", "save_png", "source_colors", "unfolded_network",
    "vanishing_exploding",
]
__all__ += ["teacher_forcing_flow"]                # bptt.OutputRNN's flows (output_rnn.py)
__all__ += ["pooling_errors"]                     # many-to-one: last vs mean (classification.py)
__all__ += ["bidirectional_flow", "bidirectional_flows"]   # both directions' errors by source
__all__ += ["accuracy_curves", "attention_heatmap", "encoder_reach"]   # Seq2Seq (seq2seq.py)


def _trace_html(trace):
    """A trace's display in Jupyter: the interactive explorer (one layer, a loss at every step;
    the plain repr for stacked models and mean-pooled traces). Attached here so that the traces
    know nothing of pictures."""
    import numpy as np
    if getattr(trace.model, "num_layers", 1) != 1 or not isinstance(getattr(trace, "y", None), np.ndarray):
        return None
    from .explorer import explorer_html
    return explorer_html(trace, inline=True)


def _attach_notebook_display():
    from ..cells import TRACE_CLASSES
    for cls in TRACE_CLASSES:
        cls._repr_html_ = _trace_html


_attach_notebook_display()


def __getattr__(name):
    if name == "explorer_html":                    # lazily: the explorer is not imported eagerly
        from .explorer import explorer_html
        return explorer_html
    raise AttributeError(f"module 'bptt.viz' has no attribute {name!r}")
