// The explorer's LSTM part (with explorer.js), in the notation of Greff et al.: block input z(t),
// gates i(t), f(t), o(t), cell c(t), block output y(t) (the h of SimpleRNN; forward.h, errors.h
// in the JSON). Two names of the SimpleRNN page are taken by the LSTM, so here the output layer's
// logits are v(t) (forward.o, errors.o) and the targets y*(t) (y).
//
// One time step's column, bottom to top: x(t); the gates f, z, i, o side by side (value above,
// the pre-activation's error below); the cell c(t), with the cell path c(t−1) → c(t) as one
// horizontal line that f(t) multiplies; y(t) = tanh(c(t)) ⊙ o(t); v(t) and ŷ(t); L(t).
var OUTNAME = "v", TNAME = "y*", PEEP = !!cfg.peepholes;
var GATES = ["z", "i", "f", "o"], ORDER = ["f", "z", "i", "o"];           // ORDER: left to right
var HAT = {z: "ẑ", i: "î", f: "f̂", o: "ô"}, GACT = {z: "tanh", i: "σ", f: "σ", o: "σ"};
var GTITLE = {z: "Block input", i: "Input gate", f: "Forget gate", o: "Output gate"};
function sigma(v) { return 1 / (1 + Math.exp(-v)); }
function sub_(p) { var k = p.split("_"); return k.length > 1 ? k[0] + "<sub>" + k[1] + "</sub>" : p; }
function prevOf(which, t, b) {     // y(t−1) or c(t−1) with the data attributes of where it lives
  var k = which === "h" ? 0 : 1;
  return t === 0 ? {v: d.h0[k][b], a: A("h0." + k, {b: b})} : {v: d.forward[which][t - 1][b], a: A("forward." + which, {t: t - 1, b: b})};
}
function Wx(g, t, b) { var W = d.params["W_" + g]; return TOK ? colOf(W, d.x[t][b]) : mv(W, d.x[t][b]); }
function gate(g, t, b) { return d.forward.gates[g][t][b]; }
function dsig(v) { return v.map(function (x) { return x * (1 - x); }); }
function RTd(t, b) {              // Σ_g R_gᵀ ∂J/∂ĝ(t): what step t sends back to y(t−1)
  var s = null;
  GATES.forEach(function (g) { var r = mtv(d.params["R_" + g], d.errors[g + "_hat"][t][b]); s = s ? add(s, r) : r; });
  return s;
}
function cBack(t, b) {            // what step t sends back to c(t−1): ∂J/∂c(t) ⊙ f(t) [+ peepholes]
  var r = {f: mul(d.errors.c[t][b], gate("f", t, b))};
  if (PEEP) r.p = add(mul(d.params.p_i, d.errors.i_hat[t][b]), mul(d.params.p_f, d.errors.f_hat[t][b]));
  return r;
}
var SC = {
  x: TOK ? 1 : maxAbs(d.x), yhat: SOFT ? 1 : maxAbs(d.forward.y_hat, d.y), v: maxAbs(d.forward.o),
  y: maxAbs(d.forward.h, d.h0[0]), c: maxAbs(d.forward.c, d.h0[1]), ev: maxAbs(d.errors.o),
  ey: maxAbs(d.errors.h, d.dh0[0]), ec: maxAbs(d.errors.c, d.dh0[1]),
  eg: maxAbs(d.errors.z_hat, d.errors.i_hat, d.errors.f_hat, d.errors.o_hat)
};

