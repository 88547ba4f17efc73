// The explorer's SimpleRNN part (with explorer.js): the unfolded network of
// a(t) = b + W h(t−1) + U x(t), h(t) = g(a(t)), o(t) = c + V h(t), ŷ(t) = f(o(t)), its equations,
// captions and per-step gradient formulas.
var OUTNAME = "o";
function hPrev(t, b) { return t === 0 ? d.h0[b] : d.forward.h[t - 1][b]; }
function Ux(t, b) { return TOK ? colOf(d.params.U, d.x[t][b]) : mv(d.params.U, d.x[t][b]); }
function gprime(hv) {
  return hv.map(function (h) {
    return ACT === "tanh" ? 1 - h * h : ACT === "sigmoid" ? h * (1 - h) : ACT === "relu" ? (h > 0 ? 1 : 0) : 1;
  });
}
var GP = {tanh: "1 − h(t)²", sigmoid: "h(t) (1 − h(t))", relu: "[h(t) > 0]", identity: "1"};
var SC = {
  x: TOK ? 1 : maxAbs(d.x), a: maxAbs(d.forward.a), h: maxAbs(d.forward.h, d.h0), o: maxAbs(d.forward.o),
  yhat: SOFT ? 1 : maxAbs(d.forward.y_hat, d.y), ea: maxAbs(d.errors.a), eh: maxAbs(d.errors.h, d.dh0),
  eo: maxAbs(d.errors.o)
};

// ---- the unfolded network (SVG) -------------------------------------------------------------
var CW = 66, CG = 10, PAD = 5, LBL = 17, GAPV = 30, COLW = 188, LEFT = 14, TOP = 30;
var BOXW = 2 * PAD + 2 * CW + CG, MID = BOXW / 2, CWID = BOXW;
var ROWS = [{kind: "L", n: 1}, {kind: "yhat", n: O}, {kind: "o", n: O, bar: true},
            {kind: "h", n: H, bar: true}, {kind: "a", n: H, bar: true}, {kind: "x", n: TOK ? 1 : DIN}];
var R = {}, SVGH = 0, SVGW = LEFT * 2 + T * COLW + BOXW + 6;
(function () {
  var y = TOP;
  ROWS.forEach(function (r) {
    r.ch = r.kind === "x" && TOK ? 26 : r.kind === "L" ? 22 : r.n <= 12 ? 20 : Math.max(5, Math.floor(240 / r.n));
    r.nums = r.ch >= 14;
    r.y = y; r.boxY = y + LBL; r.boxH = 2 * PAD + r.n * r.ch + (r.n - 1) * 2;
    r.bottom = r.boxY + r.boxH + (r.bar ? 11 : 0);
    R[r.kind] = r; y = r.bottom + GAPV;
  });
  SVGH = y - GAPV + 14;
})();
function colX(t) { return LEFT + (t + 1) * COLW; }

