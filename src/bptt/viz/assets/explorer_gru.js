// The explorer's GRU part (with explorer.js): Cho et al. (2014) in the project's notation, with the
// reset gate after W_n (PyTorch's form, config.reset = "after") or before it ("before"):
//   r(t) = σ(r̂(t)), r̂(t) = U_r x(t) + W_r h(t−1) + b_r;   z(t) = σ(ẑ(t)), ẑ(t) = U_z x(t) + W_z h(t−1) + b_z
//   after:  n̂(t) = U_n x(t) + b_n + r(t) ⊙ ĥn(t), ĥn(t) = W_n h(t−1) + b_hn
//   before: n̂(t) = U_n x(t) + W_n (r(t) ⊙ h(t−1)) + b_n
//   n(t) = tanh(n̂(t));   h(t) = (1 − z(t)) ⊙ n(t) + z(t) ⊙ h(t−1);   o(t) = c + V h(t)
//
// One time step's column, bottom to top: x(t); the update gate z, the reset gate r, (ĥn,) and the
// candidate n side by side (value above, the pre-activation's error below); the state h(t), with
// the direct path h(t−1) → h(t) as one horizontal line that z(t) multiplies (as the LSTM's cell
// path) and n(t) coming up into h(t) scaled by 1 − z(t); o(t) and ŷ(t); L(t).
var OUTNAME = "o", TNAME = "y", AFTER = cfg.reset === "after";
var GATES = AFTER ? ["z", "r", "hn", "n"] : ["z", "r", "n"];           // boxes, left to right
var HAT = {r: "r̂", z: "ẑ", n: "n̂", hn: "ĥn"};
var GTITLE = {r: "Reset gate", z: "Update gate", n: "Candidate", hn: "Gated recurrent term"};
function sub_(p) { var k = p.split("_"); return k.length > 1 ? k[0] + "<sub>" + k[1] + "</sub>" : p; }
function hPrev(t, b) {            // h(t−1) with the data attributes of where it lives
  return t === 0 ? {v: d.h0[b], a: A("h0", {b: b})} : {v: d.forward.h[t - 1][b], a: A("forward.h", {t: t - 1, b: b})};
}
function Ux(g, t, b) { var U = d.params["U_" + g]; return TOK ? colOf(U, d.x[t][b]) : mv(U, d.x[t][b]); }
function gate(g, t, b) { return d.forward.gates[g][t][b]; }
function boxVal(k, t, b) { return k === "hn" ? d.forward.hn_hat[t][b] : gate(k, t, b); }
function boxKey(k) { return k === "hn" ? "forward.hn_hat" : "forward.gates." + k; }
function boxName(k, t) { return nm(k === "hn" ? "ĥn" : k, t); }
function dsig(v) { return v.map(function (x) { return x * (1 - x); }); }
function omz(t, b) { return gate("z", t, b).map(function (z) { return 1 - z; }); }
function back(t, b) {             // what step t sends back to h(t−1): the direct path and the gates
  var e = d.errors, p = d.params, g = add(mtv(p.W_r, e.r_hat[t][b]), mtv(p.W_z, e.z_hat[t][b]));
  g = add(g, AFTER ? mtv(p.W_n, e.hn_hat[t][b]) : mul(gate("r", t, b), mtv(p.W_n, e.n_hat[t][b])));
  return {z: mul(gate("z", t, b), e.h[t][b]), g: g};
}
var SC = {
  x: TOK ? 1 : maxAbs(d.x), yhat: SOFT ? 1 : maxAbs(d.forward.y_hat, d.y), o: maxAbs(d.forward.o),
  h: maxAbs(d.forward.h, d.h0), hn: AFTER ? maxAbs(d.forward.hn_hat) : 1, eo: maxAbs(d.errors.o),
  eh: maxAbs(d.errors.h, d.dh0), eg: maxAbs(d.errors.r_hat, d.errors.z_hat, d.errors.n_hat, AFTER ? d.errors.hn_hat : 0)
};

