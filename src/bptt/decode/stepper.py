"""The stepper protocol: what a decoder needs from a model, one token at a time, and the stepper of
the character language models (SimpleRNN, LSTM, GRU, stacked too).

Dimension letters: N rows (hypotheses decoded side by side), V the vocabulary (the model's output
size), T time steps, L layers, H hidden size.

A decoder (greedy, sample, beam_search, exhaustive_search) never looks inside the state: it only
asks for the first logits, feeds chosen tokens back, and picks rows of the state when hypotheses
are kept, dropped or copied (beam search). Any model that brings these three methods and
`vocab_size` can be decoded: a language model conditioned on a prime, a sequence-to-sequence model
conditioned on its encoded source.

    class Stepper(Protocol):
        vocab_size: int                       # V: tokens are ids in [0, V)
        def start(self, n) -> (logits, state)
        def step(self, state, tokens) -> (logits, state)
        def select(self, state, rows) -> state

The contract, precisely:

- `start(n)`: `logits` (n, V) float64, the unnormalised scores of the FIRST token to choose (the
  decoders take log_softmax over V), and `state`, n identical rows: the conditioning (an LM's
  prime fed through the model; a seq2seq model's encoded source after feeding BOS). The decoders
  call start(1) and grow rows with `select`.
- `step(state, tokens)`: feed `tokens` (N,) int64, one per row of `state`; returns the next
  `logits` (N, V) float64 and the new `state` (N rows). It must not modify `state` in place: a
  decoder may still hold it (and rows selected from it).
- `select(state, rows)`: the state of rows `rows` (M,) int64 of `state`, in that order; repeats
  and reorders allowed (a beam keeps two children of one parent, drops another). The result is
  independent of `state` (no shared memory a later step could write to).
- `vocab_size`: V, an int >= 1.
- optional `unconditioned` (default False): True when start()'s logits are a stand-in rather than
  the model's (an LM with an empty prime: uniform logits). Sampling from it is meaningful; greedy
  decoding, beam search and exhaustive search refuse it.

Row i of step()'s logits must depend only on row i of the state and tokens[i]: decoding one
hypothesis alone or among others gives the same numbers.
"""
from __future__ import annotations

from typing import Protocol, runtime_checkable

import numpy as np

from .. import _validate as v


@runtime_checkable
class Stepper(Protocol):
    """A model decoded one token at a time (the module docstring states the contract).

    `vocab_size` V; `start(n)` -> (logits (n, V), state of n rows); `step(state, tokens (N,))`
    -> (logits (N, V), new state), never changing `state` in place; `select(state, rows (M,))`
    -> the state of those rows, repeats allowed. Row i of the logits depends only on row i of
    the state and tokens[i].

    Examples:
        >>> from bptt import SimpleRNN
        >>> from bptt.decode import LMStepper, Stepper
        >>> stepper = LMStepper(SimpleRNN(4, 8, 4, seed=0), prime_ids=[0, 1, 2])
        >>> isinstance(stepper, Stepper)                  # the protocol, checked at run time
        True
        >>> logits, state = stepper.start(2)              # (n, V), two identical rows
        >>> logits, state = stepper.step(state, np.array([3, 1]))
        >>> logits.shape, stepper.select(state, [1, 1, 0]).shape
        ((2, 4), (3, 8))
    """

    vocab_size: int

    def start(self, n: int) -> tuple[np.ndarray, object]:
        """logits (n, V) float64 of the first token to choose, and the state: n identical rows
        (the conditioning: the LM's prime, or the encoded source after feeding BOS)."""

    def step(self, state, tokens: np.ndarray) -> tuple[np.ndarray, object]:
        """feed tokens (N,) int64, one per row: the next logits (N, V) and the new state"""

    def select(self, state, rows: np.ndarray) -> object:
        """the state of rows `rows` (M,) int64 (repeats and reorders allowed) — for beams"""


def select_rows(state, rows: np.ndarray):
    """Rows of a recurrent state: an array (B, H) (rows on axis 0), (L, B, H) (axis -2, the batch
    axis of every layer), or a tuple of them (the LSTM's (h, c)). Always a copy.

    Examples:
        >>> from bptt.decode import select_rows
        >>> state = np.arange(12.0).reshape(2, 3, 2)      # (L, B, H)
        >>> select_rows(state, [2, 0])[1]                 # layer 1, batch rows 2 and 0
        array([[10., 11.],
               [ 6.,  7.]])
        >>> h, c = select_rows((np.eye(3), 2 * np.eye(3)), [1])     # an LSTM's (h, c)
        >>> h, c
        (array([[0., 1., 0.]]), array([[0., 2., 0.]]))
    """
    if isinstance(state, tuple):
        return tuple(select_rows(s, rows) for s in state)
    return np.take(state, rows, axis=state.ndim - 2)                  # fancy indexing copies


