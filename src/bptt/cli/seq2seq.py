"""`bptt train --model seq2seq` and `bptt translate`: the command functions of sequence-to-sequence
models (`bptt.training.seq2seq`), kept apart from commands.py, which dispatches to them.

    bptt train --model seq2seq --task dates --attention additive --hidden 64 --out runs/dates
    bptt train --model seq2seq --pairs pairs.tsv --out runs/mine      # source<TAB>target lines
    bptt translate runs/dates "30 Nov 2026" "11/30/26"                # one output a line
    bptt translate runs/dates --file dates.txt --beam 5               # or lines on stdin

A built-in task draws TASK_PAIRS pairs with --seed; a pairs file gives its own. Either way
--val-fraction of the distinct sources (a tenth by default) is held out for the exact match in
DIR/metrics.jsonl, and the vocabularies are built from all the pairs. Options of the character
models and classifiers (FILES, --data, --seq-len, --stride, --max-chars, --max-len, --kinds,
--pooling, --bidirectional, --clip-mode and the cell options --activation, --peepholes, --reset,
--forget-bias) are usage errors here, as the seq2seq options (--task reverse|addition|dates,
--pairs, --cell, --attention, --bidirectional-encoder) are without --model seq2seq. Errors exit
with status 2.
"""
from __future__ import annotations

import sys
import warnings

from ..data.seq2seq_tasks import SEQ2SEQ_TASKS

TASK_PAIRS = 10_000          # pairs drawn for a built-in task
SHOWN = 3                    # held-out translations printed at the end of training
REPORTED = 20                # held-out translations in DIR/report.html

# Options of seq2seq alone: (argument, flag, the value when not given).
SEQ2SEQ_ONLY = (("pairs", "--pairs", None), ("cell", "--cell", None),
                ("attention", "--attention", None),
                ("bidirectional_encoder", "--bidirectional-encoder", False))
# Options of the character models and classifiers that seq2seq does not take.
NOT_SEQ2SEQ = (("files", "FILES", []), ("data", "--data", None), ("seq_len", "--seq-len", None),
               ("stride", "--stride", None), ("max_chars", "--max-chars", 2_000_000),
               ("max_len", "--max-len", None), ("kinds", "--kinds", None),
               ("pooling", "--pooling", None), ("bidirectional", "--bidirectional", False),
               ("clip_mode", "--clip-mode", "norm"), ("activation", "--activation", None),
               ("peepholes", "--peepholes", False), ("reset", "--reset", None),
               ("forget_bias", "--forget-bias", None))


class Seq2SeqUsageError(ValueError):
    """A bad combination of `bptt train` or `bptt translate` arguments: exit status 2."""


def wants_seq2seq(args) -> bool:
    """Whether `bptt train`'s arguments ask for a Seq2Seq (--model seq2seq); a seq2seq task or
    option without it is a usage error."""
    if args.model == "seq2seq":
        return True
    task = getattr(args, "task", "char")
    if task in SEQ2SEQ_TASKS:
        raise Seq2SeqUsageError(f"--task {task} trains a sequence-to-sequence model: add --model "
                                f"seq2seq (not --model {args.model}).")
    for arg, flag, default in SEQ2SEQ_ONLY:
        if getattr(args, arg, default) != default:
            raise Seq2SeqUsageError(f"{flag} applies to --model seq2seq, not --model {args.model}.")
    return False


def _pairs(args):
    """(pairs, what they are as JSON, a description) from --task or --pairs."""
    from ..data.pairs import read_pairs
    from ..data.seq2seq_tasks import task_pairs
    task = getattr(args, "task", "char")
    if args.pairs is not None and task != "char":
        raise Seq2SeqUsageError(f"give either --task {task} or --pairs FILE, not both.")
    if args.pairs is not None:
        pairs = read_pairs(args.pairs, encoding=args.encoding)
        return pairs, {"pairs": str(args.pairs), "count": len(pairs)}, f"the pairs of {args.pairs}"
    if task not in SEQ2SEQ_TASKS:
        raise Seq2SeqUsageError(f"--model seq2seq needs --task {'|'.join(SEQ2SEQ_TASKS)} or "
                                f"--pairs FILE.tsv (one source<TAB>target pair a line); --task "
                                f"{task} is not a sequence-to-sequence task.")
    pairs = task_pairs(task, TASK_PAIRS, seed=args.seed)
    return (pairs, {"task": task, "count": TASK_PAIRS, "seed": args.seed},
            f"{TASK_PAIRS:,} pairs of the task {task!r}")


