"""The benchmark behind `bptt bench`: bptt against PyTorch on the same work, in the same process
(`runner`), the work itself (`work`), timing (`timing`), memory and profiles."""
