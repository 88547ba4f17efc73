// The seq2seq explorer: one encoder–decoder pair stepped through, forward and back. The Python
// side (bptt.viz.seq2seq_explorer) embeds the JSON in script#bptt-trace and puts this file, after
// visible_text.js, in one function scope, then calls start(). Everything shown is a number of
// that JSON: displayed numbers carry data-key (a path into it) and data-idx (the indices).
// Steps: start; the encoder (j = 0..S−1, and with a bidirectional encoder the backward chain
// j = S−1..0); the decoder (t = 0..T'−1); J; back through the decoder from the chosen loss term
// (t' = t..0; J: T'−1..0); back through the encoder (j = S−1..0, then the backward chain's
// j = 0..S−1); the summary (the gradient norms of the one update).
var $ = function (id) { return document.getElementById(id); };
var root = $("s2s-root");
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
var cfg = d.config, S = cfg.S, T = cfg.T, K = cfg.K, L = cfg.num_layers, H = cfg.hidden_size;
var ATT = cfg.attention, BI = cfg.bidirectional, DIRS = BI ? 2 : 1, LR = cfg.lr;
var BAR_H = 90, DECADES = 6;     // bar heights: v / max · BAR_H, or on the log scale over 6 decades
var COL = {attention: "#0072B2", final: "#E69F00", total: "#3d444d"};
var st = {k: 0, term: T - 1, log: false};

// ---- numbers, labels --------------------------------------------------------------------------
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
function norm(v) { var s = 0; v.forEach(function (x) { s += x * x; }); return Math.sqrt(s); }
function maxAbs(a) { var m = 0; a.forEach(function (x) { if (isFinite(x)) m = Math.max(m, Math.abs(x)); }); return m; }
function tint(v, scale) {
  if (!isFinite(v)) return "#c8ccd1";
  var r = scale > 0 ? Math.min(1, Math.abs(v) / scale) : 0, a = (0.05 + 0.6 * Math.sqrt(r)).toFixed(3);
  return v >= 0 ? "rgba(214,96,77," + a + ")" : "rgba(67,147,195," + a + ")";
}
var SPECIALS = ["⟨pad⟩", "⟨bos⟩", "⟨eos⟩"];
function tok(chars, id) {
  if (id < 3) return SPECIALS[id];
  var c = chars[id - 3];      // data: shown by name where invisible or direction-changing
  return "'" + ({" ": "␣", "\n": "↵", "\t": "⇥"}[c] || visibleLabel(c)) + "'";
}
function src(j) { return tok(cfg.src_chars, d.src[j]); }
function tgt(id) { return tok(cfg.tgt_chars, id); }
function num(key, idx, v, tag) {     // tag "tspan" inside SVG text
  tag = tag || "span";
  return "<" + tag + ' class="n" data-key="' + key + '" data-idx="' + idx.join(",") + '">' + esc(fmt(v)) + "</" + tag + ">";
}
function vec(key, idx, v, from, to) {      // a state vector's numbers, tinted, entries from..to−1
  var m = maxAbs(v), s = '<div class="vec">';
  for (var i = from || 0; i < (to === undefined ? v.length : to); i++) {
    s += '<span style="background:' + tint(v[i], m) + '" data-key="' + key + '" data-idx="' +
         idx.concat([i]).join(",") + '">' + esc(fmt(v[i])) + "</span>";
  }
  return s + "</div>";
}
function nm(x, t) { return x + "(" + (t < 0 ? "−" + (-t) : t) + ")"; }

