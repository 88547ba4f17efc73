// Unit tests of the lab's engine (src/bptt/viz/assets/lab_{cells,engine,train}.js), run with
// `node --test tests/js/` (tests/viz/test_lab_engine.py runs them too, and checks the engine's
// numbers against the Python library to 1e-12).
"use strict";
const test = require("node:test");
const assert = require("node:assert/strict");
const path = require("node:path");
const E = require(path.join(__dirname, "..", "..", "src", "bptt", "viz", "assets", "lab_engine.js"));

// ---- helpers --------------------------------------------------------------------------------
function closeTo(actual, expected, tol, what) {
  if (Array.isArray(expected)) {
    assert.equal(actual.length, expected.length, (what || "") + " length");
    expected.forEach((e, i) => closeTo(actual[i], e, tol, (what || "") + "[" + i + "]"));
    return;
  }
  const err = Math.abs(actual - expected);
  assert.ok(err <= tol.abs + tol.rel * Math.abs(expected),
            `${what}: ${actual} vs ${expected} (difference ${err})`);
}
const EXACT = {abs: 1e-15, rel: 1e-13};
const shapeOf = (a) => (Array.isArray(a) ? [a.length].concat(shapeOf(a[0])) : []);
const sumOver = (arr) => arr.reduce((acc, a) => add(acc, a));
const add = (a, b) => (Array.isArray(a) ? a.map((v, i) => add(v, b[i])) : a + b);

const VARIANTS = [
  ...["tanh", "relu", "sigmoid", "identity"].map((activation) => ({kind: "rnn", activation})),
  {kind: "lstm", peepholes: false}, {kind: "lstm", peepholes: true, forget_bias: 1},
  {kind: "gru", reset: "after"}, {kind: "gru", reset: "before"},
];
const label = (v) => Object.values(v).join("/");

/** A random problem: token ids (softmax) or floats (identity), a random mask, h0 != 0. */
function problem(model, T, B, seed, opts) {
  const rand = E.mulberry32(seed), c = model.config, o = opts || {};
  const normal = () => 2 * rand() - 1;
  const tokens = o.tokens !== undefined ? o.tokens : c.output === "softmax";
  const x = [], y = [], mask = [];
  for (let t = 0; t < T; t++) {
    x.push([]); y.push([]); mask.push([]);
    for (let b = 0; b < B; b++) {
      x[t].push(tokens ? Math.floor(rand() * c.input_size) : Array.from({length: c.input_size}, normal));
      y[t].push(c.output === "softmax" ? Math.floor(rand() * c.output_size) : Array.from({length: c.output_size}, normal));
      mask[t].push(rand() < 0.75 ? 0.5 + rand() : 0);
    }
  }
  const state = () => Array.from({length: B}, () => Array.from({length: c.hidden_size}, () => 0.5 * normal()));
  return {x, y, mask, h0: c.kind === "lstm" ? [state(), state()] : state()};
}
function model(v, extra) {
  return E.createModel(Object.assign({input_size: 4, hidden_size: 3, output_size: 4, seed: 3}, v, extra || {}));
}

// ---- shapes ---------------------------------------------------------------------------------
test("parameters have the library's names, order and shapes", () => {
  const D = 5, H = 3, O = 2, cfg = {input_size: D, hidden_size: H, output_size: O};
  const names = (v) => Object.keys(E.createModel(Object.assign({}, cfg, v)).params);
  assert.deepEqual(names({kind: "rnn"}), ["U", "W", "b", "V", "c"]);
  assert.deepEqual(names({kind: "lstm"}), ["W_z", "W_i", "W_f", "W_o", "R_z", "R_i", "R_f", "R_o",
                                           "b_z", "b_i", "b_f", "b_o", "V", "c"]);
  assert.deepEqual(names({kind: "lstm", peepholes: true}).slice(12, 15), ["p_i", "p_f", "p_o"]);
  assert.deepEqual(names({kind: "gru"}), ["U_r", "U_z", "U_n", "W_r", "W_z", "W_n", "b_r", "b_z",
                                          "b_n", "b_hn", "V", "c"]);
  assert.ok(!names({kind: "gru", reset: "before"}).includes("b_hn"));
  const m = E.createModel(Object.assign({kind: "lstm", peepholes: true}, cfg));
  const want = {W_z: [H, D], R_o: [H, H], b_f: [H], p_o: [H], V: [O, H], c: [O]};
  Object.keys(want).forEach((k) => assert.deepEqual(shapeOf(m.params[k]), want[k], k));
});

