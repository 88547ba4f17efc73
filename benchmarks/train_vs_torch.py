"""Train bptt's SimpleRNN, GRU or LSTM and PyTorch's nn.RNN / nn.GRU / nn.LSTM + Linear on the
same recipe; compare validation bits/char at equal steps and training throughput (chars/s).

    python benchmarks/train_vs_torch.py                    # H=256, seq_len=50, batch=32, 1500 steps
    python benchmarks/train_vs_torch.py --model gru        # the GRU (reset gate after, as torch)
    python benchmarks/train_vs_torch.py --steps 300 --json out.json
    python benchmarks/train_vs_torch.py --seeds 0 1 2      # three initializations, curves averaged

The same for both sides:
- sizes and initial weights (bptt's, copied into torch with bptt.to_torch);
- data: the built-in corpus (bptt.data.builtin_corpus), bptt.CharData's vocabulary and split, and
  the same batches in the same order (one bptt.data.StreamBatcher per side over the same ids:
  B parallel streams, the state carried from window to window, reset at the start of an epoch);
- loss J = Σ over time, mean over the batch; clipping of the global gradient norm at 5;
  Adam(lr=2e-3, betas=(0.9, 0.999), eps=1e-8);
- evaluation: mean loss per character over the head of the validation text in B streams with the
  state carried, as bptt.training.loop.evaluate does (bptt.training.loop.evaluate itself on the bptt side, the same
  computation written with torch on the other), reported in bits per character.

The bptt side runs the per-step work of bptt.training.loop: model._backward, clip_by_norm, Adam.step
(bptt.optim), and carries the state. For the simple RNN and the LSTM torch's bias_hh_l0 is frozen
at 0 (bptt has one bias per unit); the GRU's holds b_hn (inside the reset gate's product), so its
r and z parts are torch's own extra biases: the GRU recipe is torch.nn.GRU's as it comes, with
bptt's GRU starting from the same function. The LSTM starts with forget_bias=0 (torch's init).

Training is chaotic: in float64 the two sides agree to 1e-16 for the first ten steps, and float
rounding differences then grow until the trajectories are only statistically alike. To show the
size of that effect, a second torch model with every initial weight moved by one float32 ulp
trains alongside (not timed) and its distance from the first is printed too. The two sides train in alternating chunks of `--eval-every` steps;
the throughput counts training steps only (evaluation excluded), chars = steps · B · seq_len.
Single-threaded by default (NumPy's BLAS and torch), as the benchmark in bench.py.
"""
from __future__ import annotations

import argparse
import json
import math
import sys
import time

import numpy as np


