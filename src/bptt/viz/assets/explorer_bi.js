// The explorer's bidirectional part (with explorer.js): one bidirectional layer of a SimpleRNN,
// LSTM or GRU (Goodfellow et al. §10.3, fig. 10.11; config.cell), its two chains and the output
// layer that reads both:
//   h(t) = cell(x(t), h(t−1))   t = 0 .. T−1, from h(−1)      (the forward chain)
//   g(t) = cell′(x(t), g(t+1))  t = T−1 .. 0, from g(T)       (the backward chain, own parameters ′)
//   o(t) = c + V [h(t); g(t)] = c + V_h h(t) + V_g g(t),  ŷ(t) = f(o(t)),  L(t)
// and BPTT against each chain's own arrow of time: ∂J/∂h(t) gathers the errors of L(s), s >= t
// (through h(t+1)), ∂J/∂g(t) those of L(s), s <= t (through g(t−1)).
//
// One column per step, bottom to top: x(t), h(t), g(t), o(t), ŷ(t), L(t); h(−1) on the left and
// g(T) on the right. The cell's gates are inside the arrows (the one-directional explorers draw
// them). Steps: the forward chain t = 0 .. T−1, the backward chain t = T−1 .. 0, the output layer
// and J, then the forward chain's errors t = T−1 .. 0 and the backward chain's t = 0 .. T−1.
// The "loss term" selector (MODEL.follow) shows one L(s)'s own errors, ∂L(s)/∂h(t) and ∂L(s)/∂g(t)
// (errors_by_source), and the two flow maps under the network show ‖∂L(s)/∂h(t)‖, ‖∂L(s)/∂g(t)‖.
var OUTNAME = "o", CELL = cfg.cell, AFTER = cfg.reset === "after", LSTM = CELL === "lstm";
var CELLNAME = {rnn: "SimpleRNN", lstm: "LSTM", gru: "GRU"}[CELL];
N = 4 * T + 5; LOSS_K = 2 * T + 1; GRAD_K = 4 * T + 2;
var SC = {
  x: TOK ? 1 : maxAbs(d.x), yhat: SOFT ? 1 : maxAbs(d.forward.y_hat, d.y), o: maxAbs(d.forward.o),
  h: maxAbs(d.forward.h, d.forward["h@rev"], d.h0.h, d.h0["h@rev"]), eo: maxAbs(d.errors.o),
  eh: maxAbs(d.errors.h, d.errors["h@rev"], d.dh0.h, d.dh0["h@rev"])
};
// the chains: "h" forward, "h@rev" backward (shown as g); their steps and errors
var CH = {h: {name: "h", fwdK: function (t) { return t + 1; }, bwdK: function (t) { return 3 * T + 1 - t; }},
          "h@rev": {name: "g", fwdK: function (t) { return 2 * T - t; }, bwdK: function (t) { return 3 * T + 2 + t; }}};
function chainFwd(c, t) { return (c === "h" ? t < 0 : t >= T) || st.k >= CH[c].fwdK(t); }
function chainBwd(c, t) { return st.k >= CH[c].bwdK(Math.max(0, Math.min(T - 1, t))); }
function bphase(k) {
  if (k <= T) return {name: "forward", t: k - 1, chain: "h"};
  if (k <= 2 * T) return {name: "forward", t: 2 * T - k, chain: "h@rev"};
  if (k === LOSS_K) return {name: "loss", t: null};
  if (k <= 3 * T + 1) return {name: "backward", t: 3 * T + 1 - k, chain: "h"};
  if (k <= 4 * T + 1) return {name: "backward", t: k - 3 * T - 2, chain: "h@rev"};
  return {name: ["contrib", "sum", "update"][k - GRAD_K], t: null};
}
function sname(c, t) { return nm(CH[c].name, t); }
function prev(c, t) { return c === "h" ? t - 1 : t + 1; }          // the state a chain reads
function stateAt(c, t, b) { return (c === "h" ? t < 0 : t >= T) ? d.h0[c][b] : d.forward[c][t][b]; }
function stateKey(c, t, b) { return (c === "h" ? t < 0 : t >= T) ? A("h0." + c, {b: b}) : A("forward." + c, {t: t, b: b}); }
function Vpart(c) { return d.params.V.map(function (r) { return c === "h" ? r.slice(0, H) : r.slice(H); }); }
function followErr(c, t, b) { return d.errors_by_source[c][st.src][t][b]; }
function dOut(t, b) {          // ∂·/∂o(t): of J, or of the followed L(s) (zero unless t = s)
  if (st.src === null || st.src === t) return d.errors.o[t][b];
  return d.errors.o[t][b].map(function () { return 0; });
}

