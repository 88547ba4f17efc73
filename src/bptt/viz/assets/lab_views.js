// The lab, part 3 of 4: the views beside the explorer, drawn from the engine's numbers: the
// contribution grid (s, t) of a chosen parameter with truncation greyed and the gradient with and
// without it, the finite-difference check, the Jacobian norms, the training charts and
// predictions, and the SimpleRNN and LSTM side by side. Every text from the user or a vocabulary
// is set with textContent (el()), never parsed as markup.
var SVGNS = "http://www.w3.org/2000/svg";
function el(tag, attrs, text) {
  var e = /^(svg|rect|polyline|line|text|g|title|path)$/.test(tag) ? document.createElementNS(SVGNS, tag) : document.createElement(tag);
  Object.keys(attrs || {}).forEach(function (k) { e.setAttribute(k, attrs[k]); });
  if (text !== undefined && text !== null) e.textContent = text;
  return e;
}
function put(id, node) { var box = document.getElementById(id); box.textContent = ""; if (node) box.appendChild(node); return box; }
function fmt4(v) {
  if (v !== v) return "NaN";
  if (!isFinite(v)) return v > 0 ? "inf" : "-inf";
  if (v === 0) return "0";
  var a = Math.abs(v);
  return (a >= 1e-3 && a < 1e4) ? v.toPrecision(4) : v.toExponential(3);
}
function frob(a) { var s = 0; mapNested(a, function (v) { s += v * v; return v; }); return Math.sqrt(s); }
function entryOf(a, idx) { return idx.length === 2 ? a[idx[0]][idx[1]] : idx.length === 1 ? a[idx[0]] : a; }
function heat(v, scale) {
  if (!isFinite(v)) return "#c8ccd1";
  var r = scale > 0 ? Math.min(1, Math.abs(v) / scale) : 0, al = (0.06 + 0.7 * Math.sqrt(r)).toFixed(3);
  return v >= 0 ? "rgba(214,96,77," + al + ")" : "rgba(67,147,195," + al + ")";
}

// ---- the contribution grid -------------------------------------------------------------------
/**
 * cells[s][t]: the contribution of the loss term L(s) to the gradient of `name` through step t,
 * (∂L(s)/∂θ)^(t), from a backward pass of L(s) alone (the mask kept at step s only). Summed over s
 * it is the per-step contribution (∂J/∂θ)^(t); over t, ∂L(s)/∂θ; over both, ∂J/∂θ.
 */
function contributionCells(model, pr, name) {
  var T = pr.x.length, cells = [];
  for (var s = 0; s < T; s++) {
    var row = [];
    if (pr.mask[s][0] === 0) {
      var z = E.util.zerosLike(model.params[name]);
      for (var t = 0; t < T; t++) row.push(z);
    } else {
      var mask = pr.mask.map(function (m, u) { return [u === s ? m[0] : 0]; });
      var tr = E.trace(model, {x: pr.x, y: pr.y, mask: mask}, {by_source: false, jacobians: false});
      row = tr.per_step[name];
    }
    cells.push(row);
  }
  return cells;
}
function sumOf(list) { return list.reduce(function (acc, a) { return zip2(acc, a, function (u, v) { return u + v; }); }); }

