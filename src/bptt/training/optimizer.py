"""The optimizers' base class: argument checks, per-key state, state_dict / load_state_dict.
The optimizers themselves (SGD, Adagrad, RMSProp, Adam) are in `bptt.training.optim`."""
from __future__ import annotations

from collections.abc import Mapping

import numpy as np

from .. import _validate as v


class Optimizer:
    """Base class: `step` checks its arguments, then calls `_update` once per key.

    A subclass sets its hyperparameters in `__init__` (validated) and defines
    `hyperparameters()` (the constructor's keyword arguments, JSON-able), `_slots()` (the names
    of its state dicts), `_initial(slot)` (their starting value) and `_update(k, p, g)`.
    params and grads are dicts of arrays with the same keys and shapes (U (H, D), W (H, H), ...).

    Examples:
        >>> from bptt import SimpleRNN
        >>> from bptt.optim import Adam
        >>> model = SimpleRNN(3, 4, 2, seed=0)
        >>> rng = np.random.default_rng(0)
        >>> x, y = rng.normal(size=(5, 2, 3)), rng.integers(0, 2, size=(5, 2))
        >>> opt, before = Adam(lr=0.05), model.loss(x, y)
        >>> for _ in range(20):
        ...     _, grads = model.loss_and_grads(x, y)
        ...     opt.step(model.params, grads)                # in place, key by key
        >>> model.loss(x, y) < before, opt.t, opt.m["W"].shape
        (True, 20, (4, 4))
        >>> opt.lr = 0.01                                    # as a schedule does between steps
        >>> again = Adam()
        >>> again.load_state_dict(opt.state_dict())          # a checkpoint's round trip
        >>> again.hyperparameters() == opt.hyperparameters(), again.t
        (True, 20)
    """

    def __init__(self):
        self.t = 0  # steps taken
        for name in self._slots():
            setattr(self, name, {})

    # -- the learning rate, settable by schedules -------------------------------------------
    @property
    def lr(self) -> float:
        """The learning rate, a float >= 0; settable between steps (schedules do)."""
        return self._lr

    @lr.setter
    def lr(self, value) -> None:
        self._lr = v.check_float(value, "lr", type(self).__name__, low=0)

    # -- to be defined by subclasses ---------------------------------------------------------
    def hyperparameters(self) -> dict:
        """The constructor's keyword arguments (JSON-able); each optimizer defines it."""
        raise NotImplementedError

    def _slots(self) -> tuple:
        return ()

    def _initial(self, slot: str) -> float:
        return 0.0

    def _update(self, k: str, p: np.ndarray, g: np.ndarray) -> None:
        raise NotImplementedError

    # -- the public step ---------------------------------------------------------------------
    def step(self, params, grads) -> None:
        """Update every array of `params` in place from the gradient of the same key: grads[k]
        has params[k]'s shape, e.g. W (H, H)."""
        self._check(params, grads)
        self._check_state(params)
        self.t += 1
        for k, p in params.items():
            self._update(k, p, np.asarray(grads[k], dtype=p.dtype))  # in the parameter's dtype

    def _check(self, params, grads) -> None:
        name = type(self).__name__
        for arg, d in (("params", params), ("grads", grads)):
            if not isinstance(d, Mapping):
                raise TypeError(f"The '{arg}' argument of {name}.step must be a dict of arrays. "
                                f"Got {type(d).__name__} instead.")
        for k, p in params.items():
            if not isinstance(p, np.ndarray) or p.dtype.kind != "f":
                got = f"dtype {p.dtype}" if isinstance(p, np.ndarray) else type(p).__name__
                raise TypeError(f"params[{k!r}] given to {name}.step must be a float numpy array "
                                f"(it is updated in place). Got {got} instead.")
        if set(params) != set(grads):
            raise ValueError(f"The 'grads' argument of {name}.step must have the keys of params "
                             f"{sorted(params)}. Got {sorted(grads)}.")
        for k, p in params.items():
            if not p.flags.writeable:
                raise ValueError(f"params[{k!r}] given to {name}.step is read-only; it must be "
                                 f"writeable (it is updated in place).")
        for k, g in grads.items():
            kind = np.asarray(g).dtype.kind if isinstance(g, np.ndarray) else None
            if kind is not None and kind not in "biuf":
                raise TypeError(f"grads[{k!r}] given to {name}.step must hold numbers. "
                                f"Got dtype {np.asarray(g).dtype}.")
            if np.shape(g) != params[k].shape:
                raise ValueError(f"grads[{k!r}] given to {name}.step must have the shape of "
                                 f"params[{k!r}] {params[k].shape}. Got {np.shape(g)}.")

    def _check_state(self, params) -> None:
        """Create the state at the first step; afterwards it must match params."""
        name = type(self).__name__
        for slot in self._slots():
            state = getattr(self, slot)
            if not state:
                for k, p in params.items():
                    state[k] = np.full_like(p, self._initial(slot))
                continue
            if set(state) != set(params):
                raise ValueError(f"The state {slot!r} of {name} has the keys {sorted(state)} "
                                 f"(from earlier steps or load_state_dict), but params has "
                                 f"{sorted(params)}.")
            for k, p in params.items():
                if state[k].shape != p.shape:
                    raise ValueError(f"The state {slot!r}[{k!r}] of {name} has shape "
                                     f"{state[k].shape}, but params[{k!r}] has shape {p.shape}.")
                if state[k].dtype != p.dtype:
                    state[k] = state[k].astype(p.dtype)  # e.g. a float64 checkpoint, float32 model

    # -- checkpoints -------------------------------------------------------------------------
    def state_dict(self) -> dict:
        """{"type", "hyper", "step", "state": {slot: {key: array}}}, each array shaped like
        params[key] (W (H, H), ...), copies; see `bptt.optim`'s module docstring."""
        return {"type": type(self).__name__,
                "hyper": self.hyperparameters(),
                "step": self.t,
                "state": {slot: {k: a.copy() for k, a in getattr(self, slot).items()}
                          for slot in self._slots()}}

    def load_state_dict(self, d) -> None:
        """Replace hyperparameters, step and state with those of `d` (from `state_dict`): state
        arrays keyed and shaped like the params (W (H, H), ...), checked at the next step."""
        name = type(self).__name__
        owner = f"{name}.load_state_dict"
        if not isinstance(d, Mapping):
            raise TypeError(f"The 'state_dict' argument of {owner} must be a dict. "
                            f"Got {type(d).__name__} instead.")
        _check_keys(d, {"type", "hyper", "step", "state"}, "state_dict", owner)
        if d["type"] != name:
            raise ValueError(f"The state_dict given to {owner} is of a {d['type']!r} optimizer, "
                             f"not {name!r}.")
        if not isinstance(d["hyper"], Mapping):
            raise TypeError(f"state_dict['hyper'] given to {owner} must be a dict. "
                            f"Got {type(d['hyper']).__name__} instead.")
        _check_keys(d["hyper"], set(self.hyperparameters()), "state_dict['hyper']", owner)
        fresh = type(self)(**d["hyper"])  # validates every hyperparameter
        fresh.t = v.check_int(d["step"], "state_dict['step']", owner, minimum=0)
        state = d["state"]
        if not isinstance(state, Mapping):
            raise TypeError(f"state_dict['state'] given to {owner} must be a dict of slots. "
                            f"Got {type(state).__name__} instead.")
        _check_keys(state, set(fresh._slots()), "state_dict['state']", owner)
        shapes = None
        for slot in fresh._slots():
            arrays = state[slot]
            if not isinstance(arrays, Mapping):
                raise TypeError(f"state_dict['state'][{slot!r}] given to {owner} must be a dict "
                                f"of arrays. Got {type(arrays).__name__} instead.")
            copied = {}
            for k, a in arrays.items():
                if not isinstance(a, np.ndarray) or a.dtype.kind != "f":
                    got = f"dtype {a.dtype}" if isinstance(a, np.ndarray) else type(a).__name__
                    raise TypeError(f"state_dict['state'][{slot!r}][{k!r}] given to {owner} must "
                                    f"be a float numpy array. Got {got} instead.")
                copied[str(k)] = a.copy()
            these = {k: a.shape for k, a in copied.items()}
            if shapes is not None and these != shapes:
                raise ValueError(f"The slots of state_dict['state'] given to {owner} must have "
                                 f"the same keys and shapes. Got {shapes} and, in {slot!r}, "
                                 f"{these}.")
            shapes = these
            setattr(fresh, slot, copied)
        self.__dict__.clear()
        self.__dict__.update(fresh.__dict__)

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={val!r}" for k, val in self.hyperparameters().items())
        return f"{type(self).__name__}({args})"


def _check_keys(d, expected: set, what: str, owner: str) -> None:
    got = set(d)
    if got != expected:
        missing, extra = sorted(expected - got), sorted(map(str, got - expected))
        raise ValueError(f"{what} given to {owner} must have the keys {sorted(expected)}. "
                         f"Missing {missing}, unexpected {extra}.")
