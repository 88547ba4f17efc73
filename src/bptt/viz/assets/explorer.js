// The explorer's shared part: the data, number formats, colours, the steps, the SVG and table
// helpers, the gradient panel, rendering and events. `page_html` puts this file and one model
// part (explorer_rnn.js, explorer_lstm.js or explorer_gru.js) inside one function scope and then
// calls start().
// The model part defines the cell geometry CW, CG, PAD, BOXW (a node with a value and an error
// column), CWID (the width of one time step's column) and MODEL = {params, defaultParam, pf,
// paramLabel, axis, colX, body, detail, caption, summary, legend}. A design's part may also bring
// its own steps — MODEL.phase(k), MODEL.fwd(t), MODEL.bwd(t), MODEL.captionFor(phase), setting
// N, LOSS_K and GRAD_K — and MODEL.follow: the "loss term" selector (st.src, null for all of J).
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
// The trace: the embedded JSON, or (on the lab page, which builds the explorer anew for every
// change) the payload the lab passes in as PAYLOAD.
var RAW = typeof PAYLOAD !== "undefined" ? PAYLOAD : JSON.parse($("bptt-trace").textContent), d = {};
// HOOKS (the lab): {detail(box, node)} called after the equation panel is drawn
var HOOK = typeof HOOKS !== "undefined" && HOOKS ? HOOKS : {};
Object.keys(RAW).forEach(function (k) { d[k] = k === "config" ? RAW[k] : numify(RAW[k]); });
var cfg = d.config, T = cfg.T, B = cfg.B, H = cfg.hidden_size, O = cfg.output_size;
var DIN = cfg.input_size, TOK = cfg.tokens, SOFT = cfg.output === "softmax";
var ACT = cfg.activation, LR = cfg.lr, LAB = cfg.labels, N = 2 * T + 5;
var LOSS_K = T + 1, GRAD_K = 2 * T + 2;     // the step that shows J; the first of contributions
var YLAB = cfg.output_labels || null;       // the classes' names, where they are not LAB's
var FNAME = SOFT ? "softmax" : "identity";
var st = {k: 0, b: 0, param: null, pinned: null, hover: null, src: null};

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
// The loss terms' colours: Okabe & Ito's colour-blind-safe palette for T <= 8 (checked through a
// deuteranopia simulation in tests/viz/test_lab_page.py), else samples of viridis, whose lightness
// rises monotonically with s, so that the order of the loss terms survives every colour vision.
var PALETTE = ["#0072B2", "#E69F00", "#009E73", "#CC79A7", "#56B4E9", "#D55E00", "#000000", "#F0E442"];
var VIRIDIS = ["#440154", "#482878", "#3e4989", "#31688e", "#26828e", "#1f9e89", "#35b779", "#6ece58", "#b5de2b", "#fde725"];
function srcColour(s) {
  if (T <= 8) return PALETTE[s];
  var u = s / (T - 1) * (VIRIDIS.length - 1), i = Math.min(VIRIDIS.length - 2, Math.floor(u)), f = u - i;
  function ch(c, k) { return parseInt(c.substr(1 + 2 * k, 2), 16); }
  var rgb = [0, 1, 2].map(function (k) { return Math.round(ch(VIRIDIS[i], k) * (1 - f) + ch(VIRIDIS[i + 1], k) * f); });
  return "rgb(" + rgb.join(",") + ")";
}
function norm(v) { var s = 0; v.forEach(function (x) { s += x * x; }); return Math.sqrt(s); }
function mv(M, v) { return M.map(function (r) { var s = 0; for (var j = 0; j < v.length; j++) s += r[j] * v[j]; return s; }); }
function mtv(M, v) {
  var out = [];
  for (var j = 0; j < M[0].length; j++) { var s = 0; for (var i = 0; i < M.length; i++) s += M[i][j] * v[i]; out.push(s); }
  return out;
}
function add(u, w) { return u.map(function (x, i) { return x + w[i]; }); }
function mul(u, w) { return u.map(function (x, i) { return x * w[i]; }); }
function colOf(M, id) { return M.map(function (r) { return r[id]; }); }
var WEIGHTED = d.mask.some(function (r) { return r.some(function (m) { return m / B !== 1; }); });
function ylabel(id) { return YLAB && id < YLAB.length ? "'" + YLAB[id] + "'" : label(id); }
function label(id) {
  if (!LAB || id >= LAB.length) return "#" + id;
  var c = LAB[id];      // data: shown by name where invisible or direction-changing, isolated
  return "'" + ({" ": "␣", "\n": "↵", "\t": "⇥"}[c] || visibleLabel(c)) + "'";
}
function nm(kind, t) {      // the name of a node or error in the text: "h(2)", "h(−1)"
  return kind + "(" + (t < 0 ? "−" + (-t) : t) + ")";
}
function at(key, o) {        // data attributes of a displayed number
  var s = 'data-key="' + key + '"';
  ["s", "t", "b", "i", "j"].forEach(function (n) { if (o[n] !== undefined && o[n] !== null) s += " data-" + n + '="' + o[n] + '"'; });
  return s;
}
// ‖∂L(s)/∂·(t)‖ of every errors_by_source kind ("a", "h" of a SimpleRNN; "c", "h" of an LSTM;
// "h" of a GRU); none while the lab trains (its payload then has errors_by_source null)
var NORMS = {}, BARMAX = {o: 0};
Object.keys(d.errors_by_source || {}).forEach(function (k) {
  NORMS[k] = []; BARMAX[k] = 0;
  for (var s = 0; s < T; s++) {
    NORMS[k].push([]);
    for (var t = 0; t < T; t++) NORMS[k][s].push(d.errors_by_source[k][s][t].map(norm));
  }
  var rev = /@rev$/.test(k);          // a backward chain: L(s) reaches g(t) from s <= t
  for (var t = 0; t < T; t++) for (var b = 0; b < B; b++) {
    var tot = 0; for (var s = rev ? 0 : t; s < (rev ? t + 1 : T); s++) tot += NORMS[k][s][t][b];
    if (isFinite(tot)) BARMAX[k] = Math.max(BARMAX[k], tot);
  }
});
for (var t0 = 0; t0 < T; t0++) for (var b0 = 0; b0 < B; b0++) {
  var n0 = norm(d.errors.o[t0][b0]); if (isFinite(n0)) BARMAX.o = Math.max(BARMAX.o, n0);
}
function shares(kind, t, b) {   // [[s, ‖∂L(s)/∂kind(t)‖], ...] for s = t .. T−1 (s = 0 .. t: "@rev")
  var out = [];
  if (kind !== "o" && !NORMS[kind]) return out;
  if (kind === "o") return [[t, norm(d.errors.o[t][b])]];
  var rev = /@rev$/.test(kind);
  for (var s = rev ? 0 : t; s < (rev ? t + 1 : T); s++) out.push([s, NORMS[kind][s][t][b]]);
  return out;
}

