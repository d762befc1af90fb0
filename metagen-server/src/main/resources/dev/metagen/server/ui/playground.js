"use strict";
// The playground: sends the form to POST /ui/run (the fields of /v1/completions), shows the streamed tokens or the
// strategy's leaf generations as they come, then renders the trace with the viewer (window.MetagenTrace).
(function () {
  var setup = JSON.parse(document.getElementById("playground-setup").textContent);
  var $ = function (id) { return document.getElementById(id); };
  var EXAMPLES = [
    ["plain sampling (tokens streamed)", ""],
    ["majority vote", {type: "majority_vote", n: 5, extractor: {type: "text"}, inner: {type: "sample", max_tokens: 6}}],
    ["best of N", {type: "best_of_n", n: 4, scorer: {type: "mean_logprob"}, inner: {type: "sample"}}],
    ["MCTS", {type: "mcts", iterations: 6, width: 2, delimiter: " ", step_max_tokens: 6, max_steps: 4,
      scorer: {type: "mean_logprob"}, inner: {type: "sample"}}],
    ["step beam search", {type: "step_beam_search", beam_width: 2, expand: 3, delimiter: " ", step_max_tokens: 6, max_steps: 4,
      scorer: {type: "mean_logprob"}, inner: {type: "sample"}}],
    ["best of N within a token budget", {type: "best_of_n", n: 8, budget: {tokens: 60}, scorer: {type: "mean_logprob"}, inner: {type: "sample"}}]
  ];
  var select = $("example");
  EXAMPLES.forEach(function (e, i) {
    var o = document.createElement("option");
    o.value = String(i);
    o.textContent = e[0];
    select.appendChild(o);
  });
  select.addEventListener("change", function () {
    var e = EXAMPLES[Number(select.value)][1];
    $("strategy").value = e === "" ? "" : JSON.stringify(e, null, 2);
  });
  $("max-tokens").max = String(setup.max_tokens_limit);

  // the spec reference, from the server's registry
  function renderReference(filter) {
    var box = $("reference");
    box.replaceChildren();
    var ref = setup.reference;
    Object.keys(ref).forEach(function (kind) {
      if (kind === "generation_fields") return;
      var types = Object.keys(ref[kind]).filter(function (t) { return !filter || t.indexOf(filter) >= 0; });
      if (!types.length) return;
      var h = document.createElement("h3");
      h.textContent = {strategy: "strategies", leaf: "leaves", scorer: "scorers", extractor: "answer extractors",
        utility: "utilities", budget: "budget (top level)"}[kind] || kind;
      box.appendChild(h);
      var dl = document.createElement("dl");
      types.forEach(function (t) {
        var dt = document.createElement("dt");
        dt.textContent = t;
        dt.dataset.kind = kind;
        var dd = document.createElement("dd");
        var keys = ref[kind][t].keys;
        dd.textContent = keys.length ? keys.join(", ") : "(no fields)";
        if (!ref[kind][t].complete) {
          dd.classList.add("partial");
          dd.title = "more fields inside its parts";
          dd.textContent += ", …";
        }
        dl.appendChild(dt);
        dl.appendChild(dd);
      });
      box.appendChild(dl);
    });
    if (!filter) {
      var g = document.createElement("h3");
      g.textContent = "generation fields (every leaf)";
      box.appendChild(g);
      var p = document.createElement("p");
      p.className = "pg-gen-fields";
      p.textContent = setup.reference.generation_fields.join(", ");
      box.appendChild(p);
    }
  }
  renderReference("");
  $("ref-filter").addEventListener("input", function (ev) { renderReference(ev.target.value.trim()); });

  var controller = null;
  function status(text, error) {
    var s = $("status");
    s.textContent = text;
    s.classList.toggle("error", !!error);
  }

  function body() {
    var b = {
      prompt: $("prompt").value,
      max_tokens: Number($("max-tokens").value),
      temperature: Number($("temperature").value),
      seed: Number($("seed").value),
      stream: true
    };
    var spec = $("strategy").value.trim();
    if (spec) {
      try {
        b.strategy = JSON.parse(spec);
      } catch (e) {
        throw new Error("the strategy is not valid JSON: " + e.message);
      }
    } else {
      b.logprobs = 5; // a plain generation shows each token's top 5 alternatives
    }
    return b;
  }

  function run() {
    var request;
    try {
      request = body();
    } catch (e) {
      status(e.message, true);
      return;
    }
    $("output").textContent = "";
    $("leaves").replaceChildren();
    $("leaf-count").textContent = "0";
    $("trace-view").replaceChildren();
    delete $("trace-view").dataset.rendered;
    status("running…");
    $("run").disabled = true;
    $("stop").disabled = false;
    controller = new AbortController();
    var headers = {"Content-Type": "application/json"};
    var key = $("api-key").value;
    if (key) headers.Authorization = "Bearer " + key;
    var t0 = performance.now();
    fetch("/ui/run", {method: "POST", headers: headers, body: JSON.stringify(request), signal: controller.signal})
      .then(function (res) {
        if (!res.ok) {
          return res.text().then(function (t) {
            var msg = t;
            try { msg = JSON.parse(t).error.message; } catch (e) { /* not JSON: show as is */ }
            throw new Error(res.status + ": " + msg);
          });
        }
        return readEvents(res, t0);
      })
      .catch(function (e) {
        status(e.name === "AbortError" ? "stopped" : e.message, e.name !== "AbortError");
      })
      .finally(function () {
        $("run").disabled = false;
        $("stop").disabled = true;
        controller = null;
      });
  }

  /** Reads server-sent events off the response as they arrive. */
  function readEvents(res, t0) {
    var reader = res.body.getReader();
    var decoder = new TextDecoder();
    var buffered = "";
    function pump() {
      return reader.read().then(function (chunk) {
        if (chunk.done) return;
        buffered += decoder.decode(chunk.value, {stream: true});
        var cut;
        while ((cut = buffered.indexOf("\n\n")) >= 0) {
          var block = buffered.slice(0, cut);
          buffered = buffered.slice(cut + 2);
          block.split("\n").forEach(function (line) {
            if (line.indexOf("data: ") === 0) handle(line.slice(6), t0);
          });
        }
        return pump();
      });
    }
    return pump();
  }

  function handle(data, t0) {
    if (data === "[DONE]") return;
    var ev = JSON.parse(data);
    if (ev.error) throw new Error(ev.error.message);
    if (ev.type === "token") {
      $("output").textContent += ev.text;
    } else if (ev.type === "leaf") {
      var li = document.createElement("li");
      li.textContent = JSON.stringify(ev.text) + " (" + ev.generated_tokens + " tokens, " + ev.finish_reason + ")";
      $("leaves").appendChild(li);
      $("leaf-count").textContent = String(ev.index);
      $("output").textContent = "leaf generation " + ev.index + ": " + ev.text;
    } else if (ev.type === "result") {
      $("output").textContent = ev.trace.text;
      window.lastTrace = ev.trace;
      window.metagenViews = window.MetagenTrace.render($("trace-view"), ev.trace);
      status("done in " + ((performance.now() - t0) / 1000).toFixed(2) + " s");
    }
  }

  $("run").addEventListener("click", run);
  $("stop").addEventListener("click", function () { if (controller) controller.abort(); });
  $("prompt").addEventListener("keydown", function (ev) {
    if (ev.key === "Enter" && (ev.ctrlKey || ev.metaKey)) run();
  });
})();