// ---- the steps --------------------------------------------------------------------------------
function top() { return st.term < 0 ? T - 1 : st.term; }          // the last decoder step gone back
var K_ENC = 1, K_DEC = 1 + DIRS * S, K_LOSS = K_DEC + T, K_BACK = K_LOSS + 1;
function kBackEnc() { return K_BACK + top() + 1; }
function kSum() { return kBackEnc() + DIRS * S; }
function N() { return kSum() + 1; }
function phase(k) {
  if (k === 0) return {name: "start"};
  if (k < K_DEC) { var e = k - K_ENC; return e < S ? {name: "encoder", j: e, dir: 0} : {name: "encoder", j: 2 * S - 1 - e, dir: 1}; }
  if (k < K_LOSS) return {name: "decoder", t: k - K_DEC};
  if (k === K_LOSS) return {name: "loss"};
  if (k < kBackEnc()) return {name: "back-decoder", t: top() - (k - K_BACK)};
  if (k < kSum()) { var b = k - kBackEnc(); return b < S ? {name: "back-encoder", j: S - 1 - b, dir: 0} : {name: "back-encoder", j: b - S, dir: 1}; }
  return {name: "summary"};
}
function encFwd(j, dir) { return st.k >= K_ENC + (dir === 0 ? j : 2 * S - 1 - j); }
function decFwd(t) { return st.k >= K_DEC + t; }
function decBwd(t) { return t <= top() && st.k >= K_BACK + top() - t; }
function encBwd(j, dir) { return st.k >= kBackEnc() + (dir === 0 ? S - 1 - j : S + j); }
function encDone(j) { return encBwd(j, DIRS - 1); }                 // ∂L/∂e(j) complete: its bars
// What reaches e(j) from the chosen term: reach[path][t][j] (J: reach_J[path][j]), the vectors
function reach(path, j) { return st.term < 0 ? d.reach_J[path][j] : d.reach[path][st.term][j]; }
function reachKey(path) { return st.term < 0 ? ["reach_J." + path, []] : ["reach." + path, [st.term]]; }
function reachMax() {
  var m = 0;
  ["attention", "final", "total"].forEach(function (p) { for (var j = 0; j < S; j++) if (isFinite(reach(p, j))) m = Math.max(m, reach(p, j)); });
  return m;
}
function barHeight(v, max) {
  if (!(v > 0) || !(max > 0)) return 0;
  if (!st.log) return v / max * BAR_H;
  return Math.max(0, (Math.log10(v) - Math.log10(max) + DECADES) / DECADES) * BAR_H;
}
function termName() { return st.term < 0 ? "J" : nm("L", st.term); }

