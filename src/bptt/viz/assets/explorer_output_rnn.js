// The explorer's OutputRNN part (with explorer.js): output recurrence (Goodfellow et al. §10.2.1,
// figs. 10.4 and 10.6), whose only recurrence runs from the output of step t−1 into step t:
//   a(t) = b + W f(t−1) + U x(t),  h(t) = tanh(a(t)),  o(t) = c + V h(t),  ŷ(t) = f(o(t))
// with f(t−1), the fed-back output, by config.mode: the true target y(t−1) (teacher forcing: a
// constant, so no error crosses a time step and the flow map is diagonal), the model's own ŷ(t−1)
// (free running with feedback "probs": BPTT runs through it, a full lower triangle), or per step
// and sequence one of them (scheduled sampling). An argmax or sampled one-hot is a constant too.
//
// One column per step, bottom to top: x(t); f(t−1), what step t reads, with the fed-back edge
// from the column before (dashed where no error can flow back along it); a(t), h(t), o(t), ŷ(t)
// with the target, L(t). Steps as the one-directional explorers: forward, J, BPTT, gradients.
var OUTNAME = "o", MODE = cfg.mode, FEED = cfg.feedback;
var SC = {
  x: TOK ? 1 : maxAbs(d.x), a: maxAbs(d.forward.a), h: 1, o: maxAbs(d.forward.o), f: SOFT ? 1 : maxAbs(d.forward.fed),
  yhat: SOFT ? 1 : maxAbs(d.forward.y_hat, d.y), ea: maxAbs(d.errors.a), eh: maxAbs(d.errors.h), eo: maxAbs(d.errors.o),
  ef: maxAbs(d.errors.f, d.dh0)
};
function through(t, b) { return t >= 0 && d.forward.through[t][b] === 1; }   // f(t) = ŷ(t), differentiable
function ownOut(t, b) { return t >= 0 && d.forward.use_model[t][b] === 1; }    // f(t) is the model's own
function fedName(t, b) {        // what f(t) is, in words for the node's label
  if (!ownOut(t, b)) return "y(" + t + ")";
  if (!SOFT || FEED === "probs") return "ŷ(" + t + ")";
  return (FEED === "argmax" ? "onehot(argmax ŷ(" : "onehot(sample ŷ(") + t + "))";
}
function fname(t) { return nm("f", t - 1); }
function lossErr(t, b) {        // the loss term's own ∂L(t)/∂o(t) = w (ŷ − onehot(y)), or w (o − y)
  var w = d.mask[t][b] / B, yh = d.forward.y_hat[t][b];
  return yh.map(function (v, i) { return w * (SOFT ? v - (i === d.y[t][b] ? 1 : 0) : d.forward.o[t][b][i] - d.y[t][b][i]); });
}
function fbBack(df, t, b) {     // J_f(o(t))ᵀ ∂·/∂f(t), where f(t) = ŷ(t) was fed back (else 0)
  if (!through(t, b)) return df.map(function () { return 0; });
  if (!SOFT) return df.slice();
  var yh = d.forward.y_hat[t][b], dot = 0;
  for (var i = 0; i < yh.length; i++) dot += df[i] * yh[i];
  return yh.map(function (v, i) { return v * (df[i] - dot); });
}
function srcErr(key, t, b) { return d.errors_by_source[key][st.src][t][b]; }
function srcF(t, b) {           // ∂L(s)/∂f(t−1) = Wᵀ ∂L(s)/∂a(t)
  return mtv(d.params.W, srcErr("a", t, b));
}
function srcO(t, b) {           // ∂L(s)/∂o(t): own (t = s) + through the feedback (from step t+1)
  var fb = t + 1 < T ? fbBack(srcF(t + 1, b), t, b) : d.errors.o[t][b].map(function () { return 0; });
  return t === st.src ? add(lossErr(t, b), fb) : fb;
}