test("the trace's arrays are shaped as the library's", () => {
  VARIANTS.forEach((v) => {
    const m = model(v), T = 4, B = 2, H = 3, O = 4;
    const tr = E.trace(m, problem(m, T, B, 1));
    assert.deepEqual(shapeOf(tr.forward.h), [T, B, H]);
    assert.deepEqual(shapeOf(tr.forward.y_hat), [T, B, O]);
    assert.deepEqual(shapeOf(tr.errors.o), [T, B, O]);
    Object.keys(tr.errors).filter((k) => k !== "o").forEach((k) => assert.deepEqual(shapeOf(tr.errors[k]), [T, B, H], k));
    Object.keys(tr.errors_by_source).forEach((k) => assert.deepEqual(shapeOf(tr.errors_by_source[k]), [T, T, B, H], k));
    Object.keys(m.params).forEach((k) => assert.deepEqual(shapeOf(tr.per_step[k]), [T].concat(shapeOf(m.params[k])), k));
    assert.deepEqual(shapeOf(tr.jacobian_norms), [T, T, B]);
    assert.ok(Number.isNaN(tr.jacobian_norms[0][1][0]) && tr.jacobian_norms[1][1][0] === 1);
    const paths = {rnn: ["a", "h"], lstm: ["c", "h"], gru: ["h"]}[v.kind];
    assert.deepEqual(Object.keys(tr.errors_by_source).sort(), paths.sort(), label(v));
    assert.deepEqual(shapeOf(tr.dh0), v.kind === "lstm" ? [2, B, H] : [B, H]);
  });
});