// ---- the unfolded network (SVG) -------------------------------------------------------------
var CW = 62, CG = 6, PAD = 4, LBL = 17, GAPV = 26, LEFT = 14, TOP = 30, ESUB = 15;
var BOXW = 2 * PAD + 2 * CW + CG, GW = 2 * PAD + CW, GG = 6, CWID = 4 * GW + 3 * GG, COLW = CWID + 36;
var OFF = {L: 0, yhat: 0, v: 160, y: 140, c: 80, x: 80, f: 0, z: GW + GG, i: 2 * (GW + GG), o: 3 * (GW + GG)};
var RK = {L: "L", yhat: "out", v: "out", y: "y", c: "c", f: "gates", z: "gates", i: "gates", o: "gates", x: "x", y0: "y", c0: "c"};
var ROWS = [{kind: "L", n: 1}, {kind: "out", n: O, bar: true}, {kind: "y", n: H, bar: true}, {kind: "c", n: H, bar: true},
            {kind: "gates", n: H, gate: true}, {kind: "x", n: TOK ? 1 : DIN}];
var R = {}, SVGH = 0;
(function () {
  var y = TOP;
  ROWS.forEach(function (r) {
    r.ch = r.kind === "x" && TOK ? 26 : r.kind === "L" ? 22 : r.n <= 12 ? 20 : Math.max(5, Math.floor(240 / r.n));
    r.nums = r.ch >= 14;
    var cells = r.n * r.ch + (r.n - 1) * 2;
    r.y = y; r.boxY = y + LBL; r.boxH = 2 * PAD + (r.gate ? 2 * cells + ESUB : cells);
    if (r.gate) r.w = GW;
    r.bottom = r.boxY + r.boxH + (r.bar ? 11 : 0);
    R[r.kind] = r; y = r.bottom + GAPV;
  });
  SVGH = y - GAPV + 14;
})();
function colX(t) { return LEFT + BOXW + 40 + t * COLW; }
var SVGW = colX(T - 1) + CWID + LEFT;
function nodeX(kind, t) { return t < 0 ? LEFT : colX(t) + OFF[kind]; }

