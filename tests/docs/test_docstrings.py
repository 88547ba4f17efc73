"""Every public name has a docstring that states its shapes and holds an example that runs.

The public names are those the API reference renders (issue 14, section 4): `bptt.__all__`,
`bptt.data.__all__`, `bptt.decode.__all__`, `bptt.viz.__all__`, the modules `bptt.optim`,
`bptt.clipping` and `bptt.schedules` that `bptt.__all__` names, and the public names of
`bptt.training.seq2seq` and `bptt.cells.seq2seq`; with the public methods and properties of
their classes. For each:

- a docstring of its own (not a dataclass's or NamedTuple's generated one; for a constant, the
  attribute docstring, the string right after the assignment, which mkdocstrings renders);
- the shapes of the arrays it takes or returns, as tuples of the dimension letters of
  DESIGN.md `(T, B, D)`, unless `NO_ARRAYS` says why it has none;
- an example: an `Examples:` section (Google style, which mkdocstrings' Python handler renders
  as code) with `>>>` lines; a method or property may instead be used in the example of its
  class (or of the bptt base class it inherits it from);
- the example runs: every docstring's `>>>` lines go through `doctest` (NORMALIZE_WHITESPACE |
  ELLIPSIS, numpy print options fixed, `np` given, everything else imported by the example,
  the working directory a fresh temporary one);
- it renders: griffe (mkdocstrings' parser) reads it without a warning, every `>>>` line is in
  an Examples section, backticks are balanced and no prose line starts with `*`.
"""
import ast
import dataclasses
import doctest
import functools
import importlib
import inspect
import io
import logging
import pathlib
import re
import typing

import griffe
import numpy as np
import pytest

import bptt

SRC = pathlib.Path(bptt.__file__).resolve().parent
MODULES = ("bptt", "bptt.data", "bptt.decode", "bptt.viz", "bptt.clipping", "bptt.schedules",
           "bptt.optim", "bptt.training.seq2seq", "bptt.cells.seq2seq")

# Dimension letters (DESIGN.md, and those the modules declare): T time steps, B batch, D input
# size, H hidden size, O output size, L layers, S source steps, K state size or classes, A
# attention size, N rows (windows, hypotheses, pairs), M selected rows, V vocabulary, P prime.
# A shape is a tuple of them, integers and names ("(T, B, D)", "(B,)", "(2L, B, H)", "(n, V)"),
# with at least one dimension letter (or, for images, "(height, width, 4)").
DIMS = "TBDHOLSKANMVP"
_TOKEN = rf"(?:\d*[{DIMS}](?:_\w+)?'?(?:\s*[+−-]\s*\d+)?|\d+|[a-z]\w*|\.{{1,3}}|\*\w+)"
SHAPE = re.compile(rf"\(\s*{_TOKEN}\s*(?:,\s*{_TOKEN}\s*)*,\s*\)|\(\s*{_TOKEN}\s*(?:,\s*{_TOKEN}\s*)+\)")
HAS_LETTER = re.compile(rf"(?<![\w.])(?:\d*[{DIMS}](?:_\w+)?|height|width)(?!\w)")