// ---- the network (SVG) ------------------------------------------------------------------------
var CW = 84, LEFT = 118, BW = 70, BH = 34;
var Y_OUT = 30, Y_DEC = 70, Y_IN = Y_DEC + BH + 16, Y_ENC = Y_IN + 150, Y_ENC2 = Y_ENC + BH + 12;
function encY(dir) { return dir === 0 ? Y_ENC : Y_ENC2; }
var Y_SRC = Y_ENC + DIRS * (BH + 12) + 6, Y_BARS = Y_SRC + 16, HEIGHT = Y_BARS + BAR_H + 34;
function colX(i) { return LEFT + i * CW; }
function strip(x, y, v, shown) {        // a state as K tinted cells inside its node
  if (!shown) return "";
  var w = (BW - 10) / v.length, m = maxAbs(v), s = "";
  for (var i = 0; i < v.length; i++) s += '<rect x="' + (x + 5 + i * w).toFixed(2) + '" y="' + (y + BH - 13) + '" width="' + Math.max(w - 0.5, 0.4).toFixed(2) + '" height="9" fill="' + tint(v[i], m) + '"/>';
  return s;
}
function node(x, y, label, cls, attrs, v, shown) {
  return '<g ' + attrs + '><rect class="node ' + cls + '" x="' + x + '" y="' + y + '" width="' + BW + '" height="' + BH + '" rx="6"/>' +
         '<text x="' + (x + 6) + '" y="' + (y + 14) + '">' + label + "</text>" + strip(x, y, v, shown) + "</g>";
}
function netSVG() {
  var p = phase(st.k), W = LEFT + Math.max(S, T) * CW + 20, s = '<svg id="s2s-svg" width="' + W + '" height="' + HEIGHT + '" viewBox="0 0 ' + W + " " + HEIGHT + '">';
  var cur = p.t !== undefined ? p.t : null, back = p.name.indexOf("back") === 0;
  if (cur !== null) s += '<rect class="colbg' + (back ? " bwd" : "") + '" x="' + (colX(cur) - 6) + '" y="4" width="' + (BW + 12) + '" height="' + (Y_IN + 8) + '" rx="8"/>';
  if (p.j !== undefined) s += '<rect class="colbg' + (back ? " bwd" : "") + '" x="' + (colX(p.j) - 6) + '" y="' + (Y_ENC - 8) + '" width="' + (BW + 12) + '" height="' + (Y_SRC - Y_ENC + 14) + '" rx="8"/>';
  s += '<text class="lbl" x="8" y="' + (Y_DEC - 6) + '">decoder</text><text class="lbl" x="8" y="' + (Y_ENC - 6) + '">encoder</text>';
  s += '<text class="lbl" x="8" y="' + (Y_BARS + 12) + '">‖∂' + termName() + "/∂e(j)‖</text>";
  // the final state: e(S−1) (and g(0)) → s(−1), the decoder's start (and C without attention)
  var fx = colX(S - 1) + BW / 2, fb = decBwd(0) && st.k >= K_BACK + top();
  s += '<path class="edge final' + (fb ? " bwd" : "") + '" data-edge="final" d="M' + fx + "," + Y_ENC + " C" + fx + "," + (Y_ENC - 60) + " " + (LEFT - 50) + "," + (Y_DEC + 90) + " " + (LEFT - 50) + "," + (Y_DEC + BH) + '"/>';
  if (BI) s += '<path class="edge final' + (fb ? " bwd" : "") + '" data-edge="final-g" d="M' + colX(0) + "," + (Y_ENC2 + BH / 2) + " C" + (LEFT - 40) + "," + (Y_ENC2 + BH / 2) + " " + (LEFT - 40) + "," + (Y_DEC + 90) + " " + (LEFT - 40) + "," + (Y_DEC + BH) + '"/>';
  s += node(LEFT - 86, Y_DEC, "s(−1)", "init" + (decFwd(0) ? " on" : ""), 'data-node="s0"', [], false);
  s += '<text class="lbl" x="' + (LEFT - 86) + '" y="' + (Y_DEC + BH + 14) + '">= final state</text>';
  // attention of the current decoder step: one line to each e(j), as thick as α(t, j)
  if (ATT && cur !== null && (back ? decBwd(cur) : decFwd(cur))) {
    for (var j = 0; j < S; j++) {
      var a = d.forward.alpha[cur][j];
      s += '<path class="att' + (back ? " bwd" : "") + '" data-att="' + cur + '" data-j="' + j + '" stroke-width="' + (0.4 + 7 * a).toFixed(2) +
           '" stroke-opacity="' + (0.15 + 0.85 * a).toFixed(3) + '" d="M' + (colX(cur) + BW / 2) + "," + (Y_IN - 2) + " L" + (colX(j) + BW / 2) + "," + Y_ENC + '"><title>α(' + cur + ", " + j + ") = " + esc(fmt(a)) + "</title></path>";
    }
  }
  for (var t = 0; t < T; t++) {
    var x = colX(t), on = decFwd(t), bw = decBwd(t) && st.k >= K_BACK;
    if (t > 0) s += '<path class="edge" d="M' + (x - CW + BW) + "," + (Y_DEC + BH / 2) + " L" + x + "," + (Y_DEC + BH / 2) + '"/>';
    s += node(x, Y_DEC, nm("s", t), "dec " + (bw ? "bwd" : on ? "on" : "pending"), 'data-node="dec" data-t="' + t + '"', d.forward.s[t], on);
    s += '<text class="lbl" x="' + x + '" y="' + (Y_IN + 2) + '">in ' + esc(tgt(d.tgt[t])) + "</text>";
    if (on) {
      var y = d.forward.y_hat[t], best = y.indexOf(Math.max.apply(null, y));
      s += '<text class="lbl" x="' + x + '" y="' + (Y_OUT - 12) + '">ŷ ' + esc(tgt(best)) + " · y* " + esc(tgt(d.tgt[t + 1])) + "</text>";
      s += '<text x="' + x + '" y="' + (Y_OUT + 4) + '">L = ' + num("loss_terms", [t], d.loss_terms[t], "tspan") + "</text>";
    }
  }
  for (var dir = 0; dir < DIRS; dir++) {
    for (var j2 = 0; j2 < S; j2++) {
      var ex = colX(j2), eon = encFwd(j2, dir), ebw = encBwd(j2, dir) && st.k >= kBackEnc();
      var v = d.forward.E[j2].slice(dir * H, dir * H + H);
      if (j2 > 0) s += '<path class="edge" d="M' + (ex - CW + BW) + "," + (encY(dir) + BH / 2) + " L" + ex + "," + (encY(dir) + BH / 2) + '"/>';
      s += node(ex, encY(dir), nm(BI ? (dir ? "g" : "h") : "e", j2), (ebw ? "bwd" : eon ? "on" : "pending"), 'data-node="enc" data-j="' + j2 + '" data-dir="' + dir + '"', v, eon);
    }
  }
  for (var j3 = 0; j3 < S; j3++) s += '<text x="' + (colX(j3) + 4) + '" y="' + (Y_SRC + 4) + '">x(' + j3 + ") " + esc(src(j3)) + "</text>";
  // the bars: ‖∂L/∂e(j)‖ through the attention, through the final state, and in total
  var max = reachMax(), bw3 = (BW - 8) / 3;
  ["attention", "final", "total"].forEach(function (path, i) {
    for (var j = 0; j < S; j++) {
      if (!encDone(j) || st.k < kBackEnc()) continue;
      var v = reach(path, j), h = barHeight(v, max), x = colX(j) + 2 + i * (bw3 + 2);
      s += '<rect data-bar="' + path + '" data-j="' + j + '" data-term="' + st.term + '" data-value="' + v + '" x="' + x.toFixed(2) +
           '" y="' + (Y_BARS + BAR_H - h).toFixed(3) + '" width="' + bw3.toFixed(2) + '" height="' + h.toFixed(3) + '" fill="' + COL[path] + '"><title>‖∂' +
           termName() + "/∂e(" + j + ")‖ " + {attention: "through the attention", final: "through the final state", total: "in total"}[path] + " = " + esc(fmt(v)) + "</title></rect>";
    }
  });
  s += '<path class="edge" d="M' + (LEFT - 4) + "," + (Y_BARS + BAR_H) + " L" + (LEFT + S * CW) + "," + (Y_BARS + BAR_H) + '"/>';
  return s + "</svg>";
}

