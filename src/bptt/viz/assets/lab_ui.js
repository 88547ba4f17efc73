// The lab, part 4 of 4: the controls, the drawing (the explorer rebuilt for every change, the
// views at most ~10 times a second while training), live training, the URL fragment, export,
// lessons, and window.bpttLab:
//   bpttLab.set(options)  {text, task, kind, activation, peepholes, reset, hidden, seed, rho,
//                          mask: "all" | "last" | [0/1 per step], k2, clip_mode, clip, optimizer,
//                          lr, init: "model" | "seed"} → recompute (replaying the updates taken);
//                          unknown options or bad values throw an Error naming the option
//   bpttLab.train(n)      n updates, synchronously → their losses
//   bpttLab.export()      the experiment for bptt.load_lab_export (bpttEngine.exportLab)
//   bpttLab.state()       {options, steps, T, loss, vocab}; payload(), trace(): what is drawn
//                          side_by_side: the SimpleRNN and LSTM of the comparison trained in lockstep
//   bpttLab.compareExport(kind)  the comparison's "rnn" or "lstm" model as an export (its history)
//   bpttLab.link(), lessonLink(title, show), csv(name), play(), pause()
var $l = function (id) { return document.getElementById(id); };
var RAW0 = JSON.parse($l("bptt-trace").textContent), SET = JSON.parse($l("bptt-lab").textContent);
var C0 = RAW0.config, TEMPLATE = $l("bptt-root").cloneNode(true);
var EMB = SET.embedded ? {
  config: {kind: C0.kind, activation: C0.activation, peepholes: !!C0.peepholes, reset: C0.reset || "after", forget_bias: 0,
           input_size: C0.input_size, hidden_size: C0.hidden_size, output_size: C0.output_size, output: "softmax", seed: 0, rho: null},
  params: RAW0.params, vocab: C0.labels,
  state: {kind: C0.kind, activation: C0.activation, peepholes: !!C0.peepholes, reset: C0.reset || "after", hidden: C0.hidden_size, rho: null}
} : null;
var S = {text: SET.text && charsOf(SET.text).length >= 2 && charsOf(SET.text).length <= MAX_CHARS ? SET.text : "hello",
  task: "next", kind: C0.kind, activation: C0.activation || "tanh", peepholes: !!C0.peepholes, reset: C0.reset || "after",
  hidden: Math.min(32, C0.hidden_size), seed: 0, rho: null, mask: "all", k2: null, clip_mode: "none", clip: null,
  optimizer: "sgd", lr: C0.lr > 0 ? C0.lr : 0.1, init: EMB ? "model" : "seed", side_by_side: false};
var L = {S: S, run: null, trace: null, view: {param: null, entry: null}, focusS: null, playing: false,
         colour: function (s) { return XP ? XP.srcColour(s) : "#555"; }, focus: focus};
var XP = null, lesson = null, lastDraw = 0, written = "";

