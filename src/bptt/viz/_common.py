"""What every figure of `bptt.viz` shares: the optional imports, validation at the public edge,
a figure on the Agg canvas, figures to PNG files and RGBA arrays, and the built-in demo trace.

matplotlib and Pillow are the `plots` extra: they are imported inside the functions, so that
`import bptt.viz` works without them and each function says how to install them.
"""
from __future__ import annotations

import numbers
import os
from pathlib import Path

import numpy as np

PLOTS_EXTRA = "install the plots extra: pip install bptt[plots]"

# The demo: the classic character-level example, predict the next character of "hello".
DEMO_TEXT = "hello"
"""The demo's text: demo_trace reads "hell" and predicts "ello".

Examples:
    >>> from bptt.viz import DEMO_TEXT, DEMO_VOCAB, demo_trace
    >>> "".join(DEMO_VOCAB[i] for i in demo_trace().x[:, 0]) == DEMO_TEXT[:-1]
    True
"""
DEMO_VOCAB = tuple(sorted(set(DEMO_TEXT)))          # ('e', 'h', 'l', 'o'): token id -> character
"""The demo's characters by token id: ('e', 'h', 'l', 'o').

Examples:
    >>> from bptt.viz import DEMO_VOCAB, demo_trace
    >>> "".join(DEMO_VOCAB[i] for i in demo_trace().y[:, 0])     # the targets (T, B)
    'ello'
"""


def require_matplotlib(what: str) -> None:
    """Raise an ImportError naming the plots extra when matplotlib cannot be imported."""
    try:
        import matplotlib  # noqa: F401
        from matplotlib.backends.backend_agg import FigureCanvasAgg  # noqa: F401
        from matplotlib.figure import Figure  # noqa: F401
    except ImportError as e:
        raise ImportError(f"{what} needs matplotlib, which could not be imported ({e}); "
                          f"{PLOTS_EXTRA}") from e


def require_pillow(what: str):
    """PIL.Image, or an ImportError naming the plots extra."""
    try:
        from PIL import Image
    except ImportError as e:
        raise ImportError(f"{what} needs Pillow, which could not be imported ({e}); "
                          f"{PLOTS_EXTRA}") from e
    return Image


