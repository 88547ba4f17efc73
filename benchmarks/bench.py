"""Forward + full BPTT, training steps and a min-char-rnn-style loop: bptt against PyTorch.

    python benchmarks/bench.py                       # all configurations, 1 and 2 threads
    python benchmarks/bench.py --threads 1 --json benchmarks/results.json
    python benchmarks/bench.py --configs rnn-T50-B32-V65-H256 --seconds 5

The same as `bptt bench`; what is timed and how is described in `bptt.bench.runner` (its docstring is
also written into the JSON under "definitions"). Results go into benchmarks/RESULTS.md by hand.
"""
import sys

from bptt.bench.runner import main

if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