// ---- the steps --------------------------------------------------------------------------------
var PHASES = [["forward", "Forward"], ["loss", "Loss J"], ["backward", "Backward (BPTT)"],
              ["contrib", "Contributions"], ["sum", "Sum"], ["update", "Update"]];
function phase(k) {
  if (MODEL.phase) return MODEL.phase(k);
  if (k <= T) return {name: "forward", t: k - 1};
  if (k === T + 1) return {name: "loss", t: null};
  if (k <= 2 * T + 1) return {name: "backward", t: 2 * T + 1 - k};
  return {name: ["contrib", "sum", "update"][k - 2 * T - 2], t: null};
}
function fwd(t) { return MODEL.fwd ? MODEL.fwd(t) : t < 0 || st.k >= t + 1; }
function bwd(t) { return MODEL.bwd ? MODEL.bwd(t) : st.k >= 2 * T + 1 - Math.max(t, 0); }
function gradPhase() { return st.k - GRAD_K; }       // 0 contributions, 1 sum, 2 update; < 0 before

// ---- SVG pieces -----------------------------------------------------------------------------
// A row r of nodes: r.y (label line), r.boxY, r.boxH, r.ch (cell height), r.n (cells), r.nums.
function cellY(r, i) { return r.boxY + PAD + i * (r.ch + 2); }
function cellsSVG(x, r, vals, shown, attrs, scale, cls, y0) {   // a column of r.n cells from y0
  var s = "", top = y0 === undefined ? cellY(r, 0) : y0;
  for (var i = 0; i < r.n; i++) {
    var y = top + i * (r.ch + 2);
    if (!shown) { s += '<rect class="cell empty" x="' + x + '" y="' + y + '" width="' + CW + '" height="' + r.ch + '" rx="3"/>'; continue; }
    s += '<rect class="cell ' + (cls || "") + '" x="' + x + '" y="' + y + '" width="' + CW + '" height="' + r.ch +
         '" rx="3" fill="' + tint(vals[i], scale) + '"/>';
    if (r.nums) s += '<text class="num" x="' + (x + CW - 5) + '" y="' + (y + r.ch / 2 + 4) + '" ' + attrs(i) + ">" + esc(fmt(vals[i])) + "</text>";
  }
  return s;
}
function barSVG(x, r, kind, t, b, shown) {   // the error's split by loss term, under a node
  var s = "", max = BARMAX[kind], cx = x + PAD, y = r.boxY + r.boxH + 3;
  if (!(max > 0)) return s;
  shares(kind, t, b).forEach(function (p) {
    var w = isFinite(p[1]) ? p[1] / max * (BOXW - 2 * PAD) : 0;
    if (w <= 0) return;
    s += '<rect class="seg" x="' + cx.toFixed(2) + '" y="' + y + '" width="' + w.toFixed(2) + '" height="7" fill="' +
         srcColour(p[0]) + '" data-bar="' + kind + '" data-s="' + p[0] + '" data-t="' + t + '" data-b="' + b + '"><title>' +
         "‖∂L(" + p[0] + ")/∂" + (shown || nm(kind, t)) + "‖ = " + esc(fmt(p[1])) + "</title></rect>";
    cx += w;
  });
  return s;
}
function edgeSVG(id, path, lx, ly, text, dir, cls) {     // cls "cellpath": a thick line, smaller heads
  var c = "edge" + (cls ? " " + cls : "") + (dir ? " " + dir : ""), mk = cls === "cellpath" ? "bptt-carrow" : "bptt-arrow";
  var m = dir === "bwd" ? ' marker-start="url(#' + mk + '-b)"' : ' marker-end="url(#' + mk + (dir === "fwd" ? "-f" : "") + ')"';
  return '<path class="' + c + '" data-edge="' + id + '" d="' + path + '"' + m + "/>" +
         (text ? '<text class="elbl" x="' + lx + '" y="' + ly + '">' + esc(text) + "</text>" : "");
}
function lineSVG(id, path, dir, cls) {         // a connection without an arrowhead
  return '<path class="edge' + (cls ? " " + cls : "") + (dir ? " " + dir : "") + '" data-edge="' + id + '" d="' + path + '"/>';
}
function svgOpen(w, h) {
  var p = phase(st.k), s = '<svg id="bptt-svg" width="' + w + '" height="' + h + '" viewBox="0 0 ' + w + " " + h +
    '" role="group" aria-label="The network unfolded in time: every value and error is a number inside"><defs>';
  [["bptt-arrow", "#b5bec8", 6], ["bptt-arrow-f", "#1f6feb", 6], ["bptt-arrow-b", "#a21caf", 6],
   ["bptt-carrow", "#6e7781", 3.2], ["bptt-carrow-f", "#1f6feb", 3.2], ["bptt-carrow-b", "#a21caf", 3.2]].forEach(function (m) {
    if (m[2] < 6 && cfg.kind === "rnn") return;        // the LSTM's cell path, the GRU's direct path
    s += '<marker id="' + m[0] + '" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="' + m[2] + '" markerHeight="' + m[2] + '" orient="auto-start-reverse">' +
         '<path d="M0,0 L10,5 L0,10 z" fill="' + m[1] + '"/></marker>';
  });
  s += "</defs>";
  if ((p.name === "forward" || p.name === "backward") && p.t !== null && p.t >= 0) {
    s += '<rect class="colbg ' + (p.name === "forward" ? "fwd" : "bwd") + '" x="' + (MODEL.colX(p.t) - 10) + '" y="4" width="' + (CWID + 20) + '" height="' + (h - 8) + '" rx="8"/>';
  }
  for (var t = 0; t < T; t++) s += '<text class="colhead" x="' + (MODEL.colX(t) + CWID / 2) + '" y="18">t = ' + t + "</text>";
  return s;
}
function sub(i) { return 'Σ<tspan baseline-shift="sub" font-size="9">' + i + "</tspan>"; }
function jSVG(x, r) {      // J = Σ_t L(t), in the empty top-left corner
  var y = cellY(r, 0), cw = BOXW - 2 * PAD, s = '<g class="jnode">';
  s += '<text class="nlabel" x="' + (x + PAD) + '" y="' + (r.y + 12) + '">' + "J = " + (B > 1 ? sub("b") + " " : "") + sub("t") + " L(t)</text>";
  s += '<rect class="box" x="' + x + '" y="' + r.boxY + '" width="' + BOXW + '" height="' + r.boxH + '" rx="6"/>';
  if (st.k >= LOSS_K) {
    s += '<rect class="cell" x="' + (x + PAD) + '" y="' + y + '" width="' + cw + '" height="' + r.ch + '" rx="3" fill="#eaeef2"/>';
    s += '<text class="num" x="' + (x + BOXW / 2 + 24) + '" y="' + (y + 15) + '" style="font-weight:600" ' + at("loss", {}) + ">" + esc(fmt(d.loss)) + "</text>";
  } else s += '<rect class="cell empty" x="' + (x + PAD) + '" y="' + y + '" width="' + cw + '" height="' + r.ch + '" rx="3"/>';
  return s + "</g>";
}
function lossSVG(x, r, t, b) {     // the L(t) node's inside
  var s = "", w = d.mask[t][b], y = cellY(r, 0), cw = BOXW - 2 * PAD, vx = x + PAD;
  s += '<text class="nlabel" x="' + vx + '" y="' + (r.y + 12) + '" style="fill:' + srcColour(t) + '">L(' + t + ")" + (w === 0 ? " masked" : "") + "</text>";
  if (fwd(t)) {
    s += '<rect class="cell" x="' + vx + '" y="' + y + '" width="' + cw + '" height="' + r.ch + '" rx="3" fill="' + srcColour(t) + '" fill-opacity="0.16" stroke="' + srcColour(t) + '"/>';
    s += '<text class="num" x="' + (vx + cw / 2 + 24) + '" y="' + (y + 15) + '" ' + at("loss_terms", {t: t, b: b}) + ">" + esc(fmt(d.loss_terms[t][b])) + "</text>";
  } else s += '<rect class="cell empty" x="' + vx + '" y="' + y + '" width="' + cw + '" height="' + r.ch + '" rx="3"/>';
  return s;
}
function targetSVG(x, r, t, b, tname) {   // ŷ(t) and, beside it, the target (one-hot for classes)
  var s = "", vx = x + PAD, ex = x + PAD + CW + CG, ly = r.y + 12;
  s += '<text class="nlabel" x="' + vx + '" y="' + ly + '">ŷ(' + t + ")</text>";
  s += cellsSVG(vx, r, d.forward.y_hat[t][b], fwd(t), function (i) { return at("forward.y_hat", {t: t, b: b, i: i}); }, SOFT ? 1 : SC.yhat);
  if (SOFT) {
    var yi = d.y[t][b], oh = [];
    for (var i = 0; i < O; i++) oh.push(i === yi ? 1 : 0);
    s += '<text class="nlabel" x="' + ex + '" y="' + ly + '">' + tname + "(" + t + ") = " + esc(ylabel(yi)) + "</text>";
    s += cellsSVG(ex, r, oh, true, function (i) { return at("onehot.y", {t: t, b: b, i: i}); }, 1);
    if (fwd(t)) s += '<rect class="cell target" x="' + vx + '" y="' + cellY(r, yi) + '" width="' + CW + '" height="' + r.ch + '" rx="3" fill="none"/>';
  } else {
    s += '<text class="nlabel" x="' + ex + '" y="' + ly + '">' + tname + "(" + t + ")</text>";
    s += cellsSVG(ex, r, d.y[t][b], true, function (i) { return at("y", {t: t, b: b, i: i}); }, SC.yhat);
  }
  return s;
}
function inputSVG(x, r, t, b) {          // x(t): a token with its id, or a column of numbers
  var s = '<text class="nlabel" x="' + (x + PAD) + '" y="' + (r.y + 12) + '">x(' + t + ")</text>";
  if (TOK) {
    var id = d.x[t][b], y2 = cellY(r, 0);
    s += '<rect class="cell" x="' + (x + PAD) + '" y="' + y2 + '" width="' + (BOXW - 2 * PAD) + '" height="' + r.ch + '" rx="3" fill="#f6f8fa"/>';
    s += '<text class="tok" x="' + (x + BOXW / 2) + '" y="' + (y2 + 18) + '">' + (LAB ? esc(label(id)) + " " : "") +
         '<tspan class="tokid">id </tspan><tspan class="tokid" ' + at("x", {t: t, b: b}) + ">" + id + "</tspan></text>";
  } else {
    s += cellsSVG(x + PAD, r, d.x[t][b], true, function (i) { return at("x", {t: t, b: b, i: i}); }, SC.x);
  }
  return s;
}
function nodeOpen(kind, t, x, r) {
  var pin = st.pinned && st.pinned.kind === kind && st.pinned.t === t;
  return '<g class="node' + (pin ? " pinned" : "") + '" data-node="' + kind + '" data-t="' + t + '">' +
         '<rect class="box" x="' + x + '" y="' + r.boxY + '" width="' + (r.w || BOXW) + '" height="' + r.boxH + '" rx="6"/>';
}

