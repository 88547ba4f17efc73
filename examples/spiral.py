"""Train a 3-layer MLP with bptt's own dense layers and Adam on a 3-arm spiral.

    python examples/spiral.py
"""
import numpy as np

import bptt
from bptt.data.spiral import make_spiral


def train_spiral(steps=1500, seed=0, verbose=True):
    x, y = make_spiral(200, 3, noise=0.2, seed=seed)
    model = bptt.MLP([2, 64, 64, 3], activation="tanh", output="softmax", seed=seed)
    opt = bptt.optim.Adam(lr=1e-2)
    for step in range(steps + 1):
        loss, grads = model.loss_and_grads(x, y)
        opt.step(model.params, grads)
        if verbose and step % 250 == 0:
            acc = np.mean(model.predict(x) == y)
            print(f"step {step:5d}  loss {loss:.4f}  accuracy {acc:.1%}")
    return model, float(np.mean(model.predict(x) == y))


if __name__ == "__main__":
    _, accuracy = train_spiral()
    print(f"final training accuracy: {accuracy:.1%}")
