"""Files and the way out: atomic writes, checkpoints (the format, writing, reading and
verifying), saving and loading trained models with their vocabulary, and PyTorch interop."""
