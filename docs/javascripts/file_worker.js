// A Web Worker for pages opened from file://, where Chromium refuses `new Worker(file URL)`:
// the site's search runs its worker script in a hidden same-origin iframe instead. It stands in
// for the iframe-worker shim that Material's offline plugin would load from a CDN (nothing here
// leaves the machine). Served over http(s), the browser's own Worker is kept.
(function () {
  "use strict";
  if (location.protocol !== "file:") return;

  function FileWorker(url) {
    var target = document.createElement("span");   // the event target the page listens on
    var queue = [], ready = false, scope = null;
    var iframe = document.createElement("iframe");
    iframe.hidden = true;
    iframe.setAttribute("aria-hidden", "true");
    iframe.title = "search worker";

    function deliver(data) {                          // page → worker: a message event in the iframe
      scope.dispatchEvent(new scope.MessageEvent("message", {data: data}));
    }
    function start() {
      scope = iframe.contentWindow;
      scope.postMessage = function (data) {          // worker → page: a message event on the worker
        setTimeout(function () {
          var event = new MessageEvent("message", {data: data});
          if (typeof target.onmessage === "function") target.onmessage(event);
          target.dispatchEvent(event);
        }, 0);
      };
      scope.importScripts = function () {
        throw new Error("importScripts is not available in the file:// search worker");
      };
      var script = scope.document.createElement("script");
      script.src = new URL(url, location.href).href;
      script.onload = function () {
        ready = true;
        queue.splice(0).forEach(deliver);
      };
      scope.document.head.appendChild(script);
    }
    var attach = function () { document.body.appendChild(iframe); start(); };
    if (document.body) attach(); else document.addEventListener("DOMContentLoaded", attach);

    target.postMessage = function (data) {
      var copy = structuredClone(data);
      setTimeout(function () { if (ready) deliver(copy); else queue.push(copy); }, 0);
    };
    target.terminate = function () { iframe.remove(); };
    return target;
  }
  window.Worker = FileWorker;
})();