// ---- a network small enough to redo by hand ----------------------------------------------------
test("a hand-worked T = 2, H = 2 SimpleRNN (identity g, identity output)", () => {
  const m = E.createModel({kind: "rnn", activation: "identity", output: "identity",
                           input_size: 1, hidden_size: 2, output_size: 1});
  m.params = {U: [[1], [2]], W: [[0.5, 0.25], [0, 0.5]], b: [0, 0.5], V: [[1, -1]], c: [0.5]};
  const tr = E.trace(m, {x: [[[1]], [[2]]], y: [[[1]], [[0]]]});    // x(0) = 1, x(1) = 2, y = 1, 0; h0 = 0
  // a(0) = b + W·0 + U·1 = (1, 2.5) = h(0);  o(0) = 0.5 + 1 − 2.5 = −1;  L(0) = ½(−1 − 1)² = 2
  // a(1) = b + W h(0) + U·2 = (0 + 0.5 + 0.625 + 2, 0.5 + 1.25 + 4) = (3.125, 5.75) = h(1)
  // o(1) = 0.5 + 3.125 − 5.75 = −2.125;  L(1) = ½ 2.125² = 2.2578125;  J = 4.2578125
  assert.deepEqual(tr.forward.a, [[[1, 2.5]], [[3.125, 5.75]]]);
  assert.deepEqual(tr.forward.o, [[[-1]], [[-2.125]]]);
  assert.deepEqual(tr.loss_terms, [2, 2.2578125]);
  assert.equal(tr.loss, 4.2578125);
  // ∂J/∂o(1) = −2.125, ∂J/∂h(1) = Vᵀ ∂J/∂o(1) = (−2.125, 2.125) = ∂J/∂a(1)
  // ∂J/∂o(0) = −2, ∂J/∂h(0) = (−2, 2) + Wᵀ ∂J/∂a(1) = (−2, 2) + (−1.0625, −0.53125 + 1.0625) = (−3.0625, 2.53125)
  assert.deepEqual(tr.errors.o, [[[-2]], [[-2.125]]]);
  assert.deepEqual(tr.errors.h, [[[-3.0625, 2.53125]], [[-2.125, 2.125]]]);
  assert.deepEqual(tr.errors.a, tr.errors.h);
  // ∂J/∂V = −2 (1, 2.5) − 2.125 (3.125, 5.75) = (−8.640625, −17.21875);  ∂J/∂c = −4.125
  // ∂J/∂U = ∂J/∂a(0)·1 + ∂J/∂a(1)·2 = (−7.3125, 6.78125);  ∂J/∂b = (−5.1875, 4.65625)
  // ∂J/∂W = ∂J/∂a(1) h(0)ᵀ (h(−1) = 0) = ((−2.125, −5.3125), (2.125, 5.3125))
  // ∂J/∂h0 = Wᵀ ∂J/∂a(0) = (0.5·−3.0625, 0.25·−3.0625 + 0.5·2.53125) = (−1.53125, 0.5)
  assert.deepEqual(tr.grads, {U: [[-7.3125], [6.78125]], W: [[-2.125, -5.3125], [2.125, 5.3125]],
                              b: [-5.1875, 4.65625], V: [[-8.640625, -17.21875]], c: [-4.125]});
  assert.deepEqual(tr.dh0, [[-1.53125, 0.5]]);
  // by source: L(1) reaches a(0) through W: ∂L(1)/∂a(0) = Wᵀ (−2.125, 2.125) = (−1.0625, 0.53125)
  assert.deepEqual(tr.errors_by_source.a[1][0], [[-1.0625, 0.53125]]);
  assert.deepEqual(tr.errors_by_source.a[0][1], [[0, 0]]);
  // ∂h(1)/∂h(0) = W (g' = 1): ‖W‖₂² is the larger root of λ² − 0.5625λ + 0.0625 = 0 (WᵀW has
  // trace 0.5625, determinant 0.0625), so ‖W‖₂ = (1 + √17)/8
  closeTo(tr.jacobian_norms[1][0][0], (1 + Math.sqrt(17)) / 8, EXACT, "‖W‖₂");
});

test("softmax and cross-entropy on round numbers", () => {
  const m = E.createModel({kind: "rnn", input_size: 1, hidden_size: 1, output_size: 2});
  m.params = {U: [[0]], W: [[0]], b: [0], V: [[0], [0]], c: [0, Math.log(3)]};
  const tr = E.trace(m, {x: [[0]], y: [[0]]});               // o = (0, log 3): ŷ = (1/4, 3/4)
  closeTo(tr.forward.y_hat[0][0], [0.25, 0.75], EXACT, "ŷ");
  closeTo(tr.loss, Math.log(4), EXACT, "−log ŷ[0] = log 4");
  closeTo(tr.errors.o[0][0], [-0.75, 0.75], EXACT, "ŷ − onehot(0)");
});

// ---- gradients ---------------------------------------------------------------------------------
for (const v of VARIANTS) {
  for (const output of ["softmax", "identity"]) {
    test(`gradient = finite differences: ${label(v)}, ${output}`, () => {
      const m = model(v, {output: output, rho: output === "identity" ? 1.1 : null});
      const pr = problem(m, 4, 2, 7);
      const tr = E.trace(m, pr, {jacobians: false, by_source: false});
      const tol = {abs: 1e-8, rel: 1e-6};
      Object.keys(m.params).forEach((name) => {
        const shape = shapeOf(m.params[name]);
        const idx = shape.length === 1 ? shape.map((n) => [...Array(n).keys()]).flat().map((i) => [i])
          : [...Array(shape[0]).keys()].flatMap((i) => [...Array(shape[1]).keys()].map((j) => [i, j]));
        idx.forEach((ix) => {
          const an = ix.length === 1 ? tr.grads[name][ix[0]] : tr.grads[name][ix[0]][ix[1]];
          closeTo(E.finiteDifference(m, pr, name, ix, 1e-6), an, tol, `${name}[${ix}]`);
        });
      });
      // ∂J/∂h0 (and ∂J/∂c0) by finite differences of the initial state
      const states = v.kind === "lstm" ? [[pr.h0[0], tr.dh0[0]], [pr.h0[1], tr.dh0[1]]] : [[pr.h0, tr.dh0]];
      states.forEach(([h0, dh0]) => {
        const old = h0[1][2];
        h0[1][2] = old + 1e-6; const plus = E.loss(m, pr);
        h0[1][2] = old - 1e-6; const minus = E.loss(m, pr);
        h0[1][2] = old;
        closeTo((plus - minus) / 2e-6, dh0[1][2], tol, "dh0");
      });
    });
  }
}

