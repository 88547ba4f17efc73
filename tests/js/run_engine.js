// A driver for tests/viz/test_lab_engine.py: reads one JSON request on stdin, runs the lab engine
// (src/bptt/viz/assets/lab_engine.js) on each case, prints one JSON answer on stdout.
//
// request: {"cases": [{"config": {...createModel config},
//                      "problem": {"x", "y", "mask", "h0"},
//                      "k2": null | int,                      truncated grads(model, problem, {k2})
//                      "train": null | {"optimizer", "lr", "clip_mode", "clip", "k2", "n"},
//                      "export": null | {"text", "vocab"}}]}   export after training
// answer:  {"results": [{"params0", "trace", "truncated", "losses", "params", "export"}
//                       | {"error": message}]}
// NaN (the trace's jacobian_norms above the diagonal) comes out as null.
"use strict";
const path = require("path");
const E = require(path.join(__dirname, "..", "..", "src", "bptt", "viz", "assets", "lab_engine.js"));

function run(c) {
  const model = E.createModel(c.config);
  const out = {params0: JSON.parse(JSON.stringify(model.params))};
  out.trace = E.trace(model, c.problem);
  out.truncated = c.k2 === null || c.k2 === undefined ? null : E.grads(model, c.problem, {k2: c.k2});
  if (c.train) {
    const t = c.train;
    const options = {optimizer: E.makeOptimizer(t.optimizer, t.lr), clip_mode: t.clip_mode,
                     clip: t.clip, k2: t.k2};
    const history = E.newHistory(model);
    out.losses = E.train(model, c.problem, options, t.n, history);
    out.params = model.params;
    if (c.export) {
      out.export = E.exportLab(model, c.problem, Object.assign({}, options, c.export), history);
    }
  }
  return out;
}

let input = "";
process.stdin.setEncoding("utf8");
process.stdin.on("data", (d) => { input += d; });
process.stdin.on("end", () => {
  const req = JSON.parse(input);
  const results = req.cases.map((c) => {
    try { return run(c); } catch (e) { return {error: String(e && e.message || e)}; }
  });
  process.stdout.write(JSON.stringify({results: results}));
});