// ---- the unfolded network (SVG) -------------------------------------------------------------
var CW = 66, CG = 10, PAD = 5, LBL = 17, GAPV = 34, LEFT = 14, TOP = 30;
var BOXW = 2 * PAD + 2 * CW + CG, MID = BOXW / 2, CWID = BOXW, COLW = BOXW + 56;
var ROWS = [{kind: "L", n: 1}, {kind: "yhat", n: O}, {kind: "o", n: O, bar: true},
            {kind: "h@rev", n: H, bar: true}, {kind: "h", n: H, bar: true}, {kind: "x", n: TOK ? 1 : DIN}];
var R = {}, SVGH = 0;
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
var SVGW = colX(T) + BOXW + LEFT;

function chainNode(c, t) {      // h(t) or g(t): value | error (of J, or of the followed L(s))
  var r = R[c], x = colX(t), b = st.b, s = nodeOpen(c, t, x, r), init = c === "h" ? t < 0 : t >= T;
  var vx = x + PAD, ex = x + PAD + CW + CG, back = chainBwd(c, t), follow = st.src !== null;
  var name = init ? sname(c, t) + (c === "h" ? " = h0[0]" : " = h0[1]") : sname(c, t);
  s += '<text class="nlabel" x="' + vx + '" y="' + (r.y + 12) + '">' + name + "</text>";
  s += cellsSVG(vx, r, stateAt(c, t, b), chainFwd(c, t), stateKey(c, t, b), SC.h);
  var elbl = (follow ? "∂L(" + st.src + ")/∂" : "∂J/∂") + sname(c, t), ly = init ? r.boxY + r.boxH + 15 : r.y + 12;
  if (back && !(init && follow)) s += '<text class="elabel" x="' + ex + '" y="' + ly + '">' + elbl + "</text>";
  if (init) {
    var shown = back && !follow;      // errors_by_source covers t = 0 .. T−1, not the initial states
    s += cellsSVG(ex, r, d.dh0[c][b], shown, A("dh0." + c, {b: b}), SC.eh, "err");
  } else if (follow) {
    s += cellsSVG(ex, r, followErr(c, t, b), back, A("errors_by_source." + c, {s: st.src, t: t, b: b}), SC.eh, "err");
  } else {
    s += cellsSVG(ex, r, d.errors[c][t][b], back, A("errors." + c, {t: t, b: b}), SC.eh, "err");
  }
  if (back && !init) s += barSVG(x, r, c, t, b, sname(c, t));
  return s + "</g>";
}
function outNode(t) {
  var r = R.o, x = colX(t), b = st.b, s = nodeOpen("o", t, x, r), ex = x + PAD + CW + CG, back = bwd(t);
  var follow = st.src !== null, mine = !follow || st.src === t;
  s += '<text class="nlabel" x="' + (x + PAD) + '" y="' + (r.y + 12) + '">' + nm("o", t) + "</text>";
  s += cellsSVG(x + PAD, r, d.forward.o[t][b], fwd(t), A("forward.o", {t: t, b: b}), SC.o);
  if (back) s += '<text class="elabel" x="' + ex + '" y="' + (r.y + 12) + '">' + (follow ? "∂L(" + st.src + ")/∂" : "∂J/∂") + nm("o", t) + "</text>";
  s += cellsSVG(ex, r, dOut(t, b), back, mine ? A("errors.o", {t: t, b: b}) : A("derived.zero", {t: t, b: b}), SC.eo, "err");
  if (back && mine) s += barSVG(x, r, "o", t, b);
  return s + "</g>";
}
function nodeSVG(kind, t) {
  if (kind === "h" || kind === "h@rev") return chainNode(kind, t);
  if (kind === "o") return outNode(t);
  var r = R[kind], x = colX(t), b = st.b, s = nodeOpen(kind, t, x, r);
  if (kind === "yhat") s += targetSVG(x, r, t, b, "y");
  else if (kind === "L") {
    s += lossSVG(x, r, t, b);
    if (st.src === t) s += '<rect class="follow" x="' + (x - 3) + '" y="' + (r.boxY - 3) + '" width="' + (BOXW + 6) + '" height="' + (r.boxH + 6) + '" rx="8"/>';
  } else if (kind === "x") s += inputSVG(x, r, t, b);
  return s + "</g>";
}
function activeEdges() {
  var p = phase(st.k), on = {}, t = p.t, r = p.chain === "h@rev";
  if (p.name === "forward" && t >= 0) { on[(r ? "Ur:" : "U:") + t] = "fwd"; on[(r ? "Wr:" : "W:") + t] = "fwd"; }
  if (p.name === "loss") for (var u = 0; u < T; u++) ["V", "Vr", "f", "L"].forEach(function (e) { on[e + ":" + u] = "fwd"; });
  if (p.name === "backward" && !r) {
    ["L", "f", "V"].forEach(function (e) { on[e + ":" + t] = "bwd"; });
    if (t + 1 < T) on["W:" + (t + 1)] = "bwd";
    if (t === 0) on["W:0"] = "bwd";
  }
  if (p.name === "backward" && r) {
    ["L", "f", "Vr"].forEach(function (e) { on[e + ":" + t] = "bwd"; });
    if (t > 0) on["Wr:" + (t - 1)] = "bwd";
    if (t === T - 1) on["Wr:" + t] = "bwd";
  }
  return on;
}
function edgesSVG(t, on) {
  var x0 = colX(t), cx = x0 + MID, xr = R.x, h = R.h, g = R["h@rev"], o = R.o, yh = R.yhat, L = R.L, s = "";
  var lg = x0 - 16, rg = x0 + BOXW + 16, hm = h.boxY + h.boxH / 2, gm = g.boxY + g.boxH / 2;
  // x(t) → h(t) (U), and x(t) → g(t) (U′) up the gap on the left, into g's bottom
  s += edgeSVG("U:" + t, "M" + cx + "," + xr.boxY + " L" + cx + "," + (h.bottom + 1), cx + 6, (h.bottom + xr.y) / 2 + 5, "U", on["U:" + t]);
  s += edgeSVG("Ur:" + t, "M" + (x0 + 22) + "," + xr.boxY + " L" + (x0 + 22) + "," + (xr.y - 4) + " L" + lg + "," + (xr.y - 4) + " L" + lg + "," +
               (g.bottom + 12) + " L" + (x0 + 22) + "," + (g.bottom + 12) + " L" + (x0 + 22) + "," + (g.bottom + 1), lg - 13, (g.bottom + h.y) / 2 + 4, "U′", on["Ur:" + t]);
  // h(t) → o(t) (V_h) up the gap on the right, g(t) → o(t) (V_g) straight up
  s += edgeSVG("V:" + t, "M" + (x0 + BOXW - 22) + "," + h.boxY + " L" + (x0 + BOXW - 22) + "," + (h.y - 4) + " L" + rg + "," + (h.y - 4) + " L" + rg + "," +
               (o.bottom + 12) + " L" + (x0 + BOXW - 22) + "," + (o.bottom + 12) + " L" + (x0 + BOXW - 22) + "," + (o.bottom + 1), rg + 4, (o.bottom + g.y) / 2, "V_h", on["V:" + t]);
  s += edgeSVG("Vr:" + t, "M" + cx + "," + g.boxY + " L" + cx + "," + (o.bottom + 1), cx + 6, (o.bottom + g.y) / 2 + 5, "V_g", on["Vr:" + t]);
  s += edgeSVG("f:" + t, "M" + cx + "," + o.boxY + " L" + cx + "," + (yh.bottom + 1), cx + 6, (yh.bottom + o.y) / 2 + 5, cfg.output, on["f:" + t]);
  s += edgeSVG("L:" + t, "M" + cx + "," + yh.boxY + " L" + cx + "," + (L.bottom + 1), cx + 6, (L.bottom + yh.y) / 2 + 5, "loss", on["L:" + t]);
  // the recurrences: h(t−1) → h(t) left to right, g(t+1) → g(t) right to left
  s += edgeSVG("W:" + t, "M" + (colX(t - 1) + BOXW) + "," + hm + " L" + (x0 - 1) + "," + hm, (colX(t - 1) + BOXW + x0) / 2 - 4, hm + 14, CELL === "rnn" ? "W" : "", on["W:" + t]);
  s += edgeSVG("Wr:" + t, "M" + colX(t + 1) + "," + gm + " L" + (x0 + BOXW + 1) + "," + gm, (colX(t + 1) + x0 + BOXW) / 2 - 4, gm + 14, CELL === "rnn" ? "W′" : "", on["Wr:" + t]);
  return s;
}
function svg() {
  var on = activeEdges(), s = svgOpen(SVGW, SVGH), t;
  s += '<text class="colhead" x="' + (colX(-1) + MID) + '" y="18">initial state</text>';
  s += '<text class="colhead" x="' + (colX(T) + MID) + '" y="18">initial state</text>';
  for (t = 0; t < T; t++) s += edgesSVG(t, on);
  s += chainNode("h", -1) + chainNode("h@rev", T);
  for (t = 0; t < T; t++) ROWS.forEach(function (r) { s += nodeSVG(r.kind, t); });
  s += jSVG(colX(-1), R.L);
  return s + "</svg>" + flowsHTML();
}