// ---- computing and drawing ------------------------------------------------------------------
function recompute(steps) {
  L.run = newRun(S, EMB);
  if (steps) trainRun(L.run, S, steps);
}
function title() { return "BPTT lab: " + MODEL_NAMES[S.kind] + " reading " + visibleText(S.text); }
var HOOKS = {detail: function (box, node) { if (node) box.appendChild(fdBlock(L)); }};
function showExplorer(payload) {
  var keep = XP ? {k: XP.st.k, param: XP.st.param, kind: XP.kind, hover: XP.st.hover, pinned: XP.st.pinned} : null;
  var active = document.activeElement && $l("bptt-root").contains(document.activeElement) ? document.activeElement.id : null;
  if (XP) XP.stop();
  var old = $l("bptt-root"), fresh = TEMPLATE.cloneNode(true);
  old.parentNode.replaceChild(fresh, old);
  XP = startExplorer(payload);
  $l("bptt-title").textContent = payload.config.title;
  if (keep && keep.kind === XP.kind) {
    if (payload.params[keep.param]) XP.st.param = keep.param;
    XP.st.hover = keep.hover; XP.st.pinned = keep.pinned;
  }
  if (keep) XP.go(keep.k);
  if (active && $l(active)) $l(active).focus();                  // the keyboard stays where it was
  fresh.setAttribute("data-lab-steps", String(L.run.history.losses.length));
}
function startExplorer(payload) {
  var xp = explorerFactory(payload.config.kind)(payload, HOOKS);
  xp.kind = payload.config.kind;
  $l("bptt-grads").addEventListener("mouseover", function (e) {    // a gradient entry: its check
    var c = e.target.closest("[data-key][data-i]"), k = c && c.getAttribute("data-key").split(".");
    if (!c || !L.run || !(k[1] in L.run.model.params)) return;
    var idx = [c.getAttribute("data-i"), c.getAttribute("data-j")].filter(function (v) { return v !== null; }).map(Number);
    var same = L.view.param === k[1] && L.view.entry && L.view.entry.join() === idx.join(), box = $l("bptt-detail"), old = box.querySelector(".lab-fdcheck");
    if (same && old) return;
    if (!same) { L.view.param = k[1]; L.view.entry = idx; fillParamSelect(Object.keys(L.run.model.params)); drawGrid(L); }
    if (old) old.remove();
    box.appendChild(fdBlock(L));
  });
  return xp;
}
function currentTrace(full) {
  return E.trace(L.run.model, engineProblem(L.run.pr), {by_source: full, jacobians: false});
}
/** Everything: the explorer anew, the grid, the Jacobians, the charts, the comparison. */
function drawAll() {
  var tr = currentTrace(true);
  L.trace = tr;
  L.payload = explorerPayload(L.run.model, L.run.pr, tr, S.lr, title());
  showExplorer(L.payload);
  syncControls();
  var names = Object.keys(L.run.model.params);
  if (names.indexOf(L.view.param) < 0) { L.view.param = XP.st.param in L.run.model.params ? XP.st.param : names[0]; L.view.entry = null; }
  fillParamSelect(names);
  drawGrid(L); drawJacobians(L, false); drawTraining(L, tr); drawCompare(L);
  writeURL();
  lastDraw = performance.now();
}
/** While training: the unfolded network, the charts, the predictions and the comparison, from a
 *  trace without the O(T²) parts (the error bars by loss term, the grid and the Jacobians follow
 *  at the pause). */
function drawLight() {
  var tr = currentTrace(false);
  L.trace = tr;
  L.payload = explorerPayload(L.run.model, L.run.pr, tr, S.lr, title());
  showExplorer(L.payload);
  drawTraining(L, tr); drawCompare(L);
  $l("lab-steps-done").textContent = L.run.history.losses.length + " updates";
  writeURL();
  lastDraw = performance.now();
}
function focus(s) {                  // one loss term's path back: its bars alone, its row, its flow
  if (s !== null && XP && s !== L.focusS && XP.st.k < 2 * XP.T + 1) XP.go(2 * XP.T + 1);   // the errors drawn
  L.focusS = s;
  var segs = document.querySelectorAll("#bptt-net .seg");
  for (var i = 0; i < segs.length; i++) segs[i].classList.toggle("dim", s !== null && segs[i].getAttribute("data-s") !== String(s));
  var rows = document.querySelectorAll("#lab-grid tr[data-s]");
  for (i = 0; i < rows.length; i++) rows[i].classList.toggle("focus", rows[i].getAttribute("data-s") === String(s));
  if (s !== null && L.run) drawCompare(L);
}
function writeURL() {
  var f = toFragment(S, L.run.history.losses.length, lesson);
  $l("lab-link").setAttribute("href", f);
  if (f !== written && location.hash !== f) {
    written = f;
    try { history.replaceState(null, "", f); } catch (e) { /* a sandboxed frame */ }
  }
}

// ---- the public API --------------------------------------------------------------------------
function set(options) {
  var N = applyOptions(S, options, EMB), steps = L.run ? L.run.history.losses.length : 0;
  Object.keys(N).forEach(function (k) { S[k] = N[k]; });
  recompute(steps);
  drawAll();
  return state();
}
function train(n) {
  if (typeof n !== "number" || !Number.isInteger(n) || n < 0 || n > 1000000) throw new Error("bpttLab.train: n must be an integer in [0, 1000000]; got " + String(n));
  var losses = trainRun(L.run, S, n);
  drawAll();
  return losses;
}
function state() {
  return {options: JSON.parse(JSON.stringify(S)), steps: L.run.history.losses.length, T: L.run.pr.T,
          loss: L.trace ? L.trace.loss : null, vocab: L.run.pr.vocab, playing: L.playing};
}
function csv(name) {
  var ex = exportRun(L.run, S), parts = String(name).split("."), a = ex;
  parts.forEach(function (p) { a = a === undefined || a === null ? undefined : a[p]; });
  if (a === undefined || typeof a === "string") throw new Error("bpttLab.csv: name must be an array of the export such as \"params.W\" or \"grads.W\"; got " + JSON.stringify(name));
  return csvOf(name, a);
}

