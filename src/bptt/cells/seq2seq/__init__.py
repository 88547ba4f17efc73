"""Seq2Seq (Goodfellow et al. §10.4): an encoder–decoder over token ids with optional attention.

model.py      the class: parameters, checks, forward, BPTT, trace; encoder_model()/decoder_model()
steps.py      one step of any cell, with the masked update of variable lengths
encoder.py    the encoder's layers and directions, forward and BPTT
attention.py  dot, general and additive scores, the masked softmax, the context; their backward
decoder.py    the decoder with teacher forcing, forward and BPTT
inputs.py     the checks of src, tgt and the masks
trace.py      every error, and the errors of each loss term reaching each encoder step by path
stepper.py    the decoding protocol of bptt.decode (start, step, select) for one source
greedy.py     greedy decoding of a batch of sources
"""
from .model import Seq2Seq, Seq2SeqBackward, Seq2SeqForward
from .stepper import Seq2SeqStepper
from .trace import Seq2SeqTrace

__all__ = ["Seq2Seq", "Seq2SeqBackward", "Seq2SeqForward", "Seq2SeqStepper", "Seq2SeqTrace"]
