"""Outgrowing one CPU: train a char-LM in bptt, continue it in PyTorch, bring it back.

    python examples/to_pytorch.py --model lstm                  # bptt, then PyTorch (a GPU if any)
    python examples/to_pytorch.py --model gru --procs 2         # DistributedDataParallel, 2 processes
    python examples/to_pytorch.py --text corpus.txt --device cuda --procs 4 --dtype float32

1. `bptt.train` trains the model and writes a checkpoint: weights, Adam's moments, the state
   carried between TBPTT windows and the data position.
2. `bptt.to_torch` exports the weights; Adam's moments go through the same map (copied, so that
   the first PyTorch step is the step bptt would have taken).
3. PyTorch continues with bptt's recipe: the same streams and windows from the same position and
   carried state, the loss J = (1/B) Σ_b Σ_t L over the window's new steps (summed over time,
   meaned over the batch: F.cross_entropy(..., reduction="sum") / B), Adam with bptt's
   hyper-parameters, clipping by global norm. With --procs N, each of N processes
   (torch.multiprocessing.spawn; gloo on CPU, nccl on GPUs) takes B/N of the streams, and
   DistributedDataParallel averages the N gradients into the full batch's.
4. `bptt.from_torch` brings the weights back: bptt evaluates the validation loss and writes the
   explorer page of one line of text.

Dimension letters: T (= k2) steps per window, B streams, V characters, H hidden, L layers.
"""
from __future__ import annotations

import argparse
import gc
import math
import os
import shutil
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch
import torch.distributed as dist
import torch.nn.functional as F

import bptt
from bptt.cells.registry import MODEL_KINDS, build_model, model_class
from bptt.data import StreamBatcher, builtin_corpus, load_text
from bptt.io.saving import load_model, load_training_state

TORCH_DTYPES = {"float64": torch.float64, "float32": torch.float32}


class TorchLM(torch.nn.Module):
    """to_torch's (rnn, linear) as one module (DDP wraps one). A window is run in two pieces,
    x[:k1] and x[k1:], so that the state after step k1 − 1, the one bptt carries into the next
    window, comes out; the gradient flows through both pieces."""

    def __init__(self, rnn, linear):
        super().__init__()
        self.rnn, self.linear = rnn, linear

    def forward(self, x, state, k1: int):            # x (T, B, V) one-hot; state (L, B, H) or (h, c)
        out, carry = self.rnn(x[:k1], state)         # (k1, B, H)
        if k1 < x.shape[0]:
            out = torch.cat([out, self.rnn(x[k1:], carry)[0]])
        return self.linear(out), carry               # logits (T, B, V)


@dataclass
class Continued:
    """What the PyTorch run gives back: the loss of each step (nats per character, as bptt's
    train_loss) and its characters per stream (the window's new steps), the first step's
    gradients (after DDP's averaging, before clipping; torch's names), the modules and the
    carried state."""
    losses: list
    chars: list
    grads: dict = field(default_factory=dict)
    rnn: object = None
    linear: object = None
    carried: object = None


# -- bptt's side ----------------------------------------------------------------------------------
def train_in_bptt(kind, data, out, *, hidden=64, layers=1, dtype="float64", seed=0, **recipe):
    """Train a char-LM of `kind` with bptt.train; its checkpoint goes to `out`. Returns
    (model, history). `recipe`: TrainConfig's fields (steps, seq_len, stride, batch, lr, clip, ...)."""
    V = data.vocab.size
    model = model_class(kind)(V, hidden, V, num_layers=layers, dtype=dtype, seed=seed)
    cfg = bptt.TrainConfig(out=str(out), overwrite=True, progress=False, seed=seed, **recipe)
    return model, bptt.train(model, data, cfg)