class LMStepper:
    """A character language model (SimpleRNN, LSTM or GRU with output='softmax', one or several
    layers, unidirectional) conditioned on `prime_ids` (P,), as a Stepper.

    start(n): the prime is fed through `model.forward` from the zero state once (at construction);
    the logits are o(P−1), the scores of the token after the prime, and the state its last state,
    copied to n rows. An empty prime (P = 0) has no logits to give: start() returns uniform
    (zero) logits and the zero state, as the sampler always did, and the stepper is marked
    `unconditioned` (greedy and beam search refuse it).
    step(state, tokens): one `model.forward` over tokens (1, N) from `state`: o(0) (N, V), float64.

    Examples:
        >>> from bptt import SimpleRNN
        >>> from bptt.decode import LMStepper
        >>> model = SimpleRNN(4, 8, 4, seed=0)           # 4 characters in and out
        >>> stepper = LMStepper(model, prime_ids=[0, 1, 2])
        >>> logits, state = stepper.start(2)              # (2, V), (2, H)
        >>> logits, state = stepper.step(state, np.array([3, 1]))
        >>> whole = model.forward(np.array([[0], [1], [2], [3]]))   # the prime, then 3
        >>> bool(np.allclose(logits[0], whole.o[-1, 0]))
        True
        >>> stepper.select(state, [1, 1, 0]).shape        # rows of a beam: (M, H)
        (3, 8)
    """

    owner = "LMStepper"

    def __init__(self, model, prime_ids=()):
        o = self.owner
        if not (callable(getattr(model, "forward", None)) and callable(getattr(model, "zero_state", None))
                and getattr(model, "output", None) == "softmax"
                and getattr(model, "input_size", None) == getattr(model, "output_size", -1)):
            raise ValueError(f"The 'model' argument of {o} must be a character model (SimpleRNN, "
                             f"LSTM or GRU) with output='softmax' and input_size == output_size, "
                             f"reading the tokens it predicts. Got {model!r}.")
        if getattr(model, "bidirectional", False):
            raise ValueError(f"The 'model' argument of {o} must be unidirectional: a bidirectional "
                             f"model reads the future it is asked to predict. Got {model!r}.")
        self.model = model
        self.vocab_size = int(model.output_size)
        arr = v.as_array(prime_ids, "prime_ids", o)
        if arr.size == 0:
            arr = arr.astype(np.int64)                                # () or [] is an empty prime
        self.prime_ids = v.check_token_ids(arr, "prime_ids", o, (None,), self.vocab_size).astype(np.int64)
        self.unconditioned = self.prime_ids.size == 0
        if self.unconditioned:
            self._logits = np.zeros(self.vocab_size)                  # uniform first token
            self._state = model.zero_state(1)
        else:
            out = model.forward(self.prime_ids[:, None], model.zero_state(1))   # ids (P, 1)
            self._logits = np.asarray(out.o[-1, 0], dtype=np.float64)         # o(P−1) (V,)
            self._state = out.last_state

    def start(self, n: int):
        """Logits (n, V) float64 of the token after the prime, and its last state in n rows
        ((n, H), (L, n, H), or the LSTM's pair of them)."""
        n = v.check_int(n, "n", f"{self.owner}.start")
        rows = np.zeros(n, dtype=np.int64)
        return np.repeat(self._logits[None, :], n, axis=0), select_rows(self._state, rows)

    def step(self, state, tokens):
        """Feed tokens (N,), one per row of `state`: the next logits (N, V) and the new state."""
        tokens = np.asarray(tokens, dtype=np.int64)
        out = self.model.forward(tokens[None, :], state)              # ids (1, N)
        return np.asarray(out.o[-1], dtype=np.float64), out.last_state   # (N, V)

    def select(self, state, rows):
        """The state of rows (M,) of `state`, a copy (`select_rows`)."""
        return select_rows(state, np.asarray(rows, dtype=np.int64))

    def __repr__(self):
        return f"LMStepper({self.model!r}, prime of {self.prime_ids.size} tokens)"


def check_stepper(stepper, owner: str, *, conditioned: bool) -> int:
    """The stepper's V, after checking it has the protocol's members (and, for the decoders that
    search for the most likely sequence, a real conditioning)."""
    missing = [m for m in ("start", "step", "select") if not callable(getattr(stepper, m, None))]
    V = getattr(stepper, "vocab_size", None)
    if missing or isinstance(V, bool) or not isinstance(V, (int, np.integer)) or V < 1:
        raise TypeError(f"The 'stepper' argument of {owner} must follow bptt.decode.Stepper: "
                        f"vocab_size (an int >= 1), start, step and select. Got "
                        f"{type(stepper).__name__}" + (f" without {', '.join(missing)}." if missing
                                                       else f" with vocab_size={V!r}."))
    if conditioned and getattr(stepper, "unconditioned", False):
        raise ValueError(f"The 'prime_ids' of the stepper given to {owner} must hold >= 1 token: "
                         f"an empty prime starts from uniform logits, which only sample() can "
                         f"draw from. Got an empty prime.")
    return int(V)


def check_eos(eos, V: int, owner: str):
    """None, or a token id in [0, V)."""
    if eos is None:
        return None
    if isinstance(eos, bool) or not isinstance(eos, (int, np.integer)) or not 0 <= eos < V:
        raise ValueError(f"The 'eos' parameter of {owner} must be None or a token id in [0, {V}). "
                         f"Got {eos!r} instead.")
    return int(eos)


def checked_logits(logits, n: int, V: int, owner: str) -> np.ndarray:
    """The stepper's logits as float64 (n, V), refused with a message when they are not."""
    arr = np.asarray(logits, dtype=np.float64)
    if arr.shape != (n, V):
        raise ValueError(f"The stepper given to {owner} returned logits of shape {arr.shape}; "
                         f"the protocol asks for (N, V) = ({n}, {V}).")
    if np.isnan(arr).any():
        raise ValueError(f"The stepper given to {owner} returned NaN logits.")
    return arr
