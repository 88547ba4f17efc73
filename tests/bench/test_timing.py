"""bptt.bench.timing.time_alternating: every function timed in every round, the first call of
each function in a round left out of the timing."""
import pytest

from bptt.bench import timing


def test_each_round_times_every_function_after_one_untimed_call(monkeypatch):
    clock = [0.0]
    monkeypatch.setattr(timing.time, "perf_counter", lambda: clock[0])
    calls = {"a": [], "b": []}

    def make(name, slow_first):
        def fn():
            # a call right after the other function ran is slow (its threads still spin)
            after_other = bool(calls[name]) and calls[name][-1] != len(log)
            clock[0] += 5.0 if (slow_first and after_other) else 1.0
            log.append(name)
            calls[name].append(len(log))
        return fn

    log = []
    res = timing.time_alternating({"a": make("a", True), "b": make("b", False)}, seconds=10, rounds=3)
    assert len(res["a"]["rounds"]) == len(res["b"]["rounds"]) == 3
    assert res["a"]["median"] == pytest.approx(1.0) and res["b"]["median"] == pytest.approx(1.0)
    assert res["a"]["min"] == pytest.approx(1.0)


def test_settle_sleeps_before_each_turn(monkeypatch):
    sleeps = []
    monkeypatch.setattr(timing.time, "sleep", sleeps.append)
    timing.time_alternating({"a": lambda: None, "b": lambda: None}, seconds=0.01, rounds=3, settle=0.2)
    assert sleeps == [0.2] * 6                                      # 2 functions × 3 rounds
    sleeps.clear()
    timing.time_alternating({"a": lambda: None}, seconds=0.01, rounds=2)
    assert sleeps == []