def first_batch_loss_in_bptt(ckpt, data) -> float:
    """bptt's loss (per character) on the window that the checkpoint's run would take next, from
    its weights and carried state: the number PyTorch's first step must reproduce."""
    model, _, _ = load_model(ckpt)
    st = load_training_state(ckpt, model_kind=model.kind)
    r = st.recipe
    x, y, reset = StreamBatcher(data.train_ids, r["batch"], r["seq_len"], stride=r["stride"],
                                **st.data_state).peek()
    mask = np.ones(x.shape, dtype=model.dtype)
    if not reset:
        mask[: r["seq_len"] - r["stride"]] = 0       # counted by the previous window
    h = model.zero_state(r["batch"]) if reset else st.carried
    return model.loss(x, y, h, mask) / mask[:, 0].sum()


def mapped_to_torch(model, arrays) -> dict:
    """Arrays keyed like model.params (gradients, Adam's moments) in torch's layout, through the
    weights' own map: {"rnn.weight_ih_l0": tensor, ..., "linear.bias": tensor}. Where bptt has one
    bias and torch two, the array goes to bias_ih and zeros to bias_hh (GRU: except b_hn)."""
    clone = build_model(model.kind, model.config())
    for k, p in clone.params.items():
        p[...] = arrays[k]
    rnn, linear = bptt.to_torch(clone)
    return {f"{m}.{n}": t.detach() for m, mod in (("rnn", rnn), ("linear", linear))
            for n, t in mod.named_parameters()}


# -- PyTorch's side -------------------------------------------------------------------------------
def zero_redundant_bias_grads(rnn, kind):
    """PyTorch's cells add two biases, bias_ih + bias_hh, where bptt has one; their gradients are
    equal, so training both would move the sum twice as far and count it twice in the clipping
    norm. bias_hh's copy is held at zero (its gradient zeroed, so Adam leaves it at 0) and the
    steps are bptt's. The GRU's candidate bias b_hn (the last H entries) is a parameter of its own."""
    H = rnn.hidden_size
    for name, p in rnn.named_parameters():
        if name.startswith("bias_hh") and p.grad is not None:
            p.grad[: 2 * H if kind == "gru" else None].zero_()


def _shard(state, cols):
    """bptt's carried state (B, H), (L, B, H) or (h, c) → torch's (L, B/N, H), this process's columns."""
    if isinstance(state, tuple):
        return tuple(_shard(s, cols) for s in state)
    a = np.asarray(state)
    return torch.from_numpy(np.ascontiguousarray((a if a.ndim == 3 else a[None])[:, cols]))


