"""The `bptt` command line: the argument parser (`parser`), the work behind each subcommand
(`commands`) and the demo (`demo`). `bptt.cli.main` is the console script's entry point."""
from .parser import build_parser, main

__all__ = ["build_parser", "main"]
