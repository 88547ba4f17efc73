"""Decoding sequences from any model that follows the stepper protocol (bptt.decode.stepper):
greedy decoding, sampling with temperature, top-k and top-p, beam search with length
normalisation, and exhaustive search (the reference the others are tested against).

    stepper = LMStepper(model, prime_ids)          # a character LM conditioned on its prime
    greedy(stepper, max_len=50)                    # -> Hypothesis(tokens, logprob, score, finished)
    sample(stepper, max_len=50, temperature=0.8, top_p=0.9, seed=0)
    beam_search(stepper, width=5, max_len=50, n_best=3)   # -> [Hypothesis], best first

decode imports only _validate, nn and cells (ARCHITECTURE.md).
"""
from .beam import beam_search
from .exhaustive import MAX_SEQUENCES, count_sequences, exhaustive_search
from .filters import filter_logits
from .greedy import greedy
from .hypothesis import Hypothesis
from .sampling import sample
from .stepper import LMStepper, Stepper, select_rows

__all__ = ["Hypothesis", "LMStepper", "MAX_SEQUENCES", "Stepper", "beam_search", "count_sequences",
           "exhaustive_search", "filter_logits", "greedy", "sample", "select_rows"]
