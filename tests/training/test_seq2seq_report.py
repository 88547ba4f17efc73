"""DIR/report.html of a seq2seq run: curves, the evaluations, held-out translations, attention."""
import re

import bptt
from bptt.data import PairVocab
from bptt.training.loop import History
from bptt.training.seq2seq_report import write_seq2seq_report

SRC, TGT = PairVocab("abc"), PairVocab("abc")


def history():
    h = History()
    h.extend([{"step": 10, "loss": 2.5, "val_loss": 2.25, "exact_match": 0.125, "seconds": 1.0},
              {"step": 20, "loss": 1.5, "val_loss": 1.25, "exact_match": 0.5, "seconds": 2.0}])
    return h


def test_report_holds_the_records_translations_and_figures(tmp_path):
    model = bptt.Seq2Seq(SRC.size, TGT.size, 4, attention="dot", seed=0)
    path = write_seq2seq_report(tmp_path, history(), model=model, src_vocab=SRC, tgt_vocab=TGT,
                                examples=[("abc", "cba", "cba"), ("ab", "ba", "bb")])
    page = path.read_text(encoding="utf-8")
    assert "Held-out translations (greedy): 1 of 2 exact" in page
    assert "<td>0.125</td>" in page and "<td>0.5</td>" in page
    assert page.count("data:image/png;base64,") == 2          # curves and attention
    rows = re.findall(r"<tr><td>(\w+)</td><td>(\w+)</td><td>(\w+)</td><td>(.)</td></tr>", page)
    assert rows == [("abc", "cba", "cba", "✓"), ("ab", "ba", "bb", "✗")]


def test_no_attention_no_attention_figure(tmp_path):
    model = bptt.Seq2Seq(SRC.size, TGT.size, 4, seed=0)
    page = write_seq2seq_report(tmp_path, history(), model=model, src_vocab=SRC, tgt_vocab=TGT,
                                examples=[("abc", "cba", "cab")]).read_text(encoding="utf-8")
    assert page.count("data:image/png;base64,") == 1
    assert "0 of 1 exact" in page