// ---- the panels -------------------------------------------------------------------------------
function alphaRow(t, key) {
  var s = '<table class="t"><tr><th class="l">j</th>';
  for (var j = 0; j < S; j++) s += "<th>" + esc(src(j)) + "</th>";
  s += '</tr><tr><td class="l">α(' + t + ", j)</td>";
  for (j = 0; j < S; j++) s += "<td>" + num(key, [t, j], d.forward.alpha[t][j]) + "</td>";
  return s + "</tr></table>";
}
function distribution(t) {           // ŷ(t): the most probable ids and the target's
  var y = d.forward.y_hat[t], order = y.map(function (p, i) { return i; }).sort(function (a, b) { return y[b] - y[a]; });
  var show = order.slice(0, 4), target = d.tgt[t + 1];
  if (show.indexOf(target) < 0) show.push(target);
  var s = '<table class="t"><tr><th class="l">id</th><th>ŷ(' + t + ")</th><th>o(" + t + ")</th></tr>";
  show.forEach(function (i) {
    s += '<tr class="' + (i === target ? "tgt" : "") + '"><td class="l">' + esc(tgt(i)) + (i === target ? " = y*" : "") + "</td><td>" + num("forward.y_hat", [t, i], y[i]) + "</td><td>" + num("forward.o", [t, i], d.forward.o[t][i]) + "</td></tr>";
  });
  return s + "</table>";
}
function detailHTML(p) {
  var s = "";
  if (p.name === "start") {
    s = "<h3>The pair</h3><p>source " + esc(visibleText(d.src.filter(function (id, j) { return d.src_real[j] && id > 2; }).map(function (id) { return cfg.src_chars[id - 3]; }).join(""))) +
        " (S = " + S + " steps with the end mark), target " + esc(visibleText(d.tgt.filter(function (id) { return id > 2; }).map(function (id) { return cfg.tgt_chars[id - 3]; }).join(""))) + " (T' = " + T + " loss terms).</p>";
    s += '<p class="muted">' + esc(cfg.trained ? "The model: " + cfg.trained + "." : "") + "</p>";
  } else if (p.name === "encoder") {
    var nmE = BI ? (p.dir ? "g" : "h") : "e";
    s = "<h3>" + nm(nmE, p.j) + "</h3><div class=\"eqn\">" + nm(nmE, p.j) + " = " + cfg.cell.toUpperCase() + "(x(" + p.j + ") = " + esc(src(p.j)) + ", " +
        nm(nmE, p.dir ? p.j + 1 : p.j - 1) + ")</div>" + vec("forward.E", [p.j], d.forward.E[p.j], p.dir * H, p.dir * H + H);
    if (BI) s += '<p class="muted">e(j) = [h(j); g(j)]: entries ' + p.dir * H + ".." + (p.dir * H + H - 1) + " of forward.E.</p>";
  } else if (p.name === "decoder") {
    var t = p.t;
    s = "<h3>Decoder step " + t + "</h3><div class=\"eqn\">input y(" + t + ") = " + esc(tgt(d.tgt[t])) + "</div>";
    if (ATT) s += "<div>attention α(" + t + ", ·) = softmax over the source of score(s(" + (t - 1 < 0 ? "−1" : t - 1) + "), e(j)):</div>" + alphaRow(t, "forward.alpha");
    else s += '<div class="muted">no attention: ctx(' + t + ") = C, the encoder's final state, at every step.</div>";
    s += "<div>ctx(" + t + ")" + (ATT ? " = Σ_j α(" + t + ", j) e(j)" : "") + ":</div>" + vec("forward.ctx", [t], d.forward.ctx[t]);
    s += "<div>s(" + t + ") = " + cfg.cell.toUpperCase() + "([y(" + t + "); ctx(" + t + ")], s(" + (t ? t - 1 : "−1") + ")):</div>" + vec("forward.s", [t], d.forward.s[t]);
    s += distribution(t) + '<div class="eqn">L(' + t + ") = −log ŷ(" + t + ")[y*] = " + num("loss_terms", [t], d.loss_terms[t]) + "</div>";
  } else if (p.name === "loss") {
    s = '<h3>The loss</h3><table class="t"><tr><th class="l">t</th><th class="l">y*</th><th>L(t)</th></tr>';
    for (var t2 = 0; t2 < T; t2++) s += '<tr><td class="l">' + t2 + '</td><td class="l">' + esc(tgt(d.tgt[t2 + 1])) + "</td><td>" + num("loss_terms", [t2], d.loss_terms[t2]) + "</td></tr>";
    s += '</table><div class="eqn">J = Σ_t L(t) = ' + num("loss", [], d.loss) + "</div>";
  } else if (p.name === "back-decoder") {
    var u = p.t, one = st.term >= 0, pre = one ? ["term_errors", [st.term]] : ["errors", []];
    var es = one ? d.term_errors.s[st.term][u][L - 1] : d.errors.s[u][L - 1], ec = one ? d.term_errors.ctx[st.term][u] : d.errors.ctx[u];
    s = "<h3>∂" + termName() + "/∂s(" + u + ")</h3>";
    if (u === top() || !one) s += "<div>∂L(" + u + ")/∂o(" + u + ") = ŷ(" + u + ") − onehot(y*), of norm " + esc(fmt(norm(d.errors.o[u]))) + "</div>";
    s += "<div>‖∂" + termName() + "/∂s(" + u + ")‖ = " + esc(fmt(norm(es))) + "</div>" + vec(pre[0] + ".s", pre[1].concat([u, L - 1]), es);
    s += "<div>∂" + termName() + "/∂ctx(" + u + ")" + (ATT ? ", which enters every e(j) at once: α(" + u + ", j) of it directly as a value, the rest through the scores:" : ", which goes into C, the encoder's final state:") + "</div>" + vec(pre[0] + ".ctx", pre[1].concat([u]), ec);
    if (ATT) {
      var sc = one ? d.term_errors.score[st.term][u] : d.errors.score[u];
      s += '<table class="t"><tr><th class="l">j</th>';
      for (var j = 0; j < S; j++) s += "<th>" + esc(src(j)) + "</th>";
      s += '</tr><tr><td class="l">∂/∂score(' + u + ", j)</td>";
      for (j = 0; j < S; j++) s += "<td>" + num(pre[0] + ".score", pre[1].concat([u, j]), sc[j]) + "</td>";
      s += "</tr></table>";
    }
  } else if (p.name === "back-encoder") {
    var jj = p.j, ea = st.term < 0 ? null : d.by_term.attention[st.term][jj], ef = st.term < 0 ? null : d.by_term.final[st.term][jj];
    var part = BI ? (p.dir ? " (its g part, entries " + H + ".." + (2 * H - 1) + ")" : " (its h part, entries 0.." + (H - 1) + ")") : "";
    s = "<h3>∂" + termName() + "/∂e(" + jj + ")" + esc(part) + "</h3>";
    if (st.term < 0) s += "<div>∂J/∂e(" + jj + ") in total:</div>" + vec("errors.encoder", [jj], d.errors.encoder[jj], p.dir * H, p.dir * H + (BI ? H : K));
    else {
      s += '<div><span class="sw" style="background:' + COL.attention + '"></span>through the attention:</div>' + vec("by_term.attention", [st.term, jj], ea, p.dir * H, p.dir * H + (BI ? H : K));
      s += '<div><span class="sw" style="background:' + COL.final + '"></span>through the final state:</div>' + vec("by_term.final", [st.term, jj], ef, p.dir * H, p.dir * H + (BI ? H : K));
    }
  } else {
    s = "<h3>The update</h3><p>Every parameter gets one update θ ← θ − η ∂J/∂θ (η = " + esc(fmt(LR)) + "): the sum of what every loss term sends it. Its size, per parameter, is in the table below.</p>";
  }
  return s;
}
function reachHTML() {
  if (st.k < kBackEnc()) return "<h2>What reaches the encoder</h2><p class=\"muted\">The errors ∂" + esc(termName()) + "/∂e(j) appear as the backward pass reaches each encoder step.</p>";
  var rk = {attention: reachKey("attention"), final: reachKey("final"), total: reachKey("total")};
  var s = "<h2>‖∂" + esc(termName()) + "/∂e(j)‖, by path</h2><table class=\"t\"><tr><th class=\"l\">j</th><th class=\"l\">x(j)</th>" +
          '<th><span class="sw" style="background:' + COL.attention + '"></span>through the attention</th><th><span class="sw" style="background:' + COL.final +
          '"></span>through the final state</th><th><span class="sw" style="background:' + COL.total + '"></span>total</th></tr>';
  for (var j = S - 1; j >= 0; j--) {
    if (!encDone(j)) continue;
    s += '<tr><td class="l">' + j + '</td><td class="l">' + esc(src(j)) + "</td>";
    ["attention", "final", "total"].forEach(function (p) { s += "<td>" + num(rk[p][0], rk[p][1].concat([j]), reach(p, j)) + "</td>"; });
    s += "</tr>";
  }
  return s + "</table>";
}
function heatHTML() {
  if (!ATT) return "<h2>Attention</h2><p class=\"muted\">This model has no attention: every decoder step reads the same context C, the encoder's final state.</p>";
  var p = phase(st.k), cur = p.t !== undefined ? p.t : -1;
  var s = '<h2>Attention weights α(t, j)</h2><table class="t heat"><tr><th class="l">t \\ j</th>';
  for (var j = 0; j < S; j++) s += "<th>" + esc(src(j)) + "</th>";
  s += "</tr>";
  for (var t = 0; t < T; t++) {
    s += '<tr class="' + (t === cur ? "cur" : "") + '" data-row="' + t + '"><td class="l">' + t + " " + esc(tgt(d.tgt[t + 1])) + "</td>";
    for (j = 0; j < S; j++) {
      var a = d.forward.alpha[t][j];
      s += decFwd(t) ? '<td style="background:rgba(0,114,178,' + (0.08 + 0.8 * a).toFixed(3) + ')">' + num("forward.alpha", [t, j], a) + "</td>" : '<td class="pending"></td>';
    }
    s += "</tr>";
  }
  return s + "</table>";
}
function gradsHTML() {
  if (st.k !== kSum()) return "";
  var s = '<h2>The gradients: one update of every parameter</h2><table class="t"><tr><th class="l">θ</th><th class="l">shape</th><th>‖θ‖</th><th>‖∂J/∂θ‖</th><th>‖Δθ‖ = η ‖∂J/∂θ‖</th></tr>';
  Object.keys(d.params).forEach(function (k) {
    var q = d.params[k];
    s += '<tr><td class="l">' + esc(k) + '</td><td class="l">(' + q.shape.join(", ") + ")</td><td>" + num("params." + k + ".norm", [], q.norm) + "</td><td>" +
         num("params." + k + ".grad_norm", [], q.grad_norm) + '</td><td><span class="n" data-key="derived.update" data-name="' + esc(k) + '">' + esc(fmt(LR * q.grad_norm)) + "</span></td></tr>";
  });
  return s + "</table>";
}
var WORDS = ATT ?
  "With attention, the error of a loss term L(t) reaches every encoder state e(j) in one hop: ctx(t') = Σ_j α(t', j) e(j) reads each e(j) directly (blue bars). Its part through the final state (orange) has to cross every later encoder step first." :
  "Without attention, the error of a loss term L(t) reaches e(j) only through the final state (orange bars): it enters the encoder at its last step and must cross every later encoder step, S − 1 − j of them, to get to e(j). Attention would let it arrive at every step in one hop.";