function drawGrid(L) {
  var run = L.run, pr = run.pr, T = pr.T, name = L.view.param, idx = L.view.entry, tr = L.trace;
  var cells = contributionCells(run.model, engineProblem(pr), name), k2 = L.S.k2;
  var value = function (a) { return idx ? entryOf(a, idx) : frob(a); };
  var rowSums = cells.map(sumOf), colSums = tr.per_step[name], total = tr.grads[name];
  var scale = 0; cells.forEach(function (r) { r.forEach(function (c) { var v = Math.abs(value(c)); if (isFinite(v) && v > scale) scale = v; }); });
  var nums = T <= 12, table = el("table", {class: "lab-gridtable", "data-param": name, "aria-label": "Contribution grid of " + name});
  var head = el("tr"); head.appendChild(el("th", {}, idx ? name + "[" + idx.join(",") + "]" : "‖·‖ of " + name));
  for (var t = 0; t < T; t++) head.appendChild(el("th", {scope: "col"}, "t=" + t));
  head.appendChild(el("th", {class: "sum"}, "Σ_t = ∂L(s)/∂θ"));
  table.appendChild(head);
  for (var s = 0; s < T; s++) {
    var tr_ = el("tr", {"data-s": String(s)});
    var th = el("th", {scope: "row"}, "L(" + s + ")"); th.style.color = L.colour(s); tr_.appendChild(th);
    for (t = 0; t < T; t++) {
      var v = t <= s ? value(cells[s][t]) : null, dropped = k2 !== null && t <= s - k2 && name !== "V" && name !== "c";
      var td = el("td", {"data-s": String(s), "data-t": String(t), class: (t > s ? "empty" : "") + (dropped ? " dropped" : "")},
                  v !== null && nums ? fmt4(v) : null);
      if (v !== null) { td.title = "L(" + s + ") through step " + t + ": " + fmt4(v) + (dropped ? " (dropped by k2 = " + k2 + ")" : ""); td.setAttribute("data-v", String(v)); }
      if (v !== null && !dropped) td.style.background = heat(v, scale);
      tr_.appendChild(td);
    }
    tr_.appendChild(el("td", {class: "sum", "data-row-sum": String(s)}, fmt4(value(rowSums[s]))));
    table.appendChild(tr_);
  }
  var foot = el("tr"); foot.appendChild(el("th", {class: "sum"}, "Σ_s = (∂J/∂θ)^(t)"));
  for (t = 0; t < T; t++) foot.appendChild(el("td", {class: "sum", "data-col-sum": String(t)}, fmt4(value(colSums[t]))));
  foot.appendChild(el("td", {class: "sum total", "data-total": ""}, fmt4(value(total))));
  table.appendChild(foot);
  table.addEventListener("mouseover", function (e) {
    var c = e.target.closest("[data-s]"); if (c) L.focus(Number(c.getAttribute("data-s")));
  });
  table.addEventListener("mouseleave", function () { L.focus(null); });
  put("lab-grid", table);
  drawTruncation(L, cells, idx, value);
}