def continue_in_torch(ckpt, data, steps, *, device="cpu", rank=0, world=1, record_grads=False):
    """Continue the run checkpointed in `ckpt` for `steps` steps in PyTorch, as process `rank` of
    `world` (world > 1: inside an initialised process group, under DistributedDataParallel).
    Returns a Continued (on every rank the same weights; the losses of the whole batch)."""
    model, _, _ = load_model(ckpt)
    st = load_training_state(ckpt, model_kind=model.kind)
    r = st.recipe
    if r["optimizer"] != "adam" or r["clip_mode"] != "norm":
        raise ValueError(f"continue_in_torch follows bptt's recipe with optimizer='adam' and "
                         f"clip_mode='norm'; the checkpoint's run used optimizer="
                         f"{r['optimizer']!r}, clip_mode={r['clip_mode']!r}.")
    if st.fingerprint != data.fingerprint():
        raise ValueError(f"The data given to continue_in_torch is not the text the checkpoint in "
                         f"{ckpt} was trained on (its fingerprint differs).")
    B, k2, k1, V = r["batch"], r["seq_len"], r["stride"], model.output_size
    if B % world:
        raise ValueError(f"The batch of {B} streams cannot be shared by {world} processes: "
                         f"pass a number of processes that divides it.")
    Bn = B // world
    cols = slice(rank * Bn, (rank + 1) * Bn)                    # this process's streams
    dtype = TORCH_DTYPES[np.dtype(model.dtype).name]
    batcher = StreamBatcher(data.train_ids, B, k2, stride=k1, **st.data_state)

    rnn, linear = bptt.to_torch(model)
    lm = TorchLM(rnn, linear).to(device)
    net = torch.nn.parallel.DistributedDataParallel(
        lm, device_ids=[torch.device(device).index] if torch.device(device).type == "cuda" else None
    ) if world > 1 else lm
    hyper = st.optimizer["hyper"]
    opt = torch.optim.Adam(lm.parameters(), lr=hyper["lr"], betas=tuple(hyper["betas"]),
                           eps=hyper["eps"], weight_decay=hyper["weight_decay"])
    if st.optimizer["step"] > 0:                                # Adam's moments, carried over
        m = mapped_to_torch(model, st.optimizer["state"]["m"])
        s = mapped_to_torch(model, st.optimizer["state"]["v"])
        for name, p in lm.named_parameters():
            opt.state[p] = {"step": torch.tensor(float(st.optimizer["step"])),
                            "exp_avg": m[name].to(device).clone(), "exp_avg_sq": s[name].to(device).clone()}
    to_dev = lambda s: tuple(to_dev(a) for a in s) if isinstance(s, tuple) else s.to(device)  # noqa: E731
    state = to_dev(_shard(st.carried, cols))
    result = Continued([], [])
    for step in range(steps):
        x, y, reset = batcher.next_batch()                      # (k2, B) ids, the same stream as bptt's
        if reset:                                               # the streams' start: a zero state
            state = to_dev(_shard(model.zero_state(B), cols))
        new = slice(0 if reset else k2 - k1, k2)                # the window's new steps
        xb = F.one_hot(torch.from_numpy(x[:, cols]).to(device), V).to(dtype)     # (k2, B/N, V)
        yb = torch.from_numpy(y[new, cols]).to(device)
        logits, carry = net(xb, state, k1)
        # J = (1/B) Σ_b Σ_t L: summed over the new steps, meaned over this process's B/N streams;
        # DDP's mean of the N gradients is then the gradient of the whole batch's J
        J = F.cross_entropy(logits[new].reshape(-1, V), yb.reshape(-1), reduction="sum") / Bn
        opt.zero_grad()
        J.backward()
        zero_redundant_bias_grads(lm.rnn, model.kind)
        if record_grads and step == 0:
            result.grads = {n: p.grad.detach().cpu().numpy().copy() for n, p in lm.named_parameters()}
        torch.nn.utils.clip_grad_norm_(lm.parameters(), r["clip"])   # by global norm, as bptt
        opt.step()
        state = tuple(a.detach() for a in carry) if isinstance(carry, tuple) else carry.detach()
        J = J.detach()
        if world > 1:
            dist.all_reduce(J)
            J /= world                                          # the whole batch's J
        result.losses.append(J.item() / (k2 - new.start))       # per character, as bptt reports
        result.chars.append(k2 - new.start)
    result.rnn, result.linear, result.carried = lm.rnn.cpu(), lm.linear.cpu(), state
    return result


