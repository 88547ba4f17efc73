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
                                   "--task parity or brackets, a sequence classifier (one class "
                                   "per string, trained by full BPTT: --seq-len, --stride, FILES "
                                   "and --data do not apply).")
    t.add_argument("files", nargs="*", metavar="FILES")
    t.add_argument("--task", choices=["char", "parity", "brackets", "reverse", "addition", "dates"],
                   default="char",
                   help="char: a character-level language model (default); parity: the parity "
                        "of bit strings of 1..--max-len bits; brackets: whether a string of "
                        "2..--max-len brackets is balanced — one class per string")
    t.add_argument("--max-len", type=_positive_int, default=None,
                   help="--task parity or brackets: the longest string (default 10 for parity, "
                        "at most 62; 20 for brackets, even)")
    t.add_argument("--kinds", type=int, choices=[1, 2], default=None,
                   help="--task brackets: 1 kind of bracket, () (default), or 2, () and []")
    t.add_argument("--pooling", choices=["last", "mean"], default=None,
                   help="--task parity or brackets: score the last real step's output (default) "
                        "or the mean of the outputs over the real steps")
    t.add_argument("--bidirectional", action="store_true",
                   help="--task parity or brackets: a bidirectional model, which reads the whole "
                        "string both ways (a char-LM cannot be: it would read what it predicts)")
    t.add_argument("--out", required=True, metavar="DIR", help="checkpoints, metrics and report")
    t.add_argument("--model", choices=["rnn", "lstm", "gru", "seq2seq"], default="rnn",
                   help="seq2seq: an encoder-decoder trained on --task reverse|addition|dates "
                        "(string reversal, addition, date normalisation) or --pairs FILE.tsv")
    t.add_argument("--pairs", metavar="FILE.tsv", default=None,
                   help="--model seq2seq: one source<TAB>target pair a line (--val-fraction of "
                        "them held out for the exact match)")
    t.add_argument("--cell", choices=["gru", "lstm", "rnn"], default=None,
                   help="--model seq2seq: the encoder's and decoder's cell (default gru)")
    t.add_argument("--attention", choices=["none", "dot", "general", "additive"], default=None,
                   help="--model seq2seq: the attention's score (default additive; none: the "
                        "context is the encoder's last state)")
    t.add_argument("--bidirectional-encoder", action="store_true",
                   help="--model seq2seq: read the source in both directions")
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
    t.add_argument("--seq-len", type=_positive_int, default=None,
                   help="k2: steps back-propagated (default 50; --task char only)")
    t.add_argument("--stride", type=_positive_int, default=None,
                   help="k1: new steps per update (default --seq-len; --task char only)")
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
    s = sub.add_parser("sample", help="sample text from a trained model",
                       description="Continue --prime with --length characters: drawn (the "
                                   "default: --temperature, --top-k, --top-p, --seed), the most "
                                   "probable one by one (--greedy), or by beam search (--beam).")
    s.add_argument("dir", metavar="DIR")
    s.add_argument("--length", type=_positive_int, default=500)
    s.add_argument("--temperature", type=_positive_float, default=None,
                   help="sampling: softmax(o / T) (default 0.8)")
    s.add_argument("--top-k", type=_positive_int, default=None, metavar="K",
                   help="sampling: draw from the K most probable characters only")
    s.add_argument("--top-p", type=_number(float, lambda v: 0 < v <= 1, "a number in (0, 1]"),
                   default=None, metavar="P",
                   help="sampling: draw from the smallest set of most probable characters whose "
                        "probability reaches P (nucleus sampling)")
    s.add_argument("--prime", default="")
    s.add_argument("--seed", type=_seed, default=0)
    how = s.add_mutually_exclusive_group()
    how.add_argument("--greedy", action="store_true",
                     help="the most probable character at each step (needs --prime)")
    how.add_argument("--beam", type=_positive_int, default=None, metavar="K",
                     help="beam search of width K (needs --prime); prints the --n-best best texts, "
                          "one a line: the log-probability of the continuation, a tab, the text "
                          "(prime + continuation) as a JSON string")
    s.add_argument("--n-best", type=_positive_int, default=None, metavar="N",
                   help="--beam: how many of the best texts to print (default 1, at most K)")
    s.set_defaults(func="run_sample")
    e = sub.add_parser("eval", help="loss and bits per character on text files, or a "
                                    "classifier's accuracy on fresh strings of its task",
                       description="A character model (bptt train --task char): its loss on "
                                   "FILES. A classifier (--task parity or brackets): its accuracy "
                                   "and loss on fresh strings of its task (no FILES).")
    e.add_argument("dir", metavar="DIR")
    e.add_argument("files", nargs="*", metavar="FILES")
    e.add_argument("--json", action="store_true")
    e.add_argument("--encoding", default="utf-8")
    e.add_argument("--max-chars", type=_number(int, lambda v: v >= 2, "a whole number >= 2"), default=None,
                   help="evaluate only the first N characters (default: the whole text)")
    e.add_argument("--strings", type=_positive_int, default=None,
                   help="a classifier: how many fresh strings (default 1000)")
    e.add_argument("--max-len", type=_positive_int, default=None,
                   help="a classifier: the longest string (default the run's; longer strings "
                        "than it trained on test generalisation)")
    e.add_argument("--seed", type=_seed, default=None,
                   help="a classifier: the fresh strings' seed (default 0; drawn apart from "
                        "training's and the held-out set's streams)")
    e.set_defaults(func="run_eval")
    tr = sub.add_parser("translate", help="run a sequence-to-sequence model on texts",
                        description="Print the output of the model in DIR (trained by `bptt train "
                                    "--model seq2seq`) for each input, one a line: the TEXT "
                                    "arguments, the lines of --file, or the lines of stdin.")
    tr.add_argument("dir", metavar="DIR")
    tr.add_argument("texts", nargs="*", metavar="TEXT")
    tr.add_argument("--file", metavar="FILE", default=None, help="translate each line of FILE")
    tr.add_argument("--beam", type=_positive_int, default=None, metavar="K",
                    help="the best of a beam search of width K (default: greedy)")
    tr.add_argument("--max-len", type=_positive_int, default=None, metavar="N",
                    help="the longest output in characters (default 2 * len(text) + 10)")
    tr.add_argument("--encoding", default="utf-8", help="--file's encoding")
    tr.set_defaults(func="run_translate")
    pr = sub.add_parser("prepare", help="encode text files once into a memory-mapped token file",
                        description="Stream FILES into DATA/tokens.bin (uint8/16/32 ids) and "
                                    "DATA/corpus.json; `bptt train --data DATA` reads it.")
    pr.add_argument("files", nargs="+", metavar="FILES")
    pr.add_argument("--out", required=True, metavar="DATA")
    pr.add_argument("--encoding", default="utf-8")
    pr.add_argument("--val-fraction", type=_fraction, default=0.1)
    pr.add_argument("--no-progress", action="store_true")
    pr.set_defaults(func="run_prepare")
    x = sub.add_parser("explain", help="write the interactive BPTT explorer page",
                       description="Write the explorer of one forward + BPTT pass of a tiny "
                                   "built-in model (or of --model DIR) reading TEXT. Besides the "
                                   "SimpleRNN, LSTM and GRU: --bidirectional (both chains, a "
                                   "selectable loss term), --kind output-rnn --mode teacher|free "
                                   "(output recurrence: teacher forcing or free running) and "
                                   "--kind seq2seq (an encoder-decoder stepped through one pair, "
                                   "forward and back; --model DIR of `bptt train --model seq2seq`).")
    x.add_argument("--model", metavar="DIR")
    x.add_argument("--input", metavar="TEXT")
    x.add_argument("--seed", type=_seed, default=0)
    x.add_argument("--kind", choices=("rnn", "lstm", "gru", "output-rnn", "seq2seq"), default=None,
                   help="the built-in model's kind (a --model DIR knows its own); output-rnn: "
                        "the output-recurrent OutputRNN, a(t) = b + W f(t-1) + U x(t); seq2seq: "
                        "an encoder-decoder trained in a few seconds to reverse strings of 1-8 "
                        "letters a-j (--input, default 'badge', its target the reversal)")
    x.add_argument("--cell", choices=("rnn", "lstm", "gru"), default=None,
                   help="--kind seq2seq: the built-in model's cell (default gru)")
    x.add_argument("--attention", choices=("none", "dot", "general", "additive"), default=None,
                   help="--kind seq2seq: the built-in model's attention (default additive; none: "
                        "the context is the encoder's final state)")
    x.add_argument("--bidirectional", action="store_true",
                   help="the built-in rnn, lstm or gru with bidirectional=True; it tags each "
                        "character of TEXT by whether the next one is a vowel")
    x.add_argument("--mode", choices=("teacher", "free"), default=None,
                   help="--kind output-rnn: feed back the true previous output (teacher forcing, "
                        "the default) or the model's own (free running)")
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
