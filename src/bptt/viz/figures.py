"""Per-step gradient contributions and hidden states; every figure of the demo written at once.

    per_step_contributions(trace, "W")   bars of (∂J/∂W)^(t) for t = 0..T−1 and a distinct bar for
                                         their sum ∂J/∂W: the gradient of the one update
    per_step_contributions(gru_trace)    the same for a GRU (default parameter W_z)
    hidden_states(trace)                 heatmap of h(t), units × steps (of a SimpleRNN or a GRU;
                                         which="r", "z" or "n" shows a GRU's gates)

Both take the trace of a SimpleRNN or a GRU (of the top layer, with several); an LSTM's trace is
refused with a TypeError naming the figures that draw it.
    save_demo_figures(out_dir)           every figure and the animation of demo_trace(), as files
"""
from __future__ import annotations

import numbers

import numpy as np

from ._common import (DEMO_VOCAB, check_b, check_path, check_trace, demo_trace, format_number,
                      new_figure, require_matplotlib, save_png, trace_kind)

PARAM_NAMES = ("U", "W", "b", "V", "c")
KINDS = ("rnn", "gru")                                   # the traces these figures draw
DEFAULT_PARAM = {"rnn": "W", "gru": "W_z"}               # the recurrent weights (of the update gate)
STATES = {                                               # hidden_states(which=...): what, its label
    "rnn": {"h": "h(t) = {g}(a(t))", "a": "a(t) = b + W h(t−1) + U x(t)"},
    "gru": {"h": "h(t) = (1 − z(t)) ⊙ n(t) + z(t) ⊙ h(t−1)", "r": "r(t) = σ(r̂(t)), the reset gate",
            "z": "z(t) = σ(ẑ(t)), the update gate", "n": "n(t) = tanh(n̂(t)), the candidate"},
}
TITLES = {"h": "Hidden states h(t)", "a": "Pre-activations a(t)", "r": "Reset gate r(t)",
          "z": "Update gate z(t)", "n": "Candidate n(t)"}
STEP_COLOR, SUM_COLOR = "#4c78a8", "#e45756"


def _check_name(name, trace, fn):
    names = tuple(trace.per_step)
    if not isinstance(name, str) or name not in names:
        raise ValueError(f"The 'name' parameter of {fn} must be one of "
                         f"{', '.join(map(repr, names))}. Got {name!r} instead.")
    return name


def _check_index(index, shape, name, fn):
    """A tuple of ints inside `shape` (an int for a vector); None and 'norm' are handled before."""
    idx = (index,) if isinstance(index, numbers.Integral) and not isinstance(index, bool) else index
    ok = (isinstance(idx, tuple) and len(idx) == len(shape)
          and all(isinstance(i, numbers.Integral) and not isinstance(i, bool) for i in idx))
    if not ok:
        want = "an int" if len(shape) == 1 else f"a tuple of {len(shape)} ints"
        raise TypeError(f"The 'index' parameter of {fn} must be None, 'norm' or {want} indexing "
                        f"{name} of shape {shape}. Got {index!r} instead.")
    if not all(0 <= i < n for i, n in zip(idx, shape)):
        raise ValueError(f"The 'index' parameter of {fn} is out of range: {index!r} for {name} of "
                         f"shape {shape}.")
    return tuple(int(i) for i in idx)


