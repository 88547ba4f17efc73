"""The work behind each `bptt` subcommand: library calls, with messages for people."""
from __future__ import annotations

import json
import math
import os
import tempfile
from pathlib import Path

from ..data.chardata import CharData
from ..data import DataError, builtin_corpus, load_text
from ..io.saving import load_model


class UsageError(ValueError):
    """A bad argument: exit status 2."""


def check_writable_dir(path) -> Path:
    out = Path(path)
    try:
        out.mkdir(parents=True, exist_ok=True)
        fd, probe = tempfile.mkstemp(dir=out, prefix=".write-test-")
        os.close(fd)
        os.unlink(probe)
    except OSError as e:
        raise UsageError(f"--out {out}: cannot write there ({e.strerror or e}).") from None
    return out


# The options of one cell: (argument, its config key, the model kind it belongs to).
CELL_OPTIONS = (("activation", "activation", "rnn"), ("peepholes", "peepholes", "lstm"),
                ("forget_bias", "forget_bias", "lstm"), ("reset", "reset", "gru"))


def cell_options(args) -> dict:
    """The config entries of `bptt train`'s cell options; an option of another cell is refused."""
    config = {}
    for arg, key, kind in CELL_OPTIONS:
        value = getattr(args, arg, None)
        if value is None or value is False:                 # not given (0.0 is a value)
            continue
        if args.model != kind:
            flag = arg.replace("_", "-")
            raise UsageError(f"--{flag} applies to --model {kind}, not --model {args.model}.")
        config[key] = value
    return config


def training_data(args, out_dir):
    """(data, a description): a prepared corpus (--data), FILES encoded once into a memory-mapped
    cache beside the run (DIR/corpus/, reused while the files are unchanged), or the built-in
    corpus in memory."""
    from ..data.tokens import open_corpus
    from ..io.corpus import cached_corpus
    data_dir = getattr(args, "data", None)
    if data_dir and args.files:
        raise UsageError("give either FILES or --data DATA, not both.")
    if data_dir:
        return open_corpus(data_dir, val_fraction=args.val_fraction), f"the prepared corpus {data_dir}"
    if args.files:
        data = cached_corpus(args.files, out_dir, encoding=args.encoding,
                             val_fraction=args.val_fraction, progress=not args.no_progress)
        return data, ", ".join(args.files)
    text = builtin_corpus(args.max_chars)
    source = f"the built-in corpus (Python's standard library source, {len(text):,} characters)"
    return CharData.from_text(text, val_fraction=args.val_fraction), source


def run_prepare(args, out=print) -> int:
    from ..io.corpus import prepare_corpus
    path = prepare_corpus(args.files, args.out, encoding=args.encoding,
                          val_fraction=args.val_fraction, progress=not args.no_progress)
    out(f"prepared corpus written to {path}; train on it with `bptt train --data {path}`")
    return 0


def run_train(args, out=print) -> int:
    if getattr(args, "task", "char") == "parity":
        return run_train_parity(args, out)
    from ..cells.registry import build_model
    from ..training.report import write_report
    from ..training.sampling import sample
    from ..training.loop import TrainConfig, train

    cfg = TrainConfig(steps=args.steps, seq_len=args.seq_len, stride=args.stride, batch=args.batch,
                      optimizer=args.optimizer, lr=args.lr, clip=args.clip, clip_mode=args.clip_mode,
                      eval_every=args.eval_every, checkpoint_every=args.checkpoint_every,
                      seed=args.seed, out=args.out, resume=args.resume,
                      overwrite=getattr(args, "overwrite", False),
                      progress=not args.no_progress).validate()
    options = cell_options(args)                         # usage errors before any data is read
    out_dir = check_writable_dir(args.out)
    data, source = training_data(args, out_dir)
    need = cfg.batch * (cfg.seq_len + 1)
    if len(data.train_ids) < need:
        raise DataError(f"The training text is too short: {len(data.train_ids)} characters after "
                        f"the validation split, but --batch {cfg.batch} streams of --seq-len "
                        f"{cfg.seq_len} + 1 need at least {need}.")
    V = data.vocab.size
    config = {"input_size": V, "hidden_size": args.hidden, "output_size": V, "dtype": args.dtype}
    config["num_layers"] = getattr(args, "layers", 1)
    config.update(options)
    model = build_model(args.model, config, seed=args.seed)
    out(f"training {model!r} on {source}: {len(data.train_ids):,} training and "
        f"{len(data.val_ids):,} validation characters")
    history = train(model, data, cfg)
    if history.interrupted:
        out(f"interrupted at step {history.step}: checkpoint saved in {out_dir}; "
            f"continue with the same command and --resume")
        return 130
    samples = [sample(model, data.vocab, 300, temperature=0.8, seed=args.seed + i) for i in range(2)]
    val_text = data.vocab.decode(data.val_ids[:41])
    report = write_report(out_dir, history, model=model, vocab=data.vocab, samples=samples,
                          flow_text=val_text)
    if history:
        last = history[-1]
        out(f"step {last['step']}: validation {last['val_bpc']:.3f} bits/char, "
            f"{last['chars_per_s']:,.0f} chars/s")
    for s in samples:
        out("--- sample ---\n" + s)
    out(f"checkpoint: {history.checkpoint}\nmetrics: {out_dir / 'metrics.jsonl'}\nreport: {report}")
    return 0