// ---- the flow maps: ‖∂L(s)/∂h(t)‖ and ‖∂L(s)/∂g(t)‖ of sequence b -----------------------------
function flowColour(v, lo, hi) {
  var u = hi > lo ? (Math.log(v) - Math.log(lo)) / (Math.log(hi) - Math.log(lo)) : 1;
  u = Math.max(0, Math.min(1, u)) * (VIRIDIS.length - 1);
  var i = Math.min(VIRIDIS.length - 2, Math.floor(u)), f = u - i;
  function ch(c, k) { return parseInt(c.substr(1 + 2 * k, 2), 16); }
  return "rgb(" + [0, 1, 2].map(function (k) { return Math.round(ch(VIRIDIS[i], k) * (1 - f) + ch(VIRIDIS[i + 1], k) * f); }).join(",") + ")";
}
function flowMap(key, title, shownAt, lo, hi) {
  var b = st.b, s = '<figure class="flowmap" data-flowmap="' + key + '"><table><tr><th></th>';
  for (var t = 0; t < T; t++) s += "<th>" + t + "</th>";
  s += "</tr>";
  for (var q = 0; q < T; q++) {
    s += '<tr class="' + (st.src === q ? "sel" : "") + '"><th>L(' + q + ")</th>";
    for (t = 0; t < T; t++) {
      var v = NORMS[key][q][t][b], on = shownAt(t), cls = !on ? "pending" : v > 0 ? "" : "zero";
      s += '<td class="' + cls + '" data-flow="' + key + '" data-s="' + q + '" data-t="' + t + '"' +
           (on && v > 0 ? ' style="background:' + flowColour(v, lo, hi) + '"' : "") + ' title="' +
           (on ? esc("‖∂L(" + q + ")/∂" + title + "(" + t + ")‖ = " + fmt(v)) : "not yet computed") + '"></td>';
    }
    s += "</tr>";
  }
  return s + "</table><figcaption>‖∂L(s)/∂" + title + "(t)‖, loss term s down, step t across</figcaption></figure>";
}
function normRange(keys) {
  var lo = Infinity, hi = 0;
  keys.forEach(function (k) {
    NORMS[k].forEach(function (row) { row.forEach(function (col) { var v = col[st.b]; if (v > 0 && isFinite(v)) { lo = Math.min(lo, v); hi = Math.max(hi, v); } }); });
  });
  return [lo, hi];
}
function flowsHTML() {
  if (!NORMS.h) return "";
  var lr = normRange(["h", "h@rev"]);
  return '<div class="flows"><p class="muted">Where each loss term\'s error goes (click a row to follow that L(s); blank: exactly 0). ' +
    "The forward chain carries L(s) back to t ≤ s, the backward chain forward to t ≥ s: together, every step.</p>" +
    flowMap("h", "h", function (t) { return chainBwd("h", t); }, lr[0], lr[1]) +
    flowMap("h@rev", "g", function (t) { return chainBwd("h@rev", t); }, lr[0], lr[1]) + "</div>";
}
function selectSource(s) {
  st.src = s;
  var sel = $("bptt-source");
  if (sel) sel.value = s === null ? "" : String(s);
}
$("bptt-net").addEventListener("click", function (e) {     // before explorer.js's handler renders
  var cell = e.target.closest ? e.target.closest("[data-flow]") : null;
  if (cell) selectSource(st.src === +cell.getAttribute("data-s") ? null : +cell.getAttribute("data-s"));
});

