(function () {
"use strict";
var $ = function (id) { return document.getElementById(id); };
var root = $("bptt-root");
var SPECIAL = {"NaN": NaN, "Infinity": Infinity, "-Infinity": -Infinity};
function numify(v) {
  if (Array.isArray(v)) return v.map(numify);
  if (typeof v === "string") return SPECIAL.hasOwnProperty(v) ? SPECIAL[v] : v;
  if (v !== null && typeof v === "object") {
    var o = {}; Object.keys(v).forEach(function (k) { o[k] = numify(v[k]); }); return o;
  }
  return v;
}
var RAW = JSON.parse($("bptt-trace").textContent), d = {};
Object.keys(RAW).forEach(function (k) { d[k] = k === "config" ? RAW[k] : numify(RAW[k]); });
var cfg = d.config, T = cfg.T, B = cfg.B, H = cfg.hidden_size, O = cfg.output_size;
var DIN = cfg.input_size, TOK = cfg.tokens, SOFT = cfg.output === "softmax";
var ACT = cfg.activation, LR = cfg.lr, LAB = cfg.labels, N = 2 * T + 5;
var st = {k: 0, b: 0, param: "W", pinned: null, hover: null};

// ---- numbers, colours, small linear algebra -------------------------------------------------
function fmt(v) {
  if (v !== v) return "NaN";
  if (v === Infinity) return "inf";
  if (v === -Infinity) return "-inf";
  if (v === 0) return "0";
  var a = Math.abs(v);
  return (a >= 1e-3 && a < 1e4) ? v.toPrecision(4) : v.toExponential(3);
}
function esc(s) {
  return String(s).replace(/[&<>"']/g, function (c) {
    return {"&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;"}[c];
  });
}
function maxAbs() {
  var m = 0;
  function walk(a) {
    if (Array.isArray(a)) a.forEach(walk);
    else if (typeof a === "number" && isFinite(a) && Math.abs(a) > m) m = Math.abs(a);
  }
  for (var i = 0; i < arguments.length; i++) walk(arguments[i]);
  return m;
}
function tint(v, scale) {
  if (typeof v !== "number" || !isFinite(v)) return "#c8ccd1";
  var r = scale > 0 ? Math.min(1, Math.abs(v) / scale) : 0, a = (0.05 + 0.6 * Math.sqrt(r)).toFixed(3);
  return v >= 0 ? "rgba(214,96,77," + a + ")" : "rgba(67,147,195," + a + ")";
}
var PALETTE = ["#1b9e77", "#d95f02", "#7570b3", "#e7298a", "#66a61e", "#e6ab02", "#a6761d", "#666666"];
function srcColour(s) { return T <= 8 ? PALETTE[s] : "hsl(" + Math.round(330 * s / (T - 1)) + ",62%,42%)"; }
function norm(v) { var s = 0; v.forEach(function (x) { s += x * x; }); return Math.sqrt(s); }
function mv(M, v) { return M.map(function (r) { var s = 0; for (var j = 0; j < v.length; j++) s += r[j] * v[j]; return s; }); }
function mtv(M, v) {
  var out = [];
  for (var j = 0; j < M[0].length; j++) { var s = 0; for (var i = 0; i < M.length; i++) s += M[i][j] * v[i]; out.push(s); }
  return out;
}
function add(u, w) { return u.map(function (x, i) { return x + w[i]; }); }
function hPrev(t, b) { return t === 0 ? d.h0[b] : d.forward.h[t - 1][b]; }
function Ux(t, b) { return TOK ? d.params.U.map(function (r) { return r[d.x[t][b]]; }) : mv(d.params.U, d.x[t][b]); }
function gprime(hv) {
  return hv.map(function (h) {
    return ACT === "tanh" ? 1 - h * h : ACT === "sigmoid" ? h * (1 - h) : ACT === "relu" ? (h > 0 ? 1 : 0) : 1;
  });
}
var WEIGHTED = d.mask.some(function (r) { return r.some(function (m) { return m / B !== 1; }); });
var GP = {tanh: "1 − h(t)²", sigmoid: "h(t) (1 − h(t))", relu: "[h(t) > 0]", identity: "1"};
function label(id) {
  if (!LAB || id >= LAB.length) return "#" + id;
  var c = LAB[id];
  return "'" + ({" ": "␣", "\n": "↵", "\t": "⇥"}[c] || c) + "'";
}
function nm(kind, t) {      // the name of a node or error in the text: "h(2)", "h(−1)"
  return kind + "(" + (t < 0 ? "−" + (-t) : t) + ")";
}
function at(key, o) {        // data attributes of a displayed number
  var s = 'data-key="' + key + '"';
  ["s", "t", "b", "i", "j"].forEach(function (n) { if (o[n] !== undefined && o[n] !== null) s += " data-" + n + '="' + o[n] + '"'; });
  return s;
}
var SC = {
  x: TOK ? 1 : maxAbs(d.x), a: maxAbs(d.forward.a), h: maxAbs(d.forward.h, d.h0), o: maxAbs(d.forward.o),
  yhat: SOFT ? 1 : maxAbs(d.forward.y_hat, d.y), ea: maxAbs(d.errors.a), eh: maxAbs(d.errors.h, d.dh0),
  eo: maxAbs(d.errors.o)
};
var NORMS = {a: [], h: []}, BARMAX = {a: 0, h: 0, o: 0};
["a", "h"].forEach(function (k) {
  for (var s = 0; s < T; s++) {
    NORMS[k].push([]);
    for (var t = 0; t < T; t++) NORMS[k][s].push(d.errors_by_source[k][s][t].map(norm));
  }
  for (var t = 0; t < T; t++) for (var b = 0; b < B; b++) {
    var tot = 0; for (var s = t; s < T; s++) tot += NORMS[k][s][t][b];
    if (isFinite(tot)) BARMAX[k] = Math.max(BARMAX[k], tot);
  }
});
for (var t0 = 0; t0 < T; t0++) for (var b0 = 0; b0 < B; b0++) {
  var n0 = norm(d.errors.o[t0][b0]); if (isFinite(n0)) BARMAX.o = Math.max(BARMAX.o, n0);
}
function shares(kind, t, b) {   // [[s, ‖∂L(s)/∂kind(t)‖], ...] for s = t .. T−1
  var out = [];
  for (var s = t; s < T; s++) out.push([s, kind === "o" ? (s === t ? norm(d.errors.o[t][b]) : 0) : NORMS[kind][s][t][b]]);
  return kind === "o" ? out.slice(0, 1) : out;
}

// ---- the steps --------------------------------------------------------------------------------
var PHASES = [["forward", "Forward"], ["loss", "Loss J"], ["backward", "Backward (BPTT)"],
              ["contrib", "Contributions"], ["sum", "Sum"], ["update", "Update"]];
function phase(k) {
  if (k <= T) return {name: "forward", t: k - 1};
  if (k === T + 1) return {name: "loss", t: null};
  if (k <= 2 * T + 1) return {name: "backward", t: 2 * T + 1 - k};
  return {name: ["contrib", "sum", "update"][k - 2 * T - 2], t: null};
}
function fwd(t) { return t < 0 || st.k >= t + 1; }
function bwd(t) { return st.k >= 2 * T + 1 - Math.max(t, 0); }
function gradPhase() { return st.k - 2 * T - 2; }    // 0 contributions, 1 sum, 2 update; < 0 before

// ---- the unfolded network (SVG) -------------------------------------------------------------
var CW = 66, CG = 10, PAD = 5, LBL = 17, GAPV = 30, COLW = 188, LEFT = 14, TOP = 30;
var BOXW = 2 * PAD + 2 * CW + CG, MID = BOXW / 2;
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
function cellY(r, i) { return r.boxY + PAD + i * (r.ch + 2); }

function cellsSVG(x, r, vals, shown, attrs, scale, cls) {
  var s = "";
  for (var i = 0; i < r.n; i++) {
    var y = cellY(r, i);
    if (!shown) { s += '<rect class="cell empty" x="' + x + '" y="' + y + '" width="' + CW + '" height="' + r.ch + '" rx="3"/>'; continue; }
    s += '<rect class="cell ' + (cls || "") + '" x="' + x + '" y="' + y + '" width="' + CW + '" height="' + r.ch +
         '" rx="3" fill="' + tint(vals[i], scale) + '"/>';
    if (r.nums) s += '<text class="num" x="' + (x + CW - 5) + '" y="' + (y + r.ch / 2 + 4) + '" ' + attrs(i) + ">" + esc(fmt(vals[i])) + "</text>";
  }
  return s;
}
function barSVG(x, r, kind, t, b) {
  var s = "", max = BARMAX[kind], cx = x + PAD, y = r.boxY + r.boxH + 3;
  if (!(max > 0)) return s;
  shares(kind, t, b).forEach(function (p) {
    var w = isFinite(p[1]) ? p[1] / max * (BOXW - 2 * PAD) : 0;
    if (w <= 0) return;
    s += '<rect class="seg" x="' + cx.toFixed(2) + '" y="' + y + '" width="' + w.toFixed(2) + '" height="7" fill="' +
         srcColour(p[0]) + '" data-bar="' + kind + '" data-s="' + p[0] + '" data-t="' + t + '" data-b="' + b + '"><title>' +
         "‖∂L(" + p[0] + ")/∂" + nm(kind, t) + "‖ = " + esc(fmt(p[1])) + "</title></rect>";
    cx += w;
  });
  return s;
}
function nodeSVG(kind, t) {
  var r = R[kind === "h0" ? "h" : kind], x = colX(kind === "h0" ? -1 : t), b = st.b, s = "";
  var pin = st.pinned && st.pinned.kind === kind && st.pinned.t === t;
  s += '<g class="node' + (pin ? " pinned" : "") + '" data-node="' + kind + '" data-t="' + t + '">';
  s += '<rect class="box" x="' + x + '" y="' + r.boxY + '" width="' + BOXW + '" height="' + r.boxH + '" rx="6"/>';
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
    s += '<text class="nlabel" x="' + lx + '" y="' + ly + '">ŷ(' + t + ")</text>";
    s += v("forward.y_hat", d.forward.y_hat[t][b], SC.yhat);
    if (SOFT) {
      var yi = d.y[t][b], oh = [];
      for (var i = 0; i < O; i++) oh.push(i === yi ? 1 : 0);
      s += '<text class="nlabel" x="' + ex + '" y="' + ly + '">y(' + t + ") = " + esc(label(yi)) + "</text>";
      s += cellsSVG(ex, r, oh, true, function (i) { return at("onehot.y", {t: t, b: b, i: i}); }, 1);
      if (fwd(t)) s += '<rect class="cell target" x="' + vx + '" y="' + cellY(r, yi) + '" width="' + CW + '" height="' + r.ch + '" rx="3" fill="none"/>';
    } else {
      s += '<text class="nlabel" x="' + ex + '" y="' + ly + '">y(' + t + ")</text>";
      s += cellsSVG(ex, r, d.y[t][b], true, function (i) { return at("y", {t: t, b: b, i: i}); }, SC.yhat);
    }
  } else if (kind === "L") {
    var w = d.mask[t][b];
    s += '<text class="nlabel" x="' + lx + '" y="' + ly + '" style="fill:' + srcColour(t) + '">L(' + t + ")" + (w === 0 ? " masked" : "") + "</text>";
    var y = cellY(r, 0), cw = BOXW - 2 * PAD;
    if (fwd(t)) {
      s += '<rect class="cell" x="' + vx + '" y="' + y + '" width="' + cw + '" height="' + r.ch + '" rx="3" fill="' + srcColour(t) + '" fill-opacity="0.16" stroke="' + srcColour(t) + '"/>';
      s += '<text class="num" x="' + (vx + cw / 2 + 24) + '" y="' + (y + 15) + '" ' + at("loss_terms", {t: t, b: b}) + ">" + esc(fmt(d.loss_terms[t][b])) + "</text>";
    } else s += '<rect class="cell empty" x="' + vx + '" y="' + y + '" width="' + cw + '" height="' + r.ch + '" rx="3"/>';
  } else if (kind === "x") {
    s += '<text class="nlabel" x="' + lx + '" y="' + ly + '">x(' + t + ")</text>";
    if (TOK) {
      var id = d.x[t][b], y2 = cellY(r, 0);
      s += '<rect class="cell" x="' + vx + '" y="' + y2 + '" width="' + (BOXW - 2 * PAD) + '" height="' + r.ch + '" rx="3" fill="#f6f8fa"/>';
      s += '<text class="tok" x="' + (x + MID) + '" y="' + (y2 + 18) + '">' + (LAB ? esc(label(id)) + " " : "") +
           '<tspan class="tokid">id </tspan><tspan class="tokid" ' + at("x", {t: t, b: b}) + ">" + id + "</tspan></text>";
    } else {
      s += cellsSVG(vx, r, d.x[t][b], true, function (i) { return at("x", {t: t, b: b, i: i}); }, SC.x);
    }
  }
  return s + "</g>";
}
function sub(i) { return 'Σ<tspan baseline-shift="sub" font-size="9">' + i + "</tspan>"; }
function jSVG() {      // J = Σ_t L(t), in the empty top-left corner
  var r = R.L, x = colX(-1), y = cellY(r, 0), cw = BOXW - 2 * PAD, s = '<g class="jnode">';
  s += '<text class="nlabel" x="' + (x + PAD) + '" y="' + (r.y + 12) + '">' + "J = " + (B > 1 ? sub("b") + " " : "") + sub("t") + " L(t)</text>";
  s += '<rect class="box" x="' + x + '" y="' + r.boxY + '" width="' + BOXW + '" height="' + r.boxH + '" rx="6"/>';
  if (st.k >= T + 1) {
    s += '<rect class="cell" x="' + (x + PAD) + '" y="' + y + '" width="' + cw + '" height="' + r.ch + '" rx="3" fill="#eaeef2"/>';
    s += '<text class="num" x="' + (x + MID + 24) + '" y="' + (y + 15) + '" style="font-weight:600" ' + at("loss", {}) + ">" + esc(fmt(d.loss)) + "</text>";
  } else s += '<rect class="cell empty" x="' + (x + PAD) + '" y="' + y + '" width="' + cw + '" height="' + r.ch + '" rx="3"/>';
  return s + "</g>";
}
function edgeSVG(id, path, lx, ly, text, dir) {
  var cls = "edge" + (dir ? " " + dir : ""), m = dir === "bwd" ? ' marker-start="url(#bptt-arrow-b)"'
    : ' marker-end="url(#bptt-arrow' + (dir === "fwd" ? "-f" : "") + ')"';
  return '<path class="' + cls + '" data-edge="' + id + '" d="' + path + '"' + m + "/>" +
         (text ? '<text class="elbl" x="' + lx + '" y="' + ly + '">' + esc(text) + "</text>" : "");
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
  var p = phase(st.k), on = activeEdges(), s = "";
  s += '<svg id="bptt-svg" width="' + SVGW + '" height="' + SVGH + '" viewBox="0 0 ' + SVGW + " " + SVGH + '" role="img" aria-label="The network unfolded in time">';
  s += "<defs>";
  [["bptt-arrow", "#b5bec8"], ["bptt-arrow-f", "#1f6feb"], ["bptt-arrow-b", "#a21caf"]].forEach(function (m) {
    s += '<marker id="' + m[0] + '" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="6" markerHeight="6" orient="auto-start-reverse">' +
         '<path d="M0,0 L10,5 L0,10 z" fill="' + m[1] + '"/></marker>';
  });
  s += "</defs>";
  if ((p.name === "forward" || p.name === "backward") && p.t !== null && p.t >= 0) {
    s += '<rect class="colbg ' + (p.name === "forward" ? "fwd" : "bwd") + '" x="' + (colX(p.t) - 10) + '" y="4" width="' + (BOXW + 20) + '" height="' + (SVGH - 8) + '" rx="8"/>';
  }
  s += '<text class="colhead" x="' + (colX(-1) + MID) + '" y="18">initial state</text>';
  for (var t = 0; t < T; t++) s += '<text class="colhead" x="' + (colX(t) + MID) + '" y="18">t = ' + t + "</text>";
  var up = [["x", "a", "U", "U"], ["a", "h", "g", ACT], ["h", "o", "V", "V"], ["o", "yhat", "f", cfg.output], ["yhat", "L", "L", "loss"]];
  for (t = 0; t < T; t++) {
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
  s += jSVG();
  return s + "</svg>";
}

// ---- the equation panel -----------------------------------------------------------------------
function col(head, vals, attrs) { return {h: head, v: vals, a: attrs}; }
function eqTable(cols) {
  var n = 0;
  cols.forEach(function (c) { if (typeof c !== "string") n = Math.max(n, c.v.length); });
  var s = '<table class="eq"><thead><tr>';
  cols.forEach(function (c) { s += "<th>" + (typeof c === "string" ? "" : c.h) + "</th>"; });
  s += "</tr></thead><tbody>";
  for (var i = 0; i < n; i++) {
    s += "<tr>";
    cols.forEach(function (c) {
      if (typeof c === "string") s += '<td class="op">' + (i === Math.floor((n - 1) / 2) ? c : "") + "</td>";
      else s += '<td class="num" ' + c.a(i) + ">" + esc(fmt(c.v[i])) + "</td>";
    });
    s += "</tr>";
  }
  return s + "</tbody></table>";
}
function A(key, o) { return function (i) { var q = Object.assign({}, o); q.i = i; return at(key, q); }; }
function eqn(text, bw) { return '<p class="eqn' + (bw ? " bw" : "") + '">' + text + "</p>"; }
function sharesTable(kind, t, b) {
  var s = '<p class="muted">Where the error comes from: ‖∂L(s)/∂' + nm(kind, t) + "‖ for each loss term L(s)</p>" +
          '<table class="shares"><tr><th>loss term</th><th>norm</th></tr>';
  shares(kind, t, b).forEach(function (p) {
    s += '<tr><td><span class="sw" style="background:' + srcColour(p[0]) + '"></span>L(' + p[0] + ')</td><td class="num" ' +
         at("norm.errors_by_source." + kind, {s: p[0], t: t, b: b}) + ">" + esc(fmt(p[1])) + "</td></tr>";
  });
  return s + "</table>";
}
var FNAME = SOFT ? "softmax" : "identity";
function detailHTML(sel) {
  if (!sel) return '<h3>Equations</h3><p class="muted">Hover over or click a node of the network to see its value ' +
    "and the equation that produced it, with its numbers.</p>" + eqn("a(t) = b + W h(t−1) + U x(t)") +
    eqn("h(t) = " + ACT + "(a(t))") + eqn("o(t) = c + V h(t)") + eqn("ŷ(t) = " + FNAME + "(o(t))") +
    eqn(SOFT ? "L(t) = −log ŷ(t)[y(t)]" : "L(t) = ½‖o(t) − y(t)‖²") + eqn("J = Σ<sub>t</sub> L(t)" + (B > 1 ? ", summed over the batch" : ""));
  var kind = sel.kind, t = sel.t, b = st.b, s = "", wait = '<p class="muted">Its numbers appear when the forward pass reaches t = ' + t + ".</p>";
  var o = {t: t, b: b}, w = d.mask[t < 0 ? 0 : t][b] / B, wtxt = w === 1 ? "" : " · w(" + t + ")";
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
  } else if (kind === "h" || kind === "h0") {
    if (kind === "h0") {
      s += "<h3>Initial state h(−1) = h0</h3>" + eqn("h(−1) = h0") + '<p class="muted">Given, not computed; every sequence starts from it.</p>';
      s += eqTable([col("h0", d.h0[b], A("h0", {b: b}))]);
      if (bwd(0)) {
        s += eqn("∂J/∂h(−1) = Wᵀ ∂J/∂a(0)", true);
        s += eqTable([col("∂J/∂h(−1)", d.dh0[b], A("dh0", {b: b})), "=", col("Wᵀ ∂J/∂a(0)", mtv(d.params.W, d.errors.a[0][b]), A("derived.WTda", {t: -1, b: b}))]);
      }
      return s;
    }
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
  } else if (kind === "o") {
    s += "<h3>Output " + nm("o", t) + "</h3>" + eqn(nm("o", t) + " = c + V " + nm("h", t));
    if (!fwd(t)) return s + wait;
    s += eqTable([col(nm("o", t), d.forward.o[t][b], A("forward.o", o)), "=", col("c", d.params.c, A("params.c", {})), "+",
                  col("V " + nm("h", t), mv(d.params.V, d.forward.h[t][b]), A("derived.Vh", o))]);
    if (bwd(t)) {
      if (SOFT) {
        var oh = d.forward.y_hat[t][b].map(function (_, i) { return i === d.y[t][b] ? 1 : 0; });
        s += eqn("∂J/∂" + nm("o", t) + " = " + (w === 1 ? "" : "w · (") + "ŷ(" + t + ") − onehot(y(" + t + "))" + (w === 1 ? "" : ")"), true);
        s += eqTable([col("∂J/∂" + nm("o", t), d.errors.o[t][b], A("errors.o", o)), "=", col("ŷ(" + t + ")", d.forward.y_hat[t][b], A("forward.y_hat", o)),
                      "−", col("onehot", oh, A("onehot.y", o))]);
      } else {
        s += eqn("∂J/∂" + nm("o", t) + " = " + (w === 1 ? "" : "w · (") + "o(" + t + ") − y(" + t + ")" + (w === 1 ? "" : ")"), true);
        s += eqTable([col("∂J/∂" + nm("o", t), d.errors.o[t][b], A("errors.o", o)), "=", col("o(" + t + ")", d.forward.o[t][b], A("forward.o", o)),
                      "−", col("y(" + t + ")", d.y[t][b], A("y", o))]);
      }
      if (w !== 1) s += '<p class="muted">w = mask(' + t + ")/B = " + esc(fmt(w)) + ", the weight of L(" + t + ") in J.</p>";
      s += '<p class="muted">Only L(' + t + ") depends on o(" + t + ").</p>";
    }
  } else if (kind === "yhat") {
    s += "<h3>Prediction ŷ(" + t + ")</h3>" + eqn("ŷ(" + t + ") = " + FNAME + "(" + nm("o", t) + ")");
    if (SOFT) s += '<p>Target y(' + t + ") = " + esc(label(d.y[t][b])) + ' (class <span ' + at("y", o) + ">" + d.y[t][b] + "</span>)</p>";
    if (!fwd(t)) return s + wait;
    s += eqTable([col("ŷ(" + t + ")", d.forward.y_hat[t][b], A("forward.y_hat", o)), "= " + FNAME, col("o(" + t + ")", d.forward.o[t][b], A("forward.o", o))]);
  } else if (kind === "L") {
    s += "<h3>Loss term L(" + t + ")</h3>";
    s += eqn(SOFT ? "L(" + t + ") = " + (w === 1 ? "" : "w · ") + "−log ŷ(" + t + ")[y(" + t + ")]" : "L(" + t + ") = " + (w === 1 ? "" : "w · ") + "½‖o(" + t + ") − y(" + t + ")‖²");
    if (!fwd(t)) return s + wait;
    if (SOFT) {
      var yi = d.y[t][b], p = d.forward.y_hat[t][b][yi];
      s += '<p class="eqn">L(' + t + ") = " + (w === 1 ? "" : esc(fmt(w)) + " · ") + "−log ŷ(" + t + ")[" + esc(label(yi)) + "] = " +
           (w === 1 ? "" : esc(fmt(w)) + " · ") + "−log <span " + at("forward.y_hat", {t: t, b: b, i: yi}) + ">" + esc(fmt(p)) + "</span> = <span " +
           at("loss_terms", o) + ">" + esc(fmt(d.loss_terms[t][b])) + "</span></p>";
    } else {
      s += '<p class="eqn">L(' + t + ") = <span " + at("loss_terms", o) + ">" + esc(fmt(d.loss_terms[t][b])) + "</span></p>";
    }
    if (w !== 1) s += '<p class="muted">w = mask(' + t + ")/B = " + esc(fmt(w)) + ".</p>";
    s += '<p class="muted">Its colour marks its share of every error in the backward pass.</p>';
  } else if (kind === "x") {
    s += "<h3>Input x(" + t + ")</h3>";
    if (TOK) {
      s += eqn("x(" + t + ") = onehot(" + esc(label(d.x[t][b])) + ")") + '<p>Token id <span ' + at("x", o) + ">" + d.x[t][b] + "</span> of D = " + DIN +
           (LAB ? " (vocabulary: " + LAB.slice(0, DIN).map(function (c, i) { return esc(label(i)); }).join(" ") + ")" : "") + ".</p>";
    } else {
      s += eqTable([col("x(" + t + ")", d.x[t][b], A("x", o))]);
    }
    s += '<p class="muted">Given. U x(' + t + ") enters a(" + t + ").</p>";
  }
  return s;
}

// ---- the gradient panel -------------------------------------------------------------------------
var PNAME = ["U", "W", "b", "V", "c"];
var PF = {U: "∂J/∂a(t) x(t)ᵀ", W: "∂J/∂a(t) h(t−1)ᵀ", b: "∂J/∂a(t)", V: "∂J/∂o(t) h(t)ᵀ", c: "∂J/∂o(t)"};
function axisLabels(p) {       // vocabulary labels: the columns of U (inputs), the rows of V and c (outputs)
  var ids = function (n) { var a = []; for (var i = 0; i < n; i++) a.push(label(i)); return a; };
  return {cols: p === "U" && TOK && LAB ? ids(DIN) : null, rows: (p === "V" || p === "c") && SOFT && LAB ? ids(O) : null};
}
function matHTML(M, key, extra, scale, cap, cls) {
  var vec = !Array.isArray(M[0]), rows = vec ? M.map(function (x) { return [x]; }) : M, L = axisLabels(key.split(".")[1]);
  var nums = rows.length * rows[0].length <= 160, s = '<figure class="mat ' + (cls || "") + (nums ? "" : " tiny") + '"><table>';
  if (L.cols) s += "<tr>" + (L.rows ? "<th></th>" : "") + L.cols.map(function (c) { return "<th>" + esc(c) + "</th>"; }).join("") + "</tr>";
  rows.forEach(function (r, i) {
    s += "<tr>" + (L.rows ? "<th>" + esc(L.rows[i]) + "</th>" : "");
    r.forEach(function (x, j) {
      var o = Object.assign({}, extra); o.i = i; if (!vec) o.j = j;
      s += '<td style="background:' + tint(x, scale) + '" ' + (nums ? at(key, o) + ">" + esc(fmt(x)) : 'title="' + esc(fmt(x)) + '">') + "</td>";
    });
    s += "</tr>";
  });
  return s + "</table><figcaption>" + cap + "</figcaption></figure>";
}
function shapeText(p) { var M = d.params[p]; return Array.isArray(M[0]) ? M.length + "×" + M[0].length : M.length; }
function gradsHTML() {
  var p = st.param, g = gradPhase(), s = "<h2>Gradients of the shared parameters</h2><div class=\"tabs\">Parameter:";
  PNAME.forEach(function (q) {
    s += '<button type="button" data-param="' + q + '" class="' + (q === p ? "current" : "") + '">' + q + " <span class=\"muted\">(" + shapeText(q) + ")</span></button>";
  });
  s += "</div>";
  var pscale = maxAbs(d.params[p], d.updated[p]), gscale = maxAbs(d.per_step[p], d.grads[p]);
  if (g < 0) {
    s += '<p class="formula">(∂J/∂' + p + ")<sup>(t)</sup> = " + PF[p] + "</p>";
    s += '<div class="mats">' + matHTML(d.params[p], "params." + p, {}, pscale, p + " — one matrix, shared by every time step") + "</div>";
    s += '<p class="note">The per-step contributions appear after the backward pass (' + (2 * T + 2 - st.k) + " more steps).</p>";
    return s;
  }
  s += '<p class="formula">(∂J/∂' + p + ")<sup>(t)</sup> = " + PF[p] + (B > 1 ? "   (summed over the B = " + B + " sequences)" : "") + "</p><div class=\"mats\">";
  for (var t = 0; t < T; t++) {
    if (t) s += '<span class="op">+</span>';
    s += matHTML(d.per_step[p][t], "per_step." + p, {t: t}, gscale, "(∂J/∂" + p + ")<sup>(" + t + ")</sup>");
  }
  s += '<span class="op">=</span>';
  s += g >= 1 ? matHTML(d.grads[p], "grads." + p, {}, gscale, "∂J/∂" + p + " = Σ<sub>t</sub> (∂J/∂" + p + ")<sup>(t)</sup>", "sum")
              : '<figure class="mat pending">?<figcaption>∂J/∂' + p + "</figcaption></figure>";
  s += "</div>";
  if (g >= 2) {
    s += '<p class="formula">' + p + " ← " + p + " − η ∂J/∂" + p + ",  η = " + esc(String(LR)) + "</p><div class=\"mats\" id=\"bptt-update\">";
    s += matHTML(d.params[p], "params." + p, {}, pscale, p + " before") + '<span class="op">−</span><span class="op">' + esc(String(LR)) + " ×</span>";
    s += matHTML(d.grads[p], "grads." + p, {}, gscale, "∂J/∂" + p) + '<span class="op">=</span>';
    s += matHTML(d.updated[p], "updated." + p, {}, pscale, p + " after", "after") + "</div>";
  }
  return s;
}

// ---- captions, phases, rendering --------------------------------------------------------------
function caption() {
  var p = phase(st.k), t = p.t, P = st.param;
  if (p.name === "forward" && t < 0) return "<b>Start.</b> The inputs x(0) … x(" + (T - 1) + ") and the initial state h(−1) = h0 are given; " +
    "the parameters θ = {U, W, b, V, c} are shared by every time step. Press <b>Next</b> (or →) to run forward propagation.";
  var w = WEIGHTED ? "w(" + t + ") · " : "", wnote = WEIGHTED ? " Here w(t) = mask(t)/B weights each loss term." : "";
  if (p.name === "forward") return "<b>Forward, t = " + t + ":</b> " + nm("a", t) + " = b + W " + nm("h", t - 1) + " + U x(" + t + "); " +
    nm("h", t) + " = " + ACT + "(" + nm("a", t) + "); o(" + t + ") = c + V h(" + t + "); ŷ(" + t + ") = " + FNAME + "(o(" + t + ")); " +
    (SOFT ? "L(" + t + ") = " + w + "−log ŷ(" + t + ")[y(" + t + ")]." : "L(" + t + ") = " + w + "½‖o(" + t + ") − y(" + t + ")‖².") + wnote;
  if (p.name === "loss") return "<b>Loss:</b> J = Σ<sub>t</sub> L(t) = L(0) + … + L(" + (T - 1) + ") = <span " + at("loss", {}) + ">" + esc(fmt(d.loss)) + "</span>" +
    (B > 1 ? " (averaged over the B = " + B + " sequences)" : "") + ". Next: back-propagation through time, from t = " + (T - 1) + " down to 0.";
  if (p.name === "backward") return "<b>Backward, t = " + t + ":</b> ∂J/∂o(" + t + ") = " + (WEIGHTED ? "w(" + t + ") · (" : "") +
    (SOFT ? "ŷ(" + t + ") − onehot(y(" + t + "))" : "o(" + t + ") − y(" + t + ")") + (WEIGHTED ? ")" : "") +
    "; ∂J/∂h(" + t + ") = Vᵀ ∂J/∂o(" + t + ")" + (t < T - 1 ? " + Wᵀ ∂J/∂a(" + (t + 1) + ")" : " (no later step)") + "; ∂J/∂a(" + t + ") = g′(a(" + t + ")) ⊙ ∂J/∂h(" + t + ")" +
    (t === 0 ? "; ∂J/∂h(−1) = Wᵀ ∂J/∂a(0)" : "") + ". The bars split each error by the loss term L(s), s ≥ " + t + ", that it comes from, in the colour of L(s).";
  if (p.name === "contrib") return "<b>Per-step contributions:</b> (∂J/∂" + P + ")<sup>(t)</sup> = " + PF[P] + " uses the errors of step t only. " +
    P + " is shared by every step, so its gradient is the sum of the contributions. Choose a parameter below.";
  if (p.name === "sum") return "<b>Sum:</b> ∂J/∂" + P + " = Σ<sub>t</sub> (∂J/∂" + P + ")<sup>(t)</sup>: one gradient per parameter, from the errors of all steps.";
  return "<b>Update:</b> one update for the whole sequence, θ ← θ − η ∂J/∂θ with η = " + esc(String(LR)) + ", here for " + P + " (every parameter is updated the same way).";
}
function render() {
  var p = phase(st.k), bw = p.name === "backward";
  $("bptt-net").innerHTML = svg();
  $("bptt-caption").innerHTML = caption();
  $("bptt-caption").className = "caption" + (bw ? " bw" : "");
  var idx = PHASES.map(function (q) { return q[0]; }).indexOf(p.name), ph = "";
  PHASES.forEach(function (q, i) {
    ph += '<li data-phase="' + q[0] + '" class="' + (i === 2 ? "bw " : "") + (i < idx ? "done" : i === idx ? "current" : "") + '">' + q[1] + "</li>";
  });
  $("bptt-phases").innerHTML = ph;
  $("bptt-step").textContent = "step " + st.k + " of " + (N - 1) + (p.t !== null && p.t >= 0 ? " · t = " + p.t : "");
  root.setAttribute("data-phase", p.name);
  root.setAttribute("data-step", String(st.k));
  root.setAttribute("data-t", p.t === null ? "" : String(p.t));
  $("bptt-back").disabled = st.k === 0;
  $("bptt-next").disabled = st.k === N - 1;
  $("bptt-grads").innerHTML = gradsHTML();
  renderDetail();
}
function renderDetail() { $("bptt-detail").innerHTML = detailHTML(st.hover || st.pinned); }
function go(k) {
  st.k = Math.max(0, Math.min(N - 1, k));
  render();
  var t = phase(st.k).t, box = $("bptt-net");               // keep the current column in view
  if (t !== null && t >= 0 && box.scrollWidth > box.clientWidth) {
    var x0 = colX(t) - 12, x1 = colX(t) + BOXW + 12;
    if (x0 < box.scrollLeft || x1 > box.scrollLeft + box.clientWidth) box.scrollLeft = Math.max(0, (x0 + x1 - box.clientWidth) / 2);
  }
}

// ---- static parts and events --------------------------------------------------------------------
(function () {
  var sum = cfg.model + " · D = " + DIN + (TOK ? " (token ids" + (LAB ? ": " + LAB.slice(0, DIN).map(function (c, i) { return label(i); }).join(" ") : "") + ")" : "") +
    " · H = " + H + " · O = " + O + " · g = " + ACT + " · f = " + FNAME + " with " + cfg.loss + " · T = " + T + " · B = " + B + " · η = " + LR;
  $("bptt-summary").textContent = sum;
  var lg = '<span><b>Loss terms:</b></span>';
  for (var s = 0; s < T; s++) lg += '<span><span class="sw" style="background:' + srcColour(s) + '"></span>L(' + s + ")</span>";
  lg += '<span><span class="sw" style="background:rgba(67,147,195,.6)"></span>negative</span>' +
        '<span><span class="sw" style="background:rgba(214,96,77,.6)"></span>positive (stronger colour: larger |value|)</span>' +
        '<span><span class="sw" style="background:none;border:2px solid #a21caf"></span>errors ∂J/∂· (backward)</span>';
  $("bptt-legend").innerHTML = lg;
  if (B > 1) {
    var sel = $("bptt-batch"), opts = "";
    for (var b = 0; b < B; b++) opts += '<option value="' + b + '">b = ' + b + "</option>";
    sel.innerHTML = opts;
    $("bptt-batch-wrap").hidden = false;
    sel.addEventListener("change", function () { st.b = parseInt(sel.value, 10); render(); });
  }
})();
$("bptt-next").addEventListener("click", function () { go(st.k + 1); });
$("bptt-back").addEventListener("click", function () { go(st.k - 1); });
$("bptt-reset").addEventListener("click", function () { go(0); });
$("bptt-grads").addEventListener("click", function (e) {
  var btn = e.target.closest("[data-param]");
  if (btn) { st.param = btn.getAttribute("data-param"); render(); }
});
var net = $("bptt-net");
function nodeOf(e) {
  var g = e.target.closest ? e.target.closest("[data-node]") : null;
  return g ? {kind: g.getAttribute("data-node"), t: parseInt(g.getAttribute("data-t"), 10)} : null;
}
net.addEventListener("mouseover", function (e) {
  var n = nodeOf(e);
  if (n && !(st.hover && st.hover.kind === n.kind && st.hover.t === n.t)) { st.hover = n; renderDetail(); }
});
net.addEventListener("mouseleave", function () { st.hover = null; renderDetail(); });
net.addEventListener("click", function (e) {
  var n = nodeOf(e);
  st.pinned = n && !(st.pinned && st.pinned.kind === n.kind && st.pinned.t === n.t) ? n : null;  // a second click unpins
  st.hover = n;
  render();
});
document.addEventListener("keydown", function (e) {
  if (e.altKey || e.ctrlKey || e.metaKey) return;
  var tag = e.target && e.target.tagName;
  if (tag === "SELECT" || tag === "INPUT" || tag === "TEXTAREA") return;
  if (e.key === "ArrowRight") { go(st.k + 1); e.preventDefault(); }
  else if (e.key === "ArrowLeft") { go(st.k - 1); e.preventDefault(); }
  else if (e.key === "Home") { go(0); e.preventDefault(); }
});
render();
try {                 // inside an <iframe srcdoc> (Jupyter): fit the frame to the page
  var fe = window.frameElement;
  if (fe) {
    var fit = function () { fe.style.height = (root.getBoundingClientRect().height + 4) + "px"; };
    if (window.ResizeObserver) new ResizeObserver(fit).observe(root);
    fit();
  }
} catch (err) { /* a cross-origin frame: keep its given height */ }
})();
