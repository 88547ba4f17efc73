// The BPTT lab's computing engine, part 1 of 3: the cells. Small linear algebra on nested arrays,
// the activations, and one step of each model forward, back and its Jacobian, for one sequence,
// with the equations beside the code as in the library's cells/{rnn,lstm,gru}/reference.py.
// lab_engine.js (part 2) runs them over sequences; lab_train.js (part 3) trains. In a page, load
// lab_cells.js, lab_engine.js, lab_train.js in that order (this file sets `globalThis.bpttCells`,
// the others `globalThis.bpttEngine`, which also holds this part as bpttEngine.cells); under Node,
// require("lab_engine.js") loads all three. Conventions: the top of lab_engine.js.

/** @typedef {number[]} Vec   a vector (n,) */
/** @typedef {number[][]} Mat   a matrix (rows, cols): an array of rows */
/** @typedef {{kind: string, activation: string, peepholes: boolean, reset: string,
 *    forget_bias: number, input_size: number, hidden_size: number, output_size: number,
 *    output: string, seed: number, rho: (number|null)}} Config   a normalised model config */
/** @typedef {{config: Config, params: Object<string, (Vec|Mat)>}} Model */
/** @typedef {{x: Array, y: Array, mask?: (Mat|null), h0?: (Mat|Mat[]|null)}} Problem */