function pairNode(x, r, t, b, name, vals, vkey, errs, ekey, vs, es, shown) {   // value | error
  var s = '<text class="nlabel" x="' + (x + PAD) + '" y="' + (r.y + 12) + '">' + name + "</text>", ex = x + PAD + CW + CG;
  var o = t < 0 ? {b: b} : {t: t, b: b}, back = bwd(t);
  if (back && t >= 0) s += '<text class="elabel" x="' + ex + '" y="' + (r.y + 12) + '">∂J/∂' + shown + "</text>";
  if (back && t < 0) s += '<text class="elabel" x="' + ex + '" y="' + (r.boxY + r.boxH + 15) + '">∂J/∂' + shown + "</text>";
  s += cellsSVG(x + PAD, r, vals, fwd(t), function (i) { var q = Object.assign({i: i}, o); return at(vkey, q); }, vs);
  return s + cellsSVG(ex, r, errs, back, function (i) { var q = Object.assign({i: i}, o); return at(ekey, q); }, es, "err");
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
function sharesTable(kind, t, b, shown) {
  var s = '<p class="muted">Where the error comes from: ‖∂L(s)/∂' + (shown || nm(kind, t)) + "‖ for each loss term L(s)</p>" +
          '<table class="shares"><tr><th>loss term</th><th>norm</th></tr>';
  shares(kind, t, b).forEach(function (p) {
    s += '<tr><td><span class="sw" style="background:' + srcColour(p[0]) + '"></span>L(' + p[0] + ')</td><td class="num" ' +
         at("norm.errors_by_source." + kind, {s: p[0], t: t, b: b}) + ">" + esc(fmt(p[1])) + "</td></tr>";
  });
  return s + "</table>";
}
function lossDetail(t, b, w, tname) {     // the L(t) node: its equation with numbers
  var o = {t: t, b: b}, s = "<h3>Loss term L(" + t + ")</h3>";
  s += eqn(SOFT ? "L(" + t + ") = " + (w === 1 ? "" : "w · ") + "−log ŷ(" + t + ")[" + tname + "(" + t + ")]"
                : "L(" + t + ") = " + (w === 1 ? "" : "w · ") + "½‖" + OUTNAME + "(" + t + ") − " + tname + "(" + t + ")‖²");
  if (!fwd(t)) return s + '<p class="muted">Its numbers appear when the forward pass reaches t = ' + t + ".</p>";
  if (SOFT) {
    var yi = d.y[t][b], p = d.forward.y_hat[t][b][yi];
    s += '<p class="eqn">L(' + t + ") = " + (w === 1 ? "" : esc(fmt(w)) + " · ") + "−log ŷ(" + t + ")[" + esc(ylabel(yi)) + "] = " +
         (w === 1 ? "" : esc(fmt(w)) + " · ") + "−log <span " + at("forward.y_hat", {t: t, b: b, i: yi}) + ">" + esc(fmt(p)) + "</span> = <span " +
         at("loss_terms", o) + ">" + esc(fmt(d.loss_terms[t][b])) + "</span></p>";
  } else {
    s += '<p class="eqn">L(' + t + ") = <span " + at("loss_terms", o) + ">" + esc(fmt(d.loss_terms[t][b])) + "</span></p>";
  }
  if (w !== 1) s += '<p class="muted">w = mask(' + t + ")/B = " + esc(fmt(w)) + ".</p>";
  return s + '<p class="muted">Its colour marks its share of every error in the backward pass.</p>';
}
function inputDetail(t, b, into) {
  var s = "<h3>Input x(" + t + ")</h3>", o = {t: t, b: b};
  if (TOK) {
    s += eqn("x(" + t + ") = onehot(" + esc(label(d.x[t][b])) + ")") + '<p>Token id <span ' + at("x", o) + ">" + d.x[t][b] + "</span> of D = " + DIN +
         (LAB ? " (vocabulary: " + LAB.slice(0, DIN).map(function (c, i) { return esc(label(i)); }).join(" ") + ")" : "") + ".</p>";
  } else {
    s += eqTable([col("x(" + t + ")", d.x[t][b], A("x", o))]);
  }
  return s + '<p class="muted">Given. ' + into + "</p>";
}
function outputDetail(kind, t, b, w, yname, tname) {    // the logits o(t) = c + V y(t) and ŷ(t)
  var o = {t: t, b: b}, on = nm(OUTNAME, t), s, wait = '<p class="muted">Its numbers appear when the forward pass reaches t = ' + t + ".</p>";
  if (kind === "yhat") {
    s = "<h3>Prediction ŷ(" + t + ")</h3>" + eqn("ŷ(" + t + ") = " + FNAME + "(" + on + ")");
    if (SOFT) s += '<p>Target ' + tname + "(" + t + ") = " + esc(ylabel(d.y[t][b])) + ' (class <span ' + at("y", o) + ">" + d.y[t][b] + "</span>)</p>";
    if (!fwd(t)) return s + wait;
    return s + eqTable([col("ŷ(" + t + ")", d.forward.y_hat[t][b], A("forward.y_hat", o)), "= " + FNAME, col(on, d.forward.o[t][b], A("forward.o", o))]);
  }
  s = "<h3>Output " + on + "</h3>" + eqn(on + " = c + V " + nm(yname, t));
  if (!fwd(t)) return s + wait;
  s += eqTable([col(on, d.forward.o[t][b], A("forward.o", o)), "=", col("c", d.params.c, A("params.c", {})), "+",
                col("V " + nm(yname, t), mv(d.params.V, d.forward.h[t][b]), A("derived.Vh", o))]);
  if (bwd(t)) {
    var pre = w === 1 ? "" : "w · (", post = w === 1 ? "" : ")";
    if (SOFT) {
      var oh = d.forward.y_hat[t][b].map(function (_, i) { return i === d.y[t][b] ? 1 : 0; });
      s += eqn("∂J/∂" + on + " = " + pre + "ŷ(" + t + ") − onehot(" + tname + "(" + t + "))" + post, true);
      s += eqTable([col("∂J/∂" + on, d.errors.o[t][b], A("errors.o", o)), "=", col("ŷ(" + t + ")", d.forward.y_hat[t][b], A("forward.y_hat", o)),
                    "−", col("onehot", oh, A("onehot.y", o))]);
    } else {
      s += eqn("∂J/∂" + on + " = " + pre + on + " − " + tname + "(" + t + ")" + post, true);
      s += eqTable([col("∂J/∂" + on, d.errors.o[t][b], A("errors.o", o)), "=", col(on, d.forward.o[t][b], A("forward.o", o)),
                    "−", col(tname + "(" + t + ")", d.y[t][b], A("y", o))]);
    }
    if (w !== 1) s += '<p class="muted">w = mask(' + t + ")/B = " + esc(fmt(w)) + ", the weight of L(" + t + ") in J.</p>";
    s += '<p class="muted">Only L(' + t + ") depends on " + on + ".</p>";
  }
  return s;
}

// ---- the gradient panel -------------------------------------------------------------------------
function matHTML(M, key, extra, scale, cap, cls) {
  var vec = !Array.isArray(M[0]), rows = vec ? M.map(function (x) { return [x]; }) : M, L = MODEL.axis(key.split(".")[1]);
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
function ids(n) { var a = []; for (var i = 0; i < n; i++) a.push(label(i)); return a; }
function shapeText(p) { var M = d.params[p]; return Array.isArray(M[0]) ? M.length + "×" + M[0].length : M.length; }
function gradsHTML() {
  var p = st.param, P = MODEL.paramLabel(p), g = gradPhase(), s = "<h2>Gradients of the shared parameters</h2><div class=\"tabs\">Parameter:";
  MODEL.params.forEach(function (q) {
    s += '<button type="button" data-param="' + q + '" class="' + (q === p ? "current" : "") + '">' + MODEL.paramLabel(q) + " <span class=\"muted\">(" + shapeText(q) + ")</span></button>";
  });
  s += "</div>";
  var pscale = maxAbs(d.params[p], d.updated[p]), gscale = maxAbs(d.per_step[p], d.grads[p]);
  if (g < 0) {
    s += '<p class="formula">(∂J/∂' + P + ")<sup>(t)</sup> = " + MODEL.pf[p] + "</p>";
    s += '<div class="mats">' + matHTML(d.params[p], "params." + p, {}, pscale, P + " — one matrix, shared by every time step") + "</div>";
    s += '<p class="note">The per-step contributions appear after the backward pass (' + (GRAD_K - st.k) + " more steps).</p>";
    return s;
  }
  s += '<p class="formula">(∂J/∂' + P + ")<sup>(t)</sup> = " + MODEL.pf[p] + (B > 1 ? "   (summed over the B = " + B + " sequences)" : "") + "</p><div class=\"mats\">";
  for (var t = 0; t < T; t++) {
    if (t) s += '<span class="op">+</span>';
    s += matHTML(d.per_step[p][t], "per_step." + p, {t: t}, gscale, "(∂J/∂" + P + ")<sup>(" + t + ")</sup>");
  }
  s += '<span class="op">=</span>';
  s += g >= 1 ? matHTML(d.grads[p], "grads." + p, {}, gscale, "∂J/∂" + P + " = Σ<sub>t</sub> (∂J/∂" + P + ")<sup>(t)</sup>", "sum")
              : '<figure class="mat pending">?<figcaption>∂J/∂' + P + "</figcaption></figure>";
  s += "</div>";
  if (g >= 2) {
    s += '<p class="formula">' + P + " ← " + P + " − η ∂J/∂" + P + ",  η = " + esc(String(LR)) + "</p><div class=\"mats\" id=\"bptt-update\">";
    s += matHTML(d.params[p], "params." + p, {}, pscale, P + " before") + '<span class="op">−</span><span class="op">' + esc(String(LR)) + " ×</span>";
    s += matHTML(d.grads[p], "grads." + p, {}, gscale, "∂J/∂" + P) + '<span class="op">=</span>';
    s += matHTML(d.updated[p], "updated." + p, {}, pscale, P + " after", "after") + "</div>";
  }
  return s;
}

// ---- captions, phases, rendering --------------------------------------------------------------
function caption() {
  var p = phase(st.k), P = MODEL.paramLabel(st.param), own = MODEL.captionFor ? MODEL.captionFor(p) : null;
  if (own) return own;
  if (p.name === "forward" || p.name === "backward") return MODEL.caption(p);
  if (p.name === "loss") return "<b>Loss:</b> J = Σ<sub>t</sub> L(t) = L(0) + … + L(" + (T - 1) + ") = <span " + at("loss", {}) + ">" + esc(fmt(d.loss)) + "</span>" +
    (B > 1 ? " (averaged over the B = " + B + " sequences)" : "") + ". Next: back-propagation through time, from t = " + (T - 1) + " down to 0.";
  if (p.name === "contrib") return "<b>Per-step contributions:</b> (∂J/∂" + P + ")<sup>(t)</sup> = " + MODEL.pf[st.param] + " uses the errors of step t only. " +
    P + " is shared by every step, so its gradient is the sum of the contributions. Choose a parameter below.";
  if (p.name === "sum") return "<b>Sum:</b> ∂J/∂" + P + " = Σ<sub>t</sub> (∂J/∂" + P + ")<sup>(t)</sup>: one gradient per parameter, from the errors of all steps.";
  return "<b>Update:</b> one update for the whole sequence, θ ← θ − η ∂J/∂θ with η = " + esc(String(LR)) + ", here for " + P + " (every parameter is updated the same way).";
}
function render() {
  var p = phase(st.k), bw = p.name === "backward";
  $("bptt-net").innerHTML = MODEL.body();
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
function renderDetail() {
  $("bptt-detail").innerHTML = MODEL.detail(st.hover || st.pinned);
  if (HOOK.detail) HOOK.detail($("bptt-detail"), st.hover || st.pinned);
}
function go(k) {
  st.k = Math.max(0, Math.min(N - 1, k));
  render();
  var t = phase(st.k).t, box = $("bptt-net");               // keep the current column in view
  if (t !== null && t >= 0 && box.scrollWidth > box.clientWidth) {
    var x0 = MODEL.colX(t) - 12, x1 = MODEL.colX(t) + CWID + 12;
    if (x0 < box.scrollLeft || x1 > box.scrollLeft + box.clientWidth) box.scrollLeft = Math.max(0, (x0 + x1 - box.clientWidth) / 2);
  }
}

// ---- static parts and events --------------------------------------------------------------------
function start() {
  st.param = MODEL.defaultParam;
  root.className += " " + (cfg.kind || "rnn");
  $("bptt-summary").textContent = MODEL.summary;
  var lg = '<span><b>Loss terms:</b></span>';
  for (var s = 0; s < T; s++) lg += '<span><span class="sw" style="background:' + srcColour(s) + '"></span>L(' + s + ")</span>";
  lg += '<span><span class="sw" style="background:rgba(67,147,195,.6)"></span>negative</span>' +
        '<span><span class="sw" style="background:rgba(214,96,77,.6)"></span>positive (stronger colour: larger |value|)</span>' +
        '<span><span class="sw" style="background:none;border:2px solid #a21caf"></span>errors ∂J/∂· (backward)</span>' + (MODEL.legend || "");
  $("bptt-legend").innerHTML = lg;
  if (B > 1) {
    var sel = $("bptt-batch"), opts = "";
    for (var b = 0; b < B; b++) opts += '<option value="' + b + '">b = ' + b + "</option>";
    sel.innerHTML = opts;
    $("bptt-batch-wrap").hidden = false;
    sel.addEventListener("change", function () { st.b = parseInt(sel.value, 10); render(); });
  }
  if (MODEL.follow) {             // follow one loss term L(s): its own error in every node
    var ssel = $("bptt-source"), sopts = '<option value="">all: ∂J/∂·</option>';
    for (var s2 = 0; s2 < T; s2++) sopts += '<option value="' + s2 + '">L(' + s2 + "): ∂L(" + s2 + ")/∂·</option>";
    ssel.innerHTML = sopts;
    $("bptt-source-wrap").hidden = false;
    ssel.addEventListener("change", function () { st.src = ssel.value === "" ? null : parseInt(ssel.value, 10); render(); });
  }
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
  function onKey(e) {
    if (e.altKey || e.ctrlKey || e.metaKey) return;
    var tag = e.target && e.target.tagName;
    if (tag === "SELECT" || tag === "INPUT" || tag === "TEXTAREA") return;
    if (e.key === "ArrowRight") { go(st.k + 1); e.preventDefault(); }
    else if (e.key === "ArrowLeft") { go(st.k - 1); e.preventDefault(); }
    else if (e.key === "Home") { go(0); e.preventDefault(); }
  }
  document.addEventListener("keydown", onKey);
  render();
  try {                 // inside an <iframe srcdoc> (Jupyter): fit the frame to the page
    var fe = window.frameElement;
    if (fe) {
      var fit = function () { fe.style.height = (root.getBoundingClientRect().height + 4) + "px"; };
      if (window.ResizeObserver) new ResizeObserver(fit).observe(root);
      fit();
    }
  } catch (err) { /* a cross-origin frame: keep its given height */ }
  // what the lab page needs to rebuild the explorer (and to stop listening) after a change
  return {st: st, go: go, render: render, srcColour: srcColour, T: T,
          stop: function () { document.removeEventListener("keydown", onKey); }};
}