test("per-step contributions sum to the gradients; errors by source sum to the errors", () => {
  VARIANTS.forEach((v) => {
    const m = model(v), tr = E.trace(m, problem(m, 5, 2, 11));
    Object.keys(m.params).forEach((k) => closeTo(sumOver(tr.per_step[k]), tr.grads[k], EXACT, label(v) + " " + k));
    Object.keys(tr.errors_by_source).forEach((p) => {
      closeTo(sumOver(tr.errors_by_source[p]), tr.errors[p], EXACT, label(v) + " path " + p);
    });
    closeTo(tr.loss_terms.reduce((a, b) => a + b), tr.loss, EXACT, "Σ_s L(s) = J");
    closeTo(E.forward(m, problem(m, 5, 2, 11)).loss, tr.loss, {abs: 0, rel: 0}, "forward's loss");
  });
});

test("truncation with k2 >= T equals full BPTT; k2 = 1 keeps each loss term's own step", () => {
  VARIANTS.forEach((v) => {
    const m = model(v), pr = problem(m, 5, 2, 5), full = E.grads(m, pr);
    [5, 9].forEach((k2) => {
      const tr = E.grads(m, pr, {k2: k2});
      Object.keys(m.params).forEach((k) => closeTo(tr.grads[k], full.grads[k], EXACT, `${label(v)} k2=${k2} ${k}`));
      assert.ok(tr.dropped.every((r) => r.every((d) => !d)));
    });
    const one = E.grads(m, pr, {k2: 2});
    assert.deepEqual(one.dropped[4], [true, true, true, false, false]);
    assert.equal(one.loss, full.loss);
  });
  // the simple RNN with k2 = 1: ∂W = Σ_s ∂L(s)/∂a(s) h(s−1)ᵀ, the diagonal of errors_by_source
  const m = model({kind: "rnn"}), pr = problem(m, 4, 1, 2), tr = E.trace(m, pr);
  const dW = [[0, 0, 0], [0, 0, 0], [0, 0, 0]];
  for (let s = 0; s < 4; s++) {
    const da = tr.errors_by_source.a[s][s][0], hp = s === 0 ? pr.h0[0] : tr.forward.h[s - 1][0];
    da.forEach((d, i) => hp.forEach((h, j) => { dW[i][j] += d * h; }));
  }
  closeTo(E.grads(m, pr, {k2: 1}).grads.W, dW, EXACT, "W with k2 = 1");
});

// ---- clipping and the optimizers on numbers small enough to check by hand -------------------
test("clipping by norm, by value and none", () => {
  const g = {a: [3, 0], b: [[4]]};                          // ‖g‖ = √(9 + 16) = 5
  const n = E.clip(g, "norm", 1);                           // scale = 1 / (5 + 1e-6)
  assert.equal(n.norm_before, 5);
  assert.deepEqual(n.grads, {a: [3 * (1 / (5 + 1e-6)), 0], b: [[4 * (1 / (5 + 1e-6))]]});
  closeTo(n.norm_after, 5 / (5 + 1e-6), EXACT, "norm after");
  assert.deepEqual(E.clip(g, "norm", 10).grads, g);         // scale > 1: untouched
  const v = E.clip(g, "value", 3.5);                        // min(max(g, −3.5), 3.5)
  assert.deepEqual(v.grads, {a: [3, 0], b: [[3.5]]});
  assert.equal(v.norm_after, Math.sqrt(9 + 12.25));
  assert.deepEqual(E.clip({a: [-7, 1]}, "value", 2).grads, {a: [-2, 1]});
  const none = E.clip(g, "none");
  assert.deepEqual(none, {grads: g, norm_before: 5, norm_after: 5});
  assert.deepEqual(g, {a: [3, 0], b: [[4]]});               // the input is left alone
  assert.deepEqual(E.clip({a: [Infinity, 1]}, "norm", 1).grads, {a: [Infinity, 1]});
});