# Public names that neither take nor return arrays, so have no shapes to state: the reason.
NO_ARRAYS = {
    **{f"bptt.{m}.config": "the constructor's arguments, a JSON-friendly dict"
       for m in ("SimpleRNN", "LSTM", "GRU", "OutputRNN", "Seq2Seq")},
    **{f"bptt.{m}.num_params": "a config dict in, an int out"
       for m in ("SimpleRNN", "LSTM", "GRU", "OutputRNN")},
    "bptt.decode.count_sequences": "ints in, an int out",
    "bptt.data.DataError": "an exception",
    "bptt.data.StreamBatcher.state": "two ints, the position to resume from",
    "bptt.data.Vocab.chars": "a str", "bptt.data.Vocab.size": "an int",
    "bptt.data.Vocab.to_list": "a list of str", "bptt.data.Vocab.from_list": "a list of str in",
    "bptt.data.PairVocab.chars": "a str", "bptt.data.PairVocab.size": "an int",
    "bptt.data.PairVocab.from_texts": "strings in", "bptt.data.PairVocab.to_json": "a dict",
    "bptt.data.PairVocab.from_json": "a dict in",
    "bptt.data.read_pairs": "a file in, a list of string pairs out",
    "bptt.data.split_pairs": "lists of string pairs", "bptt.data.exact_match": "lists of str",
    **{f"bptt.data.{f}": "a list of string pairs out"
       for f in ("reverse_pairs", "addition_pairs", "date_pairs", "task_pairs")},
    "bptt.data.load_text": "files in, a str out", "bptt.data.builtin_corpus": "a str out",
    "bptt.data.stale_reason": "a directory in, a sentence or None out",
    "bptt.data.token_dtype": "an int in, a numpy dtype out",
    "bptt.viz.save_demo_figures": "a directory in, files out",
    "bptt.viz.accuracy_curves": "lists of records in, a Figure out",
    "bptt.MLP.num_layers": "an int",
    "bptt.TrainingError": "an exception",
    "bptt.TrainConfig.validate": "the config's fields", "bptt.TrainConfig.recipe": "a dict",
    "bptt.training.seq2seq.Seq2SeqConfig.validate": "the config's fields",
    "bptt.training.seq2seq.Seq2SeqConfig.recipe": "a dict",
    **{f"bptt.optim.{c}.{m}": "a float, a dict of floats"
       for c in ("Optimizer", "SGD", "Adagrad", "RMSProp", "Adam") for m in ("lr", "hyperparameters")},
    **{f"bptt.schedules.{f}": "a step number in, a learning rate out"
       for f in ("Constant", "StepDecay", "CosineWithWarmup", "constant", "step_decay",
                 "cosine_with_warmup")},
}

FLAGS = doctest.NORMALIZE_WHITESPACE | doctest.ELLIPSIS


@dataclasses.dataclass(repr=False)
class Entry:
    name: str                 # the dotted name the reference shows
    kind: str                 # module, class, function, method, property, constant
    obj: object
    doc: str                  # "" when it has none of its own
    owner: object = None      # a method's or property's class
    where: str = ""           # file:line, for doctest's reports

    def __repr__(self):
        return self.name


def _own_class_doc(cls):
    doc = cls.__dict__.get("__doc__") or ""
    if dataclasses.is_dataclass(cls):
        generated = cls.__name__ + str(inspect.signature(cls)).replace(" -> None", "")
        if doc == generated:
            return ""
    fields = getattr(cls, "_fields", None)
    if isinstance(fields, tuple):           # a NamedTuple's generated docstring, as namedtuple writes it
        if doc == f"{cls.__name__}({repr(fields).replace(chr(39), '')[1:-1]})":
            return ""
    return doc


def _where(obj):
    try:
        return f"{inspect.getsourcefile(obj)}:{inspect.getsourcelines(obj)[1]}"
    except (TypeError, OSError):
        return ""


@functools.lru_cache(maxsize=None)
def _module_trees():
    return [(path, ast.parse(path.read_text(encoding="utf-8"))) for path in sorted(SRC.rglob("*.py"))]


def _attribute_docstring(name, obj):
    """(docstring, file:line) of the module-level assignment `name = ...` that defines obj; ("",
    "") when there is none (griffe documents no tuple assignment `A, B = 1, 2`)."""
    for path, tree in _module_trees():
        for i, node in enumerate(tree.body):
            targets = (node.targets if isinstance(node, ast.Assign) else
                       [node.target] if isinstance(node, ast.AnnAssign) else [])
            if not any(isinstance(t, ast.Name) and t.id == name for t in targets):
                continue
            parts = path.relative_to(SRC.parent).with_suffix("").parts
            mod = importlib.import_module(".".join(parts[:-1] if parts[-1] == "__init__" else parts))
            if getattr(mod, name, None) is not obj:
                continue
            nxt = tree.body[i + 1] if i + 1 < len(tree.body) else None
            doc = (nxt.value.value if isinstance(nxt, ast.Expr) and isinstance(nxt.value, ast.Constant)
                   and isinstance(nxt.value.value, str) else "")
            return doc, f"{path}:{node.lineno}"
    return "", ""