function caption(p) {
  var enc = BI ? "The encoder reads the source in both directions: h(j) from the left, g(j) from the right; e(j) = [h(j); g(j)]." : "The encoder reads the source one character at a time.";
  switch (p.name) {
    case "start": return "One pair, forward and back. Next: the encoder reads the source.";
    case "encoder": return enc + " Step " + p.j + " reads " + src(p.j) + ".";
    case "decoder": return "Decoder step " + p.t + " reads " + tgt(d.tgt[p.t]) + (ATT ? ", looks at the source (the attention row α(" + p.t + ", ·), highlighted below), takes the context" : ", takes the context C") +
      ", updates its state and predicts the next character; the target is " + tgt(d.tgt[p.t + 1]) + ".";
    case "loss": return "J = Σ_t L(t) sums the loss terms. Choose a loss term above (or click a decoder step) to follow its error back.";
    case "back-decoder": return "Backward from " + termName() + ": the error at decoder step " + p.t + ". " + (ATT ? "Through ctx(" + p.t + ") it goes straight to every encoder step (purple lines);" : "Through ctx(" + p.t + ") = C it goes to the encoder's final state;") + " through " + nm("s", p.t - 1) + " it goes on down the decoder" + (p.t ? "." : ", into the encoder's final state.");
    case "back-encoder":
      var crossed = p.dir ? "through the backward chain's final state g(0) after crossing " + p.j + " step(s) of it" : "through the final state after crossing " + (S - 1 - p.j) + " later encoder step(s)";
      return "The encoder's step " + p.j + (BI ? (p.dir ? " (backward chain g)" : " (forward chain h)") : "") + ": ∂" + termName() + "/∂e(" + p.j + ") arrives " + (ATT ? "through the attention in one hop and " : "") + crossed + ". " + WORDS;
    default: return "The summary: ‖∂J/∂θ‖ of every parameter, and the size of the one update it makes.";
  }
}

