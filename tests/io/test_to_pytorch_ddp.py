"""examples/to_pytorch.py: a char-LM trained in bptt continues in PyTorch, alone and under
two-process gloo DistributedDataParallel, and comes back through from_torch — for rnn, lstm, gru.

The references are bptt's own: its trainer resumed from the same checkpoint (the loss of every
step and the weights after k steps), and its gradient of the whole batch from the same weights and
carried state (model.loss_and_grads). Float64 on CPU throughout; tiny sizes."""
import importlib
import math
import re
import shutil
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

import bptt
from bptt.data import StreamBatcher, builtin_corpus
from bptt.io.saving import load_model, load_training_state

EXAMPLES = Path(__file__).parents[2] / "examples"
KINDS = {"rnn": 1, "lstm": 2, "gru": 2}          # kind -> layers (stacked: the carried (L, B, H))
RECIPE = dict(seq_len=6, stride=4, batch=4, lr=1e-2, clip=0.5)   # k1 < k2; clipping at work
N, K = 12, 6                                      # steps in bptt, then in PyTorch


@pytest.fixture(scope="module")
def tp():
    """The example as a module importable by name (the spawned processes import it too)."""
    with pytest.MonkeyPatch.context() as mp:
        mp.syspath_prepend(str(EXAMPLES))
        yield importlib.import_module("to_pytorch")
        sys.modules.pop("to_pytorch", None)


@pytest.fixture(scope="module")
def data():
    # 64 characters per stream: 15 windows an epoch, so PyTorch's steps 13..18 cross the streams'
    # end (a window from the zero state, all 6 steps counted) — checked in `trained`
    text = builtin_corpus(4000)[:285]
    return bptt.CharData.from_text(text)


@pytest.fixture(scope="module")
def trained(tp, data, tmp_path_factory):
    """kind -> the checkpoint directory of N steps of bptt.train."""
    out = {}
    for kind, layers in KINDS.items():
        ckpt = tmp_path_factory.mktemp(kind)
        tp.train_in_bptt(kind, data, ckpt, hidden=5, layers=layers, steps=N, eval_every=N,
                         eval_chars=30, **RECIPE)
        out[kind] = ckpt
    b = StreamBatcher(data.train_ids, RECIPE["batch"], RECIPE["seq_len"], stride=RECIPE["stride"])
    assert N < b.batches_per_epoch < N + K                     # the reset is inside PyTorch's steps
    return out


def bptt_continued(ckpt, data, tmp_path):
    """bptt's own continuation: train resumed to N + K steps, the loss of every step recorded."""
    run = shutil.copytree(ckpt, tmp_path / "bptt_resumed")
    model, _, _ = load_model(run)
    cfg = bptt.TrainConfig(steps=N + K, out=str(run), resume=True, eval_every=1, eval_chars=30,
                           progress=False, **RECIPE)
    history = bptt.train(model, data, cfg)
    return model, [r["train_loss"] for r in history if r["step"] > N]


def bptt_first_gradient(tp, ckpt, data):
    """bptt's gradient of J on the next window of the whole batch (all B streams), from the
    checkpoint's weights and carried state, in torch's layout."""
    model, _, _ = load_model(ckpt)
    st = load_training_state(ckpt, model_kind=model.kind)
    x, y, reset = StreamBatcher(data.train_ids, RECIPE["batch"], RECIPE["seq_len"],
                                stride=RECIPE["stride"], **st.data_state).peek()
    assert not reset
    mask = np.ones(x.shape)
    mask[: RECIPE["seq_len"] - RECIPE["stride"]] = 0
    _, grads = model.loss_and_grads(x, y, st.carried, mask)
    return {k: t.numpy() for k, t in tp.mapped_to_torch(model, grads).items()}


def torch_params(rnn, linear):
    return {f"{m}.{n}": t.detach().numpy() for m, mod in (("rnn", rnn), ("linear", linear))
            for n, t in mod.named_parameters()}