def _public_names(module):
    names = getattr(module, "__all__", None)
    if names is None:
        names = [n for n, o in vars(module).items() if not n.startswith("_")
                 and (inspect.isclass(o) or inspect.isfunction(o)) and o.__module__ == module.__name__]
    return list(names)


def _members(cls, cls_name):
    for attr in sorted(dir(cls)):
        if attr.startswith("_"):
            continue
        raw = inspect.getattr_static(cls, attr)
        if isinstance(raw, (staticmethod, classmethod)):
            raw = raw.__func__
        if isinstance(raw, property) and raw.fget.__module__.startswith("bptt"):
            yield Entry(f"{cls_name}.{attr}", "property", raw, raw.__doc__ or "", cls, _where(raw.fget))
        elif inspect.isfunction(raw) and raw.__module__.startswith("bptt"):
            yield Entry(f"{cls_name}.{attr}", "method", raw, raw.__doc__ or "", cls, _where(raw))


def collect():
    entries, seen = [], set()
    for mod_name in MODULES:
        module = importlib.import_module(mod_name)
        for name in _public_names(module):
            obj = getattr(module, name)
            full = f"{mod_name}.{name}"
            if inspect.ismodule(obj):
                key = ("module", obj.__name__)
                entry = Entry(full, "module", obj, obj.__doc__ or "")
            elif inspect.isclass(obj):
                key = ("object", id(obj))
                entry = Entry(full, "class", obj, _own_class_doc(obj), where=_where(obj))
            elif inspect.isroutine(obj):
                key = ("object", id(obj))
                entry = Entry(full, "function", obj, obj.__doc__ or "", where=_where(obj))
            else:
                doc, where = _attribute_docstring(name, obj)
                key = ("constant", where or full)
                entry = Entry(full, "constant", obj, doc, where=where)
            if key in seen:
                continue
            seen.add(key)
            entries.append(entry)
            if entry.kind == "class":
                entries.extend(_members(obj, full))
    return entries


ENTRIES = collect()
BY_NAME = {e.name: e for e in ENTRIES}
ids = [e.name for e in ENTRIES]


def sections(doc):
    """griffe's (Google style) sections of doc, and the warnings it logged reading them."""
    records = []
    handler = logging.Handler()
    handler.emit = records.append
    logger = logging.getLogger("griffe")
    logger.addHandler(handler)
    try:
        parsed = griffe.Docstring(inspect.cleandoc(doc), parser="google").parse()
    finally:
        logger.removeHandler(handler)
    return parsed, [r.getMessage() for r in records if r.levelno >= logging.WARNING]


def example_code(doc):
    """The `>>>` blocks of doc's Examples sections."""
    parsed, _ = sections(doc)
    return [text for s in parsed if s.kind.value == "examples"
            for kind, text in s.value if kind.value == "examples"]


def prose(doc):
    """doc's text outside the Examples sections' code."""
    parsed, _ = sections(doc)
    out = []
    for s in parsed:
        if s.kind.value == "examples":
            out += [text for kind, text in s.value if kind.value == "text"]
        elif s.kind.value == "text":
            out.append(s.value)
    return "\n".join(out)


def calls_member(code_blocks, member, kind):
    pattern = rf"\.{re.escape(member)}\(" if kind == "method" else rf"\.{re.escape(member)}\b"
    return any(re.search(pattern, line) for code in code_blocks for line in code.splitlines()
               if line.lstrip().startswith((">>>", "...")))


@pytest.mark.parametrize("entry", ENTRIES, ids=ids)
def test_has_a_docstring(entry):
    if not entry.doc.strip():
        pytest.fail(f"{entry.name} ({entry.kind}) has no docstring of its own")


@pytest.mark.parametrize("entry", [e for e in ENTRIES if e.kind not in ("module", "constant")],
                         ids=lambda e: e.name)
