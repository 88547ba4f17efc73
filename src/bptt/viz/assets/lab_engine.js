// The BPTT lab's computing engine, part 2 of 3: sequences. Forward propagation, the loss, full and
// truncated BPTT, and the trace (every error, per-step contribution, error flow by source step,
// Jacobian norm), run over the steps of lab_cells.js (part 1); lab_train.js (part 3) adds
// initialisation (createModel), clipping, the optimizers, training, finite differences and the
// export.
//
// Plain modern JavaScript: no framework, no build step. In a page, load lab_cells.js,
// lab_engine.js and lab_train.js in that order: the API is `globalThis.bpttEngine`. Under Node,
// `require("lab_engine.js")` returns the whole API (it loads the two other files itself).
//
// Same equations and conventions as the Python library `bptt` (cells/{rnn,lstm,gru}/reference.py,
// nn/losses.py, nn/activations.py), one layer, float64 (JavaScript's numbers), and the numbers
// equal the library's to 1e-12 (tests/viz/test_lab_engine.py checks it):
//
//   J = Σ_t Σ_b mask[t, b] · L(t, b) / B      L: −log ŷ[y] (softmax) or ½‖o − y‖² (identity)
//   L(s) = Σ_b mask[s, b] · L(s, b) / B       the loss term of step s: Σ_s L(s) = J
//
// Dimension letters: T time steps, B batch, D input size, H hidden size, O output size.
//
// Arrays are plain nested JavaScript arrays shaped exactly like the library's NumPy arrays, so
// that JSON.stringify gives the same nested lists: a matrix (H, D) is an array of H rows of D
// numbers; x is (T, B) token ids (ids into the vocabulary: x[t][b] an integer) or (T, B, D)
// floats; y is (T, B) class ids (softmax) or (T, B, O) floats (identity); mask (T, B); h0 (B, H),
// or for the LSTM the pair [h0, c0], each (B, H).
//
// API (all of it; the details are in the JSDoc of each function):
//   createModel(config) -> {config, params}                          (lab_train.js)
//     config {kind: "rnn" | "lstm" | "gru", activation (rnn: tanh | relu | sigmoid | identity),
//     peepholes (lstm), reset (gru: "after" | "before"), forget_bias (lstm, default 0),
//     input_size, hidden_size (1..32), output_size, output: "softmax" | "identity", seed, rho};
//     params uniform in ±1/√H from mulberry32(seed); with rho, recurrent matrices ρ·Q, Q orthogonal
//   paramShapes(config) -> {name: shape}, in the library's parameter order
//   forward(model, problem) -> forward values, loss, loss_terms
//   loss(model, problem) -> J                                         (forward only)
//   trace(model, problem, {by_source, jacobians}) -> every number of one forward + BPTT pass:
//     forward, loss, loss_terms, errors, errors_by_source, per_step, grads, dh0, jacobian_norms
//     (+ jacobian_norms_c for the LSTM), with the keys and shapes of the library's traces
//   grads(model, problem, {k2}) -> {loss, grads, dh0, dropped}: full or truncated BPTT
//   clip(grads, mode, value) -> {grads, norm_before, norm_after}        (lab_train.js)
//   makeOptimizer(name, lr) -> {name, lr, t, m, v, step(params, grads)} (lab_train.js)
//   newHistory(model) -> {params0, losses, ...}                         (lab_train.js)
//   train(model, problem, options, n, history?) -> the n losses; options {optimizer (from
//     makeOptimizer, held by the caller: its state carries across calls), clip_mode, clip, k2}
//   finiteDifference(model, problem, name, index, eps) -> central difference of J (lab_train.js)
//   exportLab(model, problem, options, history) -> the JSON of bptt.load_lab_export (lab_train.js;
//     also available as `export`)
//   globalNorm(grads), spectralNorm(M), mulberry32(seed), randomOrthogonal(n, rand)
//   KINDS, OUTPUTS, RESETS, ACTIVATIONS, LIMITS, CLIP_MODES, OPTIMIZERS; cells (lab_cells.js),
//   util (the checks and array helpers the files share)
// Bad arguments throw Error with a message naming the option, the expectation and the value:
//   "hidden_size must be an integer in [1, 32]; got 0".
/** @typedef {import("./lab_cells.js").Vec} Vec */
/** @typedef {import("./lab_cells.js").Mat} Mat */
/** @typedef {import("./lab_cells.js").Config} Config */
/** @typedef {import("./lab_cells.js").Model} Model */
/** @typedef {import("./lab_cells.js").Problem} Problem */