// ---- the unfolded network (SVG) -------------------------------------------------------------
var CW = 66, CG = 10, PAD = 5, LBL = 17, GAPV = 30, LEFT = 14, TOP = 30;
var BOXW = 2 * PAD + 2 * CW + CG, MID = BOXW / 2, CWID = BOXW, COLW = BOXW + 64;
var ROWS = [{kind: "L", n: 1}, {kind: "yhat", n: O}, {kind: "o", n: O, bar: true}, {kind: "h", n: H, bar: true},
            {kind: "a", n: H, bar: true}, {kind: "f", n: O}, {kind: "x", n: TOK ? 1 : DIN}];
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
var SVGW = colX(T - 1) + BOXW + LEFT;

function errOf(kind, t, b) {    // [values, attrs] of the error shown in a node: of J, or of the followed L(s)
  var o = {t: t, b: b};
  if (st.src === null) {
    if (kind === "f") return t === 0 ? [d.dh0[b], A("dh0", {b: b})] : [d.errors.f[t - 1][b], A("errors.f", {t: t - 1, b: b})];
    return [d.errors[kind][t][b], A("errors." + kind, o)];
  }
  if (kind === "a" || kind === "h") return [srcErr(kind, t, b), A("errors_by_source." + kind, {s: st.src, t: t, b: b})];
  return [kind === "f" ? srcF(t, b) : srcO(t, b), A("derived.src_" + kind, o)];
}
function nodeSVG(kind, t) {
  var r = R[kind], x = colX(t), b = st.b, s = nodeOpen(kind, t, x, r), vx = x + PAD, ex = x + PAD + CW + CG;
  var who = st.src === null ? "∂J/∂" : "∂L(" + st.src + ")/∂";
  if (kind === "a" || kind === "h" || kind === "o" || kind === "f") {
    var name = kind === "f" ? fname(t) + " = " + (t === 0 ? "y0" : fedName(t - 1, b)) : nm(kind, t), e = errOf(kind, t, b);
    s += '<text class="nlabel" x="' + vx + '" y="' + (r.y + 12) + '">' + name + "</text>";
    if (bwd(t)) s += '<text class="elabel" x="' + ex + '" y="' + (kind === "f" ? r.boxY + r.boxH + 15 : r.y + 12) + '">' + who + (kind === "f" ? fname(t) : nm(kind, t)) + "</text>";
    var vals = kind === "f" ? d.forward.fed[t][b] : d.forward[kind][t][b], vkey = kind === "f" ? "forward.fed" : "forward." + kind;
    s += cellsSVG(vx, r, vals, fwd(t), A(vkey, {t: t, b: b}), SC[kind]);
    s += cellsSVG(ex, r, e[0], bwd(t), e[1], SC["e" + kind], "err");
    if (bwd(t) && kind !== "f" && (kind !== "o" || st.src === null)) s += barSVG(x, r, kind, t, b);
  } else if (kind === "yhat") {
    s += targetSVG(x, r, t, b, "y");
  } else if (kind === "L") {
    s += lossSVG(x, r, t, b);
    if (st.src === t) s += '<rect class="follow" x="' + (x - 3) + '" y="' + (r.boxY - 3) + '" width="' + (BOXW + 6) + '" height="' + (r.boxH + 6) + '" rx="8"/>';
  } else if (kind === "x") {
    s += inputSVG(x, r, t, b);
  }
  return s + "</g>";
}
function activeEdges() {
  var p = phase(st.k), on = {}, t = p.t;
  if (p.name === "forward" && t >= 0) ["U", "W", "g", "V", "f", "L", "fb"].forEach(function (e) { on[e + ":" + t] = "fwd"; });
  if (p.name === "backward") {
    ["L", "f", "V", "g", "W"].forEach(function (e) { on[e + ":" + t] = "bwd"; });
    if (t + 1 < T && through(t, st.b)) on["fb:" + (t + 1)] = "bwd";          // the error coming back from step t+1
  }
  return on;
}
function edgesSVG(t, on) {
  var x0 = colX(t), cx = x0 + MID, s = "", b = st.b;
  var up = [["a", "h", "g", "tanh"], ["h", "o", "V", "V"], ["o", "yhat", "f", cfg.output], ["yhat", "L", "L", "loss"]];
  up.forEach(function (e) {
    var lo = R[e[0]], hi = R[e[1]];
    s += edgeSVG(e[2] + ":" + t, "M" + cx + "," + lo.boxY + " L" + cx + "," + (hi.bottom + 1), cx + 6, (hi.bottom + lo.y) / 2 + 5, e[3], on[e[2] + ":" + t]);
  });
  var fx = x0 + MID + 30, ux = x0 + 20, uy = R.x.y - 4, lx = x0 - 7, ay = R.a.bottom + 10;
  s += edgeSVG("U:" + t, "M" + ux + "," + R.x.boxY + " L" + ux + "," + uy + " L" + lx + "," + uy + " L" + lx + "," + ay + " L" + ux + "," + ay +
               " L" + ux + "," + (R.a.bottom + 1), lx + 4, R.f.y - 2, "U", on["U:" + t]);    // x(t) → a(t), round f(t−1)
  // f(t−1) → a(t) (W)
  s += edgeSVG("W:" + t, "M" + fx + "," + R.f.boxY + " L" + fx + "," + (R.a.bottom + 1), fx + 6, (R.a.bottom + R.f.y) / 2 + 5, "W", on["W:" + t]);
  if (t === 0) return s;
  // the fed-back output: from column t−1's ŷ (own output) or target (teacher), down the gap into f(t−1)
  var px = colX(t - 1), own = ownOut(t - 1, b), sx = own ? px + PAD + CW / 2 : px + PAD + CW + CG + CW / 2, yr = R.yhat;
  var gx = x0 - 18, fy = R.f.boxY + R.f.boxH / 2, lbl = own ? fedName(t - 1, b) : "y(" + (t - 1) + ")";
  s += edgeSVG("fb:" + t, "M" + sx + "," + (yr.boxY + yr.boxH) + " L" + sx + "," + (yr.boxY + yr.boxH + 8) + " L" + gx + "," + (yr.boxY + yr.boxH + 8) +
               " L" + gx + "," + fy + " L" + (x0 - 1) + "," + fy, gx - 18, R.h.y - 6, "", on["fb:" + t], through(t - 1, b) ? "" : "fed");
  return s + '<text class="elbl" x="' + (gx - 3) + '" y="' + (fy - 8) + '" style="text-anchor:end">' + esc(lbl) + "</text>";
}
function svg() {
  var on = activeEdges(), s = svgOpen(SVGW, SVGH), t;
  for (t = 0; t < T; t++) s += edgesSVG(t, on);
  for (t = 0; t < T; t++) ROWS.forEach(function (r) { s += nodeSVG(r.kind, t); });
  s += jSVG(colX(-1), R.L);
  return s + "</svg>" + flowHTML();
}