def per_step_contributions(trace, name=None, index=None):
    """Bars of the per-step contributions (∂J/∂θ)^(t) of one entry of parameter `name`, and a
    final, distinct bar for their sum ∂J/∂θ (= trace.grads[name] at that entry).

    trace: of a SimpleRNN or a GRU. name: a key of trace.per_step; None for the recurrent weights,
    "W" (SimpleRNN) or "W_z" (GRU).

    index: None for the entry with the largest |∂J/∂θ|, an int (b, c) or a tuple (U, W, V) for
    one entry, or "norm" for the Frobenius norms ‖(∂J/∂θ)^(t)‖ beside ‖∂J/∂θ‖ (the norm of the
    sum, not the sum of the norms). The bars carry the gids "step:<t>" and "sum". The bars
    are trace.per_step[name] (T, *shape) at the entry.

    Examples:
        >>> from bptt.viz import demo_trace, per_step_contributions
        >>> tr = demo_trace()
        >>> fig = per_step_contributions(tr, "W", index=(2, 0))
        >>> bars = {bar.get_gid(): bar.get_height() for bar in fig.axes[0].patches}
        >>> [round(float(bars[f"step:{t}"]), 4) for t in range(4)]      # (∂J/∂W)^(t)[2, 0]
        [0.0, -0.1679, -0.1555, -0.2133]
        >>> bool(np.isclose(bars["sum"], tr.grads["W"][2, 0]))
        True
    """
    fn = "per_step_contributions"
    require_matplotlib(fn)
    trace = check_trace(trace, fn, one_layer=False, kinds=KINDS)
    if name is None:
        name = DEFAULT_PARAM[trace_kind(trace)]
    name = _check_name(name, trace, fn)
    steps, total = trace.per_step[name], trace.grads[name]              # (T, *shape), shape
    T = steps.shape[0]
    is_norm = isinstance(index, str) and index == "norm"
    if is_norm:
        values = np.sqrt((steps.reshape(T, -1) ** 2).sum(axis=1))        # ‖(∂J/∂θ)^(t)‖
        sum_value = float(np.linalg.norm(total))                        # ‖Σ_t (∂J/∂θ)^(t)‖
        step_lbl, sum_lbl = f"‖(∂J/∂{name})⁽ᵗ⁾‖", f"‖∂J/∂{name}‖"
    else:
        if index is None:
            idx = np.unravel_index(int(np.argmax(np.abs(total))), total.shape)
        else:
            idx = _check_index(index, total.shape, name, fn)
        idx = tuple(int(i) for i in idx)
        values, sum_value = steps[(slice(None),) + idx], float(total[idx])
        entry = "[" + ", ".join(map(str, idx)) + "]"
        step_lbl, sum_lbl = f"(∂J/∂{name})⁽ᵗ⁾{entry}", f"∂J/∂{name}{entry}"

    fig = new_figure((max(7.8, 0.55 * T + 3.5), 4.8))
    ax = fig.add_subplot()
    bars = ax.bar(np.arange(T), values, color=STEP_COLOR, edgecolor="#2b4a6b", lw=0.6,
                  label=f"{step_lbl}: the contribution of step t")
    for t, bar in enumerate(bars):
        bar.set_gid(f"step:{t}")
    (sum_bar,) = ax.bar([T + 0.6], [sum_value], width=0.9, color=SUM_COLOR, edgecolor="black",
                        hatch="//", lw=0.8, label=f"{sum_lbl}: the norm of the sum" if is_norm
                        else f"{sum_lbl} = Σₜ {step_lbl}")
    sum_bar.set_gid("sum")
    ax.axhline(0, color="black", lw=0.8)
    ax.axvline(T - 0.1, color="#888888", ls=":", lw=1)
    ax.annotate(format_number(sum_value, 3), (T + 0.6, sum_value), xytext=(0, 3 if sum_value >= 0 else -3),
                textcoords="offset points", ha="center", va="bottom" if sum_value >= 0 else "top", fontsize=8)
    ax.set_xticks(list(range(T)) + [T + 0.6], [str(t) for t in range(T)] + ["sum"])
    ax.set_xlabel("step t")
    ax.set_ylabel(step_lbl)
    ax.legend(fontsize=8, loc="best")
    ax.set_title(f"Per-step contributions {step_lbl} and their sum {sum_lbl}\n{name} is shared by "
                 f"every step: the sum is the gradient of the one update for this sequence"
                 if not is_norm else
                 f"Per-step contributions {step_lbl} and the norm of their sum {sum_lbl}\n{name} is "
                 f"shared by every step: the one update uses the sum ∂J/∂{name} = Σₜ (∂J/∂{name})⁽ᵗ⁾",
                 fontsize=10)
    ax.set_label("contributions")
    return fig