test("SGD and Adam on one number", () => {
  const sgd = E.makeOptimizer("sgd", 0.1), p = {w: [1]};
  sgd.step(p, {w: [2]});                                    // θ ← 1 − 0.1·2
  assert.deepEqual(p, {w: [1 - 0.1 * 2]});
  const adam = E.makeOptimizer("adam", 0.1), q = {w: [[1]]};
  adam.step(q, {w: [[2]]});
  // t = 1: m = 0.1·2 = 0.2, v = 0.001·4 = 0.004; step size = 0.1 / (1 − 0.9) = 1,
  // √v / √(1 − 0.999) = 2 (to round-off), θ = 1 − 0.2 / (2 + 1e-8) ≈ 0.9 (the step is lr·sign(g))
  closeTo(q.w[0][0], 1 - 0.2 / (2 + 1e-8), {abs: 1e-15, rel: 0}, "Adam step 1");
  closeTo(adam.m.w[0][0], 0.2, EXACT, "m");
  closeTo(adam.v.w[0][0], 0.004, EXACT, "v");
  adam.step(q, {w: [[-1]]});
  // t = 2: m = 0.9·0.2 − 0.1 = 0.08, v = 0.999·0.004 + 0.001 = 0.004996
  // θ ← θ − (0.1 / 0.19) · 0.08 / (√0.004996 / √0.001999 + 1e-8)
  const expected = 1 - 0.2 / (2 + 1e-8) - (0.1 / 0.19) * 0.08 / (Math.sqrt(0.004996) / Math.sqrt(1 - 0.999 ** 2) + 1e-8);
  closeTo(q.w[0][0], expected, {abs: 1e-14, rel: 0}, "Adam step 2");
  assert.equal(adam.t, 2);
});