/** The gradient with and without truncation, and the update the optimizer applies with it. */
function drawTruncation(L, cells, idx, value) {
  var run = L.run, name = L.view.param, k2 = L.S.k2, pr = engineProblem(run.pr);
  var full = L.trace.grads[name], cut = k2 === null ? full : E.grads(run.model, pr, {k2: k2}).grads[name];
  var g = k2 === null ? L.trace.grads : E.grads(run.model, pr, {k2: k2}).grads;
  var c = E.clip(g, L.S.clip_mode, L.S.clip_mode === "none" ? null : L.S.clip);
  var opt = E.makeOptimizer(L.S.optimizer, L.S.lr);           // the next step, on copies
  opt.t = run.opt.t; opt.m = run.opt.m && E.util.copy(run.opt.m); opt.v = run.opt.v && E.util.copy(run.opt.v);
  var after = E.util.copy(run.model.params); opt.step(after, c.grads);
  var delta = zip2(after[name], run.model.params[name], function (a, b) { return a - b; });
  var box = el("div");
  var rows = [["∂J/∂θ, full BPTT", value(full), "lab-full"], ["with k2 = " + (k2 === null ? "—" : k2) + " (Σ of the cells not greyed)", value(cut), "lab-cut"],
              ["‖∂J/∂θ‖ before clipping (all parameters)", c.norm_before, "lab-norm-before"], ["after clipping (" + L.S.clip_mode + ")", c.norm_after, "lab-norm-after"],
              ["applied update Δθ (" + L.S.optimizer + ", η = " + L.S.lr + ")", value(delta), "lab-delta"]];
  var t = el("table", {class: "lab-kv", "aria-label": "The gradient with and without truncation, the norm before and after clipping, the update"});
  rows.forEach(function (r) { var row = el("tr"); row.appendChild(el("th", {}, r[0])); row.appendChild(el("td", {id: r[2]}, fmt4(r[1]))); t.appendChild(row); });
  box.appendChild(t);
  put("lab-trunc", box);
  drawFD(L);
}
/** The chosen gradient entry: the analytic value next to a central finite difference of J. */
function fdCheck(L) {
  var run = L.run, name = L.view.param, shape = E.paramShapes(run.model.config)[name];
  var idx = L.view.entry || shape.map(function () { return 0; });
  var an = entryOf(L.trace.grads[name], idx), fd = E.finiteDifference(run.model, engineProblem(run.pr), name, idx, 1e-6);
  var rel = Math.abs(an - fd) / Math.max(1e-12, Math.abs(an) + Math.abs(fd));
  return {name: name, idx: idx, an: an, fd: fd, rel: rel,
          text: "Gradient check of ∂J/∂" + name + "[" + idx.join(",") + "]: analytic " + fmt4(an) + ", finite difference " + fmt4(fd) + " (relative difference " + rel.toExponential(1) + ")"};
}
function fdAttrs(e, f) {
  e.setAttribute("data-param", f.name); e.setAttribute("data-index", f.idx.join(","));
  e.setAttribute("data-analytic", String(f.an)); e.setAttribute("data-fd", String(f.fd));
  return e;
}
function drawFD(L) { var f = fdCheck(L); put("lab-fd", fdAttrs(el("p", {}, f.text), f)); }
/** The check inside the equation panel: of the entry chosen in the grid, or of the gradient entry hovered. */
function fdBlock(L) {
  var f = fdCheck(L), box = fdAttrs(el("div", {class: "lab-fdcheck"}), f);
  box.appendChild(el("p", {class: "eqn"}, "∂J/∂" + f.name + "[" + f.idx.join(",") + "] ≈ (J(θ + ε) − J(θ − ε)) / 2ε,  ε = 1e-6"));
  box.appendChild(el("p", {}, "analytic (BPTT) " + fmt4(f.an) + " · finite difference " + fmt4(f.fd) + " · relative difference " + f.rel.toExponential(1)));
  box.appendChild(el("p", {class: "muted"}, "The entry chosen in the contribution grid; hover a gradient entry below to check that one."));
  return box;
}

// ---- Jacobian norms -----------------------------------------------------------------------------
function drawJacobians(L, force) {
  var run = L.run, T = run.pr.T, H = run.model.config.hidden_size, box = put("lab-jac", null);
  if (!force && T * T * H * H > 150000) {
    var b = el("button", {type: "button", id: "lab-jac-go"}, "compute ‖∂h(s)/∂h(t)‖ (T = " + T + ", H = " + H + ": a moment)");
    b.addEventListener("click", function () { drawJacobians(L, true); });
    box.appendChild(b); return;
  }
  var tr = E.trace(run.model, engineProblem(run.pr), {by_source: false});
  var grids = [["‖∂h(s)/∂h(t)‖" + (run.model.config.kind === "lstm" ? " (hidden path)" : ""), tr.jacobian_norms]];
  if (tr.jacobian_norms_c) grids.push(["‖∂c(s)/∂c(t)‖ (cell path)", tr.jacobian_norms_c]);
  grids.forEach(function (g) {
    var table = el("table", {class: "lab-gridtable jac", "aria-label": g[0], "data-jac": g === grids[0] ? "h" : "c"}), head = el("tr");
    head.appendChild(el("th", {}, g[0]));
    for (var t = 0; t < T; t++) head.appendChild(el("th", {}, "t=" + t));
    table.appendChild(head);
    for (var s = 0; s < T; s++) {
      var row = el("tr"); row.appendChild(el("th", {}, "s=" + s));
      for (t = 0; t < T; t++) {
        var v = g[1][s][t][0], td = el("td", {"data-s": String(s), "data-t": String(t)}, t <= s && T <= 10 ? fmt4(v) : null);
        if (t <= s) {
          td.setAttribute("data-v", String(v));
          var lv = Math.max(-4, Math.min(2, Math.log10(v))), u = (lv + 4) / 6;   // 1e-4 .. 1e2
          td.style.background = "hsl(" + Math.round(230 - 200 * u) + ",70%," + Math.round(92 - 40 * u) + "%)";
          td.title = g[0].replace("(s)", "(" + s + ")").replace("(t)", "(" + t + ")") + " = " + fmt4(v);
        } else td.className = "empty";
        row.appendChild(td);
      }
      table.appendChild(row);
    }
    box.appendChild(table);
  });
}