def test_states_the_shapes(entry):
    if entry.name in NO_ARRAYS:
        return
    if not has_shapes(entry.doc):
        pytest.fail(f"{entry.name} ({entry.kind}) takes or returns arrays, but its docstring "
                    f"states no shape such as (T, B, D) or (B,); if it has no arrays, list it in "
                    f"NO_ARRAYS with the reason")


def has_shapes(doc):
    return any(HAS_LETTER.search(m.group(0)) for m in SHAPE.finditer(doc))


@pytest.mark.parametrize("entry", [e for e in ENTRIES if e.kind != "module"], ids=lambda e: e.name)
def test_has_an_example(entry):
    if example_code(entry.doc):
        return
    if entry.kind in ("method", "property"):
        member = entry.name.rsplit(".", 1)[1]
        classes = [c for c in entry.owner.__mro__ if c.__module__.startswith("bptt")]
        if not any(calls_member(example_code(_own_class_doc(c)), member, entry.kind) for c in classes):
            pytest.fail(f"{entry.name} has no Examples section with >>> lines, and neither its "
                        f"class's example nor that of a base class uses .{member}")
        return
    pytest.fail(f"{entry.name} ({entry.kind}) has no Examples section with >>> lines")


@pytest.mark.parametrize("entry", ENTRIES, ids=ids)
def test_renders(entry):
    parsed, warnings = sections(entry.doc)
    assert warnings == [], f"griffe warns on {entry.name}'s docstring: {warnings}"
    raw = sum(line.lstrip().startswith(">>>") for line in entry.doc.splitlines())
    in_examples = sum(line.startswith(">>>") for code in example_code(entry.doc)
                      for line in code.splitlines())
    assert raw == in_examples, f"{entry.name}: a >>> line outside an Examples section"
    text = prose(entry.doc)
    assert text.count("`") % 2 == 0, f"{entry.name}: unbalanced backticks"
    starred = [line for line in text.splitlines() if line.lstrip().startswith("*")]
    assert starred == [], f"{entry.name}: prose lines starting with '*': {starred}"


def _unique_docs():
    out, seen = [], set()
    for e in ENTRIES:
        if ">>>" in e.doc and e.doc not in seen:
            seen.add(e.doc)
            out.append(e)
    return out


@pytest.mark.parametrize("entry", _unique_docs(), ids=lambda e: e.name)
def test_examples_run(entry, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    path, _, line = entry.where.rpartition(":")
    test = doctest.DocTestParser().get_doctest(
        entry.doc, {"np": np}, entry.name, path or None, int(line) if line else 0)
    runner = doctest.DocTestRunner(optionflags=FLAGS)
    report = io.StringIO()
    with np.printoptions(precision=4, suppress=True, linewidth=88, threshold=1000, edgeitems=3):
        runner.run(test, out=report.write)
    if runner.failures:
        pytest.fail(f"{entry.name}'s example fails:\n{report.getvalue()}", pytrace=False)


def test_the_checks_can_fail():
    """The checks catch what they look for (on made-up docstrings)."""
    assert not has_shapes("The loss J, a float.")
    assert not has_shapes("Calls f(x) (see the LSTM) and g(T); returns (x, y) or (J, grads)")
    assert has_shapes("x (T, B, D) float") and has_shapes("c (O,)") and has_shapes("h0 (2L, B, H)")
    assert example_code("No example here.\n\n    >>> 1 + 1\n    2\n") == []
    assert example_code("Doc.\n\nExamples:\n    >>> 1 + 1\n    2\n") == [">>> 1 + 1\n2"]
    assert calls_member([">>> m.forward(x)"], "forward", "method")
    assert not calls_member([">>> m.forward_loss(x)"], "forward", "method")
    _, warnings = sections("Doc.\n\nReturns:\n    nothing typed\n")
    assert warnings

    @dataclasses.dataclass
    class Bare:
        x: int

    class Pair(typing.NamedTuple):
        a: int
    assert _own_class_doc(Bare) == "" and _own_class_doc(Pair) == ""         # generated, not written
    assert _attribute_docstring("PAD", bptt.data.PAD)[0].startswith("Padding")
    assert set(NO_ARRAYS) <= set(BY_NAME), sorted(set(NO_ARRAYS) - set(BY_NAME))
