"""Regression with output="identity": predict the next value of a noisy sine wave read from a
CSV column, many-to-many, with squared error.

    python examples/sine_regression.py
"""
import pathlib
import tempfile

import numpy as np

import bptt
from bptt.data import csv_column, windows


def main(steps=300, seed=0):
    rng = np.random.default_rng(seed)
    t = np.arange(2000)
    series = np.sin(2 * np.pi * t / 50) + 0.05 * rng.normal(size=t.size)
    with tempfile.TemporaryDirectory() as d:
        path = pathlib.Path(d) / "wave.csv"
        path.write_text("t,value\n" + "\n".join(f"{i},{v:.6f}" for i, v in zip(t, series)))
        values = csv_column(path, "value")
    x, y = windows(values, 40)                          # (T, N, 1) each: y(t) = value(t + 1)
    model = bptt.SimpleRNN(1, 16, 1, output="identity", seed=seed)
    opt = bptt.optim.Adam(lr=1e-2)
    for step in range(steps + 1):
        batch = rng.choice(x.shape[1], size=32, replace=False)
        loss, grads = model.loss_and_grads(x[:, batch], y[:, batch])
        bptt.clipping.clip_by_norm(grads, 5.0)
        opt.step(model.params, grads)
        if step % 100 == 0:
            pred = model.forward(x[:, :200]).o
            mse = float(np.mean((pred[10:] - y[10:, :200]) ** 2))
            print(f"step {step:4d}  J {loss:.4f}  MSE after 10 steps of context {mse:.5f}")
    return mse


if __name__ == "__main__":
    main()
