"""Data for recurrent networks: text → vocabulary → TBPTT batches; time series; synthetic tasks;
prepared token files read through memory maps (open_corpus) for corpora larger than memory.

Layout is time-major throughout: token batches (T, B) ints, series windows (T, N, 1) floats.
Randomness is explicit (a seed or numpy Generator). Problems with the data itself raise
`DataError`, a ValueError subclass a command-line tool maps to exit code 2.
"""
from .batching import Batch, StreamBatcher, split
from .errors import DataError
from .output_tasks import SuccessorChain, successor_chain
from .series import csv_column, windows
from .synthetic import (ADDING_BASELINE_MSE, VOWEL_ALPHABET, AddingProblem, CopyMemory,
                        VowelTagging, adding_baseline_mse, adding_problem, copy_memory,
                        vowel_tagging)
from .text import builtin_corpus, load_text
from .tokens import MappedCorpus, open_corpus, stale_reason, token_dtype
from .vocab import Vocab

__all__ = [
    "ADDING_BASELINE_MSE", "AddingProblem", "Batch", "CopyMemory", "DataError", "MappedCorpus",
    "StreamBatcher", "Vocab", "adding_baseline_mse", "adding_problem", "builtin_corpus",
    "copy_memory", "csv_column", "load_text", "open_corpus", "split", "stale_reason",
    "token_dtype", "VOWEL_ALPHABET", "VowelTagging", "vowel_tagging", "windows",
]
__all__ += ["SuccessorChain", "successor_chain"]       # output_tasks: for bptt.OutputRNN

from .synthetic import Parity, parity  # noqa: E402  (sequence classification)

__all__ += ["Parity", "parity"]

from .pairs import (BOS, EOS, PAD, PairBatch, PairVocab, batch_pairs,  # noqa: E402  (seq2seq)
                    exact_match, read_pairs, split_pairs)
from .seq2seq_tasks import (DATE_FORMATS, SEQ2SEQ_TASKS, addition_pairs,  # noqa: E402
                            date_pairs, reverse_pairs, task_pairs)

__all__ += ["BOS", "EOS", "PAD", "PairBatch", "PairVocab", "batch_pairs", "exact_match",
            "read_pairs", "split_pairs", "DATE_FORMATS", "SEQ2SEQ_TASKS", "addition_pairs",
            "date_pairs", "reverse_pairs", "task_pairs"]

from .brackets import BRACKETS, Brackets, brackets  # noqa: E402  (sequence classification)

__all__ += ["BRACKETS", "Brackets", "brackets"]