def run_train_seq2seq(args, out=print) -> int:
    """`bptt train --model seq2seq`: train a Seq2Seq on a built-in task or a pairs file, with
    checkpoints, resume and the held-out exact match in DIR/metrics.jsonl."""
    from ..cells.seq2seq import Seq2Seq
    from ..data.pairs import PairVocab, split_pairs
    from ..training.seq2seq import Seq2SeqConfig, train_seq2seq, translate
    from ..training.seq2seq_report import write_seq2seq_report
    for arg, flag, default in NOT_SEQ2SEQ:
        if getattr(args, arg, default) != default:
            raise Seq2SeqUsageError(f"{flag} applies to the character models and classifiers, "
                                    f"not to --model seq2seq.")
    cfg = Seq2SeqConfig(steps=args.steps, batch=args.batch, optimizer=args.optimizer, lr=args.lr,
                        clip=args.clip, eval_every=args.eval_every,
                        checkpoint_every=args.checkpoint_every, seed=args.seed, out=args.out,
                        resume=args.resume, overwrite=getattr(args, "overwrite", False)).validate()
    pairs, data, source = _pairs(args)
    train, val = split_pairs(pairs, val_fraction=args.val_fraction, seed=args.seed)
    data.update(train=len(train), held_out=len(val))
    src_vocab = PairVocab.from_texts(s for s, _ in train + val)
    tgt_vocab = PairVocab.from_texts(t for _, t in train + val)
    attention = {None: "additive", "none": None}.get(args.attention, args.attention)
    model = Seq2Seq(src_vocab.size, tgt_vocab.size, args.hidden, cell=args.cell or "gru",
                    attention=attention, bidirectional_encoder=args.bidirectional_encoder,
                    num_layers=getattr(args, "layers", 1), dtype=args.dtype, seed=args.seed)
    out(f"training {model!r} on {source}: {len(train):,} training and {len(val):,} held-out pairs")
    show = None if args.no_progress else (
        lambda r: out(f"step {r['step']}: loss {r['loss']:.4f}, held-out exact match "
                      f"{r['exact_match']:.3f}"))
    history = train_seq2seq(model, train, val, src_vocab, tgt_vocab, cfg, show, data=data)
    if history.interrupted:
        out(f"interrupted at step {history.step}: checkpoint saved in {args.out}; continue with "
            f"the same command and --resume")
        return 130
    if history:
        last = history[-1]
        out(f"step {last['step']}: held-out exact match {last['exact_match']:.3f}, loss "
            f"{last['val_loss']:.4f}")
    shown = val[:REPORTED]
    examples = [(s, t, got) for (s, t), got in
                zip(shown, translate(model, src_vocab, tgt_vocab, [s for s, _ in shown]))]
    for s, t, got in examples[:SHOWN]:
        out(f"{s!r} -> {got!r} (target {t!r})")
    report = write_seq2seq_report(args.out, history, model=model, src_vocab=src_vocab,
                                  tgt_vocab=tgt_vocab, examples=examples)
    out(f"checkpoint: {args.out}\nmetrics: {args.out}/metrics.jsonl\nreport: {report}\n"
        f"translate with: bptt translate {args.out} TEXT")
    return 0


def _texts(args) -> list:
    """The inputs of `bptt translate`: TEXT arguments, the lines of --file, or stdin's lines."""
    if args.texts:
        return list(args.texts)
    if args.file is not None:
        from ..data.text import read_text_file
        texts = read_text_file(args.file, args.encoding).splitlines()
        where = f"--file {args.file}"
    else:
        texts = sys.stdin.read().splitlines()
        where = "stdin"
    if not texts:
        raise Seq2SeqUsageError(f"nothing to translate: {where} has no lines (give TEXT arguments, "
                                f"--file FILE, or lines on stdin).")
    return texts


def run_translate(args, out=print) -> int:
    """`bptt translate DIR [TEXT ...] [--file FILE] [--beam K] [--max-len N]`: one output a line
    for each input; greedy, or the best of a beam search of width K."""
    from ..io.seq2seq_saving import load_seq2seq
    from ..training.seq2seq import translate
    if args.texts and args.file is not None:
        raise Seq2SeqUsageError("give TEXT arguments or --file FILE, not both.")
    model, src_vocab, tgt_vocab, meta = load_seq2seq(args.dir)       # before waiting on stdin
    texts = _texts(args)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        outputs = translate(model, src_vocab, tgt_vocab, texts, beam=args.beam,
                            max_len=args.max_len, longest_source=meta.get("longest_source"))
    for w in caught:
        print(f"bptt translate: warning: {w.message}", file=sys.stderr)
    for text in outputs:
        out(text)
    return 0


def load_char_model(directory):
    """`bptt.io.saving.load_model` (model, vocab, meta) for `bptt sample`, `eval`, `explain` and
    `lab`, which refuses a sequence-to-sequence run saying what it holds."""
    from ..io.checkpoint import CheckpointError
    from ..io.saving import load_model
    from ..io.seq2seq_saving import describe, holds_seq2seq, newest_meta
    try:
        return load_model(directory)
    except CheckpointError:
        if not holds_seq2seq(directory):
            raise
    raise Seq2SeqUsageError(f"{directory} holds {describe(newest_meta(directory))}, not a "
                            f"character-level model: run it with `bptt translate {directory} TEXT`.")