// ---- the flow map: ‖∂L(s)/∂a(t)‖ of sequence b --------------------------------------------------
function flowHTML() {
  if (!NORMS.a) return "";
  var lo = Infinity, hi = 0, b = st.b, s = '<div class="flows"><p class="muted">' +
    (MODE === "teacher" ? "Teacher forcing: f(t−1) = y(t−1) is a constant, so no error crosses a time step — only the diagonal is filled, and the steps could be computed in parallel."
     : MODE === "free" && FEED === "probs" ? "Free running: the error of L(s) reaches every step t ≤ s through the fed-back ŷ(s−1), ŷ(s−2), …: a full lower triangle."
     : "Errors cross a step only where ŷ(t−1) itself was fed back; targets and one-hot choices are constants.") +
    " (Click a row to follow that L(s); blank: exactly 0.)</p>";
  NORMS.a.forEach(function (row) { row.forEach(function (c) { var v = c[b]; if (v > 0 && isFinite(v)) { lo = Math.min(lo, v); hi = Math.max(hi, v); } }); });
  s += '<figure class="flowmap" data-flowmap="a"><table><tr><th></th>';
  for (var t = 0; t < T; t++) s += "<th>" + t + "</th>";
  s += "</tr>";
  for (var q = 0; q < T; q++) {
    s += '<tr class="' + (st.src === q ? "sel" : "") + '"><th>L(' + q + ")</th>";
    for (t = 0; t < T; t++) {
      var v = NORMS.a[q][t][b], shown = bwd(t), cls = !shown ? "pending" : v > 0 ? "" : "zero";
      s += '<td class="' + cls + '" data-flow="a" data-s="' + q + '" data-t="' + t + '"' + (shown && v > 0 ? ' style="background:' + flowColour(v, lo, hi) + '"' : "") +
           ' title="' + (shown ? esc("‖∂L(" + q + ")/∂a(" + t + ")‖ = " + fmt(v)) : "not yet computed") + '"></td>';
    }
    s += "</tr>";
  }
  return s + "</table><figcaption>‖∂L(s)/∂a(t)‖, loss term s down, step t across</figcaption></figure></div>";
}
function flowColour(v, lo, hi) {
  var u = hi > lo ? (Math.log(v) - Math.log(lo)) / (Math.log(hi) - Math.log(lo)) : 1;
  u = Math.max(0, Math.min(1, u)) * (VIRIDIS.length - 1);
  var i = Math.min(VIRIDIS.length - 2, Math.floor(u)), f = u - i;
  function ch(c, k) { return parseInt(c.substr(1 + 2 * k, 2), 16); }
  return "rgb(" + [0, 1, 2].map(function (k) { return Math.round(ch(VIRIDIS[i], k) * (1 - f) + ch(VIRIDIS[i + 1], k) * f); }).join(",") + ")";
}
$("bptt-net").addEventListener("click", function (e) {     // before explorer.js's handler renders
  var cell = e.target.closest ? e.target.closest("[data-flow]") : null;
  if (!cell) return;
  var q = +cell.getAttribute("data-s");
  st.src = st.src === q ? null : q;
  $("bptt-source").value = st.src === null ? "" : String(st.src);
});

