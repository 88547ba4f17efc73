// The lab, part 2 of 4: the state and what follows from it. The whole state S is a few plain
// values (the text, the model's options, the loss, truncation, clipping, the optimizer and the
// number of updates taken); the model, the problem and the trace are recomputed from it, so that
// the URL fragment (which holds S) reopens the same view: the updates are replayed, and they are
// deterministic. The options of bpttLab.set are checked here, with messages naming the option,
// the expectation and the value.
var OPTIONS = ["text", "task", "kind", "activation", "peepholes", "reset", "hidden", "seed", "rho",
               "mask", "k2", "clip_mode", "clip", "optimizer", "lr", "init", "side_by_side"];
var MODEL_KEYS = ["task", "kind", "activation", "peepholes", "reset", "hidden", "seed", "rho"];
var TASKS = ["next", "many-to-one", "series"];

function bad(name, expected, value) {
  var shown = typeof value === "string" ? JSON.stringify(value) : Array.isArray(value) ? "[" + value.join(", ") + "]" : String(value);
  throw new Error("bpttLab.set: " + name + " must be " + expected + "; got " + shown);
}
function choice(v, name, list) { if (list.indexOf(v) < 0) bad(name, "one of " + list.map(function (s) { return JSON.stringify(s); }).join(", "), v); }
function integer(v, name, lo, hi) { if (typeof v !== "number" || !Number.isInteger(v) || v < lo || v > hi) bad(name, "an integer in [" + lo + ", " + hi + "]", v); }
function positive(v, name, hi) { if (typeof v !== "number" || !isFinite(v) || v <= 0 || v > hi) bad(name, "a finite number > 0 and <= " + hi, v); }

/** The state after applying options to S (S is not changed); throws on unknown options or bad values. */
function applyOptions(S, options, embedded) {
  if (!options || typeof options !== "object" || Array.isArray(options)) bad("the options", "an object", options);
  Object.keys(options).forEach(function (k) {
    if (OPTIONS.indexOf(k) < 0) throw new Error("bpttLab.set: unknown option " + JSON.stringify(k) + "; the options are " + OPTIONS.join(", "));
  });
  var N = Object.assign({}, S, options), o = options;
  choice(N.task, "task", TASKS);
  if (typeof N.text !== "string") bad("text", "a string", N.text);
  if (N.task === "series") {
    var v = parseSeries(N.text);
    if (!v || v.length > MAX_SERIES) bad("text", "2 to " + MAX_SERIES + " numbers separated by commas or spaces (task \"series\")", N.text);
  } else {
    var n = charsOf(N.text).length;
    if (n < 2 || n > MAX_CHARS) bad("text", "2 to " + MAX_CHARS + " characters", N.text);
  }
  choice(N.kind, "kind", E.KINDS);
  choice(N.activation, "activation", E.ACTIVATIONS);
  if (typeof N.peepholes !== "boolean") bad("peepholes", "true or false", N.peepholes);
  choice(N.reset, "reset", E.RESETS);
  integer(N.hidden, "hidden", 1, 32);
  integer(N.seed, "seed", 0, 4294967295);
  if (N.rho !== null) positive(N.rho, "rho", 10);
  if (N.k2 !== null) integer(N.k2, "k2", 1, 100);
  choice(N.clip_mode, "clip_mode", E.CLIP_MODES);
  if (N.clip !== null) positive(N.clip, "clip", 1e6);
  if (N.clip_mode !== "none" && N.clip === null) N.clip = 1;
  choice(N.optimizer, "optimizer", E.OPTIMIZERS);
  positive(N.lr, "lr", 1000);
  choice(N.init, "init", embedded ? ["model", "seed"] : ["seed"]);
  if (typeof N.side_by_side !== "boolean") bad("side_by_side", "true or false", N.side_by_side);
  // a change of the model or of the characters outside its vocabulary: a fresh model from the seed
  var modelChange = MODEL_KEYS.some(function (k) { return k in o && JSON.stringify(o[k]) !== JSON.stringify(S[k]); });
  if (!("init" in o) && N.init === "model" && (modelChange || N.task === "series" ||
      charsOf(N.text).some(function (c) { return embedded.vocab.indexOf(c) < 0; }))) N.init = "seed";
  if (N.init === "model" && N.task === "series") bad("init", "\"seed\" for a numeric series (the embedded model reads characters)", N.init);
  if (N.init === "model" && "init" in o) {
    var e = embedded.state;                               // the embedded model's own options
    MODEL_KEYS.forEach(function (k) { if (k !== "task" && k !== "seed") N[k] = e[k]; });
    if (charsOf(N.text).some(function (c) { return embedded.vocab.indexOf(c) < 0; })) bad("text", "characters of the embedded model's vocabulary with init \"model\"", N.text);
  }
  var T = N.task === "series" ? parseSeries(N.text).length - 1 : charsOf(N.text).length - 1;
  if (Array.isArray(N.mask)) {
    if (!("mask" in o) && N.mask.length !== T) N.mask = "all";     // a new text: every step again
    else if (N.mask.length !== T || N.mask.some(function (m) { return m !== 0 && m !== 1; })) bad("mask", "\"all\", \"last\" or an array of T = " + T + " zeros and ones", N.mask);
  } else choice(N.mask, "mask", ["all", "last"]);
  return N;
}