(function (root) {
  "use strict";
  const node = typeof module === "object" && module.exports;
  const cells = node ? require("./lab_cells.js") : /** @type {any} */ (root).bpttCells;
  const {ACTIVATIONS, CELLS, paramShapes, spectralNorm} = cells;
  const {zeros, copy, zerosLike, zerosOf, eye, matVec, matTVec, addOuter, addTo, matMul} = cells.la;

  const KINDS = ["rnn", "lstm", "gru"];
  const OUTPUTS = ["softmax", "identity"];
  const RESETS = ["after", "before"];
  /** The lab's sizes: beyond them the O(T²) trace gets too large for a page. */
  const LIMITS = {hidden_size: 32, input_size: 256, output_size: 256, T: 100, B: 8};

  // ---- validation: messages name the option, the expectation and the value ------------------
  function show(v) {
    if (typeof v === "string") return JSON.stringify(v);
    if (v === undefined) return "undefined";
    if (typeof v === "number" || typeof v === "boolean" || v === null) return String(v);
    if (Array.isArray(v)) return "an array of length " + v.length;
    return typeof v;
  }
  function fail(name, expected, value) {
    throw new Error(name + " must be " + expected + "; got " + show(value));
  }
  function checkInt(v, name, lo, hi) {
    if (typeof v !== "number" || !Number.isInteger(v) || v < lo || v > hi) {
      fail(name, "an integer in [" + lo + ", " + hi + "]", v);
    }
    return v;
  }
  function checkChoice(v, name, choices) {
    if (choices.indexOf(v) < 0) fail(name, "one of " + choices.map(show).join(", "), v);
    return v;
  }
  function checkNumber(v, name, lo, hi, what) {
    if (typeof v !== "number" || !isFinite(v) || v < lo || v > hi) {
      fail(name, what || "a finite number in [" + lo + ", " + hi + "]", v);
    }
    return v;
  }
  function checkKeys(obj, name, known) {
    if (obj === null || typeof obj !== "object" || Array.isArray(obj)) fail(name, "an object", obj);
    Object.keys(obj).forEach(function (k) {
      if (known.indexOf(k) < 0) {
        throw new Error(name + " has an unknown option " + show(k) + "; expected one of " +
                        known.map(show).join(", "));
      }
    });
  }

  // ---- the problem: x, y, mask, h0 checked against the model ----------------------------------
  function checkMatrix(a, name, rows, cols) {
    if (!Array.isArray(a) || a.length !== rows) fail(name, "an array of " + rows + " rows", a);
    a.forEach((r, i) => {
      if (!Array.isArray(r) || r.length !== cols) fail(name + "[" + i + "]", "an array of " + cols + " numbers", r);
      r.forEach((v, j) => { if (typeof v !== "number" || !isFinite(v)) fail(name + "[" + i + "][" + j + "]", "a finite number", v); });
    });
    return a;
  }
  /**
   * The problem checked and completed: mask defaults to ones, h0 to zeros.
   * @returns {{x: Array, y: Array, mask: Mat, h0: Mat, c0: (Mat|null), T: number, B: number}}
   */
  function checkProblem(model, problem) {
    checkKeys(problem, "problem", ["x", "y", "mask", "h0"]);
    const cfg = model.config, D = cfg.input_size, H = cfg.hidden_size, O = cfg.output_size;
    const x = problem.x;
    if (!Array.isArray(x) || x.length < 1 || x.length > LIMITS.T) fail("problem.x", "an array of T rows with 1 <= T <= " + LIMITS.T, x);
    const B = Array.isArray(x[0]) ? x[0].length : 0, T = x.length;
    if (B < 1 || B > LIMITS.B) fail("problem.x[0]", "an array of B entries with 1 <= B <= " + LIMITS.B, x[0]);
    const floats = Array.isArray(x[0][0]);                     // (T, B, D) floats, or (T, B) token ids
    x.forEach((row, t) => {
      if (!Array.isArray(row) || row.length !== B) fail("problem.x[" + t + "]", "an array of " + B + " entries", row);
      row.forEach((v, b) => {
        const nm = "problem.x[" + t + "][" + b + "]";
        if (Array.isArray(v) !== floats) fail(nm, floats ? "an array of " + D + " numbers, as x[0][0]" : "a token id, as x[0][0]", v);
        if (floats) {
          if (v.length !== D) fail(nm, "an array of input_size = " + D + " numbers", v);
          v.forEach((u, d) => { if (typeof u !== "number" || !isFinite(u)) fail(nm + "[" + d + "]", "a finite number", u); });
        } else if (!Number.isInteger(v) || v < 0 || v >= D) fail(nm, "a token id (an integer in [0, " + D + ")) or an array of " + D + " numbers", v);
      });
    });
    const y = problem.y;
    if (!Array.isArray(y) || y.length !== T) fail("problem.y", "an array of T = " + T + " rows", y);
    y.forEach((row, t) => {
      if (!Array.isArray(row) || row.length !== B) fail("problem.y[" + t + "]", "an array of B = " + B + " entries", row);
      row.forEach((v, b) => {
        const nm = "problem.y[" + t + "][" + b + "]";
        if (cfg.output === "softmax") {
          if (!Number.isInteger(v) || v < 0 || v >= O) fail(nm, "a class id (an integer in [0, " + O + "))", v);
        } else checkMatrix([v], nm, 1, O);
      });
    });
    const mask = problem.mask === undefined || problem.mask === null ? zerosOf([T, B]).map((r) => r.map(() => 1))
      : checkMatrix(problem.mask, "problem.mask", T, B);
    mask.forEach((r, t) => r.forEach((v, b) => { if (v < 0) fail("problem.mask[" + t + "][" + b + "]", "a weight >= 0", v); }));
    let h0, c0 = null;
    if (problem.h0 === undefined || problem.h0 === null) {
      h0 = zerosOf([B, H]);
      if (cfg.kind === "lstm") c0 = zerosOf([B, H]);
    } else if (cfg.kind === "lstm") {
      if (!Array.isArray(problem.h0) || problem.h0.length !== 2) fail("problem.h0", "a pair [h0, c0] for the LSTM", problem.h0);
      h0 = checkMatrix(problem.h0[0], "problem.h0[0]", B, H);
      c0 = checkMatrix(problem.h0[1], "problem.h0[1]", B, H);
    } else h0 = checkMatrix(problem.h0, "problem.h0", B, H);
    return {x: x, y: y, mask: mask, h0: h0, c0: c0, T: T, B: B};
  }

  // ---- the output layer and the loss, as bptt.nn.losses --------------------------------------
  /** o(t) = c + V h(t) */
  function outputLayer(p, h) { const Vh = matVec(p.V, h); return p.c.map((ck, k) => ck + Vh[k]); }

  /**
   * L(t, b) and ∂(w·L)/∂o for one position with weight w = mask[t, b] / B:
   *   softmax:  ŷ = e^(o − m) / Σ e^(o − m), L = log Σ e^(o − m) − (o[y] − m), ∂/∂o = w (ŷ − onehot(y))
   *   identity: ŷ = o, L = ½‖o − y‖², ∂/∂o = w (o − y)
   */
  function lossAt(output, o, y, w) {
    if (output === "softmax") {
      const m = Math.max.apply(null, o);
      const e = o.map((v) => Math.exp(v - m));                 // e^z, z = o − m
      let s = 0;
      for (let k = 0; k < e.length; k++) s += e[k];            // Σ e^z
      const L = Math.log(s) - (o[y] - m);                      // −log ŷ[y] = log Σ e^z − z[y]
      const inv = 1 / s;
      const y_hat = e.map((v) => v * inv);                     // ŷ = e^z / Σ e^z
      const d = y_hat.map((v) => v * w);                       // w ŷ
      d[y] -= w;                                               // w (ŷ − onehot(y))
      return {L: L, y_hat: y_hat, d: d};
    }
    const diff = o.map((v, k) => v - y[k]);                    // o − y
    let ss = 0;
    for (let k = 0; k < diff.length; k++) ss += diff[k] * diff[k];
    return {L: 0.5 * ss, y_hat: o.slice(), d: diff.map((v) => v * w)};   // ½‖o − y‖², w (o − y)
  }

  // ---- forward and full BPTT over the sequence ------------------------------------------------
  /** The loop of the cell's step forward over t = 0..T−1 for every sequence b, then the loss. */
  function runForward(model, pr) {
    const cfg = model.config, p = model.params, cell = CELLS[cfg.kind];
    const steps = [], o = [], y_hat = [], dO = [], loss_terms = [];
    let prev = pr.h0.map((h, b) => ({h: h, c: pr.c0 ? pr.c0[b] : null}));   // state at t = −1
    let loss = 0;
    for (let t = 0; t < pr.T; t++) {
      const row = prev.map((s, b) => cell.forward(p, cfg, pr.x[t][b], s));
      steps.push(row);
      prev = row;
      o.push([]); y_hat.push([]); dO.push([]);
      let term = 0;
      row.forEach((st, b) => {
        const ot = outputLayer(p, st.h);                       // o(t) = c + V h(t)
        const w = pr.mask[t][b] / pr.B;                        // mask[t, b] / B
        const r = lossAt(cfg.output, ot, pr.y[t][b], w);
        o[t].push(ot); y_hat[t].push(r.y_hat); dO[t].push(r.d);
        term += w * r.L;
      });
      loss_terms.push(term);                                   // L(t) = Σ_b mask[t, b] L(t, b) / B
      loss += term;                                            // J = Σ_t L(t)
    }
    return {steps: steps, o: o, y_hat: y_hat, dO: dO, loss: loss, loss_terms: loss_terms};
  }

  function zeroGrads(model) {
    const g = {};
    Object.keys(model.params).forEach((k) => { g[k] = zerosLike(model.params[k]); });
    return g;
  }

  /**
   * Full BPTT: the loop of the step backward from t = T−1 down to 0, for every sequence b:
   *   ∂J/∂h(t) = Vᵀ ∂J/∂o(t) + [the recurrent part from step t+1].
   * With perStep, each step's contributions go to their own dict (per_step[t]); else all into one.
   */
  function runBackward(model, pr, fw, perStep) {
    const cfg = model.config, p = model.params, cell = CELLS[cfg.kind], T = pr.T, B = pr.B;
    const H = cfg.hidden_size;
    const names = cell.errorNames(cfg), errors = {o: fw.dO};
    names.forEach((n) => { errors[n] = new Array(T); });
    const per_step = new Array(T);
    const total = perStep ? null : zeroGrads(model);
    let dh_rec = zerosOf([B, H]), dc_rec = zerosOf([B, H]);    // nothing comes from step T
    for (let t = T - 1; t >= 0; t--) {
      const g = perStep ? zeroGrads(model) : total;
      names.forEach((n) => { errors[n][t] = new Array(B); });
      for (let b = 0; b < B; b++) {
        const st = fw.steps[t][b], dO = fw.dO[t][b];
        addOuter(g.V, dO, st.h);                               // (∂J/∂V)^(t) = ∂J/∂o(t) h(t)ᵀ
        addTo(g.c, dO);                                        // (∂J/∂c)^(t) = ∂J/∂o(t)
        const fromOut = matTVec(p.V, dO);                      // Vᵀ ∂J/∂o(t)
        const dh = fromOut.map((v, j) => v + dh_rec[b][j]);    // ∂J/∂h(t) = Vᵀ ∂J/∂o(t) + [from t+1]
        const r = cell.backward(p, cfg, st, dh, dc_rec[b], g);
        dh_rec[b] = r.dh_prev;
        dc_rec[b] = r.dc_prev;
        names.forEach((n) => { errors[n][t][b] = r.err[n]; });
      }
      per_step[t] = g;
    }
    let grads = total;
    if (perStep) {                                             // ∂J/∂θ = Σ_t (∂J/∂θ)^(t)
      grads = zeroGrads(model);
      per_step.forEach((g) => Object.keys(g).forEach((k) => addNested(grads[k], g[k])));
    }
    const dh0 = cfg.kind === "lstm" ? [dh_rec, dc_rec] : dh_rec;   // ∂J/∂h(−1) (and ∂J/∂c(−1))
    return {grads: grads, per_step: per_step, errors: errors, dh0: dh0};
  }
  function addNested(acc, a) {
    for (let i = 0; i < a.length; i++) {
      if (Array.isArray(a[i])) addNested(acc[i], a[i]); else acc[i] += a[i];
    }
  }

  /**
   * Each loss term L(s) back-propagated on its own, from step s down to step lo(s):
   *   ∂L(s)/∂h(s) = Vᵀ ∂L(s)/∂o(s), then the step backward with nothing from outside.
   * Adds the cell's contributions into g (when given) and, with record, returns the errors
   * bySource[path][s][t][b] for t in lo(s)..s (zeros elsewhere).
   */
  function runBySource(model, pr, fw, lo, g, record) {
    const cfg = model.config, p = model.params, cell = CELLS[cfg.kind], T = pr.T, B = pr.B;
    const H = cfg.hidden_size;
    const paths = cfg.kind === "rnn" ? ["a", "h"] : cfg.kind === "lstm" ? ["c", "h"] : ["h"];
    const out = {};
    if (record) paths.forEach((n) => { out[n] = zerosOf([T, T, B, H]); });
    for (let s = 0; s < T; s++) {
      for (let b = 0; b < B; b++) {
        let dh = matTVec(p.V, fw.dO[s][b]), dc = zeros(H);     // ∂L(s)/∂h(s) = Vᵀ ∂L(s)/∂o(s)
        for (let t = s; t >= lo(s); t--) {
          const r = cell.backward(p, cfg, fw.steps[t][b], dh, dc, g);
          if (record) paths.forEach((n) => { out[n][s][t][b] = r.err[n]; });
          dh = r.dh_prev;                                      // ∂L(s)/∂h(t−1)
          dc = r.dc_prev;
        }
      }
    }
    return out;
  }

  /**
   * jacobian_norms[s][t][b] = ‖∂h(s)/∂h(t)‖₂ for t <= s (1 for s = t; NaN above the diagonal),
   * ∂h(s)/∂h(t) = Π_{k=t+1..s} ∂h(k)/∂h(k−1), each step's Jacobian with x(k) held fixed. For the
   * LSTM the product runs over the full state (y, c), and
   *   jacobian_norms[s][t][b]   = ‖∂y(s)/∂y(t)‖₂ with c(t) held fixed (the hidden path's block),
   *   jacobian_norms_c[s][t][b] = ‖∂c(s)/∂c(t)‖₂ with y(t) held fixed (the cell path's block).
   */
  function runJacobians(model, pr, fw) {
    const cfg = model.config, cell = CELLS[cfg.kind], T = pr.T, B = pr.B, H = cfg.hidden_size;
    const lstm = cfg.kind === "lstm";
    const nan = () => Array.from({length: T}, () => Array.from({length: T}, () => new Array(B).fill(NaN)));
    const norms = nan(), norms_c = lstm ? nan() : null;
    const block = (J, off) => J.slice(off, off + H).map((r) => r.slice(off, off + H));
    for (let b = 0; b < B; b++) {
      const S = fw.steps.map((row) => cell.jacobian(model.params, cfg, row[b]));
      for (let t = 0; t < T; t++) {
        let J = eye(lstm ? 2 * H : H);                         // ∂h(t)/∂h(t) = I
        norms[t][t][b] = 1;
        if (lstm) norms_c[t][t][b] = 1;
        for (let s = t + 1; s < T; s++) {
          J = matMul(S[s], J);                                 // ∂h(s)/∂h(t) = ∂h(s)/∂h(s−1) ∂h(s−1)/∂h(t)
          norms[s][t][b] = spectralNorm(lstm ? block(J, 0) : J);
          if (lstm) norms_c[s][t][b] = spectralNorm(block(J, H));
        }
      }
    }
    return {norms: norms, norms_c: norms_c};
  }

  // ---- the public functions --------------------------------------------------------------------
  function checkModel(model) {
    if (!model || typeof model !== "object" || !model.config || !model.params) {
      fail("model", "a model from createModel(config)", model);
    }
    return model;
  }

  /** The forward values of every step, shaped (T, B, .) like the library's forward(). */
  function forwardValues(model, fw) {
    const cfg = model.config, get = (key) => fw.steps.map((row) => row.map((st) => st[key]));
    const out = {h: get("h"), o: fw.o, y_hat: fw.y_hat};
    if (cfg.kind === "rnn") out.a = get("a");
    if (cfg.kind === "lstm") {
      out.c = get("c");
      out.gates = {z: get("z"), i: get("i"), f: get("f"), o: get("o")};
      out.pre = {z_hat: get("z_hat"), i_hat: get("i_hat"), f_hat: get("f_hat"), o_hat: get("o_hat")};
    }
    if (cfg.kind === "gru") {
      out.gates = {r: get("r"), z: get("z"), n: get("n")};
      out.pre = {r_hat: get("r_hat"), z_hat: get("z_hat"), n_hat: get("n_hat")};
      if (cfg.reset === "after") out.pre.hn = get("hn");
    }
    return out;
  }

  /**
   * Forward propagation: h (T, B, H), o and y_hat (T, B, O), and per kind a (rnn); c, gates
   * {z, i, f, o} and pre-activations {z_hat, i_hat, f_hat, o_hat} (lstm); gates {r, z, n} and
   * pre {r_hat, z_hat, n_hat, hn (reset "after": ĥn = W_n h(t−1) + b_hn)} (gru); also loss and
   * loss_terms.
   * @param {Model} model @param {Problem} problem
   */
  function forward(model, problem) {
    const pr = checkProblem(checkModel(model), problem), fw = runForward(model, pr);
    const out = forwardValues(model, fw);
    out.loss = fw.loss;
    out.loss_terms = fw.loss_terms;
    return out;
  }

  /** J = Σ_t Σ_b mask[t, b] L(t, b) / B, forward only. @returns {number} */
  function loss(model, problem) {
    return runForward(checkModel(model), checkProblem(model, problem)).loss;
  }

  /**
   * Every number of one forward + full BPTT pass, with the keys of the library's traces:
   *   forward        as forward(): h, o, y_hat, and a | c, gates, pre
   *   loss, loss_terms[t] = L(t)
   *   errors         rnn {o, h, a}; lstm {o, h (∂J/∂y), c, z_hat, i_hat, f_hat, o_hat};
   *                  gru {o, h, r_hat, z_hat, n_hat, hn_hat (reset "after")}; each (T, B, .)
   *   errors_by_source[path][s][t] = ∂L(s)/∂path(t) (B, H), zeros for t > s; paths rnn a, h;
   *                  lstm c, h; gru h. Summed over s they give errors[path].
   *   per_step[name][t] = (∂J/∂θ)^(t) shaped like params[name]; summed over t they give grads.
   *   grads, dh0 (B, H) (the LSTM: [∂J/∂h0, ∂J/∂c0])
   *   jacobian_norms[s][t][b] (and jacobian_norms_c for the LSTM): see runJacobians above.
   * options: {by_source: true, jacobians: true}; false skips those O(T²) parts (then null).
   * @param {Model} model @param {Problem} problem @param {{by_source: boolean, jacobians: boolean}=} options
   */
  function trace(model, problem, options) {
    const opts = /** @type {{by_source?: boolean, jacobians?: boolean}} */ (options || {});
    checkKeys(opts, "trace options", ["by_source", "jacobians"]);
    ["by_source", "jacobians"].forEach((k) => {
      if (opts[k] !== undefined && typeof opts[k] !== "boolean") fail("trace options." + k, "true or false", opts[k]);
    });
    const pr = checkProblem(checkModel(model), problem), fw = runForward(model, pr);
    const bw = runBackward(model, pr, fw, true);
    const per_step = {};
    Object.keys(model.params).forEach((k) => { per_step[k] = bw.per_step.map((g) => g[k]); });
    const jac = opts.jacobians === false ? null : runJacobians(model, pr, fw);
    const out = {
      kind: model.config.kind, T: pr.T, B: pr.B,
      forward: forwardValues(model, fw), loss: fw.loss, loss_terms: fw.loss_terms,
      errors: bw.errors,
      errors_by_source: opts.by_source === false ? null : runBySource(model, pr, fw, () => 0, null, true),
      per_step: per_step, grads: bw.grads, dh0: bw.dh0,
      jacobian_norms: jac ? jac.norms : null,
    };
    if (model.config.kind === "lstm") out.jacobian_norms_c = jac ? jac.norms_c : null;
    return out;
  }

  /**
   * The gradient of J by full BPTT, or with options.k2 the truncated one: each loss term L(s) is
   * back-propagated through steps s−k2+1..s only, from the state before them taken as a constant
   * (TBPTT(1, k2): the sum over the windows of the library's model.tbptt(x, y, k1=1, k2=k2, h0,
   * mask), with no update between windows). The output layer's V, c are not truncated.
   * Returns {loss, grads, dh0 (full BPTT only, else null), dropped}: dropped[s][t] is true where
   * the contribution of L(s) to step t is cut (t <= s − k2), for greying cells of the (s, t) grid.
   * @param {Model} model @param {Problem} problem @param {{k2: (number|null)}=} options
   */
  function grads(model, problem, options) {
    const opts = /** @type {{k2?: (number|null)}} */ (options || {});
    checkKeys(opts, "grads options", ["k2"]);
    const pr = checkProblem(checkModel(model), problem), fw = runForward(model, pr);
    const k2 = opts.k2 === undefined || opts.k2 === null ? null : checkInt(opts.k2, "k2", 1, LIMITS.T);
    if (k2 === null) {
      const bw = runBackward(model, pr, fw, false);
      const dropped = zerosOf([pr.T, pr.T]).map((r) => r.map(() => false));
      return {loss: fw.loss, grads: bw.grads, dh0: bw.dh0, dropped: dropped};
    }
    const g = zeroGrads(model);
    for (let s = 0; s < pr.T; s++) {                           // the output layer: every step s
      for (let b = 0; b < pr.B; b++) {
        addOuter(g.V, fw.dO[s][b], fw.steps[s][b].h);          // ∂L(s)/∂o(s) h(s)ᵀ
        addTo(g.c, fw.dO[s][b]);
      }
    }
    runBySource(model, pr, fw, (s) => Math.max(0, s - k2 + 1), g, false);
    const dropped = zerosOf([pr.T, pr.T]).map((r, s) => r.map((_, t) => t <= s - k2));
    return {loss: fw.loss, grads: g, dh0: null, dropped: dropped};
  }

  /** √(Σ_k Σ_i g_k[i]²) over all arrays of a dict, in its key order. @returns {number} */
  function globalNorm(gr) {
    let total = 0;
    const walk = (a) => { let s = 0; a.forEach((v) => { s += Array.isArray(v) ? walk(v) : v * v; }); return s; };
    Object.keys(gr).forEach((k) => { total += walk(Array.isArray(gr[k]) ? gr[k] : [gr[k]]); });
    return Math.sqrt(total);
  }

  const api = {
    KINDS: KINDS, OUTPUTS: OUTPUTS, RESETS: RESETS, LIMITS: LIMITS,
    ACTIVATIONS: Object.keys(ACTIVATIONS),
    paramShapes: paramShapes, forward: forward, loss: loss, trace: trace, grads: grads,
    globalNorm: globalNorm, spectralNorm: spectralNorm, cells: cells,
    // shared with lab_train.js (and handy in a console)
    util: {fail: fail, show: show, checkInt: checkInt, checkChoice: checkChoice, checkNumber: checkNumber,
           checkKeys: checkKeys, checkModel: checkModel, checkProblem: checkProblem, copy: copy,
           zerosLike: zerosLike, zerosOf: zerosOf, matMul: matMul, eye: eye, CELLS: CELLS},
  };
  if (node) {
    module.exports = api;
    require("./lab_train.js");                                 // attaches the rest to api
  } else {
    /** @type {any} */ (root).bpttEngine = api;
  }
})(typeof globalThis !== "undefined" ? globalThis : this);
