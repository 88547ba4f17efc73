"""Date normalisation ("30 Nov 2026", "11/30/26", "November 30, 2026" -> "2026-11-30") by a GRU
encoder–decoder with Bahdanau's additive attention and by the same model without attention (the
context is the encoder's last state, Goodfellow et al. fig. 10.12), at the same budget.

Both models have the same hidden size, read the same batches (the same seed), with the same
optimizer, learning rate, clipping and number of steps. Every eval_every steps each is scored
by exact match on held-out dates (whole strings, greedy decoding); at the end, on every held-out
date. The curves are written to a JSON file for the docs (docs/data/seq2seq_dates.json).

    python examples/seq2seq_dates.py                      # the documented run: 3 seeds, ~6 min
    python examples/seq2seq_dates.py --quick              # seconds, nothing learned
    python examples/seq2seq_dates.py --steps 3000 --out /tmp/dates.json
"""
import argparse
import json
import os
import pathlib
import platform
import time

# The matrices here are small (B = 64, H = 64): one BLAS thread is faster than many.
for _var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

import numpy as np  # noqa: E402

import bptt  # noqa: E402
from bptt.data import PairVocab, split_pairs, task_pairs  # noqa: E402
from bptt.training.seq2seq import Seq2SeqConfig, train_seq2seq, translate  # noqa: E402

FULL = dict(pairs=20_000, hidden=64, steps=1500, batch=64, lr=5e-3, clip=5.0, eval_every=50,
            eval_size=500, seeds=(0, 1, 2))
QUICK = dict(pairs=2_000, hidden=16, steps=20, batch=16, lr=5e-3, clip=5.0, eval_every=10,
             eval_size=50, seeds=(0,))
ATTENTIONS = {"additive": "additive", "none": None}
BUDGETS = (250, 500, 1000)        # steps at which the summary compares the two
TARGET = 0.99                     # the goal: >= 99 % held-out exact match
OUT = pathlib.Path(__file__).resolve().parents[1] / "docs" / "data" / "seq2seq_dates.json"


def train_one(cfg, attention, seed, log=print) -> dict:
    """One model on the dates of `seed`: its curve, steps to TARGET, final exact match, time."""
    pairs = task_pairs("dates", cfg["pairs"], seed=seed)
    train, val = split_pairs(pairs, val_fraction=0.1, seed=seed)
    src_vocab = PairVocab.from_texts(s for s, _ in train + val)
    tgt_vocab = PairVocab.from_texts(t for _, t in train + val)
    model = bptt.Seq2Seq(src_vocab.size, tgt_vocab.size, cfg["hidden"], cell="gru",
                         attention=ATTENTIONS[attention], dtype="float64", seed=seed)
    config = Seq2SeqConfig(steps=cfg["steps"], batch=cfg["batch"], lr=cfg["lr"], clip=cfg["clip"],
                           eval_every=cfg["eval_every"], eval_size=cfg["eval_size"], seed=seed)
    start = time.perf_counter()
    history = train_seq2seq(model, train, val, src_vocab, tgt_vocab, config,
                            progress=lambda r: log(
                                f"{attention:>8} seed {seed}  step {r['step']:5d}  loss "
                                f"{r['loss']:.4f}  held-out exact match {r['exact_match']:.3f}"))
    seconds = time.perf_counter() - start
    outputs = translate(model, src_vocab, tgt_vocab, [s for s, _ in val])
    final = float(np.mean([o == t for o, (_, t) in zip(outputs, val)]))
    reached = [r["step"] for r in history if r["exact_match"] >= TARGET]
    log(f"{attention:>8} seed {seed}  all {len(val)} held-out dates: exact match {final:.4f} "
        f"({seconds:.0f} s of training)")
    return {"attention": attention, "seed": seed, "train_pairs": len(train), "val_pairs": len(val),
            "params": int(sum(p.size for p in model.params.values())),
            "curve": [{k: r[k] for k in ("step", "loss", "val_loss", "exact_match")} for r in history],
            "steps_to_99": reached[0] if reached else None, "final_exact_match": final,
            "seconds": round(seconds, 1),
            "wrong": [{"source": s, "target": t, "output": o}
                      for o, (s, t) in zip(outputs, val) if o != t][:5]}


def summary(runs, cfg) -> dict:
    """Per attention: the mean (and each seed's) held-out exact match at each budget, the steps
    each seed took to reach TARGET, and the final exact match on every held-out date."""
    out = {}
    for name in ATTENTIONS:
        mine = [r for r in runs if r["attention"] == name]
        at = {}
        for budget in BUDGETS + (cfg["steps"],):
            vals = [next((c["exact_match"] for c in r["curve"] if c["step"] == budget), None)
                    for r in mine]
            if None not in vals:
                at[str(budget)] = {"mean": float(np.mean(vals)), "per_seed": vals}
        out[name] = {"exact_match_at_step": at, "steps_to_99": [r["steps_to_99"] for r in mine],
                     "final_exact_match": [r["final_exact_match"] for r in mine],
                     "seconds": [r["seconds"] for r in mine]}
    return out


def run(cfg, log=print) -> dict:
    """Both models on every seed of cfg["seeds"], as JSON."""
    runs = [train_one(cfg, name, seed, log) for seed in cfg["seeds"] for name in ATTENTIONS]
    result = {"task": "dates", "target": TARGET, "cell": "gru", "optimizer": "adam",
              "dtype": "float64", "machine": platform.machine(),
              "config": {k: (list(val) if isinstance(val, tuple) else val) for k, val in cfg.items()},
              "summary": summary(runs, cfg), "runs": runs}
    for name, s in result["summary"].items():
        log(f"{name:>8}: " + ", ".join(f"step {b}: {v['mean']:.3f}"
                                       for b, v in s["exact_match_at_step"].items())
            + f"; steps to {TARGET:.0%}: {s['steps_to_99']}; final {s['final_exact_match']}")
    return result


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--quick", action="store_true")
    p.add_argument("--steps", type=int, default=None)
    p.add_argument("--hidden", type=int, default=None)
    p.add_argument("--seed", type=int, default=None, help="one seed (default: 0, 1 and 2)")
    p.add_argument("--out", default=None, help=f"the JSON file (default {OUT}; --quick: none)")
    args = p.parse_args(argv)
    cfg = dict(QUICK if args.quick else FULL)
    for key in ("steps", "hidden"):
        if getattr(args, key) is not None:
            cfg[key] = getattr(args, key)
    if args.seed is not None:
        cfg["seeds"] = (args.seed,)
    result = run(cfg)
    out = args.out or (None if args.quick else OUT)
    if out:
        pathlib.Path(out).parent.mkdir(parents=True, exist_ok=True)
        pathlib.Path(out).write_text(json.dumps(result, indent=1) + "\n", encoding="utf-8")
        print(f"written to {out}")
    return result


if __name__ == "__main__":
    main()