/** The initial model of a state: the embedded one, or a fresh one from the seed. */
function initialModel(S, pr, embedded) {
  if (S.init === "model") return {config: Object.assign({}, embedded.config), params: E.util.copy(embedded.params)};
  return E.createModel({kind: S.kind, activation: S.activation, peepholes: S.peepholes, reset: S.reset,
    input_size: pr.D, hidden_size: S.hidden, output_size: pr.O, output: pr.output, seed: S.seed, rho: S.rho});
}

/**
 * A run: the model at its initial parameters, with the optimizer and history to train it, and
 * (side by side) cmp = {rnn, lstm}: the SimpleRNN (tanh) and the LSTM of the comparison, fresh from
 * the same seed on the same problem, trained in lockstep with the same optimizer settings; null
 * where the lab's own model is of that kind (the comparison then shows the lab's model).
 */
function newRun(S, embedded) {
  var pr = problemOf(S, embedded), model = initialModel(S, pr, embedded);
  return {pr: pr, model: model, opt: E.makeOptimizer(S.optimizer, S.lr), history: E.newHistory(model),
          gnorms: [], clipped: [], cmp: {rnn: S.kind === "rnn" ? null : companion(S, pr, "rnn"),
                                         lstm: S.kind === "lstm" ? null : companion(S, pr, "lstm")}};
}
function companion(S, pr, kind) {
  var m = E.createModel({kind: kind, activation: "tanh", peepholes: S.peepholes, input_size: pr.D, hidden_size: S.hidden,
                         output_size: pr.O, output: pr.output, seed: S.seed, rho: S.rho});
  return {model: m, opt: E.makeOptimizer(S.optimizer, S.lr), history: E.newHistory(m)};
}
function trainOptions(S, opt) {
  return {optimizer: opt, clip_mode: S.clip_mode, clip: S.clip_mode === "none" ? null : S.clip, k2: S.k2};
}
/** The comparison's model of a kind: the lab's own, or the companion (fresh, untrained, when side by side is off). */
function compareSide(run, S, kind) {
  if (S.kind === kind) return {model: run.model, history: run.history, own: true};
  return S.side_by_side ? run.cmp[kind] : companion(S, run.pr, kind);
}
/**
 * n updates, as bpttEngine.train does each one (the loss and gradient at the current parameters,
 * full or truncated at k2 → clip → the optimizer's step), keeping also the gradient norm before
 * and after clipping for the charts. Returns the losses; a non-finite loss or norm stops early.
 */