// ---- charts -----------------------------------------------------------------------------------
function lineChart(id, title, ys, colour, log) {
  var last = ys.length ? fmt4(ys[ys.length - 1]) : "none", w = 300, h = 130, pad = 28;
  var svg = el("svg", {width: w, height: h, viewBox: "0 0 " + w + " " + h, role: "img",
                       "aria-label": title + " over " + ys.length + " points" + (ys.length ? ": first " + fmt4(ys[0]) + ", last " + last : "")});
  var every = Math.ceil(ys.length / 1000), at = [];                    // at most ~1000 points drawn
  for (var k = 0; k < ys.length; k += every) at.push(k);
  if (ys.length && at[at.length - 1] !== ys.length - 1) at.push(ys.length - 1);
  svg.setAttribute("data-index", at.join(",")); svg.setAttribute("data-ys", at.map(function (k) { return String(ys[k]); }).join(","));
  svg.appendChild(el("text", {x: pad, y: 12, class: "lab-ct"}, title + (ys.length ? ": " + fmt4(ys[ys.length - 1]) : "")));
  var f = function (v) { return log ? Math.log10(Math.max(v, 1e-12)) : v; }, vals = ys.map(f).filter(isFinite);
  if (vals.length) {
    var lo = Math.min.apply(null, vals), hi = Math.max.apply(null, vals); if (hi === lo) { hi += 1; lo -= 1; }
    var n = Math.max(ys.length - 1, 1), pts = at.map(function (i) {
      return (pad + (w - pad - 6) * i / n).toFixed(1) + "," + (h - 16 - (h - 36) * (f(ys[i]) - lo) / (hi - lo)).toFixed(1);
    });
    svg.appendChild(el("polyline", {points: pts.join(" "), fill: "none", stroke: colour, "stroke-width": 1.6}));
    svg.appendChild(el("text", {x: 2, y: 26, class: "lab-ax"}, fmt4(log ? Math.pow(10, hi) : hi)));
    svg.appendChild(el("text", {x: 2, y: h - 16, class: "lab-ax"}, fmt4(log ? Math.pow(10, lo) : lo)));
    svg.appendChild(el("text", {x: w - 70, y: h - 3, class: "lab-ax"}, ys.length + " updates"));
  }
  put(id, svg);
}
function barChart(title, vals, colour, label, log) {
  var w = 300, h = 130, svg = el("svg", {width: w, height: h, viewBox: "0 0 " + w + " " + h, role: "img",
    "aria-label": title + ": " + vals.map(function (v, t) { return label(t) + " = " + fmt4(v); }).join("; ")});
  svg.appendChild(el("text", {x: 4, y: 12, class: "lab-ct"}, title));
  var f = function (v) { return log ? Math.max(0, Math.log10(Math.max(v, 1e-300)) + 8) : v; };
  var max = Math.max.apply(null, vals.map(f).filter(isFinite).concat([1e-300])), bw = (w - 8) / Math.max(vals.length, 1);
  vals.forEach(function (v, t) {
    var bh = isFinite(f(v)) ? (h - 34) * f(v) / max : 0;
    var r = el("rect", {x: (4 + t * bw).toFixed(1), y: (h - 16 - bh).toFixed(1), width: Math.max(1, bw - 2).toFixed(1), height: bh.toFixed(1), fill: colour, "data-t": String(t), "data-v": String(v)});
    r.appendChild(el("title", {}, label(t) + " = " + fmt4(v)));
    svg.appendChild(r);
  });
  svg.appendChild(el("text", {x: 4, y: h - 3, class: "lab-ax"}, "t = 0 … " + (vals.length - 1) + (log ? "  (log scale, 1e-8 and below: no bar)" : "")));
  return svg;
}
function drawTraining(L, tr) {
  var run = L.run;
  lineChart("lab-loss-curve", "loss J", run.history.losses.length ? run.history.losses.concat([tr.loss]) : [tr.loss], "#0072B2", false);
  lineChart("lab-gnorm-curve", "‖∂J/∂θ‖", run.gnorms, "#D55E00", true);
  var dh = tr.errors.h.map(function (r) { return frob(r[0]); });
  put("lab-dh", barChart("‖∂J/∂h(t)‖ per step", dh, "#a21caf", function (t) { return "‖∂J/∂h(" + t + ")‖"; }, false));
  var n = run.clipped.length;
  document.getElementById("lab-clipnorm").textContent = n ? "last update: ‖∂J/∂θ‖ " + fmt4(run.gnorms[n - 1]) + " before clipping, " + fmt4(run.clipped[n - 1]) + " after (" + L.S.clip_mode + ")" : "no update yet";
  var pr = run.pr, box = el("div"), T = pr.T;
  box.appendChild(el("span", {class: "muted"}, "predictions ŷ(t) → target: "));
  for (var t = 0; t < T; t++) {
    var yh = tr.forward.y_hat[t][0], item = el("span", {class: "lab-p", "data-t": String(t)}), good;
    if (pr.output === "softmax") {
      var best = 0; yh.forEach(function (p, i) { if (p > yh[best]) best = i; });
      good = best === pr.y[t][0];
      item.appendChild(el("bdi", {}, visibleChar(pr.vocab[best])));
      item.appendChild(document.createTextNode("→"));
      item.appendChild(el("bdi", {}, visibleChar(pr.vocab[pr.y[t][0]])));
    } else {
      good = Math.abs(yh[0] - pr.y[t][0][0]) < 0.1;
      item.textContent = fmt4(yh[0]) + "→" + fmt4(pr.y[t][0][0]);
    }
    item.className += good ? " ok" : " miss";
    box.appendChild(item);
  }
  put("lab-pred", box);
}