// ---- live training: updates in slices of ~30 ms, drawing at most every 100 ms ---------------------
function tick() {
  if (!L.playing) return;
  var t0 = performance.now(), before = L.run.history.losses.length;
  while (performance.now() - t0 < 30) {
    if (trainRun(L.run, S, 1).length === 0) { pause(); $l("lab-error").textContent = "Training stopped: the loss or gradient is not finite."; break; }
  }
  if (performance.now() - lastDraw >= 100 || !L.playing) drawLight();
  if (L.playing) setTimeout(tick, 0);
  return L.run.history.losses.length - before;
}
function play() { if (!L.playing) { L.playing = true; $l("lab-play").textContent = "⏸ Pause"; $l("lab-play").setAttribute("aria-label", "Pause training"); setTimeout(tick, 0); } }
function pause() {
  if (!L.playing) return;
  L.playing = false;
  $l("lab-play").textContent = "▶ Play"; $l("lab-play").setAttribute("aria-label", "Play: train continuously");
  drawAll();
}

// ---- the controls ----------------------------------------------------------------------------
function syncControls() {
  $l("lab-task").value = S.task;
  if (document.activeElement !== $l("lab-text")) $l("lab-text").value = S.text;
  $l("lab-kind").value = S.kind; $l("lab-activation").value = S.activation; $l("lab-peepholes").checked = S.peepholes;
  $l("lab-reset").value = S.reset; $l("lab-hidden").value = S.hidden; $l("lab-seed").value = S.seed;
  $l("lab-rho").value = S.rho === null ? "" : S.rho; $l("lab-k2").value = S.k2 === null ? "" : S.k2;
  $l("lab-mask").value = Array.isArray(S.mask) ? "steps" : S.mask; $l("lab-mask").disabled = S.task === "many-to-one";
  $l("lab-clip-mode").value = S.clip_mode; $l("lab-clip").value = S.clip === null ? "" : S.clip; $l("lab-clip").disabled = S.clip_mode === "none";
  $l("lab-optimizer").value = S.optimizer; $l("lab-lr").value = S.lr; $l("lab-sbs").checked = S.side_by_side;
  $l("lab-activation").disabled = S.kind !== "rnn"; $l("lab-peepholes").disabled = S.kind !== "lstm"; $l("lab-reset").disabled = S.kind !== "gru";
  $l("lab-steps-done").textContent = L.run.history.losses.length + " updates";
  var v = $l("lab-vocab"), pr = L.run.pr;
  v.textContent = "";
  v.appendChild(document.createTextNode(pr.vocab ? "vocabulary (" + pr.vocab.length + "): " : "T = " + pr.T + " values "));
  (pr.vocab || []).forEach(function (c) { v.appendChild(el("bdi", {class: "lab-char"}, c === " " ? "␣" : visibleChar(c))); });
  v.appendChild(document.createTextNode(S.init === "model" ? " · the model given to the page" : " · a fresh model (seed " + S.seed + ")"));
  var ms = $l("lab-mask-steps"), mask = pr.mask;
  ms.textContent = "";
  ms.hidden = !Array.isArray(S.mask);
  mask.forEach(function (m, t) {
    var b = el("button", {type: "button", "data-t": String(t), "aria-pressed": m[0] ? "true" : "false", "aria-label": "Loss at step " + t}, String(t));
    ms.appendChild(b);
  });
  var sel = $l("lab-csv-array"), want = ["params", "grads", "history.params0"].reduce(function (acc, p) {
    return acc.concat(Object.keys(L.run.model.params).map(function (k) { return p + "." + k; }));
  }, ["x", "y", "mask", "h0", "history.losses"]);
  if (sel.options.length !== want.length || sel.options[5].value !== want[5]) {
    var cur = sel.value; sel.textContent = "";
    want.forEach(function (w) { sel.appendChild(el("option", {value: w}, w)); });
    if (want.indexOf(cur) >= 0) sel.value = cur;
  }
}
function fillParamSelect(names) {
  var sel = $l("lab-grid-param");
  if (Array.from(sel.options).map(function (o) { return o.value; }).join() !== names.join()) {
    sel.textContent = ""; names.forEach(function (n) { sel.appendChild(el("option", {value: n}, n)); });
  }
  sel.value = L.view.param;
  var shape = E.paramShapes(L.run.model.config)[L.view.param], en = $l("lab-grid-entry"), opts = [["norm", "the norm"]];
  if (shape.length === 2) for (var i = 0; i < shape[0]; i++) for (var j = 0; j < shape[1]; j++) opts.push([i + "," + j, "entry [" + i + "," + j + "]"]);
  if (shape.length === 1) for (i = 0; i < shape[0]; i++) opts.push([String(i), "entry [" + i + "]"]);
  en.textContent = ""; opts.forEach(function (o) { en.appendChild(el("option", {value: o[0]}, o[1])); });
  en.value = L.view.entry ? L.view.entry.join(",") : "norm";
}
function guarded(f) {
  return function (e) {
    try { $l("lab-error").textContent = ""; f(e); }
    catch (err) { $l("lab-error").textContent = String(err.message || err); }
  };
}
function num(id) { var v = $l(id).value.trim(); return v === "" ? null : Number(v); }
/** A field's "change" fires on blur, which a press elsewhere causes: redrawing then would replace
 *  the explorer under the pointer and lose the click that is under way. While a pointer is down,
 *  the changes wait until it is released (and the click it makes has run). */