def hidden_states(trace, b=0, *, which="h"):
    """Heatmap of h(t) of sequence b over time: hidden units (rows) × steps (columns).

    which="a" shows a SimpleRNN's pre-activations a(t) instead; which="r", "z" or "n" a GRU's
    reset gate, update gate or candidate. The image array equals h[:, b, :].T (the top layer's,
    for a model with several layers), or forward.a / forward.gates[which] likewise: (H, T).

    Examples:
        >>> from bptt.viz import demo_trace, hidden_states
        >>> tr = demo_trace()
        >>> image = hidden_states(tr).axes[0].images[0].get_array()      # (H, T)
        >>> bool(np.allclose(image, tr.forward.h[:, 0, :].T))
        True
    """
    fn = "hidden_states"
    require_matplotlib(fn)
    trace = check_trace(trace, fn, one_layer=False, kinds=KINDS)
    b = check_b(b, trace, fn)
    kind = trace_kind(trace)
    if not isinstance(which, str) or which not in STATES[kind]:
        names = [repr(w) for w in STATES[kind]]
        raise ValueError(f"The 'which' parameter of {fn} must be {', '.join(names[:-1])} or "
                         f"{names[-1]} for a {'GRU' if kind == 'gru' else 'SimpleRNN'} trace. "
                         f"Got {which!r} instead.")
    from matplotlib.ticker import MaxNLocator

    fwd = trace.forward
    data = (fwd.h if which == "h" else fwd.a if which == "a" else fwd.gates[which])[:, b, :].T  # (H, T)
    H, T = data.shape
    largest = max(float(np.abs(data).max()), 1e-12)
    if kind == "gru":                                    # gates in (0, 1), n in (−1, 1), h mixes them
        lim = max(1.0, largest) if which == "h" else 1.0
    else:
        lim = 1.0 if which == "h" and trace.model.activation in ("tanh", "sigmoid") else largest
    fig = new_figure((max(6.2, 0.5 * T + 2.8), max(3.0, 0.32 * H + 1.8)))
    ax = fig.add_subplot()
    im = ax.imshow(data, cmap="RdBu_r", vmin=-lim, vmax=lim, aspect="auto", interpolation="nearest",
                   origin="upper")
    if H * T <= 160:
        for i, t in np.ndindex(H, T):
            ax.text(t, i, format_number(data[i, t]), ha="center", va="center", fontsize=7,
                    color="white" if abs(data[i, t]) > 0.6 * lim else "black")
    label = STATES[kind][which].format(g=getattr(trace.model, "activation", "tanh"))
    fig.colorbar(im, ax=ax, label=label)
    ax.xaxis.set_major_locator(MaxNLocator(integer=True, nbins=min(T, 12)))
    ax.yaxis.set_major_locator(MaxNLocator(integer=True, nbins=min(H, 12)))
    ax.set_xlabel("step t")
    ax.set_ylabel("hidden unit")
    ax.set_title(f"{TITLES[which]}, sequence b = {b}: {H} units × {T} steps", fontsize=10)
    ax.set_label("hidden")
    return fig


def save_demo_figures(out_dir, seed=0):
    """Every figure of demo_trace(seed) as PNG files, plus the GIF animation, in out_dir (created
    if needed). Returns {name: Path}. Meant for `bptt` command-line use and for docs. No
    arrays: a directory in, files out.

    Examples:
        >>> from bptt.viz import save_demo_figures
        >>> sorted(path.name for path in save_demo_figures("figures").values())
        ['error_animation.gif', 'error_flow.png', 'hidden_states.png', 'per_step_contributions.png', 'unfolded_network.png', 'vanishing_exploding.png']
    """
    fn = "save_demo_figures"
    require_matplotlib(fn)
    from .animation import error_animation
    from .flow import error_flow, vanishing_exploding
    from .unfolded import unfolded_network

    out = check_path(out_dir, fn, "out_dir")
    out.mkdir(parents=True, exist_ok=True)
    tr = demo_trace(seed)
    figures = {
        "unfolded_network": unfolded_network(tr, vocab=DEMO_VOCAB),
        "error_flow": error_flow(tr, source="all"),
        "vanishing_exploding": vanishing_exploding(seed=seed),
        "per_step_contributions": per_step_contributions(tr, "W"),
        "hidden_states": hidden_states(tr),
    }
    paths = {k: save_png(fig, out / f"{k}.png") for k, fig in figures.items()}
    paths["error_animation"] = error_animation(tr, out / "error_animation.gif")
    return paths
