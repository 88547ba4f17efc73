"""The adding problem at T = 100 (Hochreiter & Schmidhuber 1997): an LSTM and a GRU learn it, a
simple RNN with the same budget does not.

Each sequence has two inputs per step: a value u(t) ~ U[0, 1) and a marker, 1 at exactly two
steps (one in each half). The target, at the last step only, is the sum of the two marked
values. Always predicting 1 has MSE = Var(u1 + u2) = 1/6 (bptt.data.ADDING_BASELINE_MSE); to beat
it a model must carry the first marked value across up to 99 steps, and its error signal back
just as far. Here MSE = mean (o − y)² over the sequences; the library's loss is ½(o − y)², so
J = MSE / 2.

All three models read the same batches (many-to-one: the mask has only the last step set), with the
same optimizer, clipping and number of steps. Then all are traced, in float64, on a few test
sequences, and flow_comparison draws how far back the error of the loss L(T−1) reaches in each.

    python examples/adding_problem.py                     # T = 100, 2000 steps: a few minutes
    python examples/adding_problem.py --quick             # T = 20, 60 steps: seconds
    python examples/adding_problem.py --steps 3000 --seed 1 --out figs/
"""
import argparse
import os
import pathlib
import time

# The matrices here are small (B = 50, H = 64): one BLAS thread is faster than many.
for _var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

import numpy as np  # noqa: E402

import bptt  # noqa: E402
from bptt import viz  # noqa: E402
from bptt.data import ADDING_BASELINE_MSE, adding_problem  # noqa: E402

FULL = dict(T=100, steps=2000, hidden=64, batch=50, lr=1e-2, clip=1.0, n_test=1000, eval_every=50)
QUICK = dict(T=20, steps=60, hidden=16, batch=16, lr=1e-2, clip=1.0, n_test=200, eval_every=20)
TRACE_B = 4                 # test sequences traced for the flow figure: (T, T, B, H) stays small


def make_models(hidden, seed):
    """A SimpleRNN (tanh), an LSTM and a GRU, all H = hidden, identity output, float32. The LSTM
    starts with its forget gates open (forget_bias=1, not the default 0): the documented results
    in docs/lstm.md and docs/gru.md were measured so."""
    kw = dict(output="identity", dtype="float32", seed=seed)
    return {"SimpleRNN": bptt.SimpleRNN(2, hidden, 1, **kw),
            "LSTM": bptt.LSTM(2, hidden, 1, forget_bias=1.0, **kw),
            "GRU": bptt.GRU(2, hidden, 1, **kw)}


def as32(data):
    return tuple(a.astype(np.float32) for a in data)


def mse(model, data) -> float:
    """Σ mask·(o − y)² / Σ mask: the mean squared error of the last step's prediction."""
    x, y, mask = data
    o = model.forward(x.astype(model.dtype)).o                 # (T, n, 1)
    return float((mask * (o[..., 0] - y[..., 0]) ** 2).sum() / mask.sum())


def train(models, cfg, seed, log=print):
    """Train every model on the same stream of batches; returns {name: [(step, train, test)]}."""
    rng = np.random.default_rng(seed)
    test = adding_problem(cfg["T"], cfg["n_test"], seed + 10_000)   # held out: its own seed
    opts = {k: bptt.optim.Adam(lr=cfg["lr"]) for k in models}
    history = {k: [] for k in models}
    seconds = {k: 0.0 for k in models}
    for step in range(cfg["steps"] + 1):
        x, y, mask = as32(adding_problem(cfg["T"], cfg["batch"], rng))
        for name, model in models.items():
            start = time.perf_counter()
            loss, grads = model.loss_and_grads(x, y, mask=mask)    # J = ½ mean (o − y)² at T − 1
            bptt.clipping.clip_by_norm(grads, cfg["clip"])
            opts[name].step(model.params, grads)
            seconds[name] += time.perf_counter() - start
            if step % cfg["eval_every"] == 0 or step == cfg["steps"]:
                history[name].append((step, 2 * loss, mse(model, test)))   # MSE = 2J
        if step % cfg["eval_every"] == 0 or step == cfg["steps"]:
            log(f"step {step:5d}  " + "  ".join(f"{k} test MSE {h[-1][2]:.4f}" for k, h in history.items())
                + f"   (baseline {ADDING_BASELINE_MSE:.4f})")
    return history, seconds, test


def float64_copy(model):
    """The same model in float64, for tracing: tiny errors far back stay representable."""
    twin = type(model)(**{**model.config(), "dtype": "float64"})
    for k, p in model.params.items():
        twin.params[k][...] = p
    return twin


