"""What every recurrent cell shares, and the contract a cell subpackage keeps.

A cell lives in `bptt/cells/<kind>/` and brings:

- `model.py`: a subclass of `RecurrentModel` with
    - class attributes `owner` (its name in messages, e.g. "GRU"), `kind` (the registry's key,
      e.g. "gru") and `trace_class` (the class its `trace` returns);
    - `__init__(input_size, hidden_size, output_size, *, num_layers=1, <cell options>,
      output="softmax", dtype="float64", seed=0, path="fast")`, every argument validated with a
      message naming it;
    - `params`: a dict of arrays with the equation's names; layer l >= 1 appends ".l"
      (`bptt.cells.layers.layer_key`); the output layer is always `V (O, H)` and `c (O,)`;
    - `config()` (JSON-friendly: `cls(**config())` rebuilds it) and the static
      `num_params(config)` (the registry checks it before allocating anything);
    - `zero_state(B)`: the state, an array h (B, H) — (L, B, H) for L layers — or a tuple of
      such arrays (the LSTM's (h, c)); `h0=None` means this state;
    - `_inputs(x, y, h0, mask, need_y=True)`: validation at the public edge, returning the
      arrays cast to the model's dtype;
    - `_backward(x, y, h0, mask, need_dx=True)` on validated inputs: one forward + full BPTT,
      returning a result with `.loss`, `.grads` (keyed and ordered like params), `.dh0` (in the
      state's layout), `.dx` (None for token ids, or when need_dx=False allowed skipping it) and
      `.state(t)`, the state after step t (what TBPTT and the trainer carry);
    - `_forward_loss(x, y, h0, mask)` -> (J, last state), forward only;
    - `forward(x, h0)` returning at least `.h` (T, B, H) of the top layer, `.o`, `.y_hat`
      (T, B, O) and `.last_state`.
- `reference.py`: mirrored per-step functions, `step_forward(x_t, state, params) -> (values,
  cache)` with a named cache and `step_backward(errors, cache) -> (dx_t, d_state_prev, grads)`,
  and the sequence loops over them — the path a reader follows.
- `fused.py`: the fast path (`path="fast"`, the default), equal to the reference path in tests.
- `trace.py`: the one-direction trace, which the model's `_trace(x, y, h0, mask, max_bytes)` returns
  and `RecurrentModel.trace` calls (on the reference path), an instance of `trace_class` with
  `.forward`, `.loss`, `.grads` (equal to loss_and_grads), `.errors` (at least "o" and "h", each
  (T, B, .), plus the cell's own, e.g. "a" or "c" or the gates'), `.per_step[name]` (T, *shape)
  summing over t to grads[name], `.dh0`, and `.errors_by_source` {path: (T, T, B, H)} whose
  [s, t] is ∂L(s)/∂path(t), summing over s to errors[path], for every state path the cell has
  ("h"; the LSTM adds "c"); `.flow` (T, T) is the norm of the main path's.
- `to_torch` / `from_torch` in `bptt.io.interop`, and an entry in `registry.MODEL_KINDS`.
- `bidirectional=True` (in config()): parameters from `bidirectional.param_shapes` ("@rev"
  names), and `_backward`, `_forward_loss`, `forward`, `trace` handing over to
  `bptt.cells.bidirectional` / `bidirectional_trace` (which take `lengths`), with the cell's
  one-direction layer functions in `bptt.cells.directions.DIRECTIONS`.

Then the trainer, checkpoints, `bptt train --model <kind>`, sampling, `bptt eval`, the figures'
error flows and the shared test suite (tests/cells/test_cell_contract.py) take the cell without
special cases.
"""
from __future__ import annotations

from . import pooling as pool
from . import sequences


