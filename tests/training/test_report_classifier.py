"""The training report of a sequence classifier (bptt.training.report): the held-out accuracy in
its table and curves, the pooling figure, predictions under their own heading; a character
model's report keeps its bits-per-character table."""
import re

import numpy as np

import pytest

from bptt import GRU
from bptt.data import Vocab
from bptt.training.classify import ClassifyConfig, make_task, train_classifier
from bptt.training.report import write_report

pytest.importorskip("matplotlib")


def table(page):
    """The evaluations table: its headings and its rows' cells."""
    body = page.split("<h2>Evaluations</h2>")[1].split("</table>")[0]
    return re.findall(r"<th>(.*?)</th>", body), [re.findall(r"<td>(.*?)</td>", r)
                                                 for r in re.findall(r"<tr>(<td>.*?)</tr>", body)]


def test_a_classifier_report(tmp_path):
    task = make_task("parity", max_len=6)
    model = GRU(2, 4, 2, seed=0)
    history = train_classifier(model, task.draw, ClassifyConfig(steps=6, batch=8, eval_every=3,
                                                                eval_size=16), keys=task.keys)
    x, y, n = task.draw(1, np.random.default_rng(0))
    path = write_report(tmp_path, history, model=model, vocab=Vocab.from_list(["0", "1"]),
                        samples=["0110   even   predicted odd (p = 0.510)"],
                        samples_title="Predictions on fresh strings", classifier=(x, y, n))
    page = path.read_text()
    heads, rows = table(page)
    assert heads == ["step", "train loss", "held-out loss", "held-out accuracy", "grad norm", "seconds"]
    assert [r[0] for r in rows] == ["3", "6"]
    assert [float(r[3]) for r in rows] == pytest.approx([h["val_accuracy"] for h in history], abs=1e-4)
    assert [float(r[2]) for r in rows] == pytest.approx([h["val_loss"] for h in history], rel=1e-3)
    assert page.count("data:image/png;base64,") == 2
    assert "Loss, held-out accuracy and gradient norm" in page and "pooling &quot;last&quot;" in page
    assert "<h2>Predictions on fresh strings</h2>\n<pre>0110   even   predicted odd (p = 0.510)</pre>" in page
    assert "bits/char" not in page


def test_a_char_model_report_keeps_its_columns(tmp_path):
    history = [{"step": 5, "train_loss": 2.0, "train_bpc": 2.885, "val_loss": 2.1, "val_bpc": 3.03,
                "grad_norm": 1.5, "chars_per_s": 1000.0}]
    page = write_report(tmp_path, history, model=GRU(3, 4, 3), vocab=Vocab.from_list(["a", "b", "c"]),
                        samples=["abc"]).read_text()
    heads, rows = table(page)
    assert heads == ["step", "train loss", "val loss", "val bits/char", "grad norm", "chars/s"]
    assert rows == [["5", "2", "2.1", "3.03", "1.5", "1000"]]
    assert "<h2>Samples</h2>" in page and "held-out accuracy" not in page