def torch_evaluate(rnn, linear, ids, batch, seq_len, max_chars=100_000):
    """bptt.training.loop.evaluate's computation with torch modules: mean nats per character."""
    import torch
    import torch.nn.functional as F
    ids = ids[:max_chars]
    B = max(1, min(batch, (len(ids) - 1) // (seq_len + 1)))
    L = max(1, (len(ids) - 1) // B)
    xs = ids[: B * L].reshape(B, L).T
    ys = ids[1: B * L + 1].reshape(B, L).T
    V = linear.out_features
    h, total = zero_state(rnn, B), 0.0
    with torch.no_grad():
        for p in range(0, L, seq_len):
            x = F.one_hot(torch.from_numpy(xs[p:p + seq_len]).long(), rnn.input_size).float()
            y = torch.from_numpy(ys[p:p + seq_len]).long().reshape(-1)
            out, h = rnn(x, h)
            total += F.cross_entropy(linear(out).reshape(-1, V), y, reduction="sum").item()
    return total / (B * L)


def zero_state(rnn, B):
    """torch's zero state of a one-layer module: h, or (h, c) for nn.LSTM."""
    import torch
    h = torch.zeros(1, B, rnn.hidden_size)
    return (h, torch.zeros_like(h)) if isinstance(rnn, torch.nn.LSTM) else h


def detach(state):
    return tuple(s.detach() for s in state) if isinstance(state, tuple) else state.detach()


def run_pair(args, data, seed, log=print):
    """Train bptt and torch (and the torch +1 ulp control) from seed's initial weights; returns
    the rows of the curve (one per evaluation)."""
    import torch
    import torch.nn.functional as F
    from threadpoolctl import threadpool_limits

    import bptt
    from bptt.clipping import clip_by_norm
    from bptt.data import StreamBatcher
    from bptt.optim import Adam
    from bptt.training.loop import evaluate

    V, H, T, B = data.vocab.size, args.hidden, args.seq_len, args.batch
    extra = {"forget_bias": 0.0} if args.model == "lstm" else {}
    model = bptt.cells.model_class(args.model)(V, H, V, dtype="float32", seed=seed, **extra)

    # bptt's one bias b is torch's bias_ih_l0 + bias_hh_l0; to_torch puts b in bias_ih and 0 in
    # bias_hh. Left trainable, bias_hh would get a second copy of ∂J/∂b: counted twice in the
    # clipped norm and moved twice as fast by Adam. Frozen at 0, the recipes are the same (in
    # float64 the two sides then agree to 1e-16 for the first 10 steps).
    def torch_side(ulp_noise=False):
        rnn, linear = bptt.to_torch(model)                   # the same initial weights
        if args.model != "gru":
            rnn.bias_hh_l0.requires_grad_(False)
        params = [p for p in list(rnn.parameters()) + list(linear.parameters()) if p.requires_grad]
        if ulp_noise:                                        # every weight one ulp towards +inf
            with torch.no_grad():
                for p in params:
                    p.copy_(torch.nextafter(p, torch.full_like(p, math.inf)))
        opt = torch.optim.Adam(params, lr=args.lr, betas=(0.9, 0.999), eps=1e-8)
        side = {"rnn": rnn, "linear": linear, "batches": StreamBatcher(data.train_ids, B, T),
                "h": zero_state(rnn, B)}

        def steps(n):
            for _ in range(n):
                x, y, reset = side["batches"].next_batch()
                if reset:
                    side["h"] = zero_state(rnn, B)
                xt = F.one_hot(torch.from_numpy(x).long(), V).float()
                yt = torch.from_numpy(y).long().reshape(-1)
                opt.zero_grad(set_to_none=True)
                out, hn = rnn(xt, side["h"])
                loss = F.cross_entropy(linear(out).reshape(-1, V), yt, reduction="sum") / B
                loss.backward()
                torch.nn.utils.clip_grad_norm_(params, args.clip)
                opt.step()
                side["h"] = detach(hn)
        side["steps"] = steps
        return side

    torch_main = torch_side()
    torch_noise = None if args.no_noise_baseline else torch_side(ulp_noise=True)
    b_opt = Adam(lr=args.lr, betas=(0.9, 0.999), eps=1e-8)
    b_batches = StreamBatcher(data.train_ids, B, T)
    mask = np.ones((T, B), dtype=model.dtype)               # stride = seq_len: every step is new
    state = {"h": model.zero_state(B)}

    def bptt_steps(n):                                       # bptt.training.loop's per-step work
        for _ in range(n):
            x, y, reset = b_batches.next_batch()
            if reset:
                state["h"] = model.zero_state(B)
            res = model._backward(x, y, state["h"], mask)
            clip_by_norm(res.grads, args.clip)
            b_opt.step(model.params, res.grads)
            last = res.state(T - 1)
            state["h"] = tuple(map(np.array, last)) if isinstance(last, tuple) else np.array(last)

    ln2 = math.log(2)
    rows, time_b, time_t, done = [], 0.0, 0.0, 0
    log(f"seed {seed}")
    log(f"{'step':>6} {'bptt bpc':>9} {'torch bpc':>9} {'diff':>7} {'bptt chars/s':>13} "
        f"{'torch chars/s':>13}" + ("" if torch_noise is None else
                                    f" {'torch+1ulp':>10} {'its diff':>8}"))
    with threadpool_limits(args.threads):
        while done < args.steps:
            n = min(args.eval_every, args.steps - done)
            order = ((bptt_steps, torch_main["steps"]) if (done // args.eval_every) % 2 == 0
                     else (torch_main["steps"], bptt_steps))   # alternate who goes first
            for fn in order:
                t0 = time.perf_counter()
                fn(n)
                dt = time.perf_counter() - t0
                if fn is bptt_steps:
                    time_b += dt
                else:
                    time_t += dt
            if torch_noise is not None:
                torch_noise["steps"](n)                      # not timed
            done += n
            vb = evaluate(model, data.val_ids, B, T, args.eval_chars) / ln2
            vt = torch_evaluate(torch_main["rnn"], torch_main["linear"], data.val_ids, B, T,
                                args.eval_chars) / ln2
            cb, ct = done * B * T / time_b, done * B * T / time_t
            row = {"seed": seed, "step": done, "bptt_val_bpc": vb, "torch_val_bpc": vt,
                   "diff": vb - vt, "bptt_chars_per_s": cb, "torch_chars_per_s": ct}
            line = f"{done:6d} {vb:9.4f} {vt:9.4f} {vb - vt:+7.4f} {cb:13,.0f} {ct:13,.0f}"
            if torch_noise is not None:
                vn = torch_evaluate(torch_noise["rnn"], torch_noise["linear"], data.val_ids, B, T,
                                    args.eval_chars) / ln2
                row.update(torch_ulp_val_bpc=vn, torch_ulp_diff=vn - vt)
                line += f" {vn:10.4f} {vn - vt:+8.4f}"
            rows.append(row)
            log(line)
    return rows


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--model", choices=["rnn", "gru", "lstm"], default="rnn")
    ap.add_argument("--hidden", type=int, default=256)
    ap.add_argument("--seq-len", type=int, default=50)
    ap.add_argument("--batch", type=int, default=32)
    ap.add_argument("--steps", type=int, default=1500)
    ap.add_argument("--eval-every", type=int, default=100)
    ap.add_argument("--eval-chars", type=int, default=100_000)
    ap.add_argument("--lr", type=float, default=2e-3)
    ap.add_argument("--clip", type=float, default=5.0)
    ap.add_argument("--max-chars", type=int, default=2_000_000, help="size of the built-in corpus")
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--seeds", type=int, nargs="+", default=[0],
                    help="initializations to train from; with several, the curves are also "
                         "averaged over them")
    ap.add_argument("--no-noise-baseline", action="store_true",
                    help="skip the second torch run (initial weights moved by one float32 ulp)")
    ap.add_argument("--json", metavar="PATH")
    args = ap.parse_args(argv)

    import torch

    import bptt
    from bptt.data import builtin_corpus

    torch.set_num_threads(args.threads)
    data = bptt.CharData.from_text(builtin_corpus(args.max_chars))
    print(f"corpus: {len(data.train_ids):,} training and {len(data.val_ids):,} validation "
          f"characters, vocabulary {data.vocab.size}; H={args.hidden}, seq_len={args.seq_len}, "
          f"batch={args.batch}, {args.steps} steps, float32, {args.threads} thread(s)")
    runs = [run_pair(args, data, seed) for seed in args.seeds]
    result = {"config": vars(args), "vocab_size": data.vocab.size, "runs": runs}
    for i, rows in enumerate(runs):
        worst = max(abs(r["diff"]) for r in rows)
        summary = {"max_abs_bpc_diff": worst,
                   "mean_bpc_diff": float(np.mean([r["diff"] for r in rows])),
                   "final_bpc_diff": rows[-1]["diff"],
                   "bptt_chars_per_s": rows[-1]["bptt_chars_per_s"],
                   "torch_chars_per_s": rows[-1]["torch_chars_per_s"]}
        summary["throughput_ratio"] = summary["bptt_chars_per_s"] / summary["torch_chars_per_s"]
        if "torch_ulp_diff" in rows[0]:
            summary["max_abs_torch_ulp_diff"] = max(abs(r["torch_ulp_diff"]) for r in rows)
        result.setdefault("summary", []).append(summary)
        print(f"seed {args.seeds[i]}: largest |bpc difference| bptt − torch at equal steps "
              f"{worst:.4f} (required <= 0.02), mean {summary['mean_bpc_diff']:+.4f}, final "
              f"{summary['final_bpc_diff']:+.4f}; torch against itself +1 ulp: "
              f"{summary.get('max_abs_torch_ulp_diff', float('nan')):.4f}; throughput bptt/torch "
              f"{summary['throughput_ratio']:.3f} (required >= 1)")
    if len(runs) > 1:
        steps = [r["step"] for r in runs[0]]
        mean = {k: [float(np.mean([rows[j][k] for rows in runs])) for j in range(len(steps))]
                for k in ("bptt_val_bpc", "torch_val_bpc")}
        diffs = [b - t for b, t in zip(mean["bptt_val_bpc"], mean["torch_val_bpc"])]
        result["mean_over_seeds"] = {"step": steps, **mean, "diff": diffs}
        print(f"mean over seeds {args.seeds}:")
        for s_, b, t, d in zip(steps, mean["bptt_val_bpc"], mean["torch_val_bpc"], diffs):
            print(f"{s_:6d} {b:9.4f} {t:9.4f} {d:+7.4f}")
        print(f"largest |difference| of the seed-averaged curves: {max(map(abs, diffs)):.4f}")
    if args.json:
        with open(args.json, "w", encoding="utf-8") as f:
            json.dump(result, f, indent=1)
    return 0


if __name__ == "__main__":
    sys.exit(main())