// ---- rendering and events ---------------------------------------------------------------------
var PHASES = [["start", "Pair"], ["encoder", "Encoder"], ["decoder", "Decoder"], ["loss", "Loss J"], ["back-decoder", "Back: decoder"], ["back-encoder", "Back: encoder"], ["summary", "Gradients"]];
function render() {
  var p = phase(st.k), names = PHASES.map(function (x) { return x[0]; }), at = names.indexOf(p.name);
  root.dataset.step = st.k; root.dataset.phase = p.name; root.dataset.term = st.term; root.dataset.n = N();
  root.dataset.t = p.t === undefined ? "" : p.t; root.dataset.j = p.j === undefined ? "" : p.j;
  $("s2s-phases").innerHTML = PHASES.map(function (x, i) {
    return '<li class="' + (i < at ? "done" : i === at ? "current" : "") + (i >= 4 ? " bw" : "") + '">' + x[1] + "</li>";
  }).join("");
  $("s2s-step").textContent = "step " + st.k + " of " + (N() - 1);
  $("s2s-caption").textContent = caption(p);
  $("s2s-caption").className = "caption" + (p.name.indexOf("back") === 0 ? " bw" : "");
  $("s2s-net").innerHTML = netSVG();
  $("s2s-detail").innerHTML = detailHTML(p);
  $("s2s-reach").innerHTML = reachHTML();
  $("s2s-heat").innerHTML = heatHTML();
  $("s2s-grads").innerHTML = gradsHTML();
  $("s2s-grads").hidden = st.k !== kSum();
  $("s2s-back").disabled = st.k === 0;
  $("s2s-next").disabled = st.k === N() - 1;
}
function go(k) { st.k = Math.max(0, Math.min(N() - 1, k)); render(); }
function setTerm(term) {     // keep the phase: from the decoder's first backward step, or the same encoder step
  var p = phase(st.k), off = st.k - kBackEnc(), inSum = p.name === "summary";
  st.term = term;
  $("s2s-term").value = String(term);
  if (p.name === "back-decoder") st.k = K_BACK;
  else if (p.name === "back-encoder") st.k = kBackEnc() + off;
  else if (inSum) st.k = kSum();
  render();
}
function start() {
  var sel = $("s2s-term"), opts = '<option value="-1">J (all terms)</option>';
  for (var t = 0; t < T; t++) opts += '<option value="' + t + '">L(' + t + ") → " + esc(tgt(d.tgt[t + 1])) + (d.mask[t] ? "" : " (masked)") + "</option>";
  sel.innerHTML = opts;
  sel.value = String(st.term);
  sel.addEventListener("change", function () { setTerm(parseInt(sel.value, 10)); });
  $("s2s-log").addEventListener("change", function () { st.log = $("s2s-log").checked; render(); });
  $("s2s-next").addEventListener("click", function () { go(st.k + 1); });
  $("s2s-back").addEventListener("click", function () { go(st.k - 1); });
  $("s2s-reset").addEventListener("click", function () { go(0); });
  $("s2s-net").addEventListener("click", function (e) {
    var g = e.target.closest ? e.target.closest('[data-node="dec"]') : null;
    if (g) setTerm(parseInt(g.dataset.t, 10));
  });
  root.addEventListener("keydown", function (e) {
    if (e.target && e.target.tagName === "SELECT") return;
    if (e.key === "ArrowRight") { go(st.k + 1); e.preventDefault(); }
    else if (e.key === "ArrowLeft") { go(st.k - 1); e.preventDefault(); }
    else if (e.key === "Home") { go(0); e.preventDefault(); }
  });
  var model = cfg.cell.toUpperCase() + " encoder" + (BI ? " (bidirectional)" : "") + " and decoder, " + (ATT ? ATT + " attention" : "no attention") + ", K = " + K + (L > 1 ? ", " + L + " layers" : "") + (cfg.trained ? "; " + cfg.trained : "");
  $("s2s-summary").textContent = model + ". " + WORDS;
  $("s2s-legend").innerHTML = '<span><span class="sw" style="background:' + COL.attention + '"></span>through the attention</span><span><span class="sw" style="background:' + COL.final +
    '"></span>through the final state</span><span><span class="sw" style="background:' + COL.total + '"></span>total ‖∂' + "L/∂e(j)‖</span><span>purple: the backward pass</span>";
  render();
}