(function (root) {
  "use strict";
  // ---- small linear algebra on nested arrays ------------------------------------------------
  const zeros = (n) => new Array(n).fill(0);
  /** A deep copy of a nested array, or of a dict of them. */
  function copy(a) {
    if (Array.isArray(a)) return a.map(copy);
    if (a !== null && typeof a === "object") {
      const out = {};
      Object.keys(a).forEach((k) => { out[k] = copy(a[k]); });
      return out;
    }
    return a;
  }
  /** Zeros shaped like a nested array. */
  function zerosLike(a) { return Array.isArray(a) ? a.map(zerosLike) : 0; }
  /** Zeros of a shape: [] → 0, [n] → Vec, [r, c] → Mat, [T, r, c] → … */
  function zerosOf(shape) {
    if (shape.length === 0) return 0;
    const rest = shape.slice(1);
    return Array.from({length: shape[0]}, () => zerosOf(rest));
  }
  function eye(n) { return Array.from({length: n}, (_, i) => { const r = zeros(n); r[i] = 1; return r; }); }
  /** (M v)[i] = Σ_j M[i][j] v[j] */
  function matVec(M, v) {
    const out = new Array(M.length);
    for (let i = 0; i < M.length; i++) {
      const r = M[i];
      let s = 0;
      for (let j = 0; j < v.length; j++) s += r[j] * v[j];
      out[i] = s;
    }
    return out;
  }
  /** (Mᵀ u)[j] = Σ_i u[i] M[i][j]: the error sent back through M */
  function matTVec(M, u) {
    const out = zeros(M[0].length);
    for (let i = 0; i < M.length; i++) {
      const r = M[i], ui = u[i];
      for (let j = 0; j < out.length; j++) out[j] += ui * r[j];
    }
    return out;
  }
  /** M x(t): for a token id the column M[:, id] (the one-hot x(t) is never built) */
  function inputProj(M, x) {
    return typeof x === "number" ? M.map((r) => r[x]) : matVec(M, x);
  }
  /** G += u vᵀ */
  function addOuter(G, u, v) {
    for (let i = 0; i < G.length; i++) {
      const r = G[i], ui = u[i];
      for (let j = 0; j < r.length; j++) r[j] += ui * v[j];
    }
  }
  /** G += u x(t)ᵀ: for a token id only the column G[:, id] */
  function addInputOuter(G, u, x) {
    if (typeof x === "number") { for (let i = 0; i < G.length; i++) G[i][x] += u[i]; }
    else addOuter(G, u, x);
  }
  function addTo(g, u) { for (let i = 0; i < g.length; i++) g[i] += u[i]; }
  /** A B for matrices */
  function matMul(A, Bm) {
    const n = Bm[0].length;
    return A.map((r) => {
      const out = zeros(n);
      for (let k = 0; k < r.length; k++) {
        const a = r[k], bk = Bm[k];
        if (a !== 0) for (let j = 0; j < n; j++) out[j] += a * bk[j];
      }
      return out;
    });
  }
  /** diag(d) M */
  const scaleRows = (d, M) => M.map((r, i) => r.map((v) => d[i] * v));
  /** A + B, elementwise */
  const matAdd = (A, Bm) => A.map((r, i) => r.map((v, j) => v + Bm[i][j]));
  function addDiag(M, d) { for (let i = 0; i < d.length; i++) M[i][i] += d[i]; return M; }

  /**
   * ‖M‖₂, the largest singular value: √λmax(A) with A = MᵀM, symmetric and positive semi-definite.
   * A is reduced to a tridiagonal matrix with the same eigenvalues by Householder reflections
   * (A ← P A P, P = I − 2vvᵀ), then λmax is found by bisection on Sturm sequence counts. Both are
   * backward stable, so λmax comes out exact to round-off (relative, as λmax = ‖A‖₂): equal to
   * numpy.linalg.norm(M, 2) to ~1e-15. About 2n³ operations, several times faster than Jacobi.
   * @param {Mat} M
   * @returns {number}
   */
  function spectralNorm(M) {
    const n = M[0].length;
    let scale = 0;                                              // ‖M‖₂ = scale ‖M / scale‖₂: MᵀM
    M.forEach((r) => r.forEach((v) => { scale = Math.max(scale, Math.abs(v)); }));   // can neither
    if (scale === 0 || !isFinite(scale)) return scale === 0 ? 0 : NaN;                // under- nor overflow
    const A = zerosOf([n, n]);                                  // A = (M/scale)ᵀ(M/scale) (n, n)
    for (let i = 0; i < n; i++) {
      for (let j = i; j < n; j++) {
        let s = 0;
        for (let k = 0; k < M.length; k++) s += (M[k][i] / scale) * (M[k][j] / scale);
        A[i][j] = A[j][i] = s;
      }
    }
    for (let k = 0; k < n - 2; k++) {                           // zero A[k+2..][k] with one reflection
      let norm = 0;
      for (let i = k + 1; i < n; i++) norm += A[i][k] * A[i][k];
      norm = Math.sqrt(norm);
      if (norm === 0) continue;
      const alpha = A[k + 1][k] > 0 ? -norm : norm;            // the new A[k+1][k]
      const v = zeros(n);
      for (let i = k + 1; i < n; i++) v[i] = A[i][k];
      v[k + 1] -= alpha;                                        // v = x − α e₁, then v / ‖v‖
      let vn = 0;
      for (let i = k + 1; i < n; i++) vn += v[i] * v[i];
      vn = Math.sqrt(vn);
      for (let i = k + 1; i < n; i++) v[i] /= vn;
      const p = zeros(n);                                       // p = A v over the trailing block
      for (let i = k + 1; i < n; i++) { let s = 0; for (let j = k + 1; j < n; j++) s += A[i][j] * v[j]; p[i] = s; }
      let K = 0;
      for (let i = k + 1; i < n; i++) K += v[i] * p[i];         // K = vᵀ A v
      const w = p.map((pi, i) => 2 * pi - 2 * K * v[i]);        // P A P = A − v wᵀ − w vᵀ
      for (let i = k + 1; i < n; i++) for (let j = k + 1; j < n; j++) A[i][j] -= v[i] * w[j] + w[i] * v[j];
      A[k + 1][k] = A[k][k + 1] = alpha;
      for (let i = k + 2; i < n; i++) A[i][k] = A[k][i] = 0;
    }
    const d = A.map((r, i) => r[i]), e = d.slice(1).map((_, i) => A[i + 1][i]);   // diagonal, off-diagonal
    let hi = 0;                                                 // Gershgorin: every λ <= hi
    for (let i = 0; i < n; i++) hi = Math.max(hi, d[i] + (i > 0 ? Math.abs(e[i - 1]) : 0) + (i < n - 1 ? Math.abs(e[i]) : 0));
    if (!(hi > 0)) return hi === 0 ? 0 : NaN;                  // (a NaN in M)
    const below = (x) => {                                      // how many eigenvalues are < x (Sturm)
      let count = 0, q = 1;
      for (let i = 0; i < n; i++) {
        q = d[i] - x - (i > 0 ? e[i - 1] * e[i - 1] / q : 0);
        if (q === 0) q = -1e-300 * hi;
        if (q < 0) count++;
      }
      return count;
    };
    let lo = 0;
    for (let it = 0; it < 200; it++) {                          // λmax in [lo, hi]
      const mid = 0.5 * (lo + hi);
      if (mid <= lo || mid >= hi) break;
      if (below(mid) === n) hi = mid; else lo = mid;
    }
    return scale * Math.sqrt(0.5 * (lo + hi));
  }

  // ---- activations: g and g' from the output h = g(a), as bptt.nn.activations ---------------
  const sigmoid = (a) => 0.5 * Math.tanh(0.5 * a) + 0.5;      // σ(a) = ½ tanh(½a) + ½, no overflow
  const ACTIVATIONS = {
    tanh: {fn: Math.tanh, grad: (h) => 1 - h * h},            // g'(a) = 1 − h²
    relu: {fn: (a) => Math.max(a, 0), grad: (h) => (h > 0 ? 1 : 0)},   // g'(a) = [h > 0]
    sigmoid: {fn: sigmoid, grad: (h) => h * (1 - h)},         // g'(a) = h (1 − h)
    identity: {fn: (a) => a, grad: () => 1},                  // g'(a) = 1
  };

  // ---- the cells: one step forward and back for one sequence b, as in reference.py ------------
  // forward(p, cfg, x, prev) → st, the step's values (its cache); prev = {h, c} of step t−1.
  // backward(p, cfg, st, dh, dc, g) → {dh_prev, dc_prev, err}: dh = ∂J/∂h(t) (total), dc = the
  //   part of ∂J/∂c(t) that comes from step t+1 (LSTM), err = the step's errors; adds the step's
  //   contributions (∂J/∂θ)^(t) into g (unless g is null).
  // jacobian(p, cfg, st) → ∂state(t)/∂state(t−1) with x(t) held fixed: (H, H), or for the LSTM
  //   (2H, 2H) over the state (y, c) in that order.
  const CELLS = {};

  // The simple RNN (Goodfellow et al. eq. 10.8–10.11): U (H, D), W (H, H), b (H,).
  CELLS.rnn = {
    names: () => ["U", "W", "b"],
    shapes: (cfg, D, H) => ({U: [H, D], W: [H, H], b: [H]}),
    recurrent: () => ["W"],
    errorNames: () => ["h", "a"],
    forward(p, cfg, x, prev) {
      const g = ACTIVATIONS[cfg.activation].fn;
      const Wh = matVec(p.W, prev.h), Ux = inputProj(p.U, x);
      const a = p.b.map((bk, k) => bk + Wh[k] + Ux[k]);       // a(t) = b + W h(t−1) + U x(t)
      return {x: x, h_prev: prev.h, a: a, h: a.map(g)};        // h(t) = g(a(t))
    },
    backward(p, cfg, st, dh, dc, g) {
      const gp = ACTIVATIONS[cfg.activation].grad;
      const da = st.h.map((hk, k) => gp(hk) * dh[k]);          // ∂J/∂a(t) = g'(a(t)) ⊙ ∂J/∂h(t)
      if (g) {
        addInputOuter(g.U, da, st.x);                          // (∂J/∂U)^(t) = ∂J/∂a(t) x(t)ᵀ
        addOuter(g.W, da, st.h_prev);                          // (∂J/∂W)^(t) = ∂J/∂a(t) h(t−1)ᵀ
        addTo(g.b, da);                                        // (∂J/∂b)^(t) = ∂J/∂a(t)
      }
      return {dh_prev: matTVec(p.W, da), dc_prev: null, err: {h: dh, a: da}};   // Wᵀ ∂J/∂a(t)
    },
    jacobian(p, cfg, st) {                                     // ∂h(t)/∂h(t−1) = diag(g'(a(t))) W
      const gp = ACTIVATIONS[cfg.activation].grad;
      return scaleRows(st.h.map(gp), p.W);
    },
  };

  // The LSTM (Greff et al. 2017): W_g (H, D), R_g (H, H), b_g (H,) for g in z, i, f, o, and
  // peepholes p_i, p_f, p_o (H,). Its block output y(t) is the h of the other cells.
  const LSTM_GATES = ["z", "i", "f", "o"];
  CELLS.lstm = {
    names(cfg) {
      const n = [];
      ["W", "R", "b"].forEach((w) => LSTM_GATES.forEach((g) => n.push(w + "_" + g)));
      return cfg.peepholes ? n.concat(["p_i", "p_f", "p_o"]) : n;
    },
    shapes(cfg, D, H) {
      const s = {};
      this.names(cfg).forEach((n) => { s[n] = {W: [H, D], R: [H, H], b: [H], p: [H]}[n[0]]; });
      return s;
    },
    recurrent: () => ["R_z", "R_i", "R_f", "R_o"],
    errorNames: () => ["h", "c", "z_hat", "i_hat", "f_hat", "o_hat"],
    forward(p, cfg, x, prev) {
      const y_prev = prev.h, c_prev = prev.c, peep = cfg.peepholes;
      const pre = (g) => {                                     // W_g x(t) + R_g y(t−1) + b_g
        const Wx = inputProj(p["W_" + g], x), Ry = matVec(p["R_" + g], y_prev), b = p["b_" + g];
        return Wx.map((v, k) => v + Ry[k] + b[k]);
      };
      const z_hat = pre("z");                                  // ẑ(t)
      const i_hat = peep ? pre("i").map((v, k) => v + p.p_i[k] * c_prev[k]) : pre("i");   // + p_i ⊙ c(t−1)
      const f_hat = peep ? pre("f").map((v, k) => v + p.p_f[k] * c_prev[k]) : pre("f");   // + p_f ⊙ c(t−1)
      const z = z_hat.map(Math.tanh);                          // z(t) = tanh(ẑ(t))     block input
      const i = i_hat.map(sigmoid);                            // i(t) = σ(î(t))        input gate
      const f = f_hat.map(sigmoid);                            // f(t) = σ(f̂(t))        forget gate
      const c = z.map((zk, k) => zk * i[k] + c_prev[k] * f[k]);   // c(t) = z ⊙ i + c(t−1) ⊙ f
      const o_hat = peep ? pre("o").map((v, k) => v + p.p_o[k] * c[k]) : pre("o");   // p_o sees c(t)
      const o = o_hat.map(sigmoid);                            // o(t) = σ(ô(t))        output gate
      const tanh_c = c.map(Math.tanh);
      const h = tanh_c.map((v, k) => v * o[k]);                // y(t) = tanh(c(t)) ⊙ o(t)
      return {x: x, h_prev: y_prev, c_prev: c_prev, z_hat: z_hat, i_hat: i_hat, f_hat: f_hat,
              o_hat: o_hat, z: z, i: i, f: f, c: c, o: o, tanh_c: tanh_c, h: h};
    },
    backward(p, cfg, st, dy, dc_next, g) {
      const peep = cfg.peepholes, k = st;
      const do_hat = dy.map((d, j) => d * k.tanh_c[j] * k.o[j] * (1 - k.o[j]));   // ∂J/∂ô = ∂J/∂y ⊙ tanh(c) ⊙ σ'(ô)
      let dc = dc_next.map((d, j) => d + dy[j] * k.o[j] * (1 - k.tanh_c[j] ** 2)); // ∂J/∂c = [t+1] + ∂J/∂y ⊙ o ⊙ tanh'(c)
      if (peep) dc = dc.map((d, j) => d + p.p_o[j] * do_hat[j]);                   //        + p_o ⊙ ∂J/∂ô
      const di_hat = dc.map((d, j) => d * k.z[j] * k.i[j] * (1 - k.i[j]));        // ∂J/∂î = ∂J/∂c ⊙ z ⊙ σ'(î)
      const df_hat = dc.map((d, j) => d * k.c_prev[j] * k.f[j] * (1 - k.f[j]));   // ∂J/∂f̂ = ∂J/∂c ⊙ c(t−1) ⊙ σ'(f̂)
      const dz_hat = dc.map((d, j) => d * k.i[j] * (1 - k.z[j] ** 2));            // ∂J/∂ẑ = ∂J/∂c ⊙ i ⊙ tanh'(ẑ)
      let dc_prev = dc.map((d, j) => d * k.f[j]);                                  // to c(t−1): ∂J/∂c ⊙ f
      if (peep) dc_prev = dc_prev.map((d, j) => d + p.p_i[j] * di_hat[j] + p.p_f[j] * df_hat[j]);
      const d_hat = {z: dz_hat, i: di_hat, f: df_hat, o: do_hat};
      const dy_prev = zeros(dy.length);                        // Σ_g R_gᵀ ∂J/∂ĝ(t)
      LSTM_GATES.forEach((gate) => addTo(dy_prev, matTVec(p["R_" + gate], d_hat[gate])));
      if (g) {
        LSTM_GATES.forEach((gate) => {
          addInputOuter(g["W_" + gate], d_hat[gate], k.x);    // (∂J/∂W_g)^(t) = ∂J/∂ĝ x(t)ᵀ
          addOuter(g["R_" + gate], d_hat[gate], k.h_prev);     // (∂J/∂R_g)^(t) = ∂J/∂ĝ y(t−1)ᵀ
          addTo(g["b_" + gate], d_hat[gate]);                  // (∂J/∂b_g)^(t) = ∂J/∂ĝ
        });
        if (peep) {
          addTo(g.p_i, di_hat.map((d, j) => d * k.c_prev[j]));   // ∂J/∂î ⊙ c(t−1)
          addTo(g.p_f, df_hat.map((d, j) => d * k.c_prev[j]));   // ∂J/∂f̂ ⊙ c(t−1)
          addTo(g.p_o, do_hat.map((d, j) => d * k.c[j]));        // ∂J/∂ô ⊙ c(t)
        }
      }
      return {dh_prev: dy_prev, dc_prev: dc_prev,
              err: {h: dy, c: dc, z_hat: dz_hat, i_hat: di_hat, f_hat: df_hat, o_hat: do_hat}};
    },
    jacobian(p, cfg, st) {
      // ∂c(t)/∂y(t−1) = diag(i ⊙ tanh'(ẑ)) R_z + diag(z ⊙ σ'(î)) R_i + diag(c(t−1) ⊙ σ'(f̂)) R_f
      // ∂c(t)/∂c(t−1) = diag(f + z ⊙ σ'(î) ⊙ p_i + c(t−1) ⊙ σ'(f̂) ⊙ p_f)
      // ∂y(t)/∂·     = diag(o ⊙ tanh'(c) + tanh(c) ⊙ σ'(ô) ⊙ p_o) ∂c(t)/∂·  (+ diag(tanh(c) ⊙ σ'(ô)) R_o for y(t−1))
      const k = st, H = k.h.length, peep = cfg.peepholes;
      const dzi = k.i.map((v, j) => v * (1 - k.z[j] ** 2));
      const dii = k.z.map((v, j) => v * k.i[j] * (1 - k.i[j]));
      const dff = k.c_prev.map((v, j) => v * k.f[j] * (1 - k.f[j]));
      const dC_dy = matAdd(matAdd(scaleRows(dzi, p.R_z), scaleRows(dii, p.R_i)), scaleRows(dff, p.R_f));
      const dC_dc = k.f.map((v, j) => (peep ? v + dii[j] * p.p_i[j] + dff[j] * p.p_f[j] : v));
      const so = k.tanh_c.map((v, j) => v * k.o[j] * (1 - k.o[j]));           // tanh(c) ⊙ σ'(ô)
      const dy_dc = k.o.map((v, j) => v * (1 - k.tanh_c[j] ** 2) + (peep ? so[j] * p.p_o[j] : 0));
      const dY_dy = matAdd(scaleRows(dy_dc, dC_dy), scaleRows(so, p.R_o));
      const S = zerosOf([2 * H, 2 * H]);
      for (let r = 0; r < H; r++) {
        for (let j = 0; j < H; j++) { S[r][j] = dY_dy[r][j]; S[H + r][j] = dC_dy[r][j]; }
        S[r][H + r] = dy_dc[r] * dC_dc[r];
        S[H + r][H + r] = dC_dc[r];
      }
      return S;
    },
  };

  // The GRU (Cho et al. 2014): U_g (H, D), W_g (H, H), b_g (H,) for g in r, z, n, and b_hn with
  // the reset gate "after" W_n (PyTorch's form); "before" is the paper's form.
  const GRU_GATES = ["r", "z", "n"];
  CELLS.gru = {
    names(cfg) {
      const n = [];
      ["U", "W", "b"].forEach((w) => GRU_GATES.forEach((g) => n.push(w + "_" + g)));
      return cfg.reset === "after" ? n.concat(["b_hn"]) : n;
    },
    shapes(cfg, D, H) {
      const s = {};
      this.names(cfg).forEach((n) => { s[n] = {U: [H, D], W: [H, H], b: [H]}[n[0]]; });
      return s;
    },
    recurrent: () => ["W_r", "W_z", "W_n"],
    errorNames: (cfg) => ["h", "r_hat", "z_hat", "n_hat"].concat(cfg.reset === "after" ? ["hn_hat"] : []),
    forward(p, cfg, x, prev) {
      const h_prev = prev.h;
      const pre = (g) => {                                     // U_g x(t) + W_g h(t−1) + b_g
        const Ux = inputProj(p["U_" + g], x), Wh = matVec(p["W_" + g], h_prev), b = p["b_" + g];
        return Ux.map((v, k) => v + Wh[k] + b[k]);
      };
      const r_hat = pre("r"), z_hat = pre("z");
      const r = r_hat.map(sigmoid);                            // r(t) = σ(r̂(t))        reset gate
      const z = z_hat.map(sigmoid);                            // z(t) = σ(ẑ(t))        update gate
      const Ux = inputProj(p.U_n, x);
      let hn = null, n_hat;
      if (cfg.reset === "after") {
        const Wh = matVec(p.W_n, h_prev);
        hn = Wh.map((v, k) => v + p.b_hn[k]);                  // ĥn(t) = W_n h(t−1) + b_hn
        n_hat = Ux.map((v, k) => v + p.b_n[k] + r[k] * hn[k]); // n̂ = U_n x + b_n + r ⊙ ĥn
      } else {
        const Wrh = matVec(p.W_n, r.map((v, k) => v * h_prev[k]));
        n_hat = Ux.map((v, k) => v + Wrh[k] + p.b_n[k]);       // n̂ = U_n x + W_n (r ⊙ h(t−1)) + b_n
      }
      const n = n_hat.map(Math.tanh);                          // n(t) = tanh(n̂(t))     candidate
      const h = z.map((zk, k) => (1 - zk) * n[k] + zk * h_prev[k]);   // h(t) = (1 − z) ⊙ n + z ⊙ h(t−1)
      return {x: x, h_prev: h_prev, r_hat: r_hat, z_hat: z_hat, n_hat: n_hat, hn: hn,
              r: r, z: z, n: n, h: h};
    },
    backward(p, cfg, st, dh, dc, g) {
      const k = st;
      const dn_hat = dh.map((d, j) => d * (1 - k.z[j]) * (1 - k.n[j] ** 2));            // ∂J/∂n̂ = ∂J/∂h ⊙ (1 − z) ⊙ tanh'(n̂)
      const dz_hat = dh.map((d, j) => d * (k.h_prev[j] - k.n[j]) * k.z[j] * (1 - k.z[j]));   // ∂J/∂ẑ = ∂J/∂h ⊙ (h(t−1) − n) ⊙ σ'(ẑ)
      let dh_prev = k.z.map((zj, j) => zj * dh[j]);                                      // the direct path z ⊙ ∂J/∂h
      let dhn_hat = null, dr_hat;
      if (cfg.reset === "after") {
        dhn_hat = k.r.map((rj, j) => rj * dn_hat[j]);                                    // ∂J/∂ĥn = r ⊙ ∂J/∂n̂
        dr_hat = dn_hat.map((d, j) => d * k.hn[j] * k.r[j] * (1 - k.r[j]));             // ∂J/∂r̂ = ∂J/∂n̂ ⊙ ĥn ⊙ σ'(r̂)
        addTo(dh_prev, matTVec(p.W_n, dhn_hat));                                         //   + W_nᵀ ∂J/∂ĥn
        if (g) { addOuter(g.W_n, dhn_hat, k.h_prev); addTo(g.b_hn, dhn_hat); }          // ∂J/∂ĥn h(t−1)ᵀ, ∂J/∂ĥn
      } else {
        const q = matTVec(p.W_n, dn_hat);                                                // q = W_nᵀ ∂J/∂n̂: the error of r ⊙ h(t−1)
        dr_hat = q.map((qj, j) => qj * k.h_prev[j] * k.r[j] * (1 - k.r[j]));            // ∂J/∂r̂ = q ⊙ h(t−1) ⊙ σ'(r̂)
        dh_prev = dh_prev.map((v, j) => v + k.r[j] * q[j]);                              //   + r ⊙ q
        if (g) addOuter(g.W_n, dn_hat, k.r.map((rj, j) => rj * k.h_prev[j]));           // ∂J/∂n̂ (r ⊙ h(t−1))ᵀ
      }
      const back = matTVec(p.W_r, dr_hat);
      addTo(back, matTVec(p.W_z, dz_hat));
      dh_prev = dh_prev.map((v, j) => v + back[j]);                                      //   + W_rᵀ ∂J/∂r̂ + W_zᵀ ∂J/∂ẑ
      if (g) {
        const d_hat = {r: dr_hat, z: dz_hat, n: dn_hat};
        GRU_GATES.forEach((gate) => {
          addInputOuter(g["U_" + gate], d_hat[gate], k.x);    // (∂J/∂U_g)^(t) = ∂J/∂ĝ x(t)ᵀ
          addTo(g["b_" + gate], d_hat[gate]);                  // (∂J/∂b_g)^(t) = ∂J/∂ĝ
        });
        addOuter(g.W_r, dr_hat, k.h_prev);                     // ∂J/∂r̂ h(t−1)ᵀ
        addOuter(g.W_z, dz_hat, k.h_prev);                     // ∂J/∂ẑ h(t−1)ᵀ
      }
      const err = {h: dh, r_hat: dr_hat, z_hat: dz_hat, n_hat: dn_hat};
      if (dhn_hat) err.hn_hat = dhn_hat;
      return {dh_prev: dh_prev, dc_prev: null, err: err};
    },
    jacobian(p, cfg, st) {
      // ∂h(t)/∂h(t−1) = diag(z) + diag((1 − z) tanh'(n̂)) ∂n̂/∂h(t−1) + diag((h(t−1) − n) σ'(ẑ)) W_z, with
      // ∂n̂/∂h(t−1) = diag(r) W_n + diag(ĥn σ'(r̂)) W_r              (reset "after")
      //             = W_n (diag(r) + diag(h(t−1) σ'(r̂)) W_r)          (reset "before")
      const k = st, dr = k.r.map((v) => v * (1 - v));
      const dn_dh = cfg.reset === "after"
        ? matAdd(scaleRows(k.r, p.W_n), scaleRows(k.hn.map((v, j) => v * dr[j]), p.W_r))
        : matMul(p.W_n, addDiag(scaleRows(k.h_prev.map((v, j) => v * dr[j]), p.W_r), k.r));
      const J = matAdd(scaleRows(k.z.map((v, j) => (1 - v) * (1 - k.n[j] ** 2)), dn_dh),
                       scaleRows(k.h_prev.map((v, j) => (v - k.n[j]) * k.z[j] * (1 - k.z[j])), p.W_z));
      return addDiag(J, k.z);
    },
  };

  /**
   * The parameters' names and shapes, in the library's order: the cell's, then V (O, H), c (O,).
   * @param {Config} cfg
   * @returns {Object<string, number[]>}
   */
  function paramShapes(cfg) {
    const H = cfg.hidden_size, s = CELLS[cfg.kind].shapes(cfg, cfg.input_size, H);
    s.V = [cfg.output_size, H];
    s.c = [cfg.output_size];
    return s;
  }

  const cells = {
    ACTIVATIONS: ACTIVATIONS, CELLS: CELLS, paramShapes: paramShapes, spectralNorm: spectralNorm,
    sigmoid: sigmoid,
    la: {zeros: zeros, copy: copy, zerosLike: zerosLike, zerosOf: zerosOf, eye: eye, matVec: matVec,
         matTVec: matTVec, inputProj: inputProj, addOuter: addOuter, addInputOuter: addInputOuter,
         addTo: addTo, matMul: matMul, scaleRows: scaleRows, matAdd: matAdd, addDiag: addDiag},
  };
  if (typeof module === "object" && module.exports) module.exports = cells;
  else /** @type {any} */ (root).bpttCells = cells;
})(typeof globalThis !== "undefined" ? globalThis : this);
