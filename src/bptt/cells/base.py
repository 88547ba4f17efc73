"""What every recurrent model shares: the public methods built on the model's own
`_inputs` (validation), `_backward` (forward + BPTT on validated inputs) and `_forward_loss`."""
from __future__ import annotations


class RecurrentModel:
    """Base of SimpleRNN and LSTM. Subclasses define `_inputs`, `_backward`, `_forward_loss`
    and `trace`."""

    def backward(self, x, y, h0=None, mask=None):
        """Loss, gradients, the error of the initial state and ∂J/∂x in one forward + full
        BPTT pass."""
        return self._backward(*self._inputs(x, y, h0, mask))

    def loss_and_grads(self, x, y, h0=None, mask=None):
        """(J, ∂J/∂θ) with grads keyed and shaped like params."""
        res = self._backward(*self._inputs(x, y, h0, mask), need_dx=False)
        return res.loss, res.grads

    def loss(self, x, y, h0=None, mask=None) -> float:
        """J alone (forward only)."""
        return self._forward_loss(*self._inputs(x, y, h0, mask))[0]

    def tbptt(self, x, y, k1, k2, h0=None, mask=None):
        """Truncated BPTT(k1, k2): a lazy iterator of windows; see `bptt.cells.truncated`."""
        from .truncated import tbptt
        return tbptt(self, x, y, k1, k2, h0=h0, mask=mask)
