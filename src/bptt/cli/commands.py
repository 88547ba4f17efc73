"""The work behind each `bptt` subcommand: library calls, with messages for people."""
from __future__ import annotations

import json
import math
import os
import tempfile
from pathlib import Path

from ..data.chardata import CharData
from ..data import DataError, builtin_corpus, load_text
from .seq2seq import load_char_model as load_model  # io.saving's; a seq2seq run is refused
from .seq2seq import run_train_seq2seq, run_translate, wants_seq2seq  # noqa: F401 (dispatch)


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
    if wants_seq2seq(args):                              # --model seq2seq: bptt.cli.seq2seq
        return run_train_seq2seq(args, out)
    if getattr(args, "task", "char") != "char":
        return run_train_task(args, out)
    for arg, flag, default in TASK_ONLY:
        if getattr(args, arg, default) != default:
            why = (": a character language model predicts x(t+1), which a bidirectional model's "
                   "backward direction reads" if arg == "bidirectional" else "")
            raise UsageError(f"{flag} applies to --task parity or brackets, not --task char{why}.")
    from ..cells.registry import build_model
    from ..training.report import write_report
    from ..training.sampling import sample
    from ..training.loop import TrainConfig, train

    seq_len = 50 if args.seq_len is None else args.seq_len
    cfg = TrainConfig(steps=args.steps, seq_len=seq_len, stride=args.stride, batch=args.batch,
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


# Options of the char-LM trainer that a classification task does not take: (argument, flag,
# its default). A classifier is trained by full BPTT on whole strings: no TBPTT windows.
CHAR_ONLY = (("files", "FILES", []), ("data", "--data", None), ("stride", "--stride", None),
             ("seq_len", "--seq-len", None), ("max_chars", "--max-chars", 2_000_000),
             ("val_fraction", "--val-fraction", 0.1), ("encoding", "--encoding", "utf-8"))
# ... and the options of classification tasks that --task char does not take.
TASK_ONLY = (("max_len", "--max-len", None), ("kinds", "--kinds", None),
             ("pooling", "--pooling", None), ("bidirectional", "--bidirectional", False))


def classify_task(name, max_len, kinds, where="--task"):
    """The built-in task (bptt.training.classify.make_task), its options checked as usage errors."""
    from ..training.classify import make_task
    if name == "parity" and kinds is not None:
        raise UsageError(f"--kinds applies to --task brackets, not {where} parity.")
    if name == "parity" and max_len is not None and max_len > 62:
        raise UsageError(f"--max-len must be at most 62 for {where} parity. Got {max_len}.")
    if name == "brackets" and max_len is not None and (max_len < 2 or max_len % 2):
        raise UsageError(f"--max-len must be even and at least 2 for {where} brackets (an odd "
                         f"string is never balanced). Got {max_len}.")
    return make_task(name, max_len=max_len, kinds=kinds)


def run_train_task(args, out=print) -> int:
    """`bptt train --task parity|brackets`: a sequence classifier (--pooling last or mean) on
    the task's strings, accuracy on held-out strings in DIR/metrics.jsonl, checkpoints that
    --resume continues, and DIR/report.html (bptt.training.classify)."""
    import numpy as np
    from ..cells.registry import build_model
    from ..data.vocab import Vocab
    from ..training.classify import ClassifyConfig, predictions, train_classifier
    from ..training.report import write_report
    for arg, flag, default in CHAR_ONLY:
        if getattr(args, arg, default) != default:
            raise UsageError(f"{flag} applies to --task char, not --task {args.task} (a classifier "
                             f"is trained by full BPTT on whole strings of its task).")
    task = classify_task(args.task, args.max_len, args.kinds)
    cfg = ClassifyConfig(steps=args.steps, batch=args.batch, optimizer=args.optimizer, lr=args.lr,
                         clip=args.clip, clip_mode=args.clip_mode, pooling=args.pooling or "last",
                         eval_every=args.eval_every, checkpoint_every=args.checkpoint_every,
                         seed=args.seed, out=args.out, resume=args.resume,
                         overwrite=args.overwrite).validate()
    options = cell_options(args)
    out_dir = check_writable_dir(args.out)
    V = len(task.symbols)
    config = {"input_size": V, "hidden_size": args.hidden, "output_size": 2, "dtype": args.dtype,
              "num_layers": args.layers, **options}
    if args.bidirectional:
        config["bidirectional"] = True
    model = build_model(args.model, config, seed=args.seed)
    out(f"training {model!r} on {task.description}")
    show = None if args.no_progress else (
        lambda r: out(f"step {r['step']}: loss {r['loss']:.4f}, held-out accuracy {r['val_accuracy']:.3f}"))
    history = train_classifier(model, task.draw, cfg, vocab=Vocab.from_list(list(task.symbols)),
                               keys=task.keys, progress=show, task_meta=task.meta)
    if history.interrupted:
        out(f"interrupted at step {history.step}: checkpoint saved in {out_dir}; "
            f"continue with the same command and --resume")
        return 130
    x, y, lengths = task.draw(8, np.random.default_rng([args.seed, 3]))
    report = write_report(out_dir, history, model=model, vocab=Vocab.from_list(list(task.symbols)),
                          samples=["\n".join(predictions(model, task, x, y, lengths, cfg.pooling))],
                          samples_title="Predictions on fresh strings",
                          title=f"bptt training report: {task.description}",
                          classifier=(x[:, :1], y[:1], lengths[:1]))
    if history:
        last = history[-1]
        out(f"step {last['step']}: held-out accuracy {last['val_accuracy']:.3f}, loss {last['val_loss']:.4f}")
    out(f"checkpoint: {out_dir}\nmetrics: {out_dir / 'metrics.jsonl'}\nreport: {report}")
    return 0


def run_sample(args, out=print) -> int:
    from .. import decode
    from ..training.sampling import lm_stepper, sample
    beam, greedy, n_best = args.beam, args.greedy, args.n_best
    mode = "--greedy" if greedy else f"--beam {beam}" if beam else None
    if mode:
        given = [f for f, a in (("--temperature", "temperature"), ("--top-k", "top_k"),
                                ("--top-p", "top_p")) if getattr(args, a) is not None]
        if given:
            raise UsageError(f"{given[0]} applies to sampling, not to {mode}.")
        if not args.prime:
            raise UsageError(f"{mode} needs --prime TEXT (at least one character): without one "
                             f"the first character has no model probabilities to choose by.")
    if n_best is not None and not beam:
        raise UsageError("--n-best applies to --beam.")
    if beam and n_best is not None and n_best > beam:
        raise UsageError(f"--n-best {n_best} is more than the beam keeps: use --n-best <= --beam {beam}.")
    model, vocab, _ = load_model(args.dir)
    if not mode:
        temperature = 0.8 if args.temperature is None else args.temperature
        out(sample(model, vocab, args.length, temperature=temperature, prime=args.prime,
                   seed=args.seed, top_k=args.top_k, top_p=args.top_p))
        return 0
    stepper = lm_stepper(model, vocab, args.prime, "bptt sample")
    if greedy:
        out(args.prime + vocab.decode(list(decode.greedy(stepper, max_len=args.length).tokens)))
        return 0
    for h in decode.beam_search(stepper, width=beam, max_len=args.length, n_best=n_best or 1):
        out(f"{h.logprob:.6f}\t{json.dumps(args.prime + vocab.decode(list(h.tokens)), ensure_ascii=False)}")
    return 0


def run_eval(args, out=print) -> int:
    from ..training.loop import evaluate
    model, vocab, meta = load_model(args.dir)
    data = meta.get("data")
    if isinstance(data, dict) and data.get("task") == "classify":
        return run_eval_classifier(args, model, data, out)
    given = [f for f, a in (("--strings", "strings"), ("--max-len", "max_len"), ("--seed", "seed"))
             if getattr(args, a, None) is not None]
    if given:
        raise UsageError(f"{given[0]} applies to a classifier's run (--task parity or brackets); "
                         f"{args.dir} holds a character model, evaluated on FILES.")
    if not args.files:
        raise UsageError(f"{args.dir} holds a character model: give FILES, the text to evaluate "
                         f"it on.")
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


def run_eval_classifier(args, model, data, out=print) -> int:
    """`bptt eval DIR` on a classifier's run: accuracy and loss on --strings fresh strings of
    its task, drawn from the stream [--seed, 2] (training draws from [seed, 0], the held-out
    set from [seed, 1])."""
    import numpy as np
    from ..training.classify import evaluate_classifier
    if args.files or args.max_chars is not None:
        flag = "FILES" if args.files else "--max-chars"
        raise UsageError(f"{flag} applies to a character model; {args.dir} holds a sequence "
                         f"classifier, evaluated on fresh strings of its task (--strings, "
                         f"--max-len, --seed).")
    dataset = data.get("dataset")
    if not isinstance(dataset, dict) or dataset.get("name") not in ("parity", "brackets"):
        raise UsageError(f"{args.dir}: the checkpoint does not say which task the classifier was "
                         f"trained on (it was made by an older bptt); train it again.")
    name, max_len = dataset["name"], dataset.get("max_len")
    if isinstance(max_len, bool) or not isinstance(max_len, int) or not 1 <= max_len <= 10_000:
        raise UsageError(f"{args.dir}: the checkpoint's task {dataset!r} is not one bptt draws: "
                         f"its max_len must be an int in 1..10000.")
    max_len = max_len if args.max_len is None else args.max_len
    task = classify_task(name, max_len, dataset.get("kinds"), where="the run's task")
    n, seed = args.strings or 1000, args.seed or 0
    x, y, lengths = task.draw(n, np.random.default_rng([seed, 2]))
    pooling = data.get("pooling", "last")
    loss, accuracy = evaluate_classifier(model, x, y, lengths, pooling=pooling)
    if args.json:
        out(json.dumps({"accuracy": accuracy, "loss": loss, "strings": n, "task": task.meta,
                        "pooling": pooling}))
    else:
        out(f"{n:,} fresh strings, {task.description}: accuracy {accuracy:.4f}, loss {loss:.4f} "
            f"nats per string (pooling {pooling!r})")
    return 0


def run_explain(args, out=print) -> int:
    from ..viz.explorer import explain
    kind, mode, bidirectional = args.kind, getattr(args, "mode", None), getattr(args, "bidirectional", False)
    if mode is not None and kind != "output-rnn":
        raise UsageError(f"--mode is for the output-recurrent model: use it with --kind output-rnn "
                         f"(got --mode {mode} with "
                         f"{'--model DIR' if args.model else '--kind ' + (kind or 'rnn')}).")
    if bidirectional and kind == "output-rnn":
        raise UsageError("--bidirectional is for --kind rnn, lstm or gru: the OutputRNN has no "
                         "hidden-to-hidden recurrence to run backwards in time.")
    if bidirectional and args.model:
        raise UsageError("--bidirectional is for the built-in model; a --model DIR knows its own.")
    from ..io.seq2seq_saving import holds_seq2seq
    if kind == "seq2seq" or (kind is None and args.model and holds_seq2seq(args.model)):
        return run_explain_seq2seq(args, out)
    given = [f for f, a in (("--cell", "cell"), ("--attention", "attention")) if getattr(args, a, None)]
    if given:
        raise UsageError(f"{given[0]} is for --kind seq2seq, not "
                         f"{'--model DIR' if args.model else '--kind ' + (kind or 'rnn')}.")
    model = vocab = None
    if args.model:
        model, vocab, _ = load_model(args.model)
    path = explain(args.out, model=model, vocab=vocab, input_text=args.input, seed=args.seed,
                   kind="output_rnn" if kind == "output-rnn" else kind,
                   bidirectional=bidirectional, mode=mode)
    out(f"explorer written to {path}")
    return 0


def run_explain_seq2seq(args, out=print) -> int:
    """`bptt explain --kind seq2seq`: the built-in model, trained here with Adam, on --input and its
    reversal, or --model DIR on --input and its greedy translation (bptt.viz.seq2seq_explorer)."""
    from ..viz import seq2seq_explorer as s2s
    cell, attention = getattr(args, "cell", None), getattr(args, "attention", None)
    if getattr(args, "bidirectional", False):
        raise UsageError("--bidirectional is for --kind rnn, lstm or gru; a seq2seq model's encoder "
                         "is bidirectional when it was trained so (--bidirectional-encoder).")
    if args.model:
        from ..io.seq2seq_saving import load_seq2seq
        if cell or attention:
            raise UsageError(f"{'--cell' if cell else '--attention'} is for the built-in seq2seq "
                             f"model; a --model DIR knows its own.")
        if args.input is None:
            raise UsageError("--model DIR with a seq2seq model needs --input TEXT, the source to "
                             "translate.")
        model, src_vocab, tgt_vocab, meta = load_seq2seq(args.model)
        path = s2s.explain_seq2seq(args.out, model, src_vocab, tgt_vocab, input_text=args.input,
                                   trained=f"{meta.get('step', 0)} training steps, from {args.model}")
    else:
        from ..training.optim import Adam
        path = s2s.explain_builtin(args.out, input_text=args.input, cell=cell or "gru",
                                   attention={None: "additive", "none": None}.get(attention, attention),
                                   seed=args.seed, optimizer=Adam(lr=s2s.BUILTIN_LR))
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
