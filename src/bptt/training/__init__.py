"""Training: optimizers, clipping and schedules (`optim`, `clipping`, `schedules`), the training
loop with checkpoints and evaluation (`loop`), sampling, and the HTML report. Truncated BPTT
itself is part of the cells (`bptt.cells.truncated`); the loop runs its own stateful form."""