def new_figure(figsize, *, dpi=100, layout="constrained"):
    """A Figure on its own Agg canvas: no pyplot, no global state, no GUI backend."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=figsize, dpi=dpi, layout=layout)
    FigureCanvasAgg(fig)
    return fig


# -- validation at the public edge ------------------------------------------------------------
# The kinds of trace, by model kind: the class name of its trace and the model's name.
TRACE_NAMES = {"rnn": "Trace", "lstm": "LSTMTrace", "gru": "GRUTrace"}
MODEL_NAMES = {"rnn": "SimpleRNN", "lstm": "LSTM", "gru": "GRU"}
ALL_KINDS = tuple(TRACE_NAMES)
# What draws each kind (named when a figure refuses a kind it does not draw).
DRAWN_BY = {
    "rnn": "every figure does",
    "lstm": "error_flow and flow_comparison do",
    "gru": "error_flow, flow_comparison, per_step_contributions, hidden_states and the error "
           "animation do",
}


def trace_kind(trace):
    """"rnn", "lstm" or "gru": the kind of model whose trace this is (None for anything else)."""
    from ..cells.registry import MODEL_KINDS

    for kind, cls in MODEL_KINDS.items():
        if isinstance(trace, cls.trace_class):
            return kind
    return None


def _one_of(names):
    return names[0] if len(names) == 1 else ", ".join(names[:-1]) + " or " + names[-1]


def check_trace(trace, fn: str, *, one_layer: bool = True, kinds=("rnn",)):
    """A trace of one of `kinds` ("rnn": a bptt Trace of a SimpleRNN, "lstm": an LSTMTrace,
    "gru": a GRUTrace); with one_layer, of a model with one recurrent layer (the article's
    network). Other traces are refused with a TypeError that names what `fn` draws."""
    kind = trace_kind(trace)
    what = "a bptt " + _one_of([TRACE_NAMES[k] for k in kinds])
    if kind is None:
        raise TypeError(f"The 'trace' argument of {fn} must be {what}, as returned by "
                        f"model.trace(x, y). Got {type(trace).__name__} instead.")
    if kind not in kinds:
        of = _one_of([f"a {MODEL_NAMES[k]}" for k in kinds])
        raise TypeError(f"The 'trace' argument of {fn} must be {what} of {of}; {fn} does not draw "
                        f"{MODEL_NAMES[kind]} traces ({DRAWN_BY[kind]}). Got "
                        f"{'an' if kind == 'lstm' else 'a'} {TRACE_NAMES[kind]} instead.")
    layers = getattr(trace.model, "num_layers", 1)
    if one_layer and layers != 1:
        raise ValueError(f"{fn} draws the article's network with one recurrent layer; the trace's "
                         f"model has num_layers={layers}.")
    return trace


def check_b(b, trace, fn: str) -> int:
    """The index of one sequence of the batch: an int in [0, B)."""
    B = trace.forward.h.shape[1]
    if isinstance(b, bool) or not isinstance(b, numbers.Integral):
        raise TypeError(f"The 'b' parameter of {fn} must be an int in [0, {B - 1}] (the index of "
                        f"one sequence of the batch). Got {b!r} of type {type(b).__name__} instead.")
    if not 0 <= b < B:
        raise ValueError(f"The 'b' parameter of {fn} must be an int in [0, {B - 1}]: the trace "
                         f"holds B = {B} sequence{'s' if B != 1 else ''}. Got {b!r} instead.")
    return int(b)


def check_steps(trace, fn: str, most: int) -> int:
    T = trace.forward.h.shape[0]
    if T > most:
        raise ValueError(f"{fn} draws one column per time step, at most {most}; the trace has "
                         f"T = {T} steps. Trace a shorter sequence, e.g. model.trace(x[:{most}], "
                         f"y[:{most}]).")
    return T


def check_path(path, fn: str, name: str = "path") -> Path:
    if not isinstance(path, (str, os.PathLike)):
        raise TypeError(f"The '{name}' argument of {fn} must be a str or os.PathLike. "
                        f"Got {type(path).__name__} instead.")
    return Path(path)


def check_figure(fig, fn: str):
    from matplotlib.figure import Figure

    if not isinstance(fig, Figure):
        raise TypeError(f"The 'fig' argument of {fn} must be a matplotlib Figure. "
                        f"Got {type(fig).__name__} instead.")
    return fig


# -- numbers as text ----------------------------------------------------------------------------
def format_number(value, decimals: int = 2) -> str:
    """`value` rounded to `decimals`, with no "-0.00"."""
    return f"{float(np.round(value, decimals)) + 0.0:.{decimals}f}"


def format_values(values, decimals: int = 2, max_values: int = 4) -> str:
    """A vector (N,) as "[0.12, -0.30, 0.50]"; past max_values, the first few and "…".

    Examples:
        >>> from bptt.viz import format_values
        >>> format_values([0.123, -0.3, 0.5]), format_values(np.arange(6.0), max_values=3)
        ('[0.12, -0.30, 0.50]', '[0.00, 1.00, 2.00, …]')
    """
    v = np.ravel(values)
    body = ", ".join(format_number(x, decimals) for x in v[:max_values])
    if v.size > max_values:
        body += ", …"
    return f"[{body}]"


# -- figures out ---------------------------------------------------------------------------------
def fig_to_rgba(fig) -> np.ndarray:
    """Render a Figure with Agg: an (height, width, 4) uint8 RGBA array.

    Examples:
        >>> from matplotlib.figure import Figure
        >>> from bptt.viz import fig_to_rgba
        >>> rgba = fig_to_rgba(Figure(figsize=(2, 1), dpi=50))    # 2 × 1 inches at 50 dpi
        >>> rgba.shape, rgba.dtype
        ((50, 100, 4), dtype('uint8'))
    """
    require_matplotlib("fig_to_rgba")
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    check_figure(fig, "fig_to_rgba")
    canvas = fig.canvas if isinstance(fig.canvas, FigureCanvasAgg) else FigureCanvasAgg(fig)
    canvas.draw()
    return np.asarray(canvas.buffer_rgba()).copy()


def save_png(fig, path, *, dpi=None) -> Path:
    """Write a Figure to a PNG file (at the figure's dpi unless given) and return its Path.
    The image is what fig_to_rgba gives, (height, width, 4).

    Examples:
        >>> from bptt.viz import demo_trace, hidden_states, save_png
        >>> path = save_png(hidden_states(demo_trace()), "hidden.png")
        >>> path.name, path.read_bytes()[1:4]                     # the PNG signature
        ('hidden.png', b'PNG')
    """
    require_matplotlib("save_png")
    check_figure(fig, "save_png")
    path = check_path(path, "save_png")
    fig.savefig(path, format="png", dpi=fig.dpi if dpi is None else dpi)
    return path


# -- the built-in demo ---------------------------------------------------------------------------
def demo_trace(seed=0):
    """The Trace of a tiny, untrained SimpleRNN reading "hell" and predicting "ello".

    Token inputs, D = O = 4 (the characters of DEMO_VOCAB = ('e', 'h', 'l', 'o')), H = 3,
    tanh, softmax + cross-entropy, T = 4 steps, B = 1, h0 = 0 (so (∂J/∂W)^(0) = ∂J/∂a(0) h(−1)ᵀ
    is zero). Pass vocab=DEMO_VOCAB to unfolded_network to see the characters, not their ids.
    x and y are ids (T, B) = (4, 1).

    Examples:
        >>> from bptt.viz import demo_trace
        >>> tr = demo_trace()
        >>> tr.x[:, 0], tr.y[:, 0], tr.forward.h.shape        # "hell" -> "ello", h (T, B, H)
        (array([1, 0, 2, 2]), array([0, 2, 2, 3]), (4, 1, 3))
        >>> bool(np.allclose(tr.per_step["W"][0], 0))           # h(−1) = 0
        True
    """
    from ..cells.rnn.model import SimpleRNN

    ids = np.array([DEMO_VOCAB.index(ch) for ch in DEMO_TEXT])
    x, y = ids[:-1, None], ids[1:, None]                 # (T, B) = (4, 1): "hell" -> "ello"
    model = SimpleRNN(len(DEMO_VOCAB), 3, len(DEMO_VOCAB), seed=seed)
    return model.trace(x, y)