var pressed = false, waiting = [];
document.addEventListener("pointerdown", function () { pressed = true; }, true);
document.addEventListener("pointerup", function () {
  pressed = false;
  var now = waiting; waiting = [];
  if (now.length) setTimeout(function () { now.forEach(function (f) { f(); }); }, 0);
}, true);
function wire() {
  var on = function (id, ev, f) {
    var g = guarded(f);
    $l(id).addEventListener(ev, ev !== "change" ? g : function (e) {
      if (pressed) waiting.push(function () { g(e); }); else g(e);
    });
  };
  on("lab-text", "input", function () { set({text: $l("lab-text").value}); });
  on("lab-task", "change", function () {
    var t = $l("lab-task").value, o = {task: t};
    if (t === "series" && !parseSeries(S.text)) o.text = DEFAULT_SERIES;
    if (t !== "series" && S.task === "series") o.text = "hello";
    set(o);
  });
  on("lab-kind", "change", function () { set({kind: $l("lab-kind").value}); });
  on("lab-activation", "change", function () { set({activation: $l("lab-activation").value}); });
  on("lab-peepholes", "change", function () { set({peepholes: $l("lab-peepholes").checked}); });
  on("lab-reset", "change", function () { set({reset: $l("lab-reset").value}); });
  on("lab-hidden", "change", function () { set({hidden: num("lab-hidden")}); });
  on("lab-seed", "change", function () { set({seed: num("lab-seed")}); });
  on("lab-rho", "change", function () { set({rho: num("lab-rho")}); });
  on("lab-k2", "change", function () { set({k2: num("lab-k2")}); });
  on("lab-mask", "change", function () {
    var m = $l("lab-mask").value;
    set({mask: m === "steps" ? L.run.pr.mask.map(function (r) { return r[0] ? 1 : 0; }) : m});
  });
  on("lab-mask-steps", "click", function (e) {
    var b = e.target.closest("[data-t]"); if (!b) return;
    var m = L.run.pr.mask.map(function (r) { return r[0] ? 1 : 0; }), t = Number(b.getAttribute("data-t"));
    m[t] = 1 - m[t]; set({mask: m});
    var again = document.querySelector('#lab-mask-steps [data-t="' + t + '"]'); if (again) again.focus();
  });
  on("lab-clip-mode", "change", function () { set({clip_mode: $l("lab-clip-mode").value}); });
  on("lab-clip", "change", function () { set({clip: num("lab-clip")}); });
  on("lab-optimizer", "change", function () { set({optimizer: $l("lab-optimizer").value}); });
  on("lab-lr", "change", function () { set({lr: num("lab-lr")}); });
  on("lab-sbs", "change", function () { set({side_by_side: $l("lab-sbs").checked}); });
  on("lab-play", "click", function () { if (L.playing) pause(); else play(); });
  on("lab-step", "click", function () { train(1); });
  on("lab-restart", "click", function () { pause(); recompute(0); drawAll(); });
  on("lab-grid-param", "change", function () { L.view.param = $l("lab-grid-param").value; L.view.entry = null; fillParamSelect(Object.keys(L.run.model.params)); drawGrid(L); });
  on("lab-grid-entry", "change", function () { var v = $l("lab-grid-entry").value; L.view.entry = v === "norm" ? null : v.split(",").map(Number); drawGrid(L); });
  on("lab-export", "click", function () { download("lab-export", JSON.stringify(exportRun(L.run, S)), "application/json"); });
  on("lab-csv", "click", function () { download("lab-csv", csv($l("lab-csv-array").value), "text/csv"); });
  window.addEventListener("hashchange", guarded(function () { if (location.hash !== written) fromURL(); }));
}
function download(id, text, type) {
  var a = $l(id), old = a.getAttribute("href");
  if (old && old.indexOf("blob:") === 0) URL.revokeObjectURL(old);
  a.setAttribute("href", URL.createObjectURL(new Blob([text], {type: type})));   // the click then saves it
}
function fromURL() {
  var f = fromFragment(location.hash);
  lesson = f.lesson;
  var N = applyOptions(S, f.options, EMB);
  Object.keys(N).forEach(function (k) { S[k] = N[k]; });
  recompute(f.steps);
  applyLesson();
  drawAll();
}
function applyLesson() {
  var box = $l("lab-lesson");
  if (!lesson) { box.hidden = true; return; }
  $l("lab-panel").open = true;
  box.hidden = false; box.textContent = lesson.title;
  var ctl = document.querySelectorAll("#lab-form [data-control]");
  for (var i = 0; i < ctl.length; i++) ctl[i].hidden = lesson.show.indexOf(ctl[i].getAttribute("data-control")) < 0;
  var fs = document.querySelectorAll("#lab-form fieldset");
  for (i = 0; i < fs.length; i++) if (!fs[i].hasAttribute("data-control")) fs[i].hidden = fs[i].querySelector("[data-control]:not([hidden])") === null;
}

