"""A training run's output directory at the start: what a fresh run may find there. Every task's
loop (the char models' `loop.train`, `classify.train_classifier`, `seq2seq.train_seq2seq`) starts
a fresh run through `start_afresh`; resuming is each loop's own."""
from __future__ import annotations

from pathlib import Path

from ..io.checkpoint import checkpoint_exists, remove_checkpoints


class ResumeError(ValueError):
    """A run that cannot start as asked: an output directory that already holds a checkpoint,
    or a checkpoint made with other settings, data or model (a usage error: exit status 2).
    A directory that another process is training in raises `RunLockedError` (bptt.io.run_lock),
    also a ValueError, before anything there is read or removed."""


def start_afresh(out: Path, overwrite: bool) -> None:
    """Make room for a fresh run in `out`: a checkpoint there is refused unless `overwrite`,
    which removes it (a later resume must not find the old run); old metrics go either way."""
    if checkpoint_exists(out):
        if not overwrite:
            raise ResumeError(f"{out} already holds a checkpoint: pass --resume (resume=True) to "
                              f"continue it, --overwrite (overwrite=True) to start afresh, or "
                              f"choose another --out.")
        remove_checkpoints(out)
    (Path(out) / "metrics.jsonl").unlink(missing_ok=True)
