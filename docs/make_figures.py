"""Regenerate the figures in docs/figures from the library (python docs/make_figures.py).

    python docs/make_figures.py             # the tutorial's figures, docs/lstm.md's lstm_*.png and
                                            # docs/gru.md's gru_*.png
    python docs/make_figures.py --adding    # also train the adding-problem models (minutes) and
                                            # write adding_*.png (examples/adding_problem.py)
"""
import argparse
import importlib.util
import pathlib

import numpy as np

import bptt
from bptt import viz
from bptt.data import copy_memory

DOCS = pathlib.Path(__file__).parent
OUT = DOCS / "figures"


def lstm_figures(out):
    """The figures of docs/lstm.md section 2, from the same models and data as its code."""
    rng = np.random.default_rng(0)
    lstm = bptt.LSTM(3, 4, 2, output="identity", seed=0)
    x, y = rng.normal(size=(5, 2, 3)), rng.normal(size=(5, 2, 2))
    tr = lstm.trace(x, y)
    flow = viz.error_flow([tr, tr], source="all", path=["cell", "hidden"])
    task = copy_memory(20, 4, seed=0, n_symbols=6, length=5)
    rnn_tr = bptt.SimpleRNN(8, 16, 8, seed=0).trace(task.x, task.y, mask=task.mask)
    lstm_tr = bptt.LSTM(8, 16, 8, forget_bias=1.0, seed=0).trace(task.x, task.y, mask=task.mask)
    comparison = viz.flow_comparison([rnn_tr, lstm_tr], ["SimpleRNN", "LSTM"])
    return {"lstm_error_flow": viz.save_png(flow, out / "lstm_error_flow.png"),
            "lstm_flow_comparison": viz.save_png(comparison, out / "lstm_flow_comparison.png")}


def gru_figures(out):
    """The figure of docs/gru.md section 3: SimpleRNN, GRU and LSTM on the same copy-memory task."""
    task = copy_memory(20, 4, seed=0, n_symbols=6, length=5)
    models = [bptt.SimpleRNN(8, 16, 8, seed=0), bptt.GRU(8, 16, 8, seed=0),
              bptt.LSTM(8, 16, 8, forget_bias=1.0, seed=0)]    # as docs/gru.md: forget gates open
    traces = [m.trace(task.x, task.y, mask=task.mask) for m in models]
    fig = viz.flow_comparison(traces, ["SimpleRNN", "GRU", "LSTM"])
    return {"gru_flow_comparison": viz.save_png(fig, out / "gru_flow_comparison.png")}


def adding_figures(out):
    """Train both models of examples/adding_problem.py (T = 100, 2000 steps) and save its figures."""
    path = DOCS.parent / "examples" / "adding_problem.py"
    spec = importlib.util.spec_from_file_location("adding_problem", path)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    res = mod.main(seed=0, out=out)
    return {p.stem: p for p in res["figures"]}


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--adding", action="store_true",
                        help="also run the adding-problem example (minutes) for adding_*.png")
    args = parser.parse_args()
    for name, path in viz.save_demo_figures(OUT, seed=0).items():
        print(name, path)
    viz.save_png(viz.vanishing_exploding(seed=0), OUT / "vanishing_exploding.png")
    for name, path in lstm_figures(OUT).items():
        print(name, path)
    for name, path in gru_figures(OUT).items():
        print(name, path)
    if args.adding:
        for name, path in adding_figures(OUT).items():
            print(name, path)