// ---- training ---------------------------------------------------------------------------------
test("train: losses fall, the optimizer's state carries across calls, the history records it", () => {
  VARIANTS.forEach((v) => {
    const make = () => model(v, {seed: 5});
    const pr = problem(make(), 6, 1, 3);
    const a = make(), optA = E.makeOptimizer("adam", 0.05), hist = E.newHistory(a);
    const opts = {optimizer: optA, clip_mode: "norm", clip: 1, k2: 3};
    const first = E.train(a, pr, opts, 3, hist).concat(E.train(a, pr, opts, 27, hist));
    assert.equal(first.length, 30);
    assert.ok(first[29] < first[0], `${label(v)}: ${first[0]} → ${first[29]}`);
    const b = make(), optB = E.makeOptimizer("adam", 0.05);
    const once = E.train(b, pr, {optimizer: optB, clip_mode: "norm", clip: 1, k2: 3}, 30);
    assert.deepEqual(once, first);                          // 3 + 27 updates = 30 updates
    assert.deepEqual(b.params, a.params);
    assert.deepEqual(hist.losses, first);
    assert.deepEqual(hist.params0, make().params);
    assert.throws(() => E.train(a, pr, {optimizer: optA, clip_mode: "value", clip: 1, k2: 3}, 1, hist),
                  /settings this history began with/);
    assert.throws(() => E.train(a, problem(a, 6, 1, 4), opts, 1, hist), /problem must be the problem this history began with/);
    const stale = E.newHistory(a);
    E.train(a, pr, {optimizer: E.makeOptimizer("sgd", 0.1)}, 1);
    assert.throws(() => E.train(a, pr, {optimizer: E.makeOptimizer("sgd", 0.1)}, 1, stale), /model.params must be the history's params0/);
  });
});

test("rho: the recurrent matrices are ρ times an orthogonal matrix", () => {
  [["rnn", ["W"]], ["lstm", ["R_z", "R_i", "R_f", "R_o"]], ["gru", ["W_r", "W_z", "W_n"]]].forEach(([kind, names]) => {
    const rho = 1.7, H = 6, m = E.createModel({kind: kind, input_size: 2, hidden_size: H, output_size: 2, rho: rho, seed: 9});
    const rand = E.mulberry32(1);
    names.forEach((name) => {
      const Q = m.params[name].map((r) => r.map((w) => w / rho));
      const QtQ = Q[0].map((_, i) => Q[0].map((_, j) => Q.reduce((s, r) => s + r[i] * r[j], 0)));
      closeTo(QtQ, E.util.eye(H), {abs: 1e-14, rel: 0}, name + ": QᵀQ = I");
      const x = Array.from({length: H}, () => rand() - 0.5), Qx = Q.map((r) => r.reduce((s, q, j) => s + q * x[j], 0));
      const norm = (a) => Math.sqrt(a.reduce((s, v) => s + v * v, 0));
      closeTo(norm(Qx), norm(x), EXACT, name + ": ‖Qx‖ = ‖x‖");    // so every |λ(Q)| = 1, and ρ(W) = ρ
      closeTo(E.spectralNorm(m.params[name]), rho, EXACT, name + ": ‖W‖₂ = ρ");
    });
    const plain = E.createModel({kind: kind, input_size: 2, hidden_size: H, output_size: 2, seed: 9});
    const bound = 1 / Math.sqrt(H);
    Object.values(plain.params).flat(2).forEach((w) => assert.ok(Math.abs(w) <= bound));
  });
});

test("the PRNG is seeded: the same seed gives the same model", () => {
  const cfg = {kind: "gru", input_size: 3, hidden_size: 4, output_size: 3};
  assert.deepEqual(E.createModel(Object.assign({seed: 42}, cfg)), E.createModel(Object.assign({seed: 42}, cfg)));
  assert.notDeepEqual(E.createModel(Object.assign({seed: 42}, cfg)).params, E.createModel(Object.assign({seed: 43}, cfg)).params);
  const r = E.mulberry32(0), draws = Array.from({length: 1000}, r);
  assert.ok(draws.every((u) => u >= 0 && u < 1));
  closeTo(draws.reduce((a, b) => a + b) / 1000, 0.5, {abs: 0.05, rel: 0}, "mean");
});

test("the export is plain JSON with every key load_lab_export reads", () => {
  const m = model({kind: "lstm"}), pr = problem(m, 3, 1, 2), opt = E.makeOptimizer("sgd", 0.1);
  const hist = E.newHistory(m);
  E.train(m, pr, {optimizer: opt}, 2, hist);
  const ex = E.exportLab(m, pr, {optimizer: opt, text: "abc", vocab: ["a", "b", "c", "d"]}, hist);
  assert.deepEqual(JSON.parse(JSON.stringify(ex)), ex);
  assert.deepEqual(Object.keys(ex).sort(), ["config", "format", "grads", "h0", "history", "loss", "mask",
                                            "params", "version", "x", "y"]);
  assert.equal(ex.config.optimizer, "sgd");
  assert.equal(ex.config.clip_mode, "none");
  assert.equal(ex.history.losses.length, 2);
  assert.throws(() => E.exportLab(m, pr, {optimizer: opt, vocab: ["a"]}, hist), /vocab must be an array of input_size = 4 strings/);
});

// ---- validation: the message names the option, the expectation and the value ------------------
test("bad arguments throw with clear messages", () => {
  const base = {kind: "rnn", input_size: 3, hidden_size: 2, output_size: 3};
  const bad = (patch) => () => E.createModel(Object.assign({}, base, patch));
  assert.throws(bad({hidden_size: 0}), {message: "hidden_size must be an integer in [1, 32]; got 0"});
  assert.throws(bad({hidden_size: 2.5}), /hidden_size must be an integer in \[1, 32\]; got 2.5/);
  assert.throws(bad({kind: "cnn"}), {message: 'kind must be one of "rnn", "lstm", "gru"; got "cnn"'});
  assert.throws(bad({activation: "gelu"}), /activation must be one of "tanh", "relu", "sigmoid", "identity"; got "gelu"/);
  assert.throws(bad({reset: "middle"}), /reset must be one of "after", "before"; got "middle"/);
  assert.throws(bad({peepholes: 1}), /peepholes must be true or false; got 1/);
  assert.throws(bad({output: "sigmoid"}), /output must be one of "softmax", "identity"/);
  assert.throws(bad({rho: -1}), /rho must be a finite number in \[0, 10\]; got -1/);
  assert.throws(bad({seed: -3}), /seed must be an integer in \[0, 4294967295\]; got -3/);
  assert.throws(bad({hidden: 3}), /config has an unknown option "hidden"/);
  const m = E.createModel(base), lstm = E.createModel(Object.assign({}, base, {kind: "lstm"}));
  const pr = {x: [[0], [1]], y: [[1], [2]]};
  assert.throws(() => E.trace(m, {x: [[0], [3]], y: pr.y}), /problem.x\[1\]\[0\] must be a token id \(an integer in \[0, 3\)\) or an array of 3 numbers; got 3/);
  assert.throws(() => E.trace(m, {x: [[0], [[1, 2, 3]]], y: pr.y}), /problem.x\[1\]\[0\] must be a token id, as x\[0\]\[0\]; got an array of length 3/);
  assert.throws(() => E.trace(m, {x: pr.x, y: [[1]]}), /problem.y must be an array of T = 2 rows/);
  assert.throws(() => E.trace(m, {x: pr.x, y: pr.y, mask: [[1], [-1]]}), /problem.mask\[1\]\[0\] must be a weight >= 0; got -1/);
  assert.throws(() => E.trace(m, {x: pr.x, y: pr.y, h0: [[0, NaN]]}), /problem.h0\[0\]\[1\] must be a finite number; got NaN/);
  assert.throws(() => E.trace(lstm, {x: pr.x, y: pr.y, h0: [[0, 0]]}), /problem.h0 must be a pair \[h0, c0\] for the LSTM/);
  assert.throws(() => E.trace(m, Object.assign({z: 1}, pr)), /problem has an unknown option "z"/);
  assert.throws(() => E.trace(m, pr, {jacobian: false}), /trace options has an unknown option "jacobian"/);
  assert.throws(() => E.grads(m, pr, {k2: 0}), {message: "k2 must be an integer in [1, 100]; got 0"});
  assert.throws(() => E.clip({a: [1]}, "norm"), /clip must be a finite number > 0 with clip_mode "norm"; got undefined/);
  assert.throws(() => E.clip({a: [1]}, "l2", 1), /clip_mode must be one of "none", "norm", "value"; got "l2"/);
  assert.throws(() => E.makeOptimizer("rmsprop", 0.1), /optimizer must be one of "sgd", "adam"; got "rmsprop"/);
  assert.throws(() => E.makeOptimizer("sgd", 0), /lr must be a finite number > 0 and <= 1000; got 0/);
  assert.throws(() => E.train(m, pr, {optimizer: "adam"}, 1), /train options.optimizer must be an optimizer from makeOptimizer/);
  assert.throws(() => E.train(m, pr, {optimizer: E.makeOptimizer("sgd", 1)}, -1), /n must be an integer in \[0, 1000000\]; got -1/);
  assert.throws(() => E.finiteDifference(m, pr, "Q", [0]), /name must be one of "U", "W", "b", "V", "c"; got "Q"/);
  assert.throws(() => E.finiteDifference(m, pr, "W", [0, 2]), /index\[1\] must be an integer in \[0, 1\]; got 2/);
  assert.throws(() => E.trace({}, pr), /model must be a model from createModel/);
});