// ---- SimpleRNN and LSTM side by side ------------------------------------------------------------
/**
 * ‖∂L(s)/∂h(t)‖ along the SimpleRNN's tanh · W chain and ‖∂L(s)/∂c(t)‖ along the LSTM's cell path
 * (and its hidden path), for the loss term s hovered (else the last with a loss): the errors of a
 * backward pass of L(s) alone, which are errors_by_source[·][s]. Each side is the lab's own model
 * where it is of that kind, else a fresh one from the same seed trained in lockstep (side by side).
 */
function drawCompare(L) {
  var run = L.run, S = L.S, pr = run.pr, T = pr.T, box = put("lab-compare", null), s = L.focusS;
  if (s === null || s === undefined) { s = T - 1; while (s > 0 && pr.mask[s][0] === 0) s--; }
  var mask = pr.mask.map(function (m, u) { return [u === s ? m[0] : 0]; }), one = {x: pr.x, y: pr.y, mask: mask}, errs = {};
  ["rnn", "lstm"].forEach(function (k) {
    var side = compareSide(run, S, k);
    errs[k] = {n: side.history.losses.length, own: side.own, e: E.trace(side.model, one, {by_source: false, jacobians: false}).errors,
               name: k === "rnn" ? "SimpleRNN (" + side.model.config.activation + ")" : "LSTM"};
  });
  var note = S.side_by_side ? "" : " — untrained: side by side is off";
  [["rnn", "h", ": ‖∂L(" + s + ")/∂h(t)‖"], ["lstm", "c", ": ‖∂L(" + s + ")/∂c(t)‖ (cell path)"], ["lstm", "h", ": ‖∂L(" + s + ")/∂y(t)‖ (hidden path)"]].forEach(function (v) {
    var e = errs[v[0]], vals = e.e[v[1]].map(function (r) { return frob(r[0]); });
    var fig = el("div", {class: "lab-chart", "data-compare": v[0] + "." + v[1], "data-s": String(s), "data-updates": String(e.n)});
    fig.appendChild(barChart(e.name + v[2], vals, L.colour(s), function (t) { return "t = " + t; }, true));
    fig.appendChild(el("p", {class: "muted"}, (e.own ? "the lab's model, " : "") + "after " + e.n + " updates" + (e.own ? "" : note)));
    box.appendChild(fig);
  });
}
