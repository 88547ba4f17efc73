"""The `bptt` command line: each subcommand maps onto library functions (`bptt.cli.parser.commands`).

Usage and data errors exit with status 2 and a short message on stderr (no traceback; --debug
shows it). A training run that diverges exits with status 1; Ctrl-C saves a checkpoint and exits
with 130.
"""
from __future__ import annotations

import argparse
import sys


class _Parser(argparse.ArgumentParser):
    """Usage errors in two lines (what is wrong, where to look), exit status 2."""

    def error(self, message):
        self.exit(2, f"{self.prog}: error: {message}\nTry '{self.prog} --help' for usage.\n")


def _number(convert, accept, expected):
    """An argparse type: text → convert(text), refused unless accept(value), with a message
    saying what was expected and what was given."""
    def parse(text):
        try:
            value = convert(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected {expected}, got {text!r}") from None
        if not accept(value):
            raise argparse.ArgumentTypeError(f"expected {expected}, got {text}")
        return value
    return parse


_positive_int = _number(int, lambda v: v >= 1, "a whole number >= 1")
_seed = _number(int, lambda v: v >= 0, "a whole number >= 0")
_positive_float = _number(float, lambda v: 0 < v < float("inf"), "a finite number > 0")
_fraction = _number(float, lambda v: 0 < v < 1, "a number in (0, 1)")
_finite_float = _number(float, lambda v: abs(v) < float("inf"), "a finite number")


def _add_train(sub):
    t = sub.add_parser("train", help="train a character-level model or a sequence classifier",
                       description="Train on FILES (or, with none, the built-in corpus); with "
                                   "--task parity, a classifier of bit strings' parity.")
    t.add_argument("files", nargs="*", metavar="FILES")
    t.add_argument("--task", choices=["char", "parity"], default="char",
                   help="char: a character-level language model (default); parity: the parity "
                        "of bit strings of 1..--max-len bits, one class per string")
    t.add_argument("--max-len", type=_positive_int, default=10,
                   help="--task parity: the longest string (default 10)")
    t.add_argument("--out", required=True, metavar="DIR", help="checkpoints, metrics and report")
    t.add_argument("--model", choices=["rnn", "lstm", "gru"], default="rnn")
    t.add_argument("--layers", type=_positive_int, default=1, help="stacked recurrent layers")
    t.add_argument("--peepholes", action="store_true", help="LSTM peephole connections")
    t.add_argument("--activation", choices=["tanh", "relu", "sigmoid", "identity"], default=None,
                   help="the SimpleRNN's g (default tanh)")
    t.add_argument("--reset", choices=["after", "before"], default=None,
                   help="the GRU's reset gate: after W_n h (PyTorch's, the default) or before")
    t.add_argument("--forget-bias", type=_finite_float, default=None,
                   help="the LSTM's initial forget-gate bias b_f (default 0, as PyTorch)")
    t.add_argument("--data", metavar="DATA", default=None,
                   help="a corpus prepared with `bptt prepare` (instead of FILES)")
    t.add_argument("--hidden", type=_positive_int, default=256)
    t.add_argument("--seq-len", type=_positive_int, default=50, help="k2: steps back-propagated")
    t.add_argument("--stride", type=_positive_int, default=None, help="k1: new steps per update")
    t.add_argument("--batch", type=_positive_int, default=32)
    t.add_argument("--steps", type=_positive_int, default=2000)
    t.add_argument("--optimizer", choices=["sgd", "momentum", "nesterov", "adagrad", "rmsprop", "adam"],
                   default="adam")
    t.add_argument("--lr", type=_positive_float, default=2e-3)
    t.add_argument("--clip", type=_positive_float, default=5.0)
    t.add_argument("--clip-mode", choices=["norm", "value", "none"], default="norm")
    t.add_argument("--eval-every", type=_positive_int, default=200)
    t.add_argument("--checkpoint-every", type=_positive_int, default=500)
    t.add_argument("--seed", type=_seed, default=0)
    t.add_argument("--dtype", choices=["float32", "float64"], default="float32")
    t.add_argument("--val-fraction", type=_fraction, default=0.1)
    t.add_argument("--max-chars", type=_positive_int, default=2_000_000,
                   help="size of the built-in corpus")
    t.add_argument("--encoding", default="utf-8")
    again = t.add_mutually_exclusive_group()
    again.add_argument("--resume", action="store_true", help="continue from DIR's last checkpoint")
    again.add_argument("--overwrite", action="store_true",
                       help="start afresh in a DIR that holds a checkpoint (removing it)")
    t.add_argument("--no-progress", action="store_true")
    t.set_defaults(func="run_train")


def build_parser() -> argparse.ArgumentParser:
    p = _Parser(prog="bptt", description="Recurrent neural networks with explicit, "
                                "exact and visible back-propagation through time.")
    p.add_argument("--debug", action="store_true", help="show tracebacks")
    sub = p.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    d = sub.add_parser("demo", help="train on the built-in corpus and write a report")
    d.add_argument("--quick", action="store_true", help="a gradient check and a small task instead")
    d.add_argument("--out", default="runs/demo", metavar="DIR")
    d.add_argument("--seconds", type=_positive_float, default=180.0)
    d.add_argument("--steps", type=_positive_int, default=400)
    d.add_argument("--seed", type=_seed, default=0)
    d.set_defaults(func="run_demo")
    _add_train(sub)
    s = sub.add_parser("sample", help="sample text from a trained model")
    s.add_argument("dir", metavar="DIR")
    s.add_argument("--length", type=_positive_int, default=500)
    s.add_argument("--temperature", type=_positive_float, default=0.8)
    s.add_argument("--prime", default="")
    s.add_argument("--seed", type=_seed, default=0)
    s.set_defaults(func="run_sample")
    e = sub.add_parser("eval", help="loss and bits per character on text files")
    e.add_argument("dir", metavar="DIR")
    e.add_argument("files", nargs="+", metavar="FILES")
    e.add_argument("--json", action="store_true")
    e.add_argument("--encoding", default="utf-8")
    e.add_argument("--max-chars", type=_number(int, lambda v: v >= 2, "a whole number >= 2"), default=None,
                   help="evaluate only the first N characters (default: the whole text)")
    e.set_defaults(func="run_eval")
    pr = sub.add_parser("prepare", help="encode text files once into a memory-mapped token file",
                        description="Stream FILES into DATA/tokens.bin (uint8/16/32 ids) and "
                                    "DATA/corpus.json; `bptt train --data DATA` reads it.")
    pr.add_argument("files", nargs="+", metavar="FILES")
    pr.add_argument("--out", required=True, metavar="DATA")
    pr.add_argument("--encoding", default="utf-8")
    pr.add_argument("--val-fraction", type=_fraction, default=0.1)
    pr.add_argument("--no-progress", action="store_true")
    pr.set_defaults(func="run_prepare")
    x = sub.add_parser("explain", help="write the interactive BPTT explorer page")
    x.add_argument("--model", metavar="DIR")
    x.add_argument("--input", metavar="TEXT")
    x.add_argument("--seed", type=_seed, default=0)
    x.add_argument("--kind", choices=("rnn", "lstm", "gru"), default=None,
                   help="the built-in model's kind (a --model DIR knows its own)")
    x.add_argument("--out", required=True, metavar="FILE.html")
    x.set_defaults(func="run_explain")
    lb = sub.add_parser("lab", help="write the BPTT lab: the explorer with controls, live training, export")
    lb.add_argument("--model", metavar="DIR", help="start from a trained one-layer model (H <= 32)")
    lb.add_argument("--input", metavar="TEXT")
    lb.add_argument("--seed", type=_seed, default=0)
    lb.add_argument("--kind", choices=("rnn", "lstm", "gru"), default=None,
                    help="the built-in model's kind (a --model DIR knows its own)")
    lb.add_argument("--out", required=True, metavar="FILE.html")
    lb.set_defaults(func="run_lab")
    b = sub.add_parser("bench", help="time bptt against PyTorch on the same work (needs torch)",
                       add_help=False)
    b.add_argument("args", nargs=argparse.REMAINDER, help="see `bptt bench --help`")
    f = sub.add_parser("figures", help="write the article's figures from a small model's real numbers")
    f.add_argument("--out", required=True, metavar="DIR")
    f.add_argument("--seed", type=_seed, default=0)
    f.set_defaults(func="run_figures")
    return p


def main(argv=None) -> int:
    argv = sys.argv[1:] if argv is None else list(argv)
    if argv[:1] == ["bench"]:                  # its own options: see bptt.bench.runner
        from ..bench.runner import main as bench_main
        try:
            return bench_main(argv[1:])
        except ImportError as e:               # an optional extra that is not installed
            if "--debug" in argv:
                raise
            print(f"bptt bench: error: {e}", file=sys.stderr)
            return 2
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help(sys.stderr)
        return 2
    from . import commands, demo
    from ..training.loop import TrainingError
    try:
        return getattr(demo if args.command == "demo" else commands, args.func)(args)
    except TrainingError as e:
        if args.debug:
            raise
        print(f"bptt {args.command}: {e}", file=sys.stderr)
        return 1
    except (ValueError, TypeError, OSError, ImportError) as e:   # usage, data and file errors,
                                                                 # and an extra not installed
        if args.debug:
            raise
        print(f"bptt {args.command}: error: {e}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"bptt {args.command}: interrupted", file=sys.stderr)
        return 130