// ---- start -----------------------------------------------------------------------------------
window.bpttLab = {
  set: set, train: train, export: function () { return exportRun(L.run, S); }, state: state, csv: csv,
  compareExport: function (kind) {
    if (kind !== "rnn" && kind !== "lstm") throw new Error("bpttLab.compareExport: kind must be \"rnn\" or \"lstm\"; got " + JSON.stringify(kind));
    return exportRun(L.run, S, kind);
  },
  payload: function () { return L.payload; }, trace: function () { return currentTrace(true); },
  link: function () { return toFragment(S, L.run.history.losses.length, lesson); },
  lessonLink: function (t, show) { return toFragment(S, L.run.history.losses.length, {title: String(t), show: show}); },
  play: play, pause: pause, focus: focus, engine: E
};
wire();
try {
  if (location.hash.length > 1) fromURL();
  else {
    recompute(0);                                // the embedded trace, drawn as it came
    XP = startExplorer(RAW0); $l("bptt-root").setAttribute("data-lab-steps", "0");
    L.trace = currentTrace(true); L.payload = EMB ? explorerPayload(L.run.model, L.run.pr, L.trace, S.lr, C0.title) : RAW0;
    syncControls();
    var names0 = Object.keys(L.run.model.params);
    L.view.param = names0.indexOf(XP.st.param) >= 0 ? XP.st.param : names0[0]; fillParamSelect(names0);
    drawGrid(L); drawJacobians(L, false); drawTraining(L, L.trace); drawCompare(L);
    $l("lab-link").setAttribute("href", toFragment(S, 0, null));
    if (!EMB) $l("lab-note").textContent = "The explorer shows the page's own model; the lab cannot run it (" + SET.reason + "), so the views below and every change use a fresh model of the lab's own.";
  }
} catch (err) {
  $l("lab-error").textContent = "The link could not be opened: " + String(err.message || err);
  if (!L.run) { S.init = EMB ? "model" : "seed"; recompute(0); }
  drawAll();
}
document.documentElement.setAttribute("data-lab-ready", "1");
