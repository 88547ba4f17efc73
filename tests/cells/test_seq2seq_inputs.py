"""Seq2Seq's constructor and input checks: each message names the parameter."""
import numpy as np
import pytest

from bptt import Seq2Seq

SRC = np.array([[3, 4], [5, 2]])
TGT = np.array([[1, 1], [3, 4], [2, 2]])


@pytest.fixture
def model():
    return Seq2Seq(6, 5, 3, attention="dot")


@pytest.mark.parametrize("kwargs,exc,match", [
    ({"cell": "tcn"}, ValueError, "'cell' parameter of Seq2Seq"),
    ({"attention": "luong"}, ValueError, "'attention' parameter of Seq2Seq must be one of None"),
    ({"attention_size": 4}, ValueError, "'attention_size' parameter of Seq2Seq applies to "
                                        "attention='additive' only"),
    ({"attention": "additive", "attention_size": 0}, ValueError, "'attention_size' parameter"),
    ({"bos_id": 5}, ValueError, "'bos_id' parameter of Seq2Seq must be a target id below "
                                "tgt_vocab_size=5. Got 5"),
    ({"eos_id": -1}, ValueError, "'eos_id' parameter of Seq2Seq must be an int >= 0"),
    ({"bidirectional_encoder": 1}, TypeError, "'bidirectional_encoder' parameter of Seq2Seq must "
                                              "be True or False"),
    ({"num_layers": 0}, ValueError, "'num_layers' parameter of Seq2Seq must be an int >= 1"),
])
def test_constructor_errors(kwargs, exc, match):
    with pytest.raises(exc, match=match):
        Seq2Seq(6, 5, 3, **kwargs)


def test_config_round_trip():
    m = Seq2Seq(6, 5, 3, cell="lstm", attention="additive", attention_size=2,
                bidirectional_encoder=True, num_layers=2, seed=4)
    m2 = Seq2Seq(**m.config(), seed=4)
    assert m2.config() == m.config()
    for k in m.params:
        np.testing.assert_array_equal(m.params[k], m2.params[k])
    assert "Seq2Seq(6, 5, 3, cell='lstm', attention='additive'" in repr(m)


@pytest.mark.parametrize("args,match", [
    ((np.array([3, 4]), TGT), "'src' argument of Seq2Seq must be token ids of shape \\(steps, "
                              "batch\\)"),
    ((SRC, TGT[:1]), "'tgt' argument of Seq2Seq must be token ids of shape \\(steps, batch\\) "
                     "with at least 2"),
    ((SRC, TGT[:, :1]), "'tgt' argument of Seq2Seq must have the batch size of 'src' \\(2\\)"),
    ((SRC + 3, TGT), "'src' argument of Seq2Seq must hold ids in \\[0, 6\\). Got 8"),
    ((SRC, TGT + 3), "'tgt' argument of Seq2Seq must hold ids in \\[0, 5\\)"),
    ((SRC, np.array([[0, 1], [3, 4], [2, 2]])), "must start every sequence with the begin id "
                                                "bos_id=1 .* Sequence 0 starts with 0"),
    ((SRC, np.array([[1, 1], [3, 4], [4, 2]])), "must end every sequence's targets with the end "
                                                "id eos_id=2; sequence 0's last target is 4"),
    ((SRC, TGT, np.array([[0, 1], [1, 1]])), "'src_mask' argument of Seq2Seq must be ones then "
                                             "zeros"),
    ((SRC, TGT, np.array([[1, 0], [0, 0]])), "leaves sequence 1 with no source step: an empty "
                                             "source has nothing to encode"),
    ((SRC, TGT, np.array([[1, 1], [0.5, 1]])), "'src_mask' argument of Seq2Seq must hold only 0 "
                                               "and 1"),
    ((SRC, TGT, None, np.array([[1, 0], [1, 0]])), "'tgt_mask' argument of Seq2Seq leaves "
                                                   "sequence 1 with no target"),
    ((SRC, TGT, None, np.ones((3, 2))), "'tgt_mask' argument of Seq2Seq must have shape"),
])
def test_input_errors(model, args, match):
    with pytest.raises((ValueError, TypeError), match=match):
        model.loss_and_grads(*args)


def test_targets_with_a_shorter_mask_end_at_the_mask():
    """The end id is checked at each sequence's last real target, not at the last row."""
    m = Seq2Seq(6, 5, 3)
    tgt = np.array([[1, 1], [2, 3], [0, 2]])            # sequence 0 ends after one target
    J, _ = m.loss_and_grads(SRC, tgt, None, np.array([[1, 1], [0, 1]]))
    assert np.isfinite(J)
    m.eos_id = None                                      # the check can be switched off
    assert np.isfinite(m.loss(SRC, np.array([[1, 1], [3, 4], [4, 4]])))