function nodeSVG(kind, t) {
  var r = R[RK[kind]], x = nodeX(kind, t), b = st.b, s = nodeOpen(kind, t, x, r);
  if (kind === "y" || kind === "c" || kind === "v") {
    var key = kind === "y" ? "h" : kind === "v" ? "o" : "c", src = kind === "y" ? "h" : kind === "v" ? "o" : "c";
    s += pairNode(x, r, t, b, nm(kind, t), d.forward[key][t][b], "forward." + key, d.errors[key][t][b], "errors." + key,
                  SC[kind], SC["e" + kind], nm(kind, t));
    if (bwd(t)) s += barSVG(x, r, src, t, b, nm(kind, t));
  } else if (kind === "y0" || kind === "c0") {
    var k = kind === "y0" ? 0 : 1, n = kind === "y0" ? "y" : "c";
    s += pairNode(x, r, -1, b, nm(n, -1) + " = " + (k ? "c0" : "h0"), d.h0[k][b], "h0." + k, d.dh0[k][b], "dh0." + k,
                  SC[n], SC["e" + n], nm(n, -1));
  } else if (GATES.indexOf(kind) >= 0) {
    var y0 = cellY(r, 0) + r.n * (r.ch + 2) + ESUB - 2, o = {t: t, b: b};
    s += '<text class="nlabel" x="' + (x + PAD) + '" y="' + (r.y + 12) + '">' + nm(kind, t) + "</text>";
    s += cellsSVG(x + PAD, r, gate(kind, t, b), fwd(t), A("forward.gates." + kind, o), 1);
    if (bwd(t)) s += '<text class="esub" x="' + (x + PAD + 1) + '" y="' + (y0 - 4) + '">∂J/∂' + nm(HAT[kind], t) + "</text>";
    s += cellsSVG(x + PAD, r, d.errors[kind + "_hat"][t][b], bwd(t), A("errors." + kind + "_hat", o), SC.eg, "err", y0);
  } else if (kind === "yhat") {
    s += targetSVG(x, r, t, b, TNAME);
  } else if (kind === "L") {
    s += lossSVG(x, r, t, b);
  } else if (kind === "x") {
    s += inputSVG(x, r, t, b);
  }
  return s + "</g>";
}
function activeEdges() {
  var p = phase(st.k), on = {}, t = p.t;
  var column = ["in", "bus", "R", "cell", "fc", "zi", "cy", "oy", "V", "sm", "L"];
  if (p.name === "forward" && t >= 0) column.forEach(function (e) { on[e + ":" + t] = "fwd"; });
  if (p.name === "backward") {
    ["fc", "zi", "cy", "oy", "V", "sm", "L"].forEach(function (e) { on[e + ":" + t] = "bwd"; });
    if (t + 1 < T) { on["R:" + (t + 1)] = "bwd"; on["cell:" + (t + 1)] = "bwd"; }
    if (t === 0) { on["R:0"] = "bwd"; on["cell:0"] = "bwd"; }
  }
  return on;
}
function opSVG(x, y) { return '<circle class="opnode" cx="' + x + '" cy="' + y + '" r="6"/><circle cx="' + x + '" cy="' + y + '" r="1.6" fill="#57606a"/>'; }
function edgesSVG(t, on) {       // the connections of column t (and those arriving from t − 1)
  var x0 = colX(t), g = R.gates, c = R.c, y = R.y, out = R.out, L = R.L, xr = R.x, s = "";
  var busY = g.boxY + g.boxH + GAPV / 2, cy = c.boxY + c.boxH / 2, ym = y.boxY + y.boxH / 2, gx = x0 - 16;
  function ctr(k) { return x0 + OFF[k] + GW / 2; }
  function v(id, xx, y1, y2, text, lx, ly, cls) {
    return edgeSVG(id, "M" + xx + "," + y1 + " L" + xx + "," + y2, lx, ly, text, on[id], cls);
  }
  s += lineSVG("in:" + t, "M" + (x0 + 149) + "," + xr.boxY + " L" + (x0 + 149) + "," + busY, on["in:" + t]);
  s += '<text class="elbl" x="' + (x0 + 155) + '" y="' + (busY + 11) + '">W</text>';
  s += lineSVG("bus:" + t, "M" + gx + "," + busY + " L" + ctr("o") + "," + busY, on["in:" + t]);
  ORDER.forEach(function (k) { s += v("in:" + t, ctr(k), busY, g.boxY + g.boxH + 1, "", 0, 0); });
  var yr = t === 0 ? LEFT + BOXW : colX(t - 1) + OFF.y + BOXW;
  s += edgeSVG("R:" + t, "M" + yr + "," + ym + " L" + gx + "," + ym + " L" + gx + "," + (busY - 0.5), gx + 5, g.y + 11, "R", on["R:" + t]);
  s += v("oy:" + t, ctr("o"), g.boxY, y.bottom + 1, "", 0, 0);
  var cr = t === 0 ? LEFT + BOXW : colX(t - 1) + OFF.c + BOXW;
  s += edgeSVG("cell:" + t, "M" + cr + "," + cy + " L" + (x0 + OFF.c - 1) + "," + cy, 0, 0, "", on["cell:" + t], "cellpath");
  s += v("fc:" + t, ctr("f"), g.boxY, cy + 7, "", 0, 0) + opSVG(ctr("f"), cy);
  s += edgeSVG("zi:" + t, "M" + ctr("z") + "," + g.boxY + " L" + (x0 + 131) + "," + (c.bottom + 1), 0, 0, "", on["zi:" + t]);
  s += edgeSVG("zi:" + t, "M" + ctr("i") + "," + g.boxY + " L" + (x0 + 167) + "," + (c.bottom + 1), 0, 0, "", on["zi:" + t]);
  s += '<text class="elbl" x="' + (x0 + 144) + '" y="' + ((g.boxY + c.bottom) / 2 + 4) + '">⊙</text>';
  s += v("cy:" + t, x0 + 146, c.boxY, y.bottom + 1, "tanh", x0 + 104, (y.bottom + c.y) / 2 + 5);
  s += v("V:" + t, x0 + 190, y.boxY, out.bottom + 1, "V", x0 + 196, (out.bottom + y.y) / 2 + 5);
  var om = out.boxY + out.boxH / 2;
  s += edgeSVG("sm:" + t, "M" + (x0 + OFF.v) + "," + om + " L" + (x0 + BOXW + 1) + "," + om, 0, 0, "", on["sm:" + t]);
  s += v("L:" + t, x0 + 50, out.boxY, L.bottom + 1, "loss", x0 + 56, (L.bottom + out.y) / 2 + 5);
  return s;
}
function svg() {
  var on = activeEdges(), s = svgOpen(SVGW, SVGH), t;
  s += '<text class="colhead" x="' + (LEFT + BOXW / 2) + '" y="18">initial state</text>';
  for (t = 0; t < T; t++) s += edgesSVG(t, on);
  s += nodeSVG("y0", -1) + nodeSVG("c0", -1);
  for (t = 0; t < T; t++) ["L", "yhat", "v", "y", "c", "f", "z", "i", "o", "x"].forEach(function (k) { s += nodeSVG(k, t); });
  s += jSVG(LEFT, R.L);
  return s + "</svg>";
}