function nodeSVG(kind, t) {
  var r = R[kind === "h0" ? "h" : kind], x = colX(kind === "h0" ? -1 : t), b = st.b, s = nodeOpen(kind, t, x, r);
  var lx = x + PAD, ly = r.y + 12, vx = x + PAD, ex = x + PAD + CW + CG;
  function v(key, arr, scale) {
    return cellsSVG(vx, r, arr, fwd(t), function (i) { return at(key, {t: t, b: b, i: i}); }, scale);
  }
  function e(key, arr, scale, shown) {
    return cellsSVG(ex, r, arr, shown, function (i) { return at(key, {t: t, b: b, i: i}); }, scale, "err");
  }
  if (kind === "a" || kind === "h" || kind === "o") {
    var F = {a: d.forward.a, h: d.forward.h, o: d.forward.o}[kind], E = d.errors[kind];
    s += '<text class="nlabel" x="' + lx + '" y="' + ly + '">' + nm(kind, t) + "</text>";
    if (bwd(t)) s += '<text class="elabel" x="' + ex + '" y="' + ly + '">∂J/∂' + nm(kind, t) + "</text>";
    s += v("forward." + kind, F[t][b], SC[kind]) + e("errors." + kind, E[t][b], SC["e" + kind], bwd(t));
    if (bwd(t)) s += barSVG(x, r, kind, t, b);
  } else if (kind === "h0") {
    s += '<text class="nlabel" x="' + lx + '" y="' + ly + '">h(−1) = h0</text>';
    s += cellsSVG(vx, r, d.h0[b], true, function (i) { return at("h0", {b: b, i: i}); }, SC.h);
    if (bwd(0)) s += '<text class="elabel" x="' + ex + '" y="' + (r.boxY + r.boxH + 15) + '">∂J/∂h(−1)</text>';
    s += cellsSVG(ex, r, d.dh0[b], bwd(0), function (i) { return at("dh0", {b: b, i: i}); }, SC.eh, "err");
  } else if (kind === "yhat") {
    s += targetSVG(x, r, t, b, "y");
  } else if (kind === "L") {
    s += lossSVG(x, r, t, b);
  } else if (kind === "x") {
    s += inputSVG(x, r, t, b);
  }
  return s + "</g>";
}
function activeEdges() {
  var p = phase(st.k), on = {};
  if (p.name === "forward" && p.t >= 0) ["U", "g", "V", "f", "L", "W"].forEach(function (e) { on[e + ":" + p.t] = "fwd"; });
  if (p.name === "backward") {
    ["L", "f", "V", "g"].forEach(function (e) { on[e + ":" + p.t] = "bwd"; });
    if (p.t + 1 < T) on["W:" + (p.t + 1)] = "bwd";
    if (p.t === 0) on["W:0"] = "bwd";
  }
  return on;
}
function svg() {
  var on = activeEdges(), s = svgOpen(SVGW, SVGH);
  s += '<text class="colhead" x="' + (colX(-1) + MID) + '" y="18">initial state</text>';
  var up = [["x", "a", "U", "U"], ["a", "h", "g", ACT], ["h", "o", "V", "V"], ["o", "yhat", "f", cfg.output], ["yhat", "L", "L", "loss"]];
  for (var t = 0; t < T; t++) {
    var cx = colX(t) + MID;
    up.forEach(function (e) {
      var lo = R[e[0]], hi = R[e[1]], y1 = lo.boxY, y2 = hi.bottom + 1;
      s += edgeSVG(e[2] + ":" + t, "M" + cx + "," + y1 + " L" + cx + "," + y2, cx + 6, (hi.bottom + lo.y) / 2 + 5, e[3], on[e[2] + ":" + t]);
    });
    var hr = R.h, ar = R.a, x1 = colX(t - 1) + BOXW, y1 = hr.boxY + hr.boxH / 2, x2 = colX(t), y2 = ar.boxY + ar.boxH / 2;
    s += edgeSVG("W:" + t, "M" + x1 + "," + y1 + " C" + (x1 + 45) + "," + y1 + " " + (x2 - 45) + "," + y2 + " " + (x2 - 1) + "," + y2,
                 (x1 + x2) / 2 + 6, (y1 + y2) / 2, "W", on["W:" + t]);
  }
  s += nodeSVG("h0", -1);
  for (t = 0; t < T; t++) ROWS.forEach(function (r) { s += nodeSVG(r.kind, t); });
  s += jSVG(colX(-1), R.L);
  return s + "</svg>";
}