def _ddp_worker(rank, world, jobs, device, rendezvous):
    """One process of the DDP group: joins it, continues each job (ckpt, data, steps) in turn and
    writes rank<r>.npz beside each checkpoint."""
    cuda = device == "cuda"
    if cuda:
        torch.cuda.set_device(rank)
    else:                                                       # the cores shared, not oversubscribed
        torch.set_num_threads(max(1, (os.cpu_count() or 1) // world))
    dist.init_process_group("nccl" if cuda else "gloo", init_method=f"file://{rendezvous}",
                            rank=rank, world_size=world)
    try:
        for ckpt, data, steps in jobs:
            res = continue_in_torch(ckpt, data, steps, device=f"cuda:{rank}" if cuda else "cpu",
                                    rank=rank, world=world, record_grads=True)
            arrays = {f"param/{m}.{n}": t.detach().numpy()
                      for m, mod in (("rnn", res.rnn), ("linear", res.linear)) for n, t in mod.named_parameters()}
            arrays.update({f"grad/{n}": g for n, g in res.grads.items()})
            np.savez(Path(ckpt) / f"rank{rank}.npz", losses=np.array(res.losses), chars=np.array(res.chars),
                     **arrays)
            del res
        gc.collect()            # DDP's wrappers go while the group lives (else, at exit, 1 in ~18
                                # runs aborted: "terminate called without an active exception")
    finally:
        dist.destroy_process_group()


def run_ddp(jobs, *, procs=2, device="cpu") -> list:
    """continue_in_torch for each job (ckpt, data, steps), in turn, by one group of `procs` spawned
    processes under DistributedDataParallel (gloo on CPU; nccl on GPUs, one per process): starting
    the processes costs seconds (torch's and DDP's imports), the jobs share them. Returns rank 0's
    Continued for each job; every rank's weights are in ckpt/rank<r>.npz."""
    jobs = [(str(c), d, s) for c, d, s in jobs]
    # The group meets in a fresh file, not on a free port picked here: another process could take
    # the port between the pick and the workers' bind.
    with tempfile.TemporaryDirectory() as tmp:
        rendezvous = (Path(tmp) / "rendezvous").as_posix()
        torch.multiprocessing.spawn(_ddp_worker, args=(procs, jobs, device, rendezvous),
                                    nprocs=procs, join=True)
    results = []
    for ckpt, _, _ in jobs:
        with np.load(Path(ckpt) / "rank0.npz") as z:
            rnn, linear = bptt.to_torch(load_model(ckpt)[0])
            for m, mod in (("rnn", rnn), ("linear", linear)):
                mod.load_state_dict({n: torch.from_numpy(z[f"param/{m}.{n}"]) for n, _ in mod.named_parameters()})
            grads = {k[5:]: z[k] for k in z.files if k.startswith("grad/")}
            results.append(Continued(z["losses"].tolist(), z["chars"].tolist(), grads, rnn, linear))
    return results


def pick_device(device, procs):
    """'auto': cuda when PyTorch sees a GPU, else cpu. cuda needs one GPU per process."""
    if device == "auto":
        device = "cuda" if torch.cuda.is_available() else "cpu"
    need, have = procs or 1, torch.cuda.device_count() if torch.cuda.is_available() else 0
    if device == "cuda" and have < need:
        raise ValueError(f"--device cuda with --procs {need} needs {need} GPU(s), one per "
                         f"process; PyTorch sees {have}.")
    return device


# -- back in bptt ---------------------------------------------------------------------------------
def logits_difference(model, rnn, linear, ids) -> float:
    """max |torch's logits − bptt's| on the id sequence `ids` (one stream, from a zero state)."""
    x = np.asarray(ids)[:, None]                                # (T, 1)
    dtype = TORCH_DTYPES[np.dtype(model.dtype).name]
    with torch.no_grad():
        o = linear(rnn(F.one_hot(torch.from_numpy(x), model.input_size).to(dtype))[0]).numpy()
    return float(np.abs(o - model.forward(x).o).max())


def resumed_in_bptt(ckpt, data, out, steps, **recipe):
    """The reference: bptt.train resumed from a copy of `ckpt` in `out` up to `steps` steps, as if
    the run had never left bptt. Returns (model, history)."""
    shutil.rmtree(out, ignore_errors=True)
    shutil.copytree(ckpt, out, ignore=shutil.ignore_patterns("rank*.npz"))
    model, _, meta = load_model(out)
    cfg = bptt.TrainConfig(steps=steps, out=str(out), resume=True, progress=False, **recipe)
    return model, [r for r in bptt.train(model, data, cfg) if r["step"] > meta["step"]]


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--model", choices=sorted(MODEL_KINDS), default="lstm")
    ap.add_argument("--text", help="a text file (default: the built-in corpus)")
    ap.add_argument("--chars", type=int, default=200_000, help="characters of the built-in corpus")
    ap.add_argument("--steps", type=int, default=300, help="steps in bptt")
    ap.add_argument("--torch-steps", type=int, default=200, help="steps in PyTorch")
    ap.add_argument("--hidden", type=int, default=64)
    ap.add_argument("--layers", type=int, default=1)
    ap.add_argument("--seq-len", type=int, default=32)
    ap.add_argument("--stride", type=int, default=None)
    ap.add_argument("--batch", type=int, default=16)
    ap.add_argument("--lr", type=float, default=2e-3)
    ap.add_argument("--clip", type=float, default=5.0)
    ap.add_argument("--every", type=int, default=20, help="steps per printed training loss")
    ap.add_argument("--dtype", choices=sorted(TORCH_DTYPES), default="float64")
    ap.add_argument("--device", choices=["auto", "cpu", "cuda"], default="auto")
    ap.add_argument("--procs", type=int, default=None, help="DDP processes (default: none)")
    ap.add_argument("--out", default="runs/to_pytorch")
    args = ap.parse_args(argv)
    device = pick_device(args.device, args.procs)
    text = load_text(args.text) if args.text else builtin_corpus(args.chars)
    data = bptt.CharData.from_text(text)
    out, every, n = Path(args.out), args.every, args.steps
    recipe = dict(seq_len=args.seq_len, stride=args.stride, batch=args.batch, lr=args.lr,
                  clip=args.clip, eval_every=every, eval_chars=5_000)
    t0 = time.perf_counter()
    model, history = train_in_bptt(args.model, data, out / "bptt", hidden=args.hidden,
                                   layers=args.layers, dtype=args.dtype, steps=n, **recipe)
    t1 = time.perf_counter()
    for before, rec in zip([0] + [r["step"] for r in history], history):
        print(f"bptt     steps {before + 1:5d}-{rec['step']:<5d} train loss {rec['train_loss']:.4f} nats/char")
    expected = first_batch_loss_in_bptt(out / "bptt", data)
    if args.procs:
        res = run_ddp([(out / "bptt", data, args.torch_steps)], procs=args.procs, device=device)[0]
    else:
        res = continue_in_torch(out / "bptt", data, args.torch_steps, device=device)
    t2 = time.perf_counter()
    print(f"pytorch  step {n + 1}: loss {res.losses[0]:.12f}; bptt on the same batch from the same "
          f"weights {expected:.12f} (|difference| {abs(res.losses[0] - expected):.1e})")
    ref, ref_history = resumed_in_bptt(out / "bptt", data, out / "bptt_resumed", n + args.torch_steps,
                                       **recipe)
    for before, rec in zip([n] + [r["step"] for r in ref_history], ref_history):
        s = range(before - n, rec["step"] - n)      # as bptt's train_loss: per character since `before`
        mean = sum(res.losses[i] * res.chars[i] for i in s) / sum(res.chars[i] for i in s)
        print(f"pytorch  steps {before + 1:5d}-{rec['step']:<5d} train loss {mean:.4f} nats/char"
              f"   (bptt resumed instead: {rec['train_loss']:.4f})")
    print(f"{args.procs or 1} process(es) on {device}: bptt {n / (t1 - t0):.1f} steps/s, "
          f"pytorch {args.torch_steps / (t2 - t1):.1f} steps/s (start-up included)")
    back = bptt.from_torch(res.rnn, res.linear)
    again = bptt.from_torch(*bptt.to_torch(back))
    exact = all(np.array_equal(again.params[k], back.params[k]) for k in back.params)
    drift = max(float(np.abs(back.params[k] - ref.params[k]).max()) for k in back.params)
    val = bptt.evaluate(back, data.val_ids, args.batch, args.seq_len, 20_000)
    diff = logits_difference(back, res.rnn, res.linear, data.val_ids[:200])
    print(f"back in bptt: validation loss {val:.4f} nats/char ({val / math.log(2):.3f} bits/char); "
          f"torch's logits - bptt's: {diff:.1e}; from_torch(to_torch(model)) bitwise equal: {exact}; "
          f"weights - bptt resumed's: {drift:.1e}")
    if args.layers == 1:                                        # the explorer draws one layer
        from bptt.viz.explorer import explain
        for chars in (16, 12, 8, 6, 4, 3):                      # the longest line the page takes
            try:
                page = explain(out / "explorer.html", model=back, vocab=data.vocab,
                               input_text=data.vocab.decode(data.val_ids[:chars]))
                print(f"explorer page: {os.fspath(page)}")
                break
            except ValueError:                                  # a trace too large for the page
                continue
        else:
            print("no explorer page: the trace of even 3 characters is too large for it")
    return {"history": history, "expected": expected, "torch": res, "model": back,
            "val_loss": val, "reference": ref, "reference_history": ref_history}


if __name__ == "__main__":
    main()