// ---- the unfolded network (SVG) -------------------------------------------------------------
var CW = 62, CG = 6, PAD = 4, LBL = 17, GAPV = 26, LEFT = 14, TOP = 30, ESUB = 15;
var BOXW = 2 * PAD + 2 * CW + CG, GW = 2 * PAD + CW, CWID = 4 * GW + 18, COLW = CWID + 36;
var GG = (CWID - GATES.length * GW) / (GATES.length - 1);
var OFF = {L: 0, yhat: 0, o: 160, h: 160, x: 80};
GATES.forEach(function (g, i) { OFF[g] = i * (GW + GG); });
var RK = {L: "L", yhat: "out", o: "out", h: "h", h0: "h", x: "x", z: "gates", r: "gates", hn: "gates", n: "gates"};
var ROWS = [{kind: "L", n: 1}, {kind: "out", n: O, bar: true}, {kind: "h", n: H, bar: true, gap: 40},
            {kind: "gates", n: H, gate: true, gap: 32}, {kind: "x", n: TOK ? 1 : DIN}];
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
    R[r.kind] = r; y = r.bottom + (r.gap || GAPV);
  });
  SVGH = y - GAPV + 14;
})();
function colX(t) { return LEFT + BOXW + 40 + t * COLW; }
var SVGW = colX(T - 1) + CWID + LEFT;
function nodeX(kind, t) { return t < 0 ? LEFT : colX(t) + OFF[kind]; }

