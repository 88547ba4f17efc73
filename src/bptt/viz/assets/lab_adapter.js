// The lab, part 1 of 4: from the lab's state to the engine's problem, and from the engine's trace
// (bpttEngine.trace) to the JSON the explorer draws (the keys of bptt.viz.explorer's payload), so
// that the explorer's renderers redraw the unfolded network for every change. lab_page.py puts
// lab_adapter.js, lab_state.js, lab_views.js and lab_ui.js in one function scope.
var E = globalThis.bpttEngine;
var MAX_CHARS = 33, MAX_SERIES = 33;      // T <= 32 steps
var MODEL_NAMES = {rnn: "SimpleRNN", lstm: "LSTM", gru: "GRU"};

/** The code points of a text (an emoji is one character, as in Python). */
function charsOf(text) { return Array.from(text); }
/** The vocabulary of a text: its distinct characters sorted by code point (Python's sorted(set(text))). */
function vocabOf(text) {
  var seen = {}, out = [];
  charsOf(text).forEach(function (c) { if (!seen[c]) { seen[c] = true; out.push(c); } });
  return out.sort(function (a, b) { return a.codePointAt(0) - b.codePointAt(0); });
}
/** The numbers of a series text ("0, 0.5, 1 ..."), or null when it is not one. */
function parseSeries(text) {
  var parts = String(text).trim().split(/[\s,;]+/).filter(function (p) { return p !== ""; });
  if (parts.length < 2) return null;
  var vals = parts.map(Number);
  return vals.every(function (v, i) { return isFinite(v) && /^[-+]?(\d+\.?\d*|\.\d+)(e[-+]?\d+)?$/i.test(parts[i]); }) ? vals : null;
}
var DEFAULT_SERIES = "0, 0.59, 0.95, 0.95, 0.59, 0, -0.59, -0.95, -0.95, -0.59, 0";

/**
 * The engine's problem of a state: {x, y, mask, vocab, T, D, O, output}. Text: x = ids of
 * text[:-1], y = ids of text[1:] (vocab: the embedded model's, or the text's own characters);
 * a series: x = values[:-1], y = values[1:], each (T, 1, 1), identity output.
 */
function problemOf(S, embedded) {
  var x, y, vocab = null, D, O, output;
  if (S.task === "series") {
    var v = parseSeries(S.text);
    x = v.slice(0, -1).map(function (a) { return [[a]]; });
    y = v.slice(1).map(function (a) { return [[a]]; });
    D = 1; O = 1; output = "identity";
  } else {
    var ch = charsOf(S.text);
    vocab = S.init === "model" ? embedded.vocab : vocabOf(S.text);
    var ids = ch.map(function (c) { return vocab.indexOf(c); });
    x = ids.slice(0, -1).map(function (i) { return [i]; });
    y = ids.slice(1).map(function (i) { return [i]; });
    D = vocab.length; O = vocab.length; output = "softmax";
  }
  var T = x.length;
  return {x: x, y: y, mask: maskOf(S, T), vocab: vocab, T: T, D: D, O: O, output: output};
}
/** The mask (T, 1): every step, the last, or the steps ticked. */
function maskOf(S, T) {
  var m = S.task === "many-to-one" ? "last" : S.mask;
  var out = [];
  for (var t = 0; t < T; t++) out.push([m === "all" ? 1 : m === "last" ? (t === T - 1 ? 1 : 0) : m[t]]);
  return out;
}
function engineProblem(pr) { return {x: pr.x, y: pr.y, mask: pr.mask}; }

function mapNested(a, f) { return Array.isArray(a) ? a.map(function (v) { return mapNested(v, f); }) : f(a); }
function zip2(a, b, f) { return Array.isArray(a) ? a.map(function (v, i) { return zip2(v, b[i], f); }) : f(a, b); }

/** The explorer's JSON (bptt.viz.explorer.explorer_payload's keys) of one engine trace. */
function explorerPayload(model, pr, tr, lr, title) {
  var c = model.config, kind = c.kind, T = pr.T, H = c.hidden_size, fw = tr.forward;
  var names = Object.keys(model.params), zeros = pr.x[0].map(function () { return new Array(H).fill(0); });
  var forward, h0 = kind === "lstm" ? [zeros, zeros] : zeros, errors = tr.errors;
  if (kind === "rnn") forward = {a: fw.a, h: fw.h, o: fw.o, y_hat: fw.y_hat, h_last: fw.h[T - 1]};
  if (kind === "lstm") {
    forward = {h: fw.h, c: fw.c, o: fw.o, y_hat: fw.y_hat, h_last: fw.h[T - 1], c_last: fw.c[T - 1], gates: fw.gates};
    Object.keys(fw.pre).forEach(function (k) { forward[k] = fw.pre[k]; });
  }
  if (kind === "gru") {
    forward = {h: fw.h, o: fw.o, y_hat: fw.y_hat, h_last: fw.h[T - 1], gates: fw.gates,
               r_hat: fw.pre.r_hat, z_hat: fw.pre.z_hat, n_hat: fw.pre.n_hat};
    if (c.reset === "after") forward.hn_hat = fw.pre.hn;
  }
  var config = {
    model: MODEL_NAMES[kind], kind: kind, activation: c.activation, output: c.output,
    loss: c.output === "softmax" ? "cross-entropy" : "squared error",
    input_size: c.input_size, hidden_size: H, output_size: c.output_size, T: T, B: 1, lr: lr,
    tokens: pr.output === "softmax", labels: pr.vocab, title: title, dtype: "float64"
  };
  if (kind === "lstm") { config.gate_activation = "sigmoid"; config.peepholes = c.peepholes; }
  if (kind === "gru") { config.gate_activation = "sigmoid"; config.reset = c.reset; }
  var per_step = {}, grads = {}, params = {}, updated = {};
  names.forEach(function (k) {
    params[k] = model.params[k]; per_step[k] = tr.per_step[k]; grads[k] = tr.grads[k];
    updated[k] = zip2(model.params[k], tr.grads[k], function (p, g) { return p - lr * g; });
  });
  return {
    config: config, params: params, x: pr.x, y: pr.y, h0: h0, mask: pr.mask, forward: forward,
    loss: tr.loss, loss_terms: tr.loss_terms.map(function (v) { return [v]; }), errors: errors,
    errors_by_source: tr.errors_by_source, dh0: tr.dh0, per_step: per_step, grads: grads, updated: updated
  };
}

/** The explorer's script of a kind, compiled once from the page's text/plain parts. */
var FACTORIES = {};
function explorerFactory(kind) {
  if (!FACTORIES[kind]) {
    var src = document.getElementById("bptt-src-explorer").textContent + document.getElementById("bptt-src-" + kind).textContent;
    FACTORIES[kind] = new Function("PAYLOAD", "HOOKS", '"use strict";\n' + src + "\nreturn start();\n//# sourceURL=bptt-explorer-" + kind + ".js");
  }
  return FACTORIES[kind];
}