// ---- the equation panel -----------------------------------------------------------------------
function preEq(g, t) {          // ĝ(t) = W_g x(t) + R_g y(t−1) [+ p_g ⊙ c] + b_g; t a number or "t"
  var now = t === "t" ? "(t)" : "(" + t + ")", prev = t === "t" ? "(t−1)" : nm("", t - 1);
  var pe = PEEP && g !== "z" ? " + p<sub>" + g + "</sub> ⊙ c" + (g === "o" ? now : prev) : "";
  return HAT[g] + now + " = W<sub>" + g + "</sub> x" + now + " + R<sub>" + g + "</sub> y" + prev + pe + " + b<sub>" + g + "</sub>";
}
function gateDetail(g, t, b) {
  var o = {t: t, b: b}, s = "<h3>" + GTITLE[g] + " " + nm(g, t) + "</h3>" + eqn(preEq(g, t)) + eqn(nm(g, t) + " = " + GACT[g] + "(" + nm(HAT[g], t) + ")");
  if (!fwd(t)) return s + '<p class="muted">Its numbers appear when the forward pass reaches t = ' + t + ".</p>";
  var yp = prevOf("h", t, b), cols = [col(nm(HAT[g], t), d.forward[g + "_hat"][t][b], A("forward." + g + "_hat", o)), "=",
    col("W<sub>" + g + "</sub> x(" + t + ")", Wx(g, t, b), A("derived.Wx", o)), "+",
    col("R<sub>" + g + "</sub> " + nm("y", t - 1), mv(d.params["R_" + g], yp.v), A("derived.Ry", o))];
  if (PEEP && g !== "z") {
    var cv = g === "o" ? d.forward.c[t][b] : prevOf("c", t, b).v;
    cols.push("+", col("p<sub>" + g + "</sub> ⊙ " + nm("c", g === "o" ? t : t - 1), mul(d.params["p_" + g], cv), A("derived.pc", o)));
  }
  cols.push("+", col("b<sub>" + g + "</sub>", d.params["b_" + g], A("params.b_" + g, {})));
  s += eqTable(cols) + eqTable([col(nm(g, t), gate(g, t, b), A("forward.gates." + g, o)), "= " + GACT[g], col(nm(HAT[g], t), d.forward[g + "_hat"][t][b], A("forward." + g + "_hat", o))]);
  if (TOK) s += '<p class="muted">x(' + t + ") is the one-hot vector of " + esc(label(d.x[t][b])) + ", so W<sub>" + g + "</sub> x(" + t + ") is column " + d.x[t][b] + " of W<sub>" + g + "</sub>.</p>";
  if (!bwd(t)) return s;
  var e = "∂J/∂" + nm(HAT[g], t), gv = gate(g, t, b), E = col(e, d.errors[g + "_hat"][t][b], A("errors." + g + "_hat", o));
  var dc = col("∂J/∂" + nm("c", t), d.errors.c[t][b], A("errors.c", o));
  if (g === "z") {
    s += eqn(e + " = ∂J/∂" + nm("c", t) + " ⊙ " + nm("i", t) + " ⊙ (1 − " + nm("z", t) + "²)", true);
    s += eqTable([E, "=", dc, "⊙", col(nm("i", t), gate("i", t, b), A("forward.gates.i", o)), "⊙", col("1 − z²", gv.map(function (z) { return 1 - z * z; }), A("derived.dtanh", o))]);
  } else if (g === "o") {
    s += eqn(e + " = ∂J/∂" + nm("y", t) + " ⊙ tanh(" + nm("c", t) + ") ⊙ " + nm("o", t) + " (1 − " + nm("o", t) + ")", true);
    s += eqTable([E, "=", col("∂J/∂" + nm("y", t), d.errors.h[t][b], A("errors.h", o)), "⊙", col("tanh(" + nm("c", t) + ")", d.forward.c[t][b].map(Math.tanh), A("derived.tanhc", o)),
                  "⊙", col("σ′", dsig(gv), A("derived.dsig", o))]);
  } else {
    var other = g === "i" ? col(nm("z", t), gate("z", t, b), A("forward.gates.z", o)) : (function () { var p = prevOf("c", t, b); return col(nm("c", t - 1), p.v, p.a); })();
    s += eqn(e + " = ∂J/∂" + nm("c", t) + " ⊙ " + (g === "i" ? nm("z", t) : nm("c", t - 1)) + " ⊙ " + nm(g, t) + " (1 − " + nm(g, t) + ")", true);
    s += eqTable([E, "=", dc, "⊙", other, "⊙", col("σ′", dsig(gv), A("derived.dsig", o))]);
  }
  return s + '<p class="muted">σ′(' + nm(HAT[g], t) + ") = " + nm(g, t) + " (1 − " + nm(g, t) + "), from the forward value.</p>";
}
function cellDetail(t, b) {
  var o = {t: t, b: b}, cp = prevOf("c", t, b), s = "<h3>Cell " + nm("c", t) + "</h3>";
  s += eqn(nm("c", t) + " = " + nm("z", t) + " ⊙ " + nm("i", t) + " + " + nm("c", t - 1) + " ⊙ " + nm("f", t));
  if (!fwd(t)) return s + '<p class="muted">Its numbers appear when the forward pass reaches t = ' + t + ".</p>";
  s += eqTable([col(nm("c", t), d.forward.c[t][b], A("forward.c", o)), "=", col(nm("z", t), gate("z", t, b), A("forward.gates.z", o)), "⊙",
                col(nm("i", t), gate("i", t, b), A("forward.gates.i", o)), "+", col(nm("c", t - 1), cp.v, cp.a), "⊙", col(nm("f", t), gate("f", t, b), A("forward.gates.f", o))]);
  if (!bwd(t)) return s;
  var last = t === T - 1, c = d.forward.c[t][b], dy = d.errors.h[t][b];
  var viaY = mul(mul(dy, gate("o", t, b)), c.map(function (v) { var h = Math.tanh(v); return 1 - h * h; }));
  s += eqn("∂J/∂" + nm("c", t) + " = ∂J/∂" + nm("y", t) + " ⊙ " + nm("o", t) + " ⊙ (1 − tanh²(" + nm("c", t) + "))" + (PEEP ? " + p<sub>o</sub> ⊙ ∂J/∂" + nm("ô", t) : "") +
           (last ? "  (no later step)" : " + ∂J/∂" + nm("c", t + 1) + " ⊙ " + nm("f", t + 1) + (PEEP ? " + p<sub>i</sub> ⊙ ∂J/∂" + nm("î", t + 1) + " + p<sub>f</sub> ⊙ ∂J/∂" + nm("f̂", t + 1) : "")), true);
  var cols = [col("∂J/∂" + nm("c", t), d.errors.c[t][b], A("errors.c", o)), "=", col("via " + nm("y", t), viaY, A("derived.dcy", o))];
  if (PEEP) cols.push("+", col("via " + nm("ô", t), mul(d.params.p_o, d.errors.o_hat[t][b]), A("derived.dcpo", o)));
  if (!last) {
    var nb = cBack(t + 1, b);
    cols.push("+", col("∂J/∂" + nm("c", t + 1) + " ⊙ " + nm("f", t + 1), nb.f, A("derived.dcf", o)));
    if (PEEP) cols.push("+", col("via " + nm("î, f̂", t + 1), nb.p, A("derived.dcp", o)));
  }
  s += eqTable(cols) + '<p class="muted">The cell path: ∂J/∂' + nm("c", t + 1) + " reaches " + nm("c", t) + " multiplied by " + nm("f", t + 1) +
       " only, with no squashing function; where f ≈ 1 the error passes back almost unchanged (the constant error carousel).</p>";
  return s + sharesTable("c", t, b);
}
function outDetail(t, b) {
  var o = {t: t, b: b}, s = "<h3>Block output " + nm("y", t) + "</h3>" + eqn(nm("y", t) + " = tanh(" + nm("c", t) + ") ⊙ " + nm("o", t)) +
    '<p class="muted">The h of SimpleRNN: it feeds the output layer and, through R, the next step.</p>';
  if (!fwd(t)) return s + '<p class="muted">Its numbers appear when the forward pass reaches t = ' + t + ".</p>";
  s += eqTable([col(nm("y", t), d.forward.h[t][b], A("forward.h", o)), "=", col("tanh(" + nm("c", t) + ")", d.forward.c[t][b].map(Math.tanh), A("derived.tanhc", o)), "⊙",
                col(nm("o", t), gate("o", t, b), A("forward.gates.o", o))]);
  if (!bwd(t)) return s;
  var last = t === T - 1;
  s += eqn("∂J/∂" + nm("y", t) + " = Vᵀ ∂J/∂" + nm("v", t) + (last ? "  (no later step)" : " + Σ<sub>g</sub> R<sub>g</sub>ᵀ ∂J/∂ĝ(" + (t + 1) + "),  g ∈ z, i, f, o"), true);
  var cols = [col("∂J/∂" + nm("y", t), d.errors.h[t][b], A("errors.h", o)), "=", col("Vᵀ ∂J/∂" + nm("v", t), mtv(d.params.V, d.errors.o[t][b]), A("derived.VTdo", o))];
  if (!last) cols.push("+", col("Σ R<sub>g</sub>ᵀ ∂J/∂ĝ(" + (t + 1) + ")", RTd(t + 1, b), A("derived.RTd", o)));
  return s + eqTable(cols) + sharesTable("h", t, b, nm("y", t));
}
function initDetail(kind, b) {
  var k = kind === "y0" ? 0 : 1, n = kind === "y0" ? "y" : "c", s;
  s = "<h3>Initial " + (k ? "cell" : "block output") + " " + nm(n, -1) + " = " + (k ? "c0" : "h0") + "</h3>" + eqn(nm(n, -1) + " = " + (k ? "c0" : "h0")) +
      '<p class="muted">Given, not computed; every sequence starts from it.</p>' + eqTable([col(k ? "c0" : "h0", d.h0[k][b], A("h0." + k, {b: b}))]);
  if (!bwd(0)) return s;
  var E = col("∂J/∂" + nm(n, -1), d.dh0[k][b], A("dh0." + k, {b: b}));
  if (!k) return s + eqn("∂J/∂y(−1) = Σ<sub>g</sub> R<sub>g</sub>ᵀ ∂J/∂ĝ(0),  g ∈ z, i, f, o", true) +
    eqTable([E, "=", col("Σ R<sub>g</sub>ᵀ ∂J/∂ĝ(0)", RTd(0, b), A("derived.RTd", {t: -1, b: b}))]);
  var nb = cBack(0, b), cols = [E, "=", col("∂J/∂c(0) ⊙ f(0)", nb.f, A("derived.dcf", {t: -1, b: b}))];
  if (PEEP) cols.push("+", col("via î, f̂(0)", nb.p, A("derived.dcp", {t: -1, b: b})));
  return s + eqn("∂J/∂c(−1) = ∂J/∂c(0) ⊙ f(0)" + (PEEP ? " + p<sub>i</sub> ⊙ ∂J/∂î(0) + p<sub>f</sub> ⊙ ∂J/∂f̂(0)" : ""), true) + eqTable(cols);
}
function detailHTML(sel) {
  if (!sel) return '<h3>Equations</h3><p class="muted">Hover over or click a node of the network to see its value ' +
    "and the equation that produced it, with its numbers.</p>" + GATES.map(function (g) { return eqn(preEq(g, "t") + ",  " + g + "(t) = " + GACT[g] + "(" + HAT[g] + "(t))"); }).join("") +
    eqn("c(t) = z(t) ⊙ i(t) + c(t−1) ⊙ f(t)") + eqn("y(t) = tanh(c(t)) ⊙ o(t)") + eqn("v(t) = c + V y(t),  ŷ(t) = " + FNAME + "(v(t))") +
    eqn(SOFT ? "L(t) = −log ŷ(t)[y*(t)]" : "L(t) = ½‖v(t) − y*(t)‖²") + eqn("J = Σ<sub>t</sub> L(t)" + (B > 1 ? ", summed over the batch" : "")) +
    '<p class="muted">Greff et al.\'s notation: y(t) is the block output (the h of SimpleRNN) and o(t) the output gate; so here the ' +
    "output layer's logits are v(t) (forward.o in the JSON) and the targets y*(t).</p>";
  var kind = sel.kind, t = sel.t, b = st.b, w = d.mask[t < 0 ? 0 : t][b] / B;
  if (GATES.indexOf(kind) >= 0) return gateDetail(kind, t, b);
  if (kind === "c") return cellDetail(t, b);
  if (kind === "y") return outDetail(t, b);
  if (kind === "y0" || kind === "c0") return initDetail(kind, b);
  if (kind === "v" || kind === "yhat") return outputDetail(kind, t, b, w, "y", TNAME);
  if (kind === "L") return lossDetail(t, b, w, TNAME);
  return inputDetail(t, b, "W<sub>g</sub> x(" + t + ") enters the pre-activation of each gate g ∈ z, i, f, o.");
}