function nodeSVG(kind, t) {
  var r = R[RK[kind]], x = nodeX(kind, t), b = st.b, s = nodeOpen(kind, t, x, r);
  if (kind === "h" || kind === "o") {
    s += pairNode(x, r, t, b, nm(kind, t), d.forward[kind][t][b], "forward." + kind, d.errors[kind][t][b], "errors." + kind,
                  SC[kind], SC["e" + kind], nm(kind, t));
    if (bwd(t)) s += barSVG(x, r, kind, t, b, nm(kind, t));
  } else if (kind === "h0") {
    s += pairNode(x, r, -1, b, "h(−1) = h0", d.h0[b], "h0", d.dh0[b], "dh0", SC.h, SC.eh, "h(−1)");
  } else if (GATES.indexOf(kind) >= 0) {
    var y0 = cellY(r, 0) + r.n * (r.ch + 2) + ESUB - 2, o = {t: t, b: b};
    s += '<text class="nlabel" x="' + (x + PAD) + '" y="' + (r.y + 12) + '">' + boxName(kind, t) + "</text>";
    s += cellsSVG(x + PAD, r, boxVal(kind, t, b), fwd(t), A(boxKey(kind), o), kind === "hn" ? SC.hn : 1);
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
  if (p.name === "forward" && t >= 0) ["in", "W", "hh", "zh", "rn", "nh", "V", "sm", "L"].forEach(function (e) { on[e + ":" + t] = "fwd"; });
  if (p.name === "backward") {
    ["L", "sm", "V", "nh", "zh", "rn"].forEach(function (e) { on[e + ":" + t] = "bwd"; });
    if (t + 1 < T) { on["W:" + (t + 1)] = "bwd"; on["hh:" + (t + 1)] = "bwd"; }
    if (t === 0) { on["W:0"] = "bwd"; on["hh:0"] = "bwd"; }
  }
  return on;
}
function opSVG(x, y) { return '<circle class="opnode" cx="' + x + '" cy="' + y + '" r="6"/><circle cx="' + x + '" cy="' + y + '" r="1.6" fill="#57606a"/>'; }
function edgesSVG(t, on) {       // the connections of column t (and those arriving from t − 1)
  var x0 = colX(t), g = R.gates, h = R.h, out = R.out, L = R.L, xr = R.x, s = "";
  var gb = g.boxY + g.boxH, busH = gb + 9, busX = gb + 19, hm = h.boxY + h.boxH / 2, wy = hm + Math.min(10, h.boxH / 4);
  var gx = x0 - 16, gy = g.y - 8, hr = t === 0 ? LEFT + BOXW : colX(t - 1) + OFF.h + BOXW;
  function ctr(k) { return x0 + OFF[k] + GW / 2; }
  function rgt(k) { return x0 + OFF[k] + GW - 14; }           // where a box's lines leave its top
  var xin = ["z", "r", "n"], hin = AFTER ? ["z", "r", "hn"] : ["z", "r", "n"];
  // the input x(t) (U) and h(t−1) (W) on two buses below the boxes
  s += lineSVG("in:" + t, "M" + (x0 + 149) + "," + xr.boxY + " L" + (x0 + 149) + "," + busX, on["in:" + t]);
  s += '<text class="elbl" x="' + (x0 + 155) + '" y="' + (busX + 11) + '">U</text>';
  s += lineSVG("in:" + t, "M" + (ctr("z") - 9) + "," + busX + " L" + (ctr("n") - 9) + "," + busX, on["in:" + t]);
  xin.forEach(function (k) { s += edgeSVG("in:" + t, "M" + (ctr(k) - 9) + "," + busX + " L" + (ctr(k) - 9) + "," + (gb + 1), 0, 0, "", on["in:" + t]); });
  s += lineSVG("W:" + t, "M" + hr + "," + wy + " L" + gx + "," + wy + " L" + gx + "," + busH + " L" + (ctr(hin[2]) + 9) + "," + busH, on["W:" + t]);
  s += '<text class="elbl" x="' + (gx + 5) + '" y="' + (g.y + 11) + '">W</text>';
  hin.forEach(function (k) { s += edgeSVG("W:" + t, "M" + (ctr(k) + 9) + "," + busH + " L" + (ctr(k) + 9) + "," + (gb + 1), 0, 0, "", on["W:" + t]); });
  // the direct path h(t−1) → h(t), multiplied by z(t)
  s += edgeSVG("hh:" + t, "M" + hr + "," + hm + " L" + (x0 + OFF.h - 1) + "," + hm, 0, 0, "", on["hh:" + t], "cellpath");
  s += edgeSVG("zh:" + t, "M" + ctr("z") + "," + g.boxY + " L" + ctr("z") + "," + (hm + 7), ctr("z") + 6, h.bottom + 12, "z", on["zh:" + t]) + opSVG(ctr("z"), hm);
  // the reset gate into the candidate: r ⊙ ĥn (after), or r ⊙ h(t−1) before W_n
  var nx = x0 + OFF.n + 42, rUp = "M" + rgt("r") + "," + g.boxY + " L" + rgt("r") + "," + gy, into = " L" + nx + "," + gy + " L" + nx + "," + (g.boxY - 1);
  if (AFTER) {
    s += lineSVG("rn:" + t, rUp + " L" + (rgt("hn") - 6) + "," + gy, on["rn:" + t]);
    s += lineSVG("rn:" + t, "M" + rgt("hn") + "," + g.boxY + " L" + rgt("hn") + "," + (gy + 6), on["rn:" + t]) + opSVG(rgt("hn"), gy);
    s += edgeSVG("rn:" + t, "M" + (rgt("hn") + 6) + "," + gy + into, rgt("r") + 5, gy - 4, "r ⊙ ĥn", on["rn:" + t]);
  } else {
    s += edgeSVG("rn:" + t, rUp + into, rgt("r") + 5, gy - 4, "r ⊙ h(t−1)", on["rn:" + t]);
  }
  // the candidate into h(t), scaled by 1 − z(t); then the output layer and the loss
  s += edgeSVG("nh:" + t, "M" + rgt("n") + "," + g.boxY + " L" + rgt("n") + "," + (h.bottom + 1), rgt("n") - 62, h.bottom + 12, "(1 − z) ⊙", on["nh:" + t]);
  s += edgeSVG("V:" + t, "M" + (x0 + 229) + "," + h.boxY + " L" + (x0 + 229) + "," + (out.bottom + 1), x0 + 235, (out.bottom + h.y) / 2 + 5, "V", on["V:" + t]);
  var om = out.boxY + out.boxH / 2;
  s += edgeSVG("sm:" + t, "M" + (x0 + OFF.o) + "," + om + " L" + (x0 + BOXW + 1) + "," + om, 0, 0, "", on["sm:" + t]);
  s += edgeSVG("L:" + t, "M" + (x0 + 50) + "," + out.boxY + " L" + (x0 + 50) + "," + (L.bottom + 1), x0 + 56, (L.bottom + out.y) / 2 + 5, "loss", on["L:" + t]);
  return s;
}
function svg() {
  var on = activeEdges(), s = svgOpen(SVGW, SVGH), t;
  s += '<text class="colhead" x="' + (LEFT + BOXW / 2) + '" y="18">initial state</text>';
  for (t = 0; t < T; t++) s += edgesSVG(t, on);
  s += nodeSVG("h0", -1);
  for (t = 0; t < T; t++) ["L", "yhat", "o", "h"].concat(GATES, ["x"]).forEach(function (k) { s += nodeSVG(k, t); });
  s += jSVG(LEFT, R.L);
  return s + "</svg>";
}

// ---- the equation panel -----------------------------------------------------------------------
function preEq(g, t) {          // the equation of r̂, ẑ, n̂ or ĥn; t a number or "t"
  var now = t === "t" ? "(t)" : "(" + t + ")", prev = t === "t" ? "(t−1)" : nm("", t - 1);
  if (g === "hn") return "ĥn" + now + " = W<sub>n</sub> h" + prev + " + b<sub>hn</sub>";
  if (g !== "n") return HAT[g] + now + " = U<sub>" + g + "</sub> x" + now + " + W<sub>" + g + "</sub> h" + prev + " + b<sub>" + g + "</sub>";
  return "n̂" + now + " = U<sub>n</sub> x" + now + (AFTER ? " + b<sub>n</sub> + r" + now + " ⊙ ĥn" + now : " + W<sub>n</sub> (r" + now + " ⊙ h" + prev + ") + b<sub>n</sub>");
}
function actEq(g, t) {
  var now = t === "t" ? "(t)" : "(" + t + ")";
  return g === "hn" ? "" : g + now + " = " + (g === "n" ? "tanh" : "σ") + "(" + HAT[g] + now + ")";
}
function wait(t) { return '<p class="muted">Its numbers appear when the forward pass reaches t = ' + t + ".</p>"; }
function boxDetail(g, t, b) {    // a gate, the candidate, or ĥn
  var o = {t: t, b: b}, hp = hPrev(t, b), s = "<h3>" + GTITLE[g] + " " + boxName(g, t) + "</h3>" + eqn(preEq(g, t)) + (g === "hn" ? "" : eqn(actEq(g, t)));
  if (!fwd(t)) return s + wait(t);
  var pre = col(nm(HAT[g], t), d.forward[g + "_hat"][t][b], A("forward." + g + "_hat", o)), cols = [pre, "="];
  if (g === "hn") {
    cols.push(col("W<sub>n</sub> " + nm("h", t - 1), mv(d.params.W_n, hp.v), A("derived.Wh", o)), "+", col("b<sub>hn</sub>", d.params.b_hn, A("params.b_hn", {})));
  } else {
    cols.push(col("U<sub>" + g + "</sub> x(" + t + ")", Ux(g, t, b), A("derived.Ux", o)), "+");
    if (g !== "n") cols.push(col("W<sub>" + g + "</sub> " + nm("h", t - 1), mv(d.params["W_" + g], hp.v), A("derived.Wh", o)), "+");
    else if (!AFTER) cols.push(col("W<sub>n</sub> (r ⊙ " + nm("h", t - 1) + ")", mv(d.params.W_n, mul(gate("r", t, b), hp.v)), A("derived.Wrh", o)), "+");
    cols.push(col("b<sub>" + g + "</sub>", d.params["b_" + g], A("params.b_" + g, {})));
    if (g === "n" && AFTER) cols.push("+", col("r(" + t + ") ⊙ ĥn(" + t + ")", mul(gate("r", t, b), d.forward.hn_hat[t][b]), A("derived.rhn", o)));
  }
  s += eqTable(cols);
  if (g !== "hn") s += eqTable([col(nm(g, t), gate(g, t, b), A("forward.gates." + g, o)), "= " + (g === "n" ? "tanh" : "σ"), pre]);
  if (TOK && g !== "hn") s += '<p class="muted">x(' + t + ") is the one-hot vector of " + esc(label(d.x[t][b])) + ", so U<sub>" + g + "</sub> x(" + t + ") is column " + d.x[t][b] + " of U<sub>" + g + "</sub>.</p>";
  if (g === "hn") s += '<p class="muted">With the reset gate after W<sub>n</sub> (PyTorch\'s form), r(' + t + ") scales this whole term, b<sub>hn</sub> included; so b<sub>hn</sub> cannot merge into b<sub>n</sub>.</p>";
  if (!bwd(t)) return s;
  var e = "∂J/∂" + nm(HAT[g], t), E = col(e, d.errors[g + "_hat"][t][b], A("errors." + g + "_hat", o)), gv = boxVal(g, t, b);
  var dh = col("∂J/∂" + nm("h", t), d.errors.h[t][b], A("errors.h", o)), dn = col("∂J/∂" + nm("n̂", t), d.errors.n_hat[t][b], A("errors.n_hat", o));
  if (g === "z") {
    s += eqn(e + " = ∂J/∂" + nm("h", t) + " ⊙ (" + nm("h", t - 1) + " − " + nm("n", t) + ") ⊙ " + nm("z", t) + " (1 − " + nm("z", t) + ")", true);
    s += eqTable([E, "=", dh, "⊙", col(nm("h", t - 1) + " − " + nm("n", t), add(hp.v, gate("n", t, b).map(function (v) { return -v; })), A("derived.hmn", o)), "⊙", col("σ′", dsig(gv), A("derived.dsig", o))]);
  } else if (g === "n") {
    s += eqn(e + " = ∂J/∂" + nm("h", t) + " ⊙ (1 − " + nm("z", t) + ") ⊙ (1 − " + nm("n", t) + "²)", true);
    s += eqTable([E, "=", dh, "⊙", col("1 − z(" + t + ")", omz(t, b), A("derived.omz", o)), "⊙", col("1 − n²", gv.map(function (v) { return 1 - v * v; }), A("derived.dtanh", o))]);
  } else if (g === "hn") {
    s += eqn(e + " = " + nm("r", t) + " ⊙ ∂J/∂" + nm("n̂", t), true);
    s += eqTable([E, "=", col(nm("r", t), gate("r", t, b), A("forward.gates.r", o)), "⊙", dn]);
  } else if (AFTER) {
    s += eqn(e + " = ∂J/∂" + nm("n̂", t) + " ⊙ " + nm("ĥn", t) + " ⊙ " + nm("r", t) + " (1 − " + nm("r", t) + ")", true);
    s += eqTable([E, "=", dn, "⊙", col(nm("ĥn", t), d.forward.hn_hat[t][b], A("forward.hn_hat", o)), "⊙", col("σ′", dsig(gv), A("derived.dsig", o))]);
  } else {
    s += eqn(e + " = (W<sub>n</sub>ᵀ ∂J/∂" + nm("n̂", t) + ") ⊙ " + nm("h", t - 1) + " ⊙ " + nm("r", t) + " (1 − " + nm("r", t) + ")", true);
    s += eqTable([E, "=", col("W<sub>n</sub>ᵀ ∂J/∂" + nm("n̂", t), mtv(d.params.W_n, d.errors.n_hat[t][b]), A("derived.WnTdn", o)), "⊙", col(nm("h", t - 1), hp.v, hp.a),
                  "⊙", col("σ′", dsig(gv), A("derived.dsig", o))]);
  }
  return s + (g === "r" || g === "z" ? '<p class="muted">σ′(' + nm(HAT[g], t) + ") = " + nm(g, t) + " (1 − " + nm(g, t) + "), from the forward value.</p>" : "");
}
function hBackEq(t, last) {     // the text of ∂J/∂h(t)'s terms from step t + 1
  if (last) return "  (no later step)";
  var n = t + 1;
  return " + " + nm("z", n) + " ⊙ ∂J/∂" + nm("h", n) + " + W<sub>r</sub>ᵀ ∂J/∂" + nm("r̂", n) + " + W<sub>z</sub>ᵀ ∂J/∂" + nm("ẑ", n) +
    (AFTER ? " + W<sub>n</sub>ᵀ ∂J/∂" + nm("ĥn", n) : " + " + nm("r", n) + " ⊙ W<sub>n</sub>ᵀ ∂J/∂" + nm("n̂", n));
}
function stateDetail(t, b) {
  var o = {t: t, b: b}, hp = hPrev(t, b), s = "<h3>State " + nm("h", t) + "</h3>";
  s += eqn(nm("h", t) + " = (1 − " + nm("z", t) + ") ⊙ " + nm("n", t) + " + " + nm("z", t) + " ⊙ " + nm("h", t - 1));
  if (!fwd(t)) return s + wait(t);
  s += eqTable([col(nm("h", t), d.forward.h[t][b], A("forward.h", o)), "=", col("1 − " + nm("z", t), omz(t, b), A("derived.omz", o)), "⊙",
                col(nm("n", t), gate("n", t, b), A("forward.gates.n", o)), "+", col(nm("z", t), gate("z", t, b), A("forward.gates.z", o)), "⊙", col(nm("h", t - 1), hp.v, hp.a)]);
  s += '<p class="muted">The direct path: ' + nm("h", t - 1) + " reaches " + nm("h", t) + " multiplied by " + nm("z", t) + " only, with no weight matrix and no squashing function.</p>";
  if (!bwd(t)) return s;
  var last = t === T - 1;
  s += eqn("∂J/∂" + nm("h", t) + " = Vᵀ ∂J/∂" + nm("o", t) + hBackEq(t, last), true);
  var cols = [col("∂J/∂" + nm("h", t), d.errors.h[t][b], A("errors.h", o)), "=", col("Vᵀ ∂J/∂" + nm("o", t), mtv(d.params.V, d.errors.o[t][b]), A("derived.VTdo", o))];
  if (!last) {
    var nb = back(t + 1, b);
    cols.push("+", col(nm("z", t + 1) + " ⊙ ∂J/∂" + nm("h", t + 1), nb.z, A("derived.dhz", o)), "+", col("via the gates of " + (t + 1), nb.g, A("derived.dhg", o)));
  }
  s += eqTable(cols);
  if (!last) s += '<p class="muted">Along the direct path ∂J/∂' + nm("h", t + 1) + " reaches " + nm("h", t) + " multiplied by " + nm("z", t + 1) +
       " only; where z ≈ 1 the error passes back almost unchanged, as along the LSTM's cell path.</p>";
  return s + sharesTable("h", t, b);
}
function initDetail(b) {
  var s = "<h3>Initial state h(−1) = h0</h3>" + eqn("h(−1) = h0") + '<p class="muted">Given, not computed; every sequence starts from it.</p>' +
          eqTable([col("h0", d.h0[b], A("h0", {b: b}))]);
  if (!bwd(0)) return s;
  var nb = back(0, b), o = {t: -1, b: b};
  return s + eqn("∂J/∂h(−1) = z(0) ⊙ ∂J/∂h(0) + W<sub>r</sub>ᵀ ∂J/∂r̂(0) + W<sub>z</sub>ᵀ ∂J/∂ẑ(0)" +
                 (AFTER ? " + W<sub>n</sub>ᵀ ∂J/∂ĥn(0)" : " + r(0) ⊙ W<sub>n</sub>ᵀ ∂J/∂n̂(0)"), true) +
    eqTable([col("∂J/∂h(−1)", d.dh0[b], A("dh0", {b: b})), "=", col("z(0) ⊙ ∂J/∂h(0)", nb.z, A("derived.dhz", o)), "+", col("via the gates of 0", nb.g, A("derived.dhg", o))]);
}
function detailHTML(sel) {
  if (!sel) return '<h3>Equations</h3><p class="muted">Hover over or click a node of the network to see its value ' +
    "and the equation that produced it, with its numbers.</p>" + ["r", "z"].map(function (g) { return eqn(preEq(g, "t") + ",  " + actEq(g, "t")); }).join("") +
    (AFTER ? eqn(preEq("hn", "t")) : "") + eqn(preEq("n", "t") + ",  " + actEq("n", "t")) + eqn("h(t) = (1 − z(t)) ⊙ n(t) + z(t) ⊙ h(t−1)") +
    eqn("o(t) = c + V h(t),  ŷ(t) = " + FNAME + "(o(t))") + eqn(SOFT ? "L(t) = −log ŷ(t)[y(t)]" : "L(t) = ½‖o(t) − y(t)‖²") +
    eqn("J = Σ<sub>t</sub> L(t)" + (B > 1 ? ", summed over the batch" : "")) +
    '<p class="muted">The reset gate r(t) applies ' + (AFTER ? "after W<sub>n</sub> (PyTorch's form)" : "before W<sub>n</sub> (Cho et al. 2014)") + ".</p>";
  var kind = sel.kind, t = sel.t, b = st.b, w = d.mask[t < 0 ? 0 : t][b] / B;
  if (GATES.indexOf(kind) >= 0) return boxDetail(kind, t, b);
  if (kind === "h") return stateDetail(t, b);
  if (kind === "h0") return initDetail(b);
  if (kind === "o" || kind === "yhat") return outputDetail(kind, t, b, w, "h", TNAME);
  if (kind === "L") return lossDetail(t, b, w, TNAME);
  return inputDetail(t, b, "U<sub>g</sub> x(" + t + ") enters the pre-activation of each of r, z and n.");
}

// ---- captions and the gradient formulas ---------------------------------------------------------
function gruCaption(p) {
  var t = p.t;
  if (p.name === "forward" && t < 0) return "<b>Start.</b> The inputs x(0) … x(" + (T - 1) + ") and the initial state h(−1) = h0 are given; " +
    "the parameters θ = {U<sub>r,z,n</sub>, W<sub>r,z,n</sub>, b<sub>r,z,n</sub>" + (AFTER ? ", b<sub>hn</sub>" : "") + ", V, c} are shared by every time step. Press <b>Next</b> (or →) to run forward propagation.";
  var w = WEIGHTED ? "w(" + t + ") · " : "";
  if (p.name === "forward") return "<b>Forward, t = " + t + ":</b> from x(" + t + ") and " + nm("h", t - 1) + " the reset gate " + nm("r", t) + " = σ(" + nm("r̂", t) + ") and the update gate " +
    nm("z", t) + " = σ(" + nm("ẑ", t) + "); the candidate " + nm("n", t) + " = tanh(" + nm("n̂", t) + "), with " + nm("r", t) + (AFTER ? " scaling ĥn(" + t + ") = W<sub>n</sub> " + nm("h", t - 1) + " + b<sub>hn</sub>" : " scaling " + nm("h", t - 1) + " before W<sub>n</sub>") +
    "; the state " + nm("h", t) + " = (1 − " + nm("z", t) + ") ⊙ " + nm("n", t) + " + " + nm("z", t) + " ⊙ " + nm("h", t - 1) + "; o(" + t + ") = c + V h(" + t + "); ŷ(" + t + ") = " + FNAME + "(o(" + t + ")); " +
    (SOFT ? "L(" + t + ") = " + w + "−log ŷ(" + t + ")[y(" + t + ")]." : "L(" + t + ") = " + w + "½‖o(" + t + ") − y(" + t + ")‖².");
  var later = t < T - 1;
  return "<b>Backward, t = " + t + ":</b> ∂J/∂o(" + t + ") = " + (WEIGHTED ? "w(" + t + ") · (" : "") + (SOFT ? "ŷ(" + t + ") − onehot(y(" + t + "))" : "o(" + t + ") − y(" + t + ")") + (WEIGHTED ? ")" : "") +
    "; ∂J/∂h(" + t + ") = Vᵀ ∂J/∂o(" + t + ")" + (later ? " + z(" + (t + 1) + ") ⊙ ∂J/∂h(" + (t + 1) + "), along the direct path, + what the gates of step " + (t + 1) + " send back" : "") +
    "; then ∂J/∂n̂(" + t + ") and ∂J/∂ẑ(" + t + ") from ∂J/∂h(" + t + ")" + (AFTER ? ", ∂J/∂ĥn(" + t + ") = r(" + t + ") ⊙ ∂J/∂n̂(" + t + ")" : "") + " and ∂J/∂r̂(" + t + ") from ∂J/∂n̂(" + t + ")" +
    (t === 0 ? "; and ∂J/∂h(−1) for the initial state" : "") + ". The bars split ∂J/∂h by the loss term L(s), s ≥ " + t + ", in the colour of L(s).";
}
var PF = {V: "∂J/∂o(t) h(t)ᵀ", c: "∂J/∂o(t)", W_r: "∂J/∂r̂(t) h(t−1)ᵀ", W_z: "∂J/∂ẑ(t) h(t−1)ᵀ", b_hn: "∂J/∂ĥn(t)",
          W_n: AFTER ? "∂J/∂ĥn(t) h(t−1)ᵀ" : "∂J/∂n̂(t) (r(t) ⊙ h(t−1))ᵀ"};
["r", "z", "n"].forEach(function (g) { PF["U_" + g] = "∂J/∂" + HAT[g] + "(t) x(t)ᵀ"; PF["b_" + g] = "∂J/∂" + HAT[g] + "(t)"; });
var MODEL = {
  params: Object.keys(d.params), defaultParam: "W_z", pf: PF, paramLabel: sub_,
  axis: function (p) {     // vocabulary labels: the columns of U_* (inputs), the rows of V and c (outputs)
    return {cols: p.charAt(0) === "U" && TOK && LAB ? ids(DIN) : null, rows: (p === "V" || p === "c") && SOFT && LAB ? ids(O) : null};
  },
  colX: colX, body: svg, detail: detailHTML, caption: gruCaption,
  summary: "GRU · D = " + DIN + (TOK ? " (token ids" + (LAB ? ": " + LAB.slice(0, DIN).map(function (c, i) { return label(i); }).join(" ") : "") + ")" : "") +
    " · H = " + H + " · O = " + O + " · gates σ, candidate tanh · reset gate " + (AFTER ? "after W_n (PyTorch)" : "before W_n (Cho et al.)") + " · f = " + FNAME + " with " + cfg.loss +
    " · T = " + T + " · B = " + B + " · η = " + LR,
  legend: '<span><span class="sw" style="background:#6e7781;height:4px;vertical-align:2px"></span>direct path h(t−1) → h(t), scaled by z(t)</span>' +
    '<span><svg width="14" height="14" style="vertical-align:-3px">' + '<circle cx="7" cy="7" r="5.5" fill="#fff" stroke="#6e7781"/><circle cx="7" cy="7" r="1.5" fill="#57606a"/></svg> elementwise product ⊙</span>' +
    "<span>z(t): update gate · r(t): reset gate · n(t): candidate" + (AFTER ? " · ĥn(t) = W<sub>n</sub> h(t−1) + b<sub>hn</sub>" : "") + "</span>"
};