function trainRun(run, S, n) {
  var losses = [], pr = engineProblem(run.pr);
  for (var i = 0; i < n; i++) {
    var r = E.grads(run.model, pr, {k2: S.k2});
    var c = E.clip(r.grads, S.clip_mode, S.clip_mode === "none" ? null : S.clip);
    if (!isFinite(r.loss) || !isFinite(c.norm_before)) break;
    run.opt.step(run.model.params, c.grads);
    losses.push(r.loss);
    run.history.losses.push(r.loss);
    run.gnorms.push(c.norm_before);
    run.clipped.push(c.norm_after);
    if (S.side_by_side) ["rnn", "lstm"].forEach(function (k) {     // the comparison, in lockstep
      var m = run.cmp[k];
      if (m && m.history.losses.length === run.history.losses.length - 1) E.train(m.model, pr, trainOptions(S, m.opt), 1, m.history);
    });
  }
  return losses;
}
function exportRun(run, S, side) {
  var m = side ? compareSide(run, S, side) : run;
  return E.exportLab(m.model, engineProblem(run.pr), Object.assign(trainOptions(S, E.makeOptimizer(S.optimizer, S.lr)),
    {text: S.text, vocab: run.pr.vocab}), m.history);
}

// ---- the URL fragment: the state, the updates taken, and a lesson's visible controls ----------
var URL_KEYS = {text: "text", task: "task", kind: "kind", activation: "act", peepholes: "peep", reset: "reset",
  hidden: "H", seed: "seed", rho: "rho", mask: "mask", k2: "k2", clip_mode: "clipmode", clip: "clip",
  optimizer: "opt", lr: "lr", init: "init", side_by_side: "sbs"};
function toFragment(S, steps, lesson) {
  var q = new URLSearchParams();
  if (lesson) { q.set("lesson", lesson.title); q.set("show", lesson.show.join(",")); }
  Object.keys(URL_KEYS).forEach(function (k) {
    var v = S[k];
    q.set(URL_KEYS[k], v === null ? "" : typeof v === "boolean" ? (v ? "1" : "0") : Array.isArray(v) ? v.join("") : String(v));
  });
  q.set("steps", String(steps));
  return "#" + q.toString();
}
/** {options, steps, lesson} of a fragment (values parsed; set() checks them). */
function fromFragment(hash) {
  var q = new URLSearchParams(String(hash).replace(/^#/, "")), o = {}, num = ["hidden", "seed", "rho", "k2", "clip", "lr"];
  Object.keys(URL_KEYS).forEach(function (k) {
    if (!q.has(URL_KEYS[k])) return;
    var v = q.get(URL_KEYS[k]);
    if (num.indexOf(k) >= 0) o[k] = v === "" ? null : Number(v);
    else if (k === "peepholes" || k === "side_by_side") o[k] = v === "1";
    else if (k === "mask") o[k] = v === "all" || v === "last" ? v : v.split("").map(Number);
    else o[k] = v;
  });
  var steps = q.has("steps") ? Number(q.get("steps")) : 0;
  if (!Number.isInteger(steps) || steps < 0 || steps > 100000) throw new Error("the link's steps must be an integer in [0, 100000]; got " + JSON.stringify(q.get("steps")));
  var lesson = q.has("lesson") || q.has("show") ? {title: q.get("lesson") || "", show: (q.get("show") || "").split(",").filter(Boolean)} : null;
  return {options: o, steps: steps, lesson: lesson};
}

// ---- CSV of one array ---------------------------------------------------------------------------
/** Rows of "index…,value" for every number of a nested array, with a header. */
function csvOf(name, a) {
  var rows = [], depth = 0, p = a;
  while (Array.isArray(p)) { depth++; p = p[0]; }
  (function walk(v, idx) {
    if (Array.isArray(v)) v.forEach(function (w, i) { walk(w, idx.concat([i])); });
    else rows.push(idx.concat([typeof v === "number" ? String(v) : JSON.stringify(v)]).join(","));
  })(a, []);
  var head = []; for (var i = 0; i < depth; i++) head.push("i" + i);
  return head.concat([name.replace(/[^\w.]/g, "_")]).join(",") + "\n" + rows.join("\n") + "\n";
}