// ---- the equation panel -----------------------------------------------------------------------
function Ux(t, b) { return TOK ? colOf(d.params.U, d.x[t][b]) : mv(d.params.U, d.x[t][b]); }
function fedDetail(t, b) {
  var o = {t: t, b: b}, n = fname(t), s = "<h3>Fed-back output " + n + "</h3>", src = t === 0 ? null : fedName(t - 1, b);
  s += eqn(n + " = " + (t === 0 ? "y0 (given)" : src)) + '<p class="muted">' + (t === 0 ? "The start: f(−1) = y0." : ownOut(t - 1, b) ?
       (through(t - 1, b) ? "The model's own output of step " + (t - 1) + ": differentiable, so the error ∂J/∂" + n + " goes back into o(" + (t - 1) + ")." :
        "A one-hot choice from ŷ(" + (t - 1) + "): piecewise constant, so no error goes back through it.") :
       "The true target of step " + (t - 1) + " (teacher forcing): a constant, so the error stops here — no error crosses from step " + t + " to step " + (t - 1) + ".") + "</p>";
  s += eqTable([col(n, d.forward.fed[t][b], A("forward.fed", o))]);
  if (bwd(t)) {
    var e = errOf("f", t, b), who = st.src === null ? "∂J/∂" : "∂L(" + st.src + ")/∂";
    s += eqn(who + n + " = Wᵀ " + who + nm("a", t), true) + eqTable([col(who + n, e[0], e[1])]);
  }
  return s;
}
function detailHTML(sel) {
  if (!sel) return '<h3>Equations</h3><p class="muted">Hover over or click a node to see its value and equation; choose a <b>loss term</b> above to follow one L(s).</p>' +
    eqn("a(t) = b + W f(t−1) + U x(t)") + eqn("h(t) = tanh(a(t))") + eqn("o(t) = c + V h(t)") + eqn("ŷ(t) = " + FNAME + "(o(t))") +
    eqn("f(t) = " + (MODE === "teacher" ? "y(t)  (teacher forcing)" : MODE === "free" ? (FEED === "probs" || !SOFT ? "ŷ(t)" : "onehot(" + FEED + " of ŷ(t))") + "  (free running)" : "ŷ(t) or y(t) per step  (scheduled sampling)")) +
    eqn("J = Σ<sub>t</sub> L(t)") + eqn("∂J/∂h(t) = Vᵀ ∂J/∂o(t)  (no hidden-to-hidden path)", true) + eqn("∂J/∂f(t−1) = Wᵀ ∂J/∂a(t)", true);
  var kind = sel.kind, t = sel.t, b = st.b, o = {t: t, b: b}, w = d.mask[t][b] / B, s = "", wait = '<p class="muted">Its numbers appear when the forward pass reaches t = ' + t + ".</p>";
  var who = st.src === null ? "∂J/∂" : "∂L(" + st.src + ")/∂";
  if (kind === "a") {
    s += "<h3>Pre-activation " + nm("a", t) + "</h3>" + eqn(nm("a", t) + " = b + W " + fname(t) + " + U x(" + t + ")");
    if (!fwd(t)) return s + wait;
    s += eqTable([col(nm("a", t), d.forward.a[t][b], A("forward.a", o)), "=", col("b", d.params.b, A("params.b", {})), "+",
                  col("W " + fname(t), mv(d.params.W, d.forward.fed[t][b]), A("derived.Wf", o)), "+", col("U x(" + t + ")", Ux(t, b), A("derived.Ux", o))]);
    if (bwd(t)) {
      var ea = errOf("a", t, b), eh = errOf("h", t, b);
      s += eqn(who + nm("a", t) + " = (1 − h(" + t + ")²) ⊙ " + who + nm("h", t), true) +
        eqTable([col(who + nm("a", t), ea[0], ea[1]), "=", col("1 − h²", d.forward.h[t][b].map(function (h) { return 1 - h * h; }), A("derived.gprime", o)), "⊙", col(who + nm("h", t), eh[0], eh[1])]) +
        sharesTable("a", t, b);
    }
  } else if (kind === "h") {
    s += "<h3>Hidden layer " + nm("h", t) + "</h3>" + eqn(nm("h", t) + " = tanh(" + nm("a", t) + ")");
    if (!fwd(t)) return s + wait;
    s += eqTable([col(nm("h", t), d.forward.h[t][b], A("forward.h", o)), "= tanh", col(nm("a", t), d.forward.a[t][b], A("forward.a", o))]);
    if (bwd(t)) {
      var e1 = errOf("h", t, b), e2 = errOf("o", t, b);
      s += eqn(who + nm("h", t) + " = Vᵀ " + who + nm("o", t) + "   (no Wᵀ ∂J/∂a(" + (t + 1) + "): the recurrence runs through the output)", true) +
        eqTable([col(who + nm("h", t), e1[0], e1[1]), "=", col("Vᵀ " + who + nm("o", t), mtv(d.params.V, e2[0]), A("derived.VTdo", o))]) + sharesTable("h", t, b);
    }
  } else if (kind === "o") {
    s += "<h3>Output " + nm("o", t) + "</h3>" + eqn(nm("o", t) + " = c + V h(" + t + ")");
    if (!fwd(t)) return s + wait;
    s += eqTable([col(nm("o", t), d.forward.o[t][b], A("forward.o", o)), "=", col("c", d.params.c, A("params.c", {})), "+", col("V h(" + t + ")", mv(d.params.V, d.forward.h[t][b]), A("derived.Vh", o))]);
    if (bwd(t)) {
      var eo = errOf("o", t, b), own = st.src === null || st.src === t ? lossErr(t, b) : lossErr(t, b).map(function () { return 0; });
      var df = st.src === null ? (t + 1 < T ? d.errors.f[t][b] : null) : (t + 1 < T ? srcF(t + 1, b) : null), fb = df ? fbBack(df, t, b) : own.map(function () { return 0; });
      s += eqn(who + nm("o", t) + " = " + (st.src === null || st.src === t ? (w === 1 ? "" : "w · (") + (SOFT ? "ŷ(" + t + ") − onehot(y(" + t + "))" : "o(" + t + ") − y(" + t + ")") + (w === 1 ? "" : ")") : "0") +
               " + J<sub>f</sub>ᵀ " + who + "f(" + t + ")", true);
      s += eqTable([col(who + nm("o", t), eo[0], eo[1]), "=", col("own loss", own, A("derived.own", o)), "+", col("through f(" + t + ")", fb, A("derived.fb", o))]);
      s += '<p class="muted">' + (t === T - 1 ? "No step reads f(" + t + ")." : through(t, b) ? "f(" + t + ") = ŷ(" + t + ") was fed back, so step " + (t + 1) + "'s error comes back through the softmax's Jacobian." :
           "f(" + t + ") is " + (ownOut(t, b) ? "a one-hot choice" : "the target y(" + t + ")") + ", a constant: nothing comes back from step " + (t + 1) + ".") + "</p>";
    }
  } else if (kind === "f") {
    s += fedDetail(t, b);
  } else if (kind === "yhat") {
    s += outputDetail("yhat", t, b, w, "h", "y");
  } else if (kind === "L") {
    s += lossDetail(t, b, w, "y");
  } else if (kind === "x") {
    s += inputDetail(t, b, "U x(" + t + ") enters a(" + t + ").");
  }
  return s;
}