def learning_curves(history, T):
    """Test MSE (markers) and batch MSE (thin) against the step, log y, with the 1/6 baseline."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=(8.5, 4.6), dpi=100, layout="constrained")
    FigureCanvasAgg(fig)
    ax = fig.add_subplot()
    for (name, h), color in zip(history.items(), ("#d62728", "#1f77b4", "#2ca02c")):
        steps, train_mse, test_mse = np.array(h).T
        ax.plot(steps, train_mse, color=color, lw=0.8, alpha=0.35, gid=f"train:{name}")
        ax.plot(steps, test_mse, "o-", color=color, ms=3, lw=1.5, gid=f"test:{name}",
                label=f"{name}: test MSE (final {test_mse[-1]:.4f})")
    ax.axhline(ADDING_BASELINE_MSE, color="black", ls="--", lw=1, gid="baseline",
               label="always predicting 1: MSE = 1/6")
    ax.axhline(0.01, color="gray", ls=":", lw=1, gid="target", label="MSE = 0.01")
    ax.set_yscale("log")
    ax.set_xlabel("training step (one batch each)")
    ax.set_ylabel("mean squared error at the last step")
    ax.set_title(f"The adding problem, T = {T}: test MSE (markers) and batch MSE (thin lines)",
                 fontsize=10)
    ax.grid(True, which="major", alpha=0.3)
    ax.legend(fontsize=8)
    return fig


def main(steps=None, seed=0, out="adding_problem_figures", quick=False, **overrides):
    """Train, report, trace and draw; returns {"SimpleRNN": mse, "LSTM": mse, "GRU": mse, "baseline": ...,
    "steps": ..., "seconds": {name: training s}, "solved_at": {name: first evaluated step with
    test MSE < 0.01, or None}, "figures": [paths]}."""
    cfg = {**(QUICK if quick else FULL), **overrides}
    if steps is not None:
        cfg["steps"] = steps
    out = pathlib.Path(out)
    out.mkdir(parents=True, exist_ok=True)
    print(f"adding problem: T = {cfg['T']}, H = {cfg['hidden']}, batch {cfg['batch']}, "
          f"Adam lr {cfg['lr']}, clip {cfg['clip']}, {cfg['steps']} steps, seed {seed}")
    start = time.perf_counter()
    models = make_models(cfg["hidden"], seed)
    history, seconds, test = train(models, cfg, seed)
    baseline = float(np.mean((1.0 - test.y[-1, :, 0]) ** 2))
    final = {k: h[-1][2] for k, h in history.items()}
    solved = {k: next((step for step, _, m in h if m < 0.01), None) for k, h in history.items()}
    print(f"\nfinal test MSE on {cfg['n_test']} sequences after {cfg['steps']} steps "
          f"({time.perf_counter() - start:.0f} s in all):")
    print(f"  always predicting 1 (baseline)  {baseline:.5f}   (1/6 = {ADDING_BASELINE_MSE:.5f})")
    for k, m in final.items():
        when = f"below 0.01 from step {solved[k]}" if solved[k] is not None else "never below 0.01"
        print(f"  {k:<31} {m:.5f}   ({when}; training time {seconds[k]:.1f} s)")

    # Trace them all on the same few test sequences, in float64, and compare their error flows.
    x, y, mask = (a[:, :TRACE_B] for a in test)
    traces = {k: float64_copy(m).trace(x, y, mask=mask) for k, m in models.items()}
    s = cfg["T"] - 1
    rnn_a = traces["SimpleRNN"].flow[s]
    lstm_c, lstm_y = traces["LSTM"].flow[s], traces["LSTM"].flow_h[s]
    gru_h = traces["GRU"].flow[s]
    print(f"\nerror of the loss L({s}) at step 0, relative to step {s} (over {TRACE_B} test sequences):")
    print(f"  SimpleRNN ‖∂L/∂a(0)‖ / ‖∂L/∂a({s})‖ = {rnn_a[0] / rnn_a[s]:.2e}")
    print(f"  LSTM      ‖∂L/∂c(0)‖ / ‖∂L/∂c({s})‖ = {lstm_c[0] / lstm_c[s]:.2e}   (cell path)")
    print(f"  LSTM      ‖∂L/∂y(0)‖ / ‖∂L/∂y({s})‖ = {lstm_y[0] / lstm_y[s]:.2e}   (hidden path)")
    print(f"  GRU       ‖∂L/∂h(0)‖ / ‖∂L/∂h({s})‖ = {gru_h[0] / gru_h[s]:.2e}")
    figures = {
        "adding_learning_curves": learning_curves(history, cfg["T"]),
        "adding_flow_comparison": viz.flow_comparison(list(traces.values()), list(traces),
                                                      heatmaps="units"),
    }
    paths = [viz.save_png(fig, out / f"{name}.png") for name, fig in figures.items()]
    for p in paths:
        print(f"wrote {p}")
    return {**final, "baseline": baseline, "steps": cfg["steps"], "seconds": seconds,
            "solved_at": solved, "figures": paths}


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--steps", type=int, default=None, help="training steps (default 2000; 60 with --quick)")
    parser.add_argument("--seed", type=int, default=0, help="seed of the models and the data")
    parser.add_argument("--out", default="adding_problem_figures", help="directory for the figures")
    parser.add_argument("--quick", action="store_true", help="a tiny version (T = 20) that runs in seconds")
    args = parser.parse_args()
    main(steps=args.steps, seed=args.seed, out=args.out, quick=args.quick)
