// The BPTT lab's computing engine, part 2 of 2: initialisation (createModel, with a seeded PRNG
// and optional orthogonal recurrent weights of spectral radius ρ), clipping, the optimizers,
// training, finite differences and the export read by bptt.load_lab_export. It attaches to the
// namespace of lab_engine.js (`globalThis.bpttEngine` in a page; under Node lab_engine.js loads
// this file and returns the whole API). The conventions are at the top of lab_engine.js.
(function (root) {
  "use strict";
  const api = typeof module === "object" && module.exports ? require("./lab_engine.js") : /** @type {any} */ (root).bpttEngine;
  const u = api.util, fail = u.fail, copy = u.copy;

  // ---- randomness: our own seeded PRNG (it need not, and does not, match NumPy's) ----------
  /**
   * mulberry32 (Tommy Ettinger's 32-bit generator): a function returning uniform numbers in
   * [0, 1), each a multiple of 2⁻³², from a 32-bit seed. The same seed gives the same numbers
   * in every browser and under Node.
   * @param {number} seed @returns {function(): number}
   */
  function mulberry32(seed) {
    let a = seed >>> 0;
    return function () {
      a = (a + 0x6D2B79F5) >>> 0;
      let t = a;
      t = Math.imul(t ^ (t >>> 15), t | 1);
      t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
      return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
    };
  }
  /** A standard normal number by Box–Muller from two uniforms (u1 in (0, 1]). */
  function gaussian(rand) {
    const u1 = 1 - rand(), u2 = rand();
    return Math.sqrt(-2 * Math.log(u1)) * Math.cos(2 * Math.PI * u2);
  }
  /**
   * A random orthogonal matrix Q (n, n), QᵀQ = I: the Q of the QR decomposition of a Gaussian
   * matrix, by modified Gram–Schmidt on its columns, each orthogonalised twice ("twice is
   * enough") so that QᵀQ = I to round-off. R's diagonal is positive, so Q is Haar-distributed.
   * Every eigenvalue of an orthogonal matrix lies on the unit circle: ρ(Q) = 1, and ρ(ρ·Q) = ρ.
   * @param {number} n @param {function(): number} rand @returns {number[][]}
   */
  function randomOrthogonal(n, rand) {
    const G = Array.from({length: n}, () => Array.from({length: n}, () => gaussian(rand)));
    const cols = [];                                           // the columns q_0 .. q_{n−1}
    for (let j = 0; j < n; j++) {
      let v = G.map((r) => r[j]);                              // column j of G
      for (let pass = 0; pass < 2; pass++) {
        cols.forEach((q) => {                                  // v ← v − (qᵀv) q
          let d = 0;
          for (let i = 0; i < n; i++) d += q[i] * v[i];
          v = v.map((vi, i) => vi - d * q[i]);
        });
      }
      let nv = 0;
      for (let i = 0; i < n; i++) nv += v[i] * v[i];
      nv = Math.sqrt(nv);
      cols.push(v.map((vi) => vi / nv));                       // q_j = v / ‖v‖
    }
    return Array.from({length: n}, (_, i) => cols.map((q) => q[i]));   // Q[i][j] = q_j[i]
  }

  // ---- createModel -------------------------------------------------------------------------
  const CONFIG_KEYS = ["kind", "activation", "peepholes", "reset", "forget_bias", "input_size",
                       "hidden_size", "output_size", "output", "seed", "rho"];
  /**
   * The config checked and completed with the defaults: activation "tanh", peepholes false,
   * reset "after", forget_bias 0, output "softmax", seed 0, rho null. Options of another kind
   * (activation for a GRU, ...) are checked and kept but unused.
   * @returns {import("./lab_cells.js").Config}
   */
  function checkConfig(config) {
    u.checkKeys(config, "config", CONFIG_KEYS);
    const L = api.LIMITS, c = Object.assign({activation: "tanh", peepholes: false, reset: "after",
      forget_bias: 0, output: "softmax", seed: 0, rho: null}, config);
    u.checkChoice(c.kind, "kind", api.KINDS);
    u.checkChoice(c.activation, "activation", api.ACTIVATIONS);
    if (typeof c.peepholes !== "boolean") fail("peepholes", "true or false", c.peepholes);
    u.checkChoice(c.reset, "reset", api.RESETS);
    u.checkNumber(c.forget_bias, "forget_bias", -10, 10);
    u.checkInt(c.input_size, "input_size", 1, L.input_size);
    u.checkInt(c.hidden_size, "hidden_size", 1, L.hidden_size);
    u.checkInt(c.output_size, "output_size", 1, L.output_size);
    u.checkChoice(c.output, "output", api.OUTPUTS);
    u.checkInt(c.seed, "seed", 0, 4294967295);
    if (c.rho !== null) u.checkNumber(c.rho, "rho", 0, 10);
    const out = /** @type {import("./lab_cells.js").Config} */ ({});
    CONFIG_KEYS.forEach((k) => { out[k] = c[k]; });
    return out;
  }

  /**
   * A new model: {config, params}. Every parameter is drawn uniform in [−1/√H, 1/√H) from
   * mulberry32(seed), in the library's parameter order (paramShapes), each row-major — PyTorch's
   * (and the library's) distribution, not its numbers. The LSTM's b_f then gets + forget_bias.
   * With rho set, each recurrent matrix (SimpleRNN W; LSTM R_z, R_i, R_f, R_o; GRU W_r, W_z, W_n)
   * is drawn instead as ρ·Q with Q a random orthogonal matrix (randomOrthogonal), so that its
   * spectral radius is exactly ρ (all its eigenvalues have modulus ρ), and so is its 2-norm.
   * @param {Object} config {kind, activation, peepholes, reset, forget_bias, input_size,
   *   hidden_size, output_size, output, seed, rho}
   * @returns {import("./lab_cells.js").Model}
   */
  function createModel(config) {
    const cfg = checkConfig(config), shapes = api.paramShapes(cfg), rand = mulberry32(cfg.seed);
    const bound = 1 / Math.sqrt(cfg.hidden_size);
    const recurrent = cfg.rho === null ? [] : u.CELLS[cfg.kind].recurrent(cfg);
    const draw = (shape) => (shape.length === 0 ? (2 * rand() - 1) * bound
      : Array.from({length: shape[0]}, () => draw(shape.slice(1))));
    const params = /** @type {Object<string, any>} */ ({});
    Object.keys(shapes).forEach((name) => {
      if (recurrent.indexOf(name) >= 0) {
        params[name] = randomOrthogonal(cfg.hidden_size, rand).map((r) => r.map((v) => cfg.rho * v));
      } else {
        params[name] = draw(shapes[name]);
      }
    });
    if (cfg.kind === "lstm" && cfg.forget_bias !== 0) params.b_f = params.b_f.map((v) => v + cfg.forget_bias);
    return {config: cfg, params: params};
  }

  // ---- clipping, as bptt.training.clipping -------------------------------------------------
  const NORM_EPS = 1e-6;                                       // as torch's clip_grad_norm_
  const CLIP_MODES = ["none", "norm", "value"];
  function mapNested(a, f) { return Array.isArray(a) ? a.map((v) => mapNested(v, f)) : f(a); }
  /**
   * Clipped copies of grads (the input is not changed) and the global norm ‖g‖ = √(Σ_k Σ_i g_k[i]²)
   * before and after:
   *   "norm":  scale = value / (‖g‖ + 1e-6); g ← scale · g when scale < 1 (left as is otherwise,
   *            and when ‖g‖ is not finite)
   *   "value": g[i] ← min(max(g[i], −value), value)
   *   "none":  unchanged
   * @param {Object} gr @param {string} mode @param {(number|null)=} value
   * @returns {{grads: Object, norm_before: number, norm_after: number}}
   */
  function clip(gr, mode, value) {
    u.checkChoice(mode, "clip_mode", CLIP_MODES);
    if (mode !== "none" && (typeof value !== "number" || !isFinite(value) || value <= 0)) {
      fail("clip", "a finite number > 0 with clip_mode " + JSON.stringify(mode), value);
    }
    const norm = api.globalNorm(gr), out = {};
    let f = null;
    if (mode === "norm" && isFinite(norm)) {
      const scale = value / (norm + NORM_EPS);                 // max_norm / (‖g‖ + 1e-6)
      if (scale < 1) f = (v) => v * scale;
    } else if (mode === "value") {
      f = (v) => Math.min(Math.max(v, -value), value);
    }
    Object.keys(gr).forEach((k) => { out[k] = f ? mapNested(gr[k], f) : copy(gr[k]); });
    return {grads: out, norm_before: norm, norm_after: f ? api.globalNorm(out) : norm};
  }

  // ---- optimizers, as bptt.training.optim ---------------------------------------------------
  const OPTIMIZERS = ["sgd", "adam"];
  /**
   * An optimizer that updates params in place with step(params, grads), keeping its state:
   *   sgd:  θ ← θ − lr g
   *   adam: m ← β1 m + (1 − β1) g,  v ← β2 v + (1 − β2) g²  (β1, β2 = 0.9, 0.999; m, v start at 0)
   *         θ ← θ − (lr / (1 − β1ᵗ)) m / (√v / √(1 − β2ᵗ) + eps),  eps = 1e-8
   * Its fields: name, lr, t (the steps taken), m and v (Adam's moments, dicts keyed like params).
   * @param {string} name "sgd" | "adam" @param {number} lr > 0
   */
  function makeOptimizer(name, lr) {
    u.checkChoice(name, "optimizer", OPTIMIZERS);
    u.checkNumber(lr, "lr", Number.MIN_VALUE, 1e3, "a finite number > 0 and <= 1000");
    const opt = {name: name, lr: lr, t: 0, betas: [0.9, 0.999], eps: 1e-8, m: null, v: null};
    opt.step = function (params, gr) {
      Object.keys(params).forEach((k) => {
        if (!(k in gr)) fail("grads", "a dict with the keys of params (" + Object.keys(params).join(", ") + ")", Object.keys(gr).join(", "));
      });
      opt.t += 1;
      const lr = opt.lr, b1 = opt.betas[0], b2 = opt.betas[1], t = opt.t;
      if (name === "sgd") {
        Object.keys(params).forEach((k) => update(params[k], gr[k], (p, g) => p - lr * g));   // θ ← θ − lr g
        return;
      }
      if (opt.m === null) { opt.m = {}; opt.v = {}; Object.keys(params).forEach((k) => { opt.m[k] = u.zerosLike(params[k]); opt.v[k] = u.zerosLike(params[k]); }); }
      const step_size = lr / (1 - Math.pow(b1, t));           // lr / (1 − β1ᵗ): lr m̂ = step_size m
      const bc2 = Math.sqrt(1 - Math.pow(b2, t));             // √(1 − β2ᵗ)
      Object.keys(params).forEach((k) => adam(params[k], gr[k], opt.m[k], opt.v[k]));
      function adam(p, g, m, v) {
        for (let i = 0; i < p.length; i++) {
          if (Array.isArray(p[i])) { adam(p[i], g[i], m[i], v[i]); continue; }
          m[i] = m[i] * b1 + (1 - b1) * g[i];                  // m ← β1 m + (1 − β1) g
          v[i] = v[i] * b2 + (1 - b2) * g[i] * g[i];           // v ← β2 v + (1 − β2) g²
          const d = Math.sqrt(v[i]) / bc2 + opt.eps;           // √v̂ + eps
          p[i] = p[i] - step_size * m[i] / d;                  // θ ← θ − lr m̂ / (√v̂ + eps)
        }
      }
    };
    return opt;
  }
  function update(p, g, f) {
    for (let i = 0; i < p.length; i++) {
      if (Array.isArray(p[i])) update(p[i], g[i], f); else p[i] = f(p[i], g[i]);
    }
  }

  // ---- training ------------------------------------------------------------------------------
  const TRAIN_KEYS = ["optimizer", "clip_mode", "clip", "k2"];
  function checkTrainOptions(options, what, extra) {
    u.checkKeys(options, what, TRAIN_KEYS.concat(extra || []));
    const o = options.optimizer;
    if (!o || typeof o !== "object" || typeof o.step !== "function") {
      fail(what + ".optimizer", "an optimizer from makeOptimizer(name, lr) (it keeps its state across calls)", o);
    }
    const mode = options.clip_mode === undefined ? "none" : u.checkChoice(options.clip_mode, "clip_mode", CLIP_MODES);
    const value = mode === "none" ? null : options.clip;
    if (mode !== "none") clip({}, mode, value);               // checks the value
    const k2 = options.k2 === undefined || options.k2 === null ? null : u.checkInt(options.k2, "k2", 1, api.LIMITS.T);
    return {optimizer: o.name, lr: o.lr, clip_mode: mode, clip: value, k2: k2};
  }

  /**
   * A record of an experiment for export and replay: {params0 (a copy of the parameters before
   * the first update), losses (one per update), settings, problem}. train() fills it in.
   * @param {import("./lab_cells.js").Model} model
   */
  function newHistory(model) {
    u.checkModel(model);
    return {params0: copy(model.params), losses: [], settings: null, problem: null};
  }

  /**
   * n updates of the model's params in place, each: the loss J and the gradient at the current
   * params (full BPTT, or truncated with options.k2, see grads) → clip → optimizer step.
   * options: {optimizer: from makeOptimizer (the caller holds it: its state, e.g. Adam's moments
   * and step count, carries across calls), clip_mode: "none" (default) | "norm" | "value",
   * clip: the threshold, k2: null (full BPTT) or the truncation length}.
   * Returns the n losses, each J before its update. A non-finite loss or gradient norm stops the
   * training before that update (the array is then shorter than n).
   * With a history (newHistory), every loss is appended to it, and the settings and problem of
   * the first call are fixed: a later call with other settings, another problem, or an optimizer
   * that took steps outside this history throws (start a new history and a new optimizer).
   * @param {import("./lab_cells.js").Model} model @param {import("./lab_cells.js").Problem} problem
   * @param {Object} options @param {number} n @param {Object=} history @returns {number[]}
   */
  function train(model, problem, options, n, history) {
    u.checkModel(model);
    const settings = checkTrainOptions(options, "train options");
    u.checkInt(n, "n", 0, 1e6);
    u.checkProblem(model, problem);                            // throws early on a bad problem
    if (history !== undefined && history !== null) {
      if (!history || !Array.isArray(history.losses) || !history.params0) fail("history", "a history from newHistory(model)", history);
      const key = JSON.stringify(problem);
      if (history.settings === null) {
        if (options.optimizer.t !== 0) fail("train options.optimizer", "a fresh optimizer when a history begins (makeOptimizer again)", "one that took " + options.optimizer.t + " steps");
        if (JSON.stringify(model.params) !== JSON.stringify(history.params0)) fail("model.params", "the history's params0 when it begins (call newHistory(model) just before training)", "other parameters");
        history.settings = settings;
        history.problem = key;
      }
      if (JSON.stringify(history.settings) !== JSON.stringify(settings)) {
        fail("train options", "the settings this history began with (" + JSON.stringify(history.settings) + "); start a new history and optimizer after a change", JSON.stringify(settings));
      }
      if (history.problem !== key) fail("problem", "the problem this history began with; start a new history and optimizer after a change", "another one");
      if (options.optimizer.t !== history.losses.length) fail("train options.optimizer", "the optimizer this history began with (" + history.losses.length + " steps)", "one that took " + options.optimizer.t + " steps");
    }
    const losses = [];
    for (let i = 0; i < n; i++) {
      const r = api.grads(model, problem, {k2: settings.k2});
      const c = clip(r.grads, settings.clip_mode, settings.clip);
      if (!isFinite(r.loss) || !isFinite(c.norm_before)) break;
      options.optimizer.step(model.params, c.grads);
      losses.push(r.loss);
      if (history) history.losses.push(r.loss);
    }
    return losses;
  }

  /**
   * The central difference (J(θ + eps) − J(θ − eps)) / (2 eps) for one entry of params[name]
   * (index: [i, j] for a matrix, [i] or i for a vector); the parameter is restored.
   * @returns {number}
   */
  function finiteDifference(model, problem, name, index, eps) {
    u.checkModel(model);
    if (!(name in model.params)) u.checkChoice(name, "name", Object.keys(model.params));
    const e = eps === undefined ? 1e-6 : u.checkNumber(eps, "eps", 1e-12, 1, "a finite number in [1e-12, 1]");
    const shape = api.paramShapes(model.config)[name];
    const idx = typeof index === "number" ? [index] : index;
    if (!Array.isArray(idx) || idx.length !== shape.length) fail("index", "an array of " + shape.length + " indices", index);
    idx.forEach((v, d) => u.checkInt(v, "index[" + d + "]", 0, shape[d] - 1));
    const row = shape.length === 1 ? model.params[name] : model.params[name][idx[0]];
    const j = idx[idx.length - 1], old = row[j];
    row[j] = old + e;
    const plus = api.loss(model, problem);
    row[j] = old - e;
    const minus = api.loss(model, problem);
    row[j] = old;
    return (plus - minus) / (2 * e);
  }

  // ---- the export: what bptt.load_lab_export reads -------------------------------------------
  function checkFinite(d, what) {
    Object.keys(d).forEach((k) => {
      const walk = (a) => a.forEach((v) => { if (Array.isArray(v)) walk(v); else if (!isFinite(v)) fail(what + "." + k, "finite (the training diverged: lower lr or clip)", v); });
      walk(d[k]);
    });
  }
  /**
   * The experiment as JSON-able data for bptt.load_lab_export(path) (write JSON.stringify of it
   * to a file): {format: "bptt-lab", version: 1, config: {kind, activation, peepholes, reset,
   * forget_bias, input_size, hidden_size, output_size, output, seed, rho, optimizer, lr, clip_mode,
   * clip, k2, text, vocab}, x, y, mask, h0 (the LSTM: [h0, c0]), params (current), loss and grads
   * (J and ∂J/∂θ of full BPTT at the current params, before clipping), history: {params0, losses}}.
   * options: the training options (optimizer, clip_mode, clip, k2) plus text (the typed string,
   * or null) and vocab (its characters, ids into it, or null for a numeric series). With a
   * history that has recorded training, its settings are exported (they replay it).
   */
  function exportLab(model, problem, options, history) {
    u.checkModel(model);
    let settings = checkTrainOptions(options, "export options", ["text", "vocab"]);
    const text = options.text === undefined ? null : options.text;
    const vocab = options.vocab === undefined ? null : options.vocab;
    if (text !== null && typeof text !== "string") fail("text", "a string or null", text);
    if (vocab !== null && (!Array.isArray(vocab) || vocab.some((c) => typeof c !== "string"))) fail("vocab", "an array of strings or null", vocab);
    const pr = u.checkProblem(model, problem);
    if (vocab !== null && typeof pr.x[0][0] === "number" && vocab.length !== model.config.input_size) {
      fail("vocab", "an array of input_size = " + model.config.input_size + " strings (one per token id)", vocab);
    }
    const hist = history || newHistory(model);
    if (hist.settings) settings = hist.settings;
    const g = api.grads(model, problem, {});
    checkFinite(model.params, "params");
    checkFinite(g.grads, "grads");
    const cfg = Object.assign({}, model.config, settings, {text: text, vocab: vocab});
    return {
      format: "bptt-lab", version: 1, config: cfg,
      x: copy(pr.x), y: copy(pr.y), mask: copy(pr.mask),
      h0: model.config.kind === "lstm" ? [copy(pr.h0), copy(pr.c0)] : copy(pr.h0),
      params: copy(model.params), loss: g.loss, grads: g.grads,
      history: {params0: copy(hist.params0), losses: hist.losses.slice()},
    };
  }

  Object.assign(api, {
    createModel: createModel, mulberry32: mulberry32, randomOrthogonal: randomOrthogonal,
    clip: clip, makeOptimizer: makeOptimizer, newHistory: newHistory, train: train,
    finiteDifference: finiteDifference, exportLab: exportLab, export: exportLab,
    CLIP_MODES: CLIP_MODES, OPTIMIZERS: OPTIMIZERS,
  });
})(typeof globalThis !== "undefined" ? globalThis : this);