// ---- captions and the gradient formulas ---------------------------------------------------------
function lstmCaption(p) {
  var t = p.t;
  if (p.name === "forward" && t < 0) return "<b>Start.</b> The inputs x(0) … x(" + (T - 1) + ") and the initial state y(−1) = h0, c(−1) = c0 are given; " +
    "the parameters θ = {W<sub>z,i,f,o</sub>, R<sub>z,i,f,o</sub>, b<sub>z,i,f,o</sub>" + (PEEP ? ", p<sub>i,f,o</sub>" : "") + ", V, c} are shared by every time step. Press <b>Next</b> (or →) to run forward propagation.";
  var w = WEIGHTED ? "w(" + t + ") · " : "";
  if (p.name === "forward") return "<b>Forward, t = " + t + ":</b> from x(" + t + ") and " + nm("y", t - 1) + " the block input " + nm("z", t) + " = tanh(" + nm("ẑ", t) + ") and the gates " +
    nm("i", t) + ", " + nm("f", t) + ", " + nm("o", t) + " = σ(·); the cell " + nm("c", t) + " = " + nm("z", t) + " ⊙ " + nm("i", t) + " + " + nm("c", t - 1) + " ⊙ " + nm("f", t) + "; " +
    nm("y", t) + " = tanh(" + nm("c", t) + ") ⊙ " + nm("o", t) + "; v(" + t + ") = c + V y(" + t + "); ŷ(" + t + ") = " + FNAME + "(v(" + t + ")); " +
    (SOFT ? "L(" + t + ") = " + w + "−log ŷ(" + t + ")[y*(" + t + ")]." : "L(" + t + ") = " + w + "½‖v(" + t + ") − y*(" + t + ")‖².");
  var later = t < T - 1;
  return "<b>Backward, t = " + t + ":</b> ∂J/∂v(" + t + ") = " + (WEIGHTED ? "w(" + t + ") · (" : "") + (SOFT ? "ŷ(" + t + ") − onehot(y*(" + t + "))" : "v(" + t + ") − y*(" + t + ")") + (WEIGHTED ? ")" : "") +
    "; ∂J/∂y(" + t + ") = Vᵀ ∂J/∂v(" + t + ")" + (later ? " + Σ<sub>g</sub> R<sub>g</sub>ᵀ ∂J/∂ĝ(" + (t + 1) + ")" : "") + "; ∂J/∂ô(" + t + ") from it; ∂J/∂c(" + t + ") = ∂J/∂y(" + t + ") ⊙ o(" + t + ") ⊙ tanh′(c(" + t + "))" +
    (later ? " + ∂J/∂c(" + (t + 1) + ") ⊙ f(" + (t + 1) + "), along the cell path" : "") + "; then ∂J/∂ẑ(" + t + "), ∂J/∂î(" + t + "), ∂J/∂f̂(" + t + ") from ∂J/∂c(" + t + ")" +
    (t === 0 ? "; and ∂J/∂y(−1), ∂J/∂c(−1) for the initial state" : "") + ". The bars split ∂J/∂y and ∂J/∂c by the loss term L(s), s ≥ " + t + ", in the colour of L(s).";
}
var PF = {V: "∂J/∂v(t) y(t)ᵀ", c: "∂J/∂v(t)", p_i: "∂J/∂î(t) ⊙ c(t−1)", p_f: "∂J/∂f̂(t) ⊙ c(t−1)", p_o: "∂J/∂ô(t) ⊙ c(t)"};
GATES.forEach(function (g) {
  PF["W_" + g] = "∂J/∂" + HAT[g] + "(t) x(t)ᵀ"; PF["R_" + g] = "∂J/∂" + HAT[g] + "(t) y(t−1)ᵀ"; PF["b_" + g] = "∂J/∂" + HAT[g] + "(t)";
});
var MODEL = {
  params: Object.keys(d.params), defaultParam: "R_f", pf: PF, paramLabel: sub_,
  axis: function (p) {     // vocabulary labels: the columns of W_* (inputs), the rows of V and c (outputs)
    return {cols: p.charAt(0) === "W" && TOK && LAB ? ids(DIN) : null, rows: (p === "V" || p === "c") && SOFT && LAB ? ids(O) : null};
  },
  colX: colX, body: svg, detail: detailHTML, caption: lstmCaption,
  summary: "LSTM · D = " + DIN + (TOK ? " (token ids" + (LAB ? ": " + LAB.slice(0, DIN).map(function (c, i) { return label(i); }).join(" ") : "") + ")" : "") +
    " · H = " + H + " · O = " + O + " · gates σ, block input and output tanh · " + (PEEP ? "with" : "no") + " peepholes · f = " + FNAME + " with " + cfg.loss +
    " · T = " + T + " · B = " + B + " · η = " + LR,
  legend: '<span><span class="sw" style="background:#6e7781;height:4px;vertical-align:2px"></span>cell path c(t−1) → c(t)</span>' +
    '<span><svg width="14" height="14" style="vertical-align:-3px">' + '<circle cx="7" cy="7" r="5.5" fill="#fff" stroke="#6e7781"/><circle cx="7" cy="7" r="1.5" fill="#57606a"/></svg> elementwise product ⊙</span>' +
    "<span>y(t): block output (h) · o(t): output gate · v(t): logits · y*(t): target</span>"
};