def assert_back_in_bptt(res, reference, data):
    """from_torch: exact round trip, the same logits as torch's, bptt's weights and val loss."""
    back = bptt.from_torch(res.rnn, res.linear)
    again = bptt.from_torch(*bptt.to_torch(back))
    for k in back.params:
        assert np.array_equal(again.params[k], back.params[k]), k
        np.testing.assert_allclose(back.params[k], reference.params[k], rtol=0, atol=1e-12, err_msg=k)
    x = data.val_ids[:20, None]                                  # (T, 1) ids
    with torch.no_grad():
        o = res.linear(res.rnn(torch.nn.functional.one_hot(torch.from_numpy(x), back.input_size).double())[0])
    np.testing.assert_allclose(o.numpy(), back.forward(x).o, rtol=0, atol=1e-12)
    val = bptt.evaluate(back, data.val_ids, 4, 6, None)
    assert val == pytest.approx(bptt.evaluate(reference, data.val_ids, 4, 6, None), abs=1e-12)
    assert math.isfinite(val) and val < math.log(data.vocab.size)     # better than uniform


@pytest.mark.parametrize("kind", list(KINDS))
def test_pytorch_continues_bptt_run_exactly(kind, tp, data, trained, tmp_path):
    ckpt = trained[kind]
    res = tp.continue_in_torch(ckpt, data, K, record_grads=True)
    reference, losses = bptt_continued(ckpt, data, tmp_path)
    # the first step: bptt's loss on the same batch from the same weights and carried state
    assert res.losses[0] == pytest.approx(tp.first_batch_loss_in_bptt(ckpt, data), rel=1e-13)
    # the curve: every step's loss is bptt's (no jump; the streams' reset at step 16 included)
    np.testing.assert_allclose(res.losses, losses, rtol=1e-12, atol=0)
    # the gradient of the first step (the redundant bias_hh's zeroed) is bptt's, before clipping
    want = bptt_first_gradient(tp, ckpt, data)
    assert set(res.grads) == set(want)
    for k, g in want.items():
        np.testing.assert_allclose(res.grads[k], g, rtol=0, atol=1e-12, err_msg=k)
    assert math.sqrt(sum(float((g ** 2).sum()) for g in want.values())) > RECIPE["clip"]   # clipped
    assert_back_in_bptt(res, reference, data)


@pytest.mark.slow
def test_two_process_gloo_ddp_equals_one_process(tp, data, trained, tmp_path):
    """One group of two spawned processes (gloo) continues the three runs in turn; each process
    has 2 of the 4 streams, DDP averages the two gradients."""
    results = tp.run_ddp([(trained[kind], data, K) for kind in KINDS], procs=2, device="cpu")
    for kind, ddp in zip(KINDS, results):
        single = tp.continue_in_torch(trained[kind], data, K, record_grads=True)
        # the DDP-averaged gradient is the gradient of the whole batch, in one process and in bptt
        want = bptt_first_gradient(tp, trained[kind], data)
        for k, g in single.grads.items():
            np.testing.assert_allclose(ddp.grads[k], g, rtol=0, atol=1e-12, err_msg=f"{kind} {k}")
            np.testing.assert_allclose(ddp.grads[k], want[k], rtol=0, atol=1e-12, err_msg=f"{kind} {k}")
        # after K steps: the two ranks hold bitwise the same weights, those of one process
        with np.load(trained[kind] / "rank0.npz") as r0, np.load(trained[kind] / "rank1.npz") as r1:
            for name in r0.files:
                if name.startswith("param/"):
                    assert np.array_equal(r0[name], r1[name]), (kind, name)
        got, ref = torch_params(ddp.rnn, ddp.linear), torch_params(single.rnn, single.linear)
        for k in ref:
            np.testing.assert_allclose(got[k], ref[k], rtol=0, atol=1e-12, err_msg=f"{kind} {k}")
        np.testing.assert_allclose(ddp.losses, single.losses, rtol=1e-12, atol=0)
        reference, losses = bptt_continued(trained[kind], data, tmp_path / kind)
        np.testing.assert_allclose(ddp.losses, losses, rtol=1e-12, atol=0)
        assert_back_in_bptt(ddp, reference, data)


