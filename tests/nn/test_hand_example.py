"""One network small enough to redo by hand: T = 2, D = 1, H = 2, O = 1, identity g and f,
squared error. Every number below is exact in binary floating point."""
import numpy as np

import bptt


def hand_model():
    model = bptt.SimpleRNN(1, 2, 1, activation="identity", output="identity", path="reference")
    model.params.update(
        U=np.array([[1.0], [-1.0]]),          # (H, D)
        W=np.array([[0.0, 1.0], [1.0, 0.0]]),  # (H, H): swaps the two hidden units
        b=np.array([0.0, 0.5]),
        V=np.array([[1.0, 1.0]]),              # (O, H): o = h_1 + h_2
        c=np.array([0.0]),
    )
    x = np.array([[[1.0]], [[2.0]]])          # x(0) = 1, x(1) = 2      (T, B, D) = (2, 1, 1)
    y = np.array([[[1.0]], [[0.0]]])          # y(0) = 1, y(1) = 0
    return model, x, y


def test_forward_by_hand():
    model, x, y = hand_model()
    out = model.forward(x)                     # h(−1) = h0 = (0, 0)
    # a(0) = b + W h(−1) + U x(0) = (0, 0.5) + (0, 0) + (1, −1)·1 = (1, −0.5);  h(0) = a(0)
    # o(0) = c + V h(0) = 1 − 0.5 = 0.5
    # a(1) = b + W h(0) + U x(1) = (0, 0.5) + (−0.5, 1) + (2, −2) = (1.5, −0.5);  h(1) = a(1)
    # o(1) = 1.5 − 0.5 = 1.0
    assert out.a[:, 0].tolist() == [[1.0, -0.5], [1.5, -0.5]]
    assert out.h[:, 0].tolist() == [[1.0, -0.5], [1.5, -0.5]]
    assert out.o[:, 0, 0].tolist() == [0.5, 1.0]


def test_bptt_by_hand():
    model, x, y = hand_model()
    res = model.backward(x, y)
    # J = ½(0.5 − 1)² + ½(1 − 0)² = 0.125 + 0.5
    assert res.loss == 0.625
    # ∂J/∂o(1) = o(1) − y(1) = 1;   ∂J/∂o(0) = o(0) − y(0) = −0.5
    # ∂J/∂h(1) = Vᵀ ∂J/∂o(1) = (1, 1)                        (no step 2: no Wᵀ ∂J/∂a(2) term)
    # ∂J/∂a(1) = g'(a(1)) ⊙ ∂J/∂h(1) = (1, 1)                (g' = 1 for identity)
    # ∂J/∂h(0) = Vᵀ ∂J/∂o(0) + Wᵀ ∂J/∂a(1) = (−0.5, −0.5) + (1, 1) = (0.5, 0.5) = ∂J/∂a(0)
    # ∂J/∂V = ∂J/∂o(0) h(0)ᵀ + ∂J/∂o(1) h(1)ᵀ = −0.5·(1, −0.5) + 1·(1.5, −0.5) = (1, −0.25)
    assert res.grads["V"].tolist() == [[1.0, -0.25]]
    # ∂J/∂c = −0.5 + 1 = 0.5
    assert res.grads["c"].tolist() == [0.5]
    # ∂J/∂U = ∂J/∂a(0) x(0) + ∂J/∂a(1) x(1) = (0.5, 0.5)·1 + (1, 1)·2 = (2.5, 2.5)
    assert res.grads["U"].tolist() == [[2.5], [2.5]]
    # ∂J/∂W = ∂J/∂a(0) h(−1)ᵀ + ∂J/∂a(1) h(0)ᵀ = 0 + (1, 1)ᵀ(1, −0.5)
    assert res.grads["W"].tolist() == [[1.0, -0.5], [1.0, -0.5]]
    # ∂J/∂b = ∂J/∂a(0) + ∂J/∂a(1) = (1.5, 1.5)
    assert res.grads["b"].tolist() == [1.5, 1.5]
    # ∂J/∂h0 = Wᵀ ∂J/∂a(0) = (0.5, 0.5)
    assert res.dh0.tolist() == [[0.5, 0.5]]


def test_one_update_by_hand():
    """The per-step gradients sum into one update: θ ← θ − η ∂J/∂θ, here for b with η = 0.1."""
    model, x, y = hand_model()
    _, grads = model.loss_and_grads(x, y)
    bptt.optim.SGD(lr=0.1).step(model.params, grads)
    np.testing.assert_allclose(model.params["b"], [0.0 - 0.15, 0.5 - 0.15], rtol=0, atol=1e-16)


def test_fast_path_agrees_by_hand():
    model, x, y = hand_model()
    model.path = "fast"
    res = model.backward(x, y)
    assert res.loss == 0.625 and res.grads["U"].tolist() == [[2.5], [2.5]]