// ---- the equation panel -----------------------------------------------------------------------
var CELLEQ = {
  rnn: function (c, t) { var q = c === "h" ? "" : "′"; return sname(c, t) + " = " + ACT + "(b" + q + " + W" + q + " " + sname(c, prev(c, t)) + " + U" + q + " x(" + t + "))"; },
  lstm: function (c, t) { return sname(c, t) + ", " + nm(c === "h" ? "c" : "c′", t) + " = LSTM" + (c === "h" ? "" : "′") + "(x(" + t + "), " + sname(c, prev(c, t)) + ", " + nm(c === "h" ? "c" : "c′", prev(c, t)) + ")"; },
  gru: function (c, t) { return sname(c, t) + " = GRU" + (c === "h" ? "" : "′") + "(x(" + t + "), " + sname(c, prev(c, t)) + ")"; }
};
function recurrent(c, t, b) {    // what the chain's next step sends back: Wᵀ ∂J/∂a(t+1) for the simple RNN
  var nxt = c === "h" ? t + 1 : t - 1, direct = mtv(Vpart(c), d.errors.o[t][b]);
  if (nxt < 0 || nxt >= T) return null;
  if (CELL === "rnn") return mtv(d.params[c === "h" ? "W" : "W@rev"], d.errors[c === "h" ? "a" : "a@rev"][nxt][b]);
  return d.errors[c][t][b].map(function (v, i) { return v - direct[i]; });
}
function chainDetail(c, t, b) {
  var o = {t: t, b: b}, n = sname(c, t), back = c === "h" ? "t+1" : "t−1", s = "<h3>" + (c === "h" ? "Forward chain " : "Backward chain ") + n + "</h3>";
  s += eqn(CELLEQ[CELL](c, t));
  if (!chainFwd(c, t)) return s + '<p class="muted">Its numbers appear when the ' + (c === "h" ? "forward" : "backward") + " chain reaches t = " + t + ".</p>";
  var cols = [col(n, d.forward[c][t][b], A("forward." + c, o))];
  if (LSTM) cols.push(col(nm(c === "h" ? "c" : "c′", t), d.forward[c === "h" ? "c" : "c@rev"][t][b], A("forward." + (c === "h" ? "c" : "c@rev"), o)));
  cols.push(col(sname(c, prev(c, t)), stateAt(c, prev(c, t), b), stateKey(c, prev(c, t), b)));
  s += eqTable(cols);
  if (!chainBwd(c, t)) return s;
  var direct = mtv(Vpart(c), dOut(t, b)), rec = recurrent(c, t, b), V = c === "h" ? "V_hᵀ" : "V_gᵀ";
  if (st.src !== null) {
    var q = st.src, reach = c === "h" ? t <= q : t >= q;
    s += eqn("∂L(" + q + ")/∂" + n + " = " + V + " ∂L(" + q + ")/∂" + nm("o", t) + " + (from step " + back + ")", true);
    s += eqTable([col("∂L(" + q + ")/∂" + n, followErr(c, t, b), A("errors_by_source." + c, {s: q, t: t, b: b}))]);
    s += '<p class="muted">' + (reach ? "L(" + q + ") reaches " + n + (t === q ? " directly, through o(" + t + ")." : " through " + sname(c, c === "h" ? t + 1 : t - 1) + ", …, " + sname(c, q) + ".") :
         "Zero: " + n + " is computed " + (c === "h" ? "after" : "before") + " step " + q + " in this chain, so it cannot change L(" + q + ") along it; the other chain carries L(" + q + ") to step " + t + ".") + "</p>";
    return s + sharesTable(c, t, b, n);
  }
  s += eqn("∂J/∂" + n + " = " + V + " ∂J/∂" + nm("o", t) + (rec ? " + " + (CELL === "rnn" ? (c === "h" ? "Wᵀ ∂J/∂a(" + (t + 1) + ")" : "W′ᵀ ∂J/∂a′(" + (t - 1) + ")") : "(from step " + back + ", through the cell)") : "  (the chain's last step)"), true);
  cols = [col("∂J/∂" + n, d.errors[c][t][b], A("errors." + c, o)), "=", col(V + " ∂J/∂" + nm("o", t), direct, A("derived.VTdo", o))];
  if (rec) cols.push("+", col("from step " + back, rec, A("derived.rec", o)));
  return s + eqTable(cols) + sharesTable(c, t, b, n);
}
function initDetail(c, b) {
  var n = c === "h" ? "h(−1)" : "g(" + T + ")", s = "<h3>Initial state " + n + "</h3>";
  s += eqn(n + " = h0[" + (c === "h" ? 0 : 1) + "]") + '<p class="muted">Given, not computed: the ' + (c === "h" ? "forward" : "backward") + " chain starts from it.</p>";
  s += eqTable([col(n, d.h0[c][b], A("h0." + c, {b: b}))]);
  if (chainBwd(c, c === "h" ? 0 : T - 1)) s += eqn("∂J/∂" + n + " (what " + (c === "h" ? "h(0)" : "g(" + (T - 1) + ")") + " sends back)", true) +
    eqTable([col("∂J/∂" + n, d.dh0[c][b], A("dh0." + c, {b: b}))]);
  return s;
}
function outDetail(t, b, w) {
  var o = {t: t, b: b}, s = "<h3>Output " + nm("o", t) + "</h3>" + eqn(nm("o", t) + " = c + V [h(" + t + "); g(" + t + ")] = c + V_h h(" + t + ") + V_g g(" + t + ")");
  if (!fwd(t)) return s + '<p class="muted">The output layer runs once both chains have reached t = ' + t + ".</p>";
  s += eqTable([col(nm("o", t), d.forward.o[t][b], A("forward.o", o)), "=", col("c", d.params.c, A("params.c", {})), "+",
                col("V_h h(" + t + ")", mv(Vpart("h"), d.forward.h[t][b]), A("derived.Vh", o)), "+",
                col("V_g g(" + t + ")", mv(Vpart("h@rev"), d.forward["h@rev"][t][b]), A("derived.Vg", o))]);
  if (!bwd(t)) return s;
  if (st.src !== null && st.src !== t) return s + eqn("∂L(" + st.src + ")/∂" + nm("o", t) + " = 0", true) + '<p class="muted">Only L(' + t + ") depends on o(" + t + ").</p>";
  s += eqn("∂J/∂" + nm("o", t) + " = " + (w === 1 ? "" : "w · (") + (SOFT ? "ŷ(" + t + ") − onehot(y(" + t + "))" : "o(" + t + ") − y(" + t + ")") + (w === 1 ? "" : ")"), true);
  return s + eqTable([col("∂J/∂" + nm("o", t), d.errors.o[t][b], A("errors.o", o))]) + '<p class="muted">It goes back into both chains: V_hᵀ ∂J/∂o(' + t + ") into h(" + t + "), V_gᵀ ∂J/∂o(" + t + ") into g(" + t + ").</p>";
}
function detailHTML(sel) {
  if (!sel) return "<h3>Equations</h3><p class=\"muted\">Hover over or click a node to see its value and equation. Choose a <b>loss term</b> above (or click a row of a flow map) to follow one L(s) through both chains.</p>" +
    eqn("h(t) = " + (CELL === "rnn" ? ACT + "(b + W h(t−1) + U x(t))" : CELLNAME + "(x(t), h(t−1))")) +
    eqn("g(t) = " + (CELL === "rnn" ? ACT + "(b′ + W′ g(t+1) + U′ x(t))" : CELLNAME + "′(x(t), g(t+1))")) +
    eqn("o(t) = c + V [h(t); g(t)]") + eqn("ŷ(t) = " + FNAME + "(o(t))") + eqn("J = Σ<sub>t</sub> L(t)") +
    eqn("∂J/∂h(t) = V_hᵀ ∂J/∂o(t) + (from h(t+1))", true) + eqn("∂J/∂g(t) = V_gᵀ ∂J/∂o(t) + (from g(t−1))", true);
  var t = sel.kind === "h@rev" && sel.t >= T ? T : sel.t, b = st.b, w = d.mask[Math.max(0, Math.min(T - 1, t))][b] / B;
  if (sel.kind === "h" && t < 0) return initDetail("h", b);
  if (sel.kind === "h@rev" && t >= T) return initDetail("h@rev", b);
  if (sel.kind === "h" || sel.kind === "h@rev") return chainDetail(sel.kind, t, b);
  if (sel.kind === "o") return outDetail(t, b, w);
  if (sel.kind === "yhat") return outputDetail("yhat", t, b, w, "h", "y");
  if (sel.kind === "L") return lossDetail(t, b, w, "y");
  if (sel.kind === "x") return inputDetail(t, b, "U x(" + t + ") enters h(" + t + "), U′ x(" + t + ") enters g(" + t + ").");
  return "";
}