def test_example_main_prints_the_continuation(tp, tmp_path, capsys):
    text = tmp_path / "corpus.txt"
    text.write_text(builtin_corpus(4000), encoding="utf-8")
    out = tp.main(["--model", "gru", "--text", str(text), "--steps", "20", "--torch-steps", "10",
                   "--hidden", "6", "--seq-len", "8", "--batch", "4", "--every", "5",
                   "--device", "cpu", "--out", str(tmp_path / "run")])
    printed = capsys.readouterr().out
    first = re.search(r"step 21: loss ([\d.]+); bptt on the same batch from the same weights "
                      r"([\d.]+) \(\|difference\| ([\d.e+-]+)\)", printed)
    assert first and float(first[1]) == pytest.approx(out["torch"].losses[0], abs=1e-12)
    assert float(first[2]) == pytest.approx(out["expected"], abs=1e-12)
    assert abs(out["torch"].losses[0] - out["expected"]) < 1e-12
    # PyTorch's curve, window by window, beside bptt's own continuation from the same checkpoint
    rows = re.findall(r"pytorch  steps +(\d+)-(\d+) +train loss ([\d.]+) nats/char   "
                      r"\(bptt resumed instead: ([\d.]+)\)", printed)
    assert [(int(a), int(b)) for a, b, _, _ in rows] == [(21, 25), (26, 30)]
    assert [float(t) for *_, t, _ in rows] == [float(b) for *_, b in rows]
    assert [float(b) for *_, b in rows] == [round(r["train_loss"], 4) for r in out["reference_history"]]
    assert "bitwise equal: True" in printed
    for k, p in out["model"].params.items():
        np.testing.assert_allclose(p, out["reference"].params[k], rtol=0, atol=1e-12, err_msg=k)
    val = float(re.search(r"validation loss ([\d.]+) nats/char", printed)[1])
    assert val == pytest.approx(out["val_loss"], abs=5e-5)
    assert (tmp_path / "run" / "explorer.html").stat().st_size > 10_000


def test_refusals(tp, data, trained, tmp_path):
    with pytest.raises(ValueError, match=r"The batch of 4 streams cannot be shared by 3 processes: "
                                         r"pass a number of processes that divides it\."):
        tp.continue_in_torch(trained["rnn"], data, 1, rank=0, world=3)
    other = bptt.CharData.from_text(builtin_corpus(4000)[:285][::-1], vocab=data.vocab)
    with pytest.raises(ValueError, match=r"The data given to continue_in_torch is not the text the "
                                         r"checkpoint in .* was trained on \(its fingerprint differs\)"):
        tp.continue_in_torch(trained["rnn"], other, 1)
    tp.train_in_bptt("rnn", data, tmp_path / "sgd", hidden=3, steps=1, optimizer="sgd",
                     clip_mode="value", eval_chars=30, **dict(RECIPE, lr=0.1))
    with pytest.raises(ValueError, match=r"continue_in_torch follows bptt's recipe with "
                                         r"optimizer='adam' and clip_mode='norm'; the checkpoint's "
                                         r"run used optimizer='sgd', clip_mode='value'\."):
        tp.continue_in_torch(tmp_path / "sgd", data, 1)
    gpus = torch.cuda.device_count() if torch.cuda.is_available() else 0
    with pytest.raises(ValueError, match=rf"--device cuda with --procs {gpus + 1} needs {gpus + 1} "
                                         rf"GPU\(s\), one per process; PyTorch sees {gpus}\."):
        tp.pick_device("cuda", gpus + 1)
    assert tp.pick_device("auto", None) == ("cuda" if gpus else "cpu")