// ---- the equation panel -----------------------------------------------------------------------
function detailHTML(sel) {
  if (!sel) return '<h3>Equations</h3><p class="muted">Hover over or click a node of the network to see its value ' +
    "and the equation that produced it, with its numbers.</p>" + eqn("a(t) = b + W h(t−1) + U x(t)") +
    eqn("h(t) = " + ACT + "(a(t))") + eqn("o(t) = c + V h(t)") + eqn("ŷ(t) = " + FNAME + "(o(t))") +
    eqn(SOFT ? "L(t) = −log ŷ(t)[y(t)]" : "L(t) = ½‖o(t) − y(t)‖²") + eqn("J = Σ<sub>t</sub> L(t)" + (B > 1 ? ", summed over the batch" : ""));
  var kind = sel.kind, t = sel.t, b = st.b, s = "", wait = '<p class="muted">Its numbers appear when the forward pass reaches t = ' + t + ".</p>";
  var o = {t: t, b: b}, w = d.mask[t < 0 ? 0 : t][b] / B;
  if (kind === "a") {
    s += "<h3>Pre-activation " + nm("a", t) + "</h3>" + eqn(nm("a", t) + " = b + W " + nm("h", t - 1) + " + U " + nm("x", t));
    if (!fwd(t)) return s + wait;
    s += eqTable([col(nm("a", t), d.forward.a[t][b], A("forward.a", o)), "=", col("b", d.params.b, A("params.b", {})), "+",
                  col("W " + nm("h", t - 1), mv(d.params.W, hPrev(t, b)), A("derived.Wh", o)), "+",
                  col("U " + nm("x", t), Ux(t, b), A("derived.Ux", o))]);
    if (TOK) s += '<p class="muted">x(' + t + ") is the one-hot vector of " + esc(label(d.x[t][b])) + " (id " + d.x[t][b] + "), so U x(" + t + ") is column " + d.x[t][b] + " of U.</p>";
    if (bwd(t)) {
      s += eqn("∂J/∂" + nm("a", t) + " = g′(" + nm("a", t) + ") ⊙ ∂J/∂" + nm("h", t) + ",  g′ = " + GP[ACT].replace(/\(t\)/g, "(" + t + ")"), true);
      s += eqTable([col("∂J/∂" + nm("a", t), d.errors.a[t][b], A("errors.a", o)), "=", col("g′", gprime(d.forward.h[t][b]), A("derived.gprime", o)),
                    "⊙", col("∂J/∂" + nm("h", t), d.errors.h[t][b], A("errors.h", o))]) + sharesTable("a", t, b);
    }
  } else if (kind === "h0") {
    s += "<h3>Initial state h(−1) = h0</h3>" + eqn("h(−1) = h0") + '<p class="muted">Given, not computed; every sequence starts from it.</p>';
    s += eqTable([col("h0", d.h0[b], A("h0", {b: b}))]);
    if (bwd(0)) {
      s += eqn("∂J/∂h(−1) = Wᵀ ∂J/∂a(0)", true);
      s += eqTable([col("∂J/∂h(−1)", d.dh0[b], A("dh0", {b: b})), "=", col("Wᵀ ∂J/∂a(0)", mtv(d.params.W, d.errors.a[0][b]), A("derived.WTda", {t: -1, b: b}))]);
    }
  } else if (kind === "h") {
    s += "<h3>Hidden state " + nm("h", t) + "</h3>" + eqn(nm("h", t) + " = " + ACT + "(" + nm("a", t) + ")");
    if (!fwd(t)) return s + wait;
    s += eqTable([col(nm("h", t), d.forward.h[t][b], A("forward.h", o)), "= " + ACT, col(nm("a", t), d.forward.a[t][b], A("forward.a", o))]);
    if (bwd(t)) {
      var last = t === T - 1, vto = mtv(d.params.V, d.errors.o[t][b]);
      s += eqn("∂J/∂" + nm("h", t) + " = Vᵀ ∂J/∂" + nm("o", t) + (last ? "  (no later step)" : " + Wᵀ ∂J/∂" + nm("a", t + 1)), true);
      var cols = [col("∂J/∂" + nm("h", t), d.errors.h[t][b], A("errors.h", o)), "=", col("Vᵀ ∂J/∂" + nm("o", t), vto, A("derived.VTdo", o))];
      if (!last) cols.push("+", col("Wᵀ ∂J/∂" + nm("a", t + 1), mtv(d.params.W, d.errors.a[t + 1][b]), A("derived.WTda", o)));
      s += eqTable(cols) + sharesTable("h", t, b);
    }
  } else if (kind === "o" || kind === "yhat") {
    s += outputDetail(kind, t, b, w, "h", "y");
  } else if (kind === "L") {
    s += lossDetail(t, b, w, "y");
  } else if (kind === "x") {
    s += inputDetail(t, b, "U x(" + t + ") enters a(" + t + ").");
  }
  return s;
}

