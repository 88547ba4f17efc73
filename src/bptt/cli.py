"""The `bptt` command line: each subcommand maps onto one library function.

Usage and data errors exit with status 2 and a one- or two-line message on stderr; --debug shows
the traceback instead.
"""
from __future__ import annotations

import argparse
import sys


def _demo(args):
    from .demo import run_quick_demo
    run_quick_demo(steps=args.steps, seed=args.seed)
    return 0


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="bptt", description="Recurrent neural networks with explicit, "
                                "exact and visible back-propagation through time.")
    p.add_argument("--debug", action="store_true", help="show tracebacks")
    sub = p.add_subparsers(dest="command", metavar="COMMAND")
    d = sub.add_parser("demo", help="gradient check and a small training run")
    d.add_argument("--steps", type=int, default=400)
    d.add_argument("--seed", type=int, default=0)
    d.set_defaults(func=_demo)
    return p


def main(argv=None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help(sys.stderr)
        return 2
    try:
        return args.func(args)
    except (ValueError, TypeError, OSError) as e:
        if args.debug:
            raise
        print(f"bptt {args.command}: error: {e}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