# Options of the char-LM trainer that --task parity does not take: (argument, flag, its default).
CHAR_ONLY = (("files", "FILES", []), ("data", "--data", None), ("resume", "--resume", False),
             ("stride", "--stride", None), ("seq_len", "--seq-len", 50), ("max_chars", "--max-chars", 2_000_000))


def run_train_parity(args, out=print) -> int:
    """`bptt train --task parity`: a sequence classifier (pooling="last") on bit strings of
    1..--max-len bits, accuracy on held-out strings in DIR/metrics.jsonl (bptt.training.classify)."""
    from ..cells.registry import build_model
    from ..data.synthetic import parity, string_keys
    from ..data.vocab import Vocab
    from ..training.classify import ClassifyConfig, train_classifier
    for arg, flag, default in CHAR_ONLY:
        if getattr(args, arg, default) != default:
            raise UsageError(f"{flag} applies to --task char, not --task parity.")
    if args.max_len > 62:
        raise UsageError(f"--max-len must be at most 62 for --task parity. Got {args.max_len}.")
    cfg = ClassifyConfig(steps=args.steps, batch=args.batch, optimizer=args.optimizer, lr=args.lr,
                         clip=args.clip, eval_every=args.eval_every,
                         checkpoint_every=args.checkpoint_every, seed=args.seed, out=args.out).validate()
    options = cell_options(args)
    out_dir = check_writable_dir(args.out)
    from ..io.checkpoint import checkpoint_exists
    if checkpoint_exists(out_dir) and not getattr(args, "overwrite", False):
        raise UsageError(f"--out {out_dir} holds a checkpoint: pass --overwrite to start afresh "
                         f"(--task parity does not resume).")
    config = {"input_size": 2, "hidden_size": args.hidden, "output_size": 2, "dtype": args.dtype,
              "num_layers": getattr(args, "layers", 1), **options}
    model = build_model(args.model, config, seed=args.seed)
    max_len = args.max_len
    out(f"training {model!r} on the parity of bit strings of 1..{max_len} bits")

    def task(n, rng, exclude=None):
        p = parity(n, rng, max_len=max_len, exclude=exclude)
        return p.x, p.y, p.lengths

    show = None if args.no_progress else (
        lambda r: out(f"step {r['step']}: loss {r['loss']:.4f}, held-out accuracy {r['val_accuracy']:.3f}"))
    history = train_classifier(model, task, cfg, vocab=Vocab.from_list(["0", "1"]), keys=string_keys,
                               progress=show)
    last = history[-1]
    out(f"step {last['step']}: held-out accuracy {last['val_accuracy']:.3f}, loss {last['val_loss']:.4f}"
        f"\ncheckpoint: {out_dir}\nmetrics: {out_dir / 'metrics.jsonl'}")
    return 0


def run_sample(args, out=print) -> int:
    from ..training.sampling import sample
    model, vocab, _ = load_model(args.dir)
    out(sample(model, vocab, args.length, temperature=args.temperature, prime=args.prime,
               seed=args.seed))
    return 0


def run_eval(args, out=print) -> int:
    from ..training.loop import evaluate
    model, vocab, meta = load_model(args.dir)
    text = load_text(args.files, encoding=args.encoding)
    if len(text) < 2:
        raise DataError(f"{', '.join(args.files)}: need at least 2 characters to evaluate.")
    ids = vocab.encode(text)
    max_chars = getattr(args, "max_chars", None)
    loss = evaluate(model, ids, batch=1, seq_len=100, max_chars=max_chars)   # one stream: all of it
    n = min(max_chars or len(ids), len(ids)) - 1                               # characters predicted
    if args.json:
        out(json.dumps({"loss": loss, "bpc": loss / math.log(2), "chars": n}))
    else:
        out(f"{n:,} characters predicted: loss {loss:.4f} nats/char, {loss / math.log(2):.4f} bits/char")
    return 0


def run_explain(args, out=print) -> int:
    from ..viz.explorer import explain
    model = vocab = None
    if args.model:
        model, vocab, _ = load_model(args.model)
    path = explain(args.out, model=model, vocab=vocab, input_text=args.input, seed=args.seed,
                   kind=args.kind)
    out(f"explorer written to {path}")
    return 0


def run_lab(args, out=print) -> int:
    from ..viz.lab import lab
    model = vocab = None
    if args.model:
        model, vocab, _ = load_model(args.model)
    path = lab(args.out, model=model, vocab=vocab, input_text=args.input, seed=args.seed,
               kind=args.kind)
    out(f"lab written to {path}; open it in a browser (no server needed)")
    return 0


def run_figures(args, out=print) -> int:
    from ..viz import save_demo_figures
    out_dir = check_writable_dir(args.out)
    for name, path in save_demo_figures(out_dir, seed=args.seed).items():
        out(f"{name}: {path}")
    return 0