// ---- captions and the gradient formulas ---------------------------------------------------------
function rnnCaption(p) {
  var t = p.t;
  if (p.name === "forward" && t < 0) return "<b>Start.</b> The inputs x(0) … x(" + (T - 1) + ") and the initial state h(−1) = h0 are given; " +
    "the parameters θ = {U, W, b, V, c} are shared by every time step. Press <b>Next</b> (or →) to run forward propagation.";
  var w = WEIGHTED ? "w(" + t + ") · " : "", wnote = WEIGHTED ? " Here w(t) = mask(t)/B weights each loss term." : "";
  if (p.name === "forward") return "<b>Forward, t = " + t + ":</b> " + nm("a", t) + " = b + W " + nm("h", t - 1) + " + U x(" + t + "); " +
    nm("h", t) + " = " + ACT + "(" + nm("a", t) + "); o(" + t + ") = c + V h(" + t + "); ŷ(" + t + ") = " + FNAME + "(o(" + t + ")); " +
    (SOFT ? "L(" + t + ") = " + w + "−log ŷ(" + t + ")[y(" + t + ")]." : "L(" + t + ") = " + w + "½‖o(" + t + ") − y(" + t + ")‖².") + wnote;
  return "<b>Backward, t = " + t + ":</b> ∂J/∂o(" + t + ") = " + (WEIGHTED ? "w(" + t + ") · (" : "") +
    (SOFT ? "ŷ(" + t + ") − onehot(y(" + t + "))" : "o(" + t + ") − y(" + t + ")") + (WEIGHTED ? ")" : "") +
    "; ∂J/∂h(" + t + ") = Vᵀ ∂J/∂o(" + t + ")" + (t < T - 1 ? " + Wᵀ ∂J/∂a(" + (t + 1) + ")" : " (no later step)") + "; ∂J/∂a(" + t + ") = g′(a(" + t + ")) ⊙ ∂J/∂h(" + t + ")" +
    (t === 0 ? "; ∂J/∂h(−1) = Wᵀ ∂J/∂a(0)" : "") + ". The bars split each error by the loss term L(s), s ≥ " + t + ", that it comes from, in the colour of L(s).";
}
var MODEL = {
  params: ["U", "W", "b", "V", "c"], defaultParam: "W",
  pf: {U: "∂J/∂a(t) x(t)ᵀ", W: "∂J/∂a(t) h(t−1)ᵀ", b: "∂J/∂a(t)", V: "∂J/∂o(t) h(t)ᵀ", c: "∂J/∂o(t)"},
  paramLabel: function (p) { return p; },
  axis: function (p) {     // vocabulary labels: the columns of U (inputs), the rows of V and c (outputs)
    return {cols: p === "U" && TOK && LAB ? ids(DIN) : null, rows: (p === "V" || p === "c") && SOFT && LAB ? ids(O) : null};
  },
  colX: colX, body: svg, detail: detailHTML, caption: rnnCaption,
  summary: cfg.model + " · D = " + DIN + (TOK ? " (token ids" + (LAB ? ": " + LAB.slice(0, DIN).map(function (c, i) { return label(i); }).join(" ") : "") + ")" : "") +
    " · H = " + H + " · O = " + O + " · g = " + ACT + " · f = " + FNAME + " with " + cfg.loss + " · T = " + T + " · B = " + B + " · η = " + LR
};