class RecurrentModel:
    """Base of every cell's model: the public methods, built on the model's own `_inputs`
    (validation), `_backward` (forward + BPTT on validated inputs) and `_forward_loss`.

    `lengths` (B,) is taken by bidirectional models (`bptt.cells.bidirectional`): it is
    passed on to `_backward` and `_forward_loss` as a keyword; one-directional models refuse it
    (their padding at the end needs only mask = 0 there) except with `pooling` ("last" or
    "mean", one target per sequence: `bptt.cells.pooling`), where it says which steps are real."""

    bidirectional = False

    def _checked(self, x, y, h0, mask, lengths, need_y=True, pooling=None):
        """(validated (x, y, h0, mask), {"lengths": ...} or {})."""
        if pooling is not None:
            x, y, mask, lengths = self._pooled(x, y, mask, lengths, pooling)
        args = self._inputs(x, y, h0, mask, need_y)
        if lengths is None:
            return args, {}
        if not self.bidirectional:
            raise ValueError(f"The 'lengths' argument of {self.owner} is for bidirectional models, "
                             f"whose backward direction must skip the padding, and for pooling "
                             f"(one target per sequence). A one-directional model is causal: give "
                             f"padded steps mask = 0 instead. Got lengths with bidirectional=False "
                             f"and pooling=None.")
        T, B = args[0].shape[:2]
        return args, {"lengths": sequences.check_lengths(lengths, self.owner, T, B)}

    def _pooled(self, x, y, mask, lengths, pooling):
        """Many-to-one targets y (B,) or (B, O) → (x, y, mask, lengths) for the step-wise
        methods; see `bptt.cells.pooling`. pooling=None leaves them as they are."""
        if pooling is None:
            return x, y, mask, lengths
        return pool.prepare(self, x, y, mask, lengths, pooling)

    def backward(self, x, y, h0=None, mask=None, *, lengths=None, pooling=None):
        """Loss, gradients, the error of the initial state and ∂J/∂x in one forward + full
        BPTT pass. pooling="last" or "mean" takes one target per sequence, y (B,) or (B, O)
        (`bptt.cells.pooling`).

        x (T, B, D) floats or (T, B) token ids; y (T, B) class ids (softmax output) or
        (T, B, O) targets (identity output); h0 the state, (B, H) or (L, B, H) (the LSTM's a
        pair (h, c)), None for zeros; mask (T, B) weights each step's loss. The result has
        `.loss` J, `.grads` keyed and shaped like params, `.dh0` in h0's layout, `.dx`
        (T, B, D) (None for token ids) and `.state(t)`, the state after step t.

        Examples:
            >>> from bptt import SimpleRNN
            >>> model = SimpleRNN(3, 4, 2, seed=0)
            >>> rng = np.random.default_rng(0)
            >>> x, y = rng.normal(size=(5, 2, 3)), rng.integers(0, 2, size=(5, 2))
            >>> res = model.backward(x, y)
            >>> res.grads["W"].shape, res.dh0.shape, res.dx.shape, res.state(4).shape
            ((4, 4), (2, 4), (5, 2, 3), (2, 4))
            >>> bool(np.isclose(res.loss, model.loss(x, y)))
            True
        """
        args, kw = self._checked(x, y, h0, mask, lengths, pooling=pooling)
        return self._backward(*args, **kw)

    def loss_and_grads(self, x, y, h0=None, mask=None, *, lengths=None, pooling=None):
        """(J, ∂J/∂θ) with grads keyed and shaped like params: U (H, D), W (H, H), ...; the
        arguments as in backward(): x (T, B, D) or ids (T, B), y (T, B) or (T, B, O).

        Examples:
            >>> from bptt import SimpleRNN, gradcheck
            >>> model = SimpleRNN(3, 4, 2, seed=0)
            >>> rng = np.random.default_rng(0)
            >>> x, y = rng.normal(size=(5, 2, 3)), rng.integers(0, 2, size=(5, 2))
            >>> J, grads = model.loss_and_grads(x, y)
            >>> {k: g.shape for k, g in grads.items()}
            {'U': (4, 3), 'W': (4, 4), 'b': (4,), 'V': (2, 4), 'c': (2,)}
            >>> gradcheck(model, x, y).max_error < 1e-7     # central differences agree
            True
        """
        args, kw = self._checked(x, y, h0, mask, lengths, pooling=pooling)
        res = self._backward(*args, need_dx=False, **kw)
        return res.loss, res.grads

    def loss(self, x, y, h0=None, mask=None, *, lengths=None, pooling=None) -> float:
        """J alone (forward only), a float: (1/B) Σ_b Σ_t mask[t, b] L(t, b) for x (T, B, D) or
        ids (T, B), y (T, B) or (T, B, O), mask (T, B).

        Examples:
            >>> from bptt import SimpleRNN
            >>> model = SimpleRNN(3, 4, 2, seed=0)
            >>> rng = np.random.default_rng(0)
            >>> x, y = rng.normal(size=(5, 2, 3)), rng.integers(0, 2, size=(5, 2))
            >>> y_hat = model.forward(x).y_hat                          # (T, B, O)
            >>> by_hand = -np.log(np.take_along_axis(y_hat, y[..., None], 2)).sum() / 2
            >>> bool(np.isclose(model.loss(x, y), by_hand))
            True
        """
        args, kw = self._checked(x, y, h0, mask, lengths, pooling=pooling)
        return self._forward_loss(*args, **kw)[0]

    def tbptt(self, x, y, k1, k2, h0=None, mask=None):
        """Truncated BPTT(k1, k2): a lazy iterator of windows; see `bptt.cells.truncated`.
        Refused for bidirectional models, whose backward direction needs the whole sequence.

        x (T, B, D) or ids (T, B), y (T, B) or (T, B, O), mask (T, B). Every window has
        `t_start`, `loss_start`, `t_end`, `loss` (of steps loss_start..t_end), `grads` (through
        steps t_start..t_end), `h` (the state after t_end) and `dh_start`.

        Examples:
            >>> from bptt import SimpleRNN
            >>> model = SimpleRNN(3, 4, 2, seed=0)
            >>> rng = np.random.default_rng(0)
            >>> x, y = rng.normal(size=(5, 2, 3)), rng.integers(0, 2, size=(5, 2))
            >>> windows = list(model.tbptt(x, y, k1=2, k2=3))
            >>> [(w.t_start, w.loss_start, w.t_end) for w in windows]
            [(0, 0, 1), (1, 2, 3), (2, 4, 4)]
            >>> bool(np.isclose(sum(w.loss for w in windows), model.loss(x, y)))
            True
        """
        if self.bidirectional:
            raise ValueError(f"{self.owner}.tbptt: truncated BPTT cannot run a bidirectional model. "
                             f"A window ends at step t_end, but the backward direction g(t) reads "
                             f"x(t), ..., x(T−1), the steps after the window, and no state can be "
                             f"carried into the next window from the future. Use backward() or "
                             f"loss_and_grads() on whole sequences.")
        from .truncated import tbptt
        return tbptt(self, x, y, k1, k2, h0=h0, mask=mask)

    def trace(self, x, y, h0=None, mask=None, *, lengths=None, pooling=None, max_bytes=256 * 2**20):
        """Every error and per-step gradient of one forward + BPTT pass, on the reference path:
        the cell's own trace (`bptt.cells.<kind>.trace`), or `bptt.cells.bidirectional_trace` for a
        bidirectional model; pooling and lengths as in backward().

        The trace has `.errors` (each (T, B, .): "o", "h", and the cell's own), `.per_step[name]`
        (T, *shape) summing over t to `.grads[name]`, and `.errors_by_source[path]`
        (T, T, B, H) whose [s, t] is ∂L(s)/∂path(t), summing over s to the errors. Its arrays
        are O(T²); max_bytes bounds them.

        Examples:
            >>> from bptt import SimpleRNN
            >>> model = SimpleRNN(3, 4, 2, seed=0)
            >>> rng = np.random.default_rng(0)
            >>> x, y = rng.normal(size=(5, 2, 3)), rng.integers(0, 2, size=(5, 2))
            >>> tr = model.trace(x, y)
            >>> sorted(tr.errors), tr.errors_by_source["h"].shape, tr.per_step["W"].shape
            (['a', 'h', 'o'], (5, 5, 2, 4), (5, 4, 4))
            >>> _, grads = model.loss_and_grads(x, y)
            >>> bool(np.allclose(tr.per_step["W"].sum(axis=0), grads["W"]))
            True
            >>> bool(np.allclose(tr.errors_by_source["h"].sum(axis=0), tr.errors["h"]))
            True
        """
        from . import bidirectional_trace as bi_trace   # here: it imports the cells' packages
        x, y, mask, lengths = self._pooled(x, y, mask, lengths, pooling)
        if self.bidirectional:
            return bi_trace.trace(self, x, y, h0, mask, lengths, max_bytes=max_bytes)
        if lengths is not None:
            self._checked(x, y, h0, mask, lengths)                  # refuses it, with the reason
        return self._trace(x, y, h0, mask, max_bytes)