// ---- captions and the gradient formulas ---------------------------------------------------------
function biCaption(p) {
  var t = p.t, n = p.chain === "h" ? "h" : "g";
  if (p.name === "forward" && t < 0) return "<b>Start.</b> Two chains read the same inputs x(0) … x(" + (T - 1) + "): the forward chain h from h(−1) = h0[0], the backward chain g from g(" + T +
    ") = h0[1], each with its own parameters (′). Press <b>Next</b> (or →).";
  if (p.name === "forward") return "<b>" + (n === "h" ? "Forward chain" : "Backward chain") + ", t = " + t + ":</b> " + CELLEQ[CELL](p.chain, t) + "." +
    (n === "g" ? " This chain runs from t = " + (T - 1) + " down to 0: g(t) has read x(t), …, x(" + (T - 1) + ")." : "");
  if (n === "h") return "<b>BPTT of the forward chain, t = " + t + ":</b> ∂J/∂h(" + t + ") = V_hᵀ ∂J/∂o(" + t + ")" + (t < T - 1 ? " + (from h(" + (t + 1) + "))" : "") +
    ". Errors run against the chain's arrow of time, from t = " + (T - 1) + " down to 0: L(s) reaches h(t) for t ≤ s. The bars split each error by loss term.";
  return "<b>BPTT of the backward chain, t = " + t + ":</b> ∂J/∂g(" + t + ") = V_gᵀ ∂J/∂o(" + t + ")" + (t > 0 ? " + (from g(" + (t - 1) + "))" : "") +
    ". This chain's errors run from t = 0 up to " + (T - 1) + ": L(s) reaches g(t) for t ≥ s.";
}
function captionFor(p) {
  if (p.name !== "loss") return null;
  return "<b>Output layer and loss:</b> both chains are complete, so o(t) = c + V [h(t); g(t)] and L(t) can be computed at every step; J = Σ<sub>t</sub> L(t) = <span " + at("loss", {}) + ">" +
    esc(fmt(d.loss)) + "</span>" + (B > 1 ? " (averaged over the B = " + B + " sequences)" : "") + ". Next: ∂J/∂o(t) at every step, then BPTT in each chain against its own arrow of time.";
}
var HATS = {z: "ẑ", i: "î", f: "f̂", o: "ô", r: "r̂", n: "n̂", hn: "ĥn"};
function pf(p) {
  var rev = p.indexOf("@rev") >= 0, base = p.replace("@rev", ""), q = rev ? "′" : "", sv = rev ? "g" : "h", pv = rev ? "(t+1)" : "(t−1)";
  if (base === "V") return "∂J/∂o(t) [h(t); g(t)]ᵀ";
  if (base === "c") return "∂J/∂o(t)";
  if (CELL === "rnn") return {U: "∂J/∂a" + q + "(t) x(t)ᵀ", W: "∂J/∂a" + q + "(t) " + sv + pv + "ᵀ", b: "∂J/∂a" + q + "(t)"}[base];
  var k = base.split("_"), e = "∂J/∂" + HATS[k[1]] + q + "(t)", cv = rev ? "c′" : "c";
  if (k[0] === "b") return e;
  if (k[0] === "p") return e + " ⊙ " + cv + (k[1] === "o" ? "(t)" : pv);
  if ((LSTM && k[0] === "W") || (!LSTM && k[0] === "U")) return e + " x(t)ᵀ";
  if (!LSTM && k[1] === "n") return AFTER ? "∂J/∂ĥn" + q + "(t) " + sv + pv + "ᵀ" : e + " (r" + q + "(t) ⊙ " + sv + pv + ")ᵀ";
  return e + " " + sv + pv + "ᵀ";
}
function plabel(p) {
  var rev = p.indexOf("@rev") >= 0, k = p.replace("@rev", "").split("_");
  return (k.length > 1 ? k[0] + "<sub>" + k[1] + "</sub>" : k[0]) + (rev ? "′" : "");
}
var PFS = {};
Object.keys(d.params).forEach(function (p) { PFS[p] = pf(p); });
var MODEL = {
  params: Object.keys(d.params), defaultParam: {rnn: "W", lstm: "R_z", gru: "W_z"}[CELL], pf: PFS, paramLabel: plabel,
  axis: function (p) {
    var base = p.replace("@rev", ""), input = LSTM ? /^W_/.test(base) : /^U/.test(base);   // the input weights
    return {cols: input && TOK && LAB ? ids(DIN) : null,
            rows: (p === "V" || p === "c") && SOFT && (YLAB || LAB) ? (YLAB ? YLAB.slice(0, O).map(function (c) { return "'" + c + "'"; }) : ids(O)) : null};
  },
  colX: colX, body: svg, detail: detailHTML, caption: biCaption, captionFor: captionFor,
  phase: bphase, fwd: function (t) { return t < 0 || st.k >= LOSS_K; }, bwd: function () { return st.k >= LOSS_K + 1; },
  follow: true,
  summary: cfg.model + " · D = " + DIN + (TOK ? " (token ids" + (LAB ? ": " + LAB.slice(0, DIN).map(function (c, i) { return label(i); }).join(" ") : "") + ")" : "") +
    " · H = " + H + " in each direction · O = " + O + (CELL === "rnn" ? " · g = " + ACT : "") + " · f = " + FNAME + " with " + cfg.loss + " · T = " + T + " · B = " + B + " · η = " + LR +
    (LSTM ? " · h(t), g(t) are the LSTM's block outputs" : ""),
  legend: '<span><span class="sw" style="background:none;border:2px solid #d55e00"></span>followed loss term</span>'
};