// ---- captions and the gradient formulas ---------------------------------------------------------
var MODENAME = {teacher: "teacher forcing", free: "free running", scheduled: "scheduled sampling"}[MODE];
function orCaption(p) {
  var t = p.t, b = st.b;
  if (p.name === "forward" && t < 0) return "<b>Start (" + MODENAME + ").</b> The only recurrence runs from the output of step t−1 into step t: a(t) = b + W f(t−1) + U x(t), from f(−1) = y0. Press <b>Next</b> (or →).";
  if (p.name === "forward") return "<b>Forward, t = " + t + ":</b> a(" + t + ") = b + W f(" + (t - 1) + ") + U x(" + t + ") with f(" + (t - 1) + ") = " + (t === 0 ? "y0" : fedName(t - 1, b)) +
    "; h(" + t + ") = tanh(a(" + t + ")); o(" + t + ") = c + V h(" + t + "); ŷ(" + t + ") = " + FNAME + "(o(" + t + ")); L(" + t + ").";
  var cross = t > 0 && through(t - 1, b);
  return "<b>Backward, t = " + t + ":</b> ∂J/∂o(" + t + ") = the loss's own error" + (t + 1 < T && through(t, b) ? " + J<sub>f</sub>ᵀ ∂J/∂f(" + t + ") from step " + (t + 1) : "") + "; ∂J/∂h(" + t + ") = Vᵀ ∂J/∂o(" + t + ")" +
    "; ∂J/∂a(" + t + ") = (1 − h(" + t + ")²) ⊙ ∂J/∂h(" + t + "); ∂J/∂f(" + (t - 1) + ") = Wᵀ ∂J/∂a(" + t + ")" +
    (t === 0 ? " = ∂J/∂y0." : cross ? ", which goes on into o(" + (t - 1) + ") through the fed-back ŷ(" + (t - 1) + ")." : ", which stops there: f(" + (t - 1) + ") is a constant, so no error crosses into step " + (t - 1) + ".");
}
var MODEL = {
  params: ["U", "W", "b", "V", "c"], defaultParam: "W",
  pf: {U: "∂J/∂a(t) x(t)ᵀ", W: "∂J/∂a(t) f(t−1)ᵀ", b: "∂J/∂a(t)", V: "∂J/∂o(t) h(t)ᵀ", c: "∂J/∂o(t)"},
  paramLabel: function (p) { return p; },
  axis: function (p) {
    return {cols: (p === "U" && TOK && LAB ? ids(DIN) : p === "W" && SOFT && LAB ? ids(O) : null),
            rows: (p === "V" || p === "c") && SOFT && LAB ? ids(O) : null};
  },
  colX: colX, body: svg, detail: detailHTML, caption: orCaption, follow: true,
  summary: "OutputRNN (" + MODENAME + (MODE !== "teacher" ? ", feedback " + FEED : "") + ") · D = " + DIN + (TOK ? " (token ids)" : "") + " · H = " + H + " · O = " + O +
    " · f = " + FNAME + " with " + cfg.loss + " · T = " + T + " · B = " + B + " · η = " + LR,
  legend: '<span><span class="sw" style="background:none;border:2px dashed #b5bec8"></span>fed back as a constant (no error flows back)</span>' +
          '<span><span class="sw" style="background:none;border:2px solid #d55e00"></span>followed loss term</span>'
};
