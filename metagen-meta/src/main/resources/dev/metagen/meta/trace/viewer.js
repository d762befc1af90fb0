"use strict";
// The trace viewer: renders one generation's trace (search tree, candidates and votes, tokens coloured by
// probability, costs and budget use) into a container. Everything is built with DOM calls (never markup from
// data), so text of the trace can hold anything. Exposed as window.MetagenTrace.render(container, doc).
(function () {
  var SVG = "http://www.w3.org/2000/svg";
  var X_STEP = 36, Y_STEP = 64, LABEL_LIMIT = 400;

  function el(tag, cls, text) {
    var e = document.createElement(tag);
    if (cls) e.className = cls;
    if (text !== undefined && text !== null) e.textContent = String(text);
    return e;
  }
  function svgEl(tag, attrs) {
    var e = document.createElementNS(SVG, tag);
    for (var k in attrs) e.setAttribute(k, attrs[k]);
    return e;
  }
  function num(v) {
    if (v === null || v === undefined || v === "") return NaN;
    var n = Number(v); // "NaN", "-Infinity" (written as strings) read back as numbers
    return n;
  }
  function fmt(v) {
    if (v === null || v === undefined) return "–";
    if (typeof v === "number" || (typeof v === "string" && /^-?(Infinity|NaN)$/.test(v))) {
      var n = Number(v);
      if (!isFinite(n)) return String(n);
      if (Number.isInteger(n)) return String(n);
      return Math.abs(n) >= 1000 ? n.toFixed(0) : Math.abs(n) >= 1 ? n.toFixed(3) : n.toPrecision(3);
    }
    if (typeof v === "boolean") return v ? "yes" : "no";
    if (typeof v === "object") return JSON.stringify(v);
    return String(v);
  }
  function shorten(s, n) {
    s = String(s);
    return s.length > n ? s.slice(0, n - 1) + "…" : s;
  }
  function visible(s) { // whitespace made visible in token chips
    return String(s).replace(/\n/g, "⏎").replace(/\t/g, "⇥");
  }
  /** The background colour of a token of probability p: red (0) through yellow to green (1). */
  function probColour(p) {
    var hue = Math.round(Math.max(0, Math.min(1, p)) * 120);
    return "hsl(" + hue + ", 80%, 80%)";
  }
  function scoreColour(t) {
    return "hsl(" + Math.round(t * 120) + ", 65%, 42%)";
  }

  /** One reading of every trace shape: generate --json output, a server result or an eval results row. */
  function normalize(doc) {
    doc = doc || {};
    var t = doc.trace && typeof doc.trace === "object" ? doc.trace : {};
    return {
      title: doc.title || null,
      prompt: doc.prompt,
      text: doc.text !== undefined ? doc.text : doc.output,
      model: doc.model,
      strategy: doc.strategy || t.strategy,
      spec: doc.spec,
      finish: doc.finish_reason || doc.finish,
      tokens: Array.isArray(doc.tokens) ? doc.tokens : [],
      tokenTexts: Array.isArray(doc.token_texts) ? doc.token_texts : null,
      logprobs: Array.isArray(doc.logprobs) ? doc.logprobs : [],
      tops: Array.isArray(doc.top_logprobs) ? doc.top_logprobs : Array.isArray(t.top_logprobs) ? t.top_logprobs : null,
      cost: doc.cost || null,
      budget: doc.budget,
      trace: t,
      correct: doc.correct,
      problem: doc.problem
    };
  }

  function section(root, title, id) {
    var s = el("section", "mt-section");
    if (id) s.id = id;
    s.appendChild(el("h2", null, title));
    root.appendChild(s);
    return s;
  }

  function kvTable(pairs, cls) {
    var tb = el("table", "mt-kv" + (cls ? " " + cls : ""));
    pairs.forEach(function (p) {
      var tr = el("tr");
      tr.appendChild(el("th", null, p[0]));
      var td = el("td", null, fmt(p[1]));
      tr.appendChild(td);
      tb.appendChild(tr);
    });
    return tb;
  }

  // ---------------------------------------------------------------- summary, costs, budget
  function renderSummary(root, d) {
    var s = section(root, d.title || "Generation", "mt-summary");
    var pairs = [];
    if (d.model !== undefined) pairs.push(["model", d.model]);
    if (d.strategy !== undefined) pairs.push(["strategy", d.strategy]);
    if (d.finish !== undefined) pairs.push(["finish", d.finish]);
    if (d.trace.stopped) pairs.push(["stopped by", d.trace.stopped]);
    if (d.problem !== undefined) pairs.push(["problem", d.problem]);
    if (d.correct !== undefined) pairs.push(["correct", d.correct]);
    s.appendChild(kvTable(pairs));
    if (d.prompt !== undefined) {
      s.appendChild(el("h3", null, "Prompt"));
      s.appendChild(el("pre", "mt-prompt", d.prompt));
    }
    if (d.text !== undefined) {
      s.appendChild(el("h3", null, "Output"));
      s.appendChild(el("pre", "mt-output", d.text));
    }
    if (d.spec) {
      var det = el("details");
      det.appendChild(el("summary", null, "Strategy spec"));
      det.appendChild(el("pre", null, typeof d.spec === "string" ? d.spec : JSON.stringify(d.spec, null, 2)));
      s.appendChild(det);
    }
  }

  function renderCost(root, d) {
    if (!d.cost) return;
    var s = section(root, "Cost and budget", "mt-cost");
    var c = d.cost;
    var pairs = [];
    Object.keys(c).forEach(function (k) { pairs.push([k.replace(/_/g, " "), c[k]]); });
    s.appendChild(kvTable(pairs, "mt-cost-table"));
    var b = d.budget;
    if (b === undefined || b === null) {
      s.appendChild(el("p", "mt-note", "No budget: the strategy ran unlimited."));
      return;
    }
    if (typeof b === "number") {
      s.appendChild(el("p", "mt-note", "Budget knob (the strategy's n, iterations, ... in this sweep): " + b));
      return;
    }
    var rows = [
      ["generated tokens", c.generated_tokens, b.tokens],
      ["model calls", c.model_calls, b.calls],
      ["wall ms", c.wall_ms, b.time_ms]
    ];
    rows.forEach(function (r) {
      if (r[2] === undefined || r[2] === null) return;
      var used = num(r[1]), limit = num(r[2]);
      var frac = limit > 0 ? used / limit : 1;
      var row = el("div", "mt-budget" + (frac >= 1 ? " mt-spent" : ""));
      row.dataset.kind = r[0];
      row.appendChild(el("span", "mt-budget-label", r[0] + ": " + fmt(used) + " of " + fmt(limit)
          + " (" + (100 * frac).toFixed(0) + "%)"));
      var bar = el("span", "mt-bar");
      var fill = el("span", "mt-bar-fill");
      fill.style.width = Math.min(100, 100 * frac).toFixed(1) + "%";
      bar.appendChild(fill);
      row.appendChild(bar);
      s.appendChild(row);
    });
  }

  // ---------------------------------------------------------------- tokens
  function renderTokens(root, d, tip) {
    if (!d.logprobs.length) return;
    var s = section(root, "Tokens", "mt-tokens");
    s.appendChild(el("p", "mt-note", "Each token coloured by its probability (red 0, yellow 0.5, green 1)"
        + (d.tops ? "; hover for the top alternatives." : ".")));
    var box = el("div", "mt-token-box");
    var frag = document.createDocumentFragment();
    for (var i = 0; i < d.logprobs.length; i++) {
      var lp = num(d.logprobs[i]);
      var p = Math.exp(lp);
      var text = d.tokenTexts ? d.tokenTexts[i] : (d.tops && d.tops[i] ? chosenText(d.tops[i], d.tokens[i]) : null);
      var span = el("span", "tok", text !== null && text !== undefined ? visible(text) : "#" + d.tokens[i]);
      span.dataset.i = i;
      span.dataset.p = p.toFixed(6);
      span.style.backgroundColor = probColour(p);
      frag.appendChild(span);
    }
    box.appendChild(frag);
    s.appendChild(box);
    box.addEventListener("mouseover", function (ev) {
      var t = ev.target;
      if (!t.classList || !t.classList.contains("tok")) return;
      var i = Number(t.dataset.i);
      var content = el("div");
      content.appendChild(el("div", "mt-tip-title", "token " + i + (d.tokens[i] !== undefined ? " (id " + d.tokens[i] + ")" : "")
          + ": p = " + Number(t.dataset.p).toFixed(4) + ", logprob " + fmt(num(d.logprobs[i]))));
      var alts = d.tops && d.tops[i];
      if (alts && alts.length) {
        var tb = el("table", "mt-alts");
        alts.forEach(function (a) {
          var tr = el("tr");
          if (a.token === d.tokens[i]) tr.className = "mt-picked";
          var pa = Math.exp(num(a.logprob));
          var sw = el("td", "mt-swatch");
          sw.style.backgroundColor = probColour(pa);
          tr.appendChild(sw);
          tr.appendChild(el("td", null, a.text !== undefined ? JSON.stringify(a.text) : "#" + a.token));
          tr.appendChild(el("td", null, pa.toFixed(4)));
          tb.appendChild(tr);
        });
        content.appendChild(tb);
      }
      tip.show(content, ev);
    });
    box.addEventListener("mouseout", function () { tip.hide(); });
  }
  function chosenText(alts, id) {
    for (var j = 0; j < alts.length; j++) if (alts[j].token === id && alts[j].text !== undefined) return alts[j].text;
    return null;
  }

  // ---------------------------------------------------------------- candidates and votes
  function renderCandidates(root, found) {
    found.forEach(function (f) {
      var t = f.owner;
      var s = section(root, "Candidates" + (f.path ? " (" + f.path + ")" : ""), null);
      s.classList.add("mt-candidates");
      var rows = t.candidates;
      var cols = [];
      rows.forEach(function (r) {
        Object.keys(r).forEach(function (k) {
          if (cols.indexOf(k) < 0 && k !== "top_logprobs") cols.push(k);
        });
      });
      var tb = el("table", "mt-table mt-cand-table");
      var hr = el("tr");
      cols.forEach(function (c) { hr.appendChild(el("th", null, c)); });
      var thead = el("thead");
      thead.appendChild(hr);
      tb.appendChild(thead);
      var body = el("tbody");
      rows.forEach(function (r, i) {
        var tr = el("tr", "mt-cand");
        var idx = r.index !== undefined ? r.index : i;
        if (t.chosen !== undefined && t.chosen !== null && Number(t.chosen) === Number(idx)) tr.classList.add("chosen");
        if (t.answer !== undefined && t.answer !== null && r.answer === t.answer) tr.classList.add("voted");
        cols.forEach(function (c) {
          var v = r[c];
          var td = el("td", null, typeof v === "string" ? shorten(v, 160) : fmt(v));
          if (typeof v === "string" && v.length > 160) td.title = v;
          if (c === "text") td.className = "mt-text";
          tr.appendChild(td);
        });
        body.appendChild(tr);
      });
      tb.appendChild(body);
      s.appendChild(tb);
      if (t.votes && typeof t.votes === "object") {
        s.appendChild(el("h3", null, "Votes"));
        // most votes first (the trace's order, which integer-like answers lose in a JavaScript object)
        var keys = Object.keys(t.votes).sort(function (a, b) { return num(t.votes[b]) - num(t.votes[a]); });
        var max = 0;
        keys.forEach(function (k) { max = Math.max(max, num(t.votes[k])); });
        keys.forEach(function (k) {
          var row = el("div", "mt-vote" + (k === t.answer ? " chosen" : ""));
          row.appendChild(el("span", "mt-vote-label", shorten(k, 60)));
          var bar = el("span", "mt-bar");
          var fill = el("span", "mt-bar-fill");
          fill.style.width = (max > 0 ? 100 * num(t.votes[k]) / max : 0).toFixed(1) + "%";
          bar.appendChild(fill);
          row.appendChild(bar);
          row.appendChild(el("span", "mt-vote-count", fmt(t.votes[k])));
          s.appendChild(row);
        });
      }
    });
  }

  // ---------------------------------------------------------------- search tree
  function TreeView(container, tree, owner, tip) {
    var nodes = tree.nodes;
    this.nodes = nodes;
    this.tip = tip;
    var index = new Map();
    nodes.forEach(function (n, i) { index.set(n.id, i); });
    var kids = nodes.map(function () { return []; });
    var roots = [];
    nodes.forEach(function (n, i) {
      var p = index.has(n.parent) ? index.get(n.parent) : -1;
      if (p >= 0 && p !== i) kids[p].push(i); else roots.push(i);
    });
    this.kids = kids;
    this.roots = roots;
    // ids as numbers (the only value of the trace that goes into the tree's markup)
    this.ids = nodes.map(function (n, i) { var v = Number(n.id); return isFinite(v) ? v : i; });
    var chosen = new Uint8Array(nodes.length);
    var cid = owner.chosen_node;
    if (cid !== undefined && cid !== null && index.has(cid)) {
      var guard = 0;
      for (var c = index.get(cid); c >= 0 && guard++ <= nodes.length; c = index.has(nodes[c].parent) ? index.get(nodes[c].parent) : -1) {
        chosen[c] = 1;
      }
    }
    this.chosen = chosen;
    var lo = Infinity, hi = -Infinity;
    nodes.forEach(function (n) {
      var s = num(n.score);
      if (isFinite(s)) { lo = Math.min(lo, s); hi = Math.max(hi, s); }
    });
    this.lo = lo;
    this.hi = hi;
    this.collapsed = new Uint8Array(nodes.length);
    this.x = new Float64Array(nodes.length);
    this.y = new Float64Array(nodes.length);
    this.shown = new Uint8Array(nodes.length);

    var bar = el("div", "mt-toolbar");
    var self = this;
    [["Fit", function () { self.fit(); }], ["+", function () { self.zoom(1 / 1.4); }], ["−", function () { self.zoom(1.4); }],
     ["Expand all", function () { self.collapsed.fill(0); self.redraw(); }],
     ["Chosen path only", function () { self.onlyChosen(); }]].forEach(function (b) {
      var btn = el("button", "mt-btn", b[0]);
      btn.type = "button";
      btn.addEventListener("click", b[1]);
      bar.appendChild(btn);
    });
    this.status = el("span", "mt-status");
    bar.appendChild(this.status);
    container.appendChild(bar);
    var legend = el("p", "mt-note", "Colour: node score (red low, green high; grey unscored); size: visits; "
        + "the chosen path is drawn thick. Drag to pan, wheel to zoom, click a node for details, double-click to collapse or expand its subtree.");
    container.appendChild(legend);
    this.svg = svgEl("svg", {"class": "mt-tree", role: "img", "aria-label": "search tree"});
    this.edges = svgEl("g", {"class": "mt-edges"});
    this.dots = svgEl("g", {"class": "mt-nodes"});
    this.labels = svgEl("g", {"class": "mt-labels"});
    this.svg.appendChild(this.edges);
    this.svg.appendChild(this.dots);
    this.svg.appendChild(this.labels);
    container.appendChild(this.svg);
    this.detail = el("div", "mt-node-detail");
    this.detail.textContent = "Click a node to see its step.";
    container.appendChild(this.detail);
    this.bindEvents();
    this.redraw();
    this.fit();
  }

  /** Positions the shown nodes: leaves side by side in order, a parent centred over its children (iterative). */
  TreeView.prototype.layout = function () {
    var kids = this.kids, x = this.x, y = this.y, shown = this.shown, collapsed = this.collapsed;
    shown.fill(0);
    var next = 0, count = 0, maxDepth = 0;
    var stack = [];
    for (var r = this.roots.length - 1; r >= 0; r--) stack.push([this.roots[r], 0, 0]);
    while (stack.length) {
      var top = stack[stack.length - 1];
      var i = top[0];
      if (top[2] === 0) {
        top[2] = 1;
        shown[i] = 1;
        count++;
        y[i] = top[1] * Y_STEP;
        if (top[1] > maxDepth) maxDepth = top[1];
        if (!collapsed[i] && kids[i].length) {
          for (var k = kids[i].length - 1; k >= 0; k--) stack.push([kids[i][k], top[1] + 1, 0]);
          continue;
        }
      }
      stack.pop();
      if (!collapsed[i] && kids[i].length) {
        x[i] = (x[kids[i][0]] + x[kids[i][kids[i].length - 1]]) / 2;
      } else {
        x[i] = next++ * X_STEP;
      }
    }
    this.width = Math.max(1, next - 1) * X_STEP;
    this.height = maxDepth * Y_STEP;
    this.count = count;
  };

  /**
   * Draws the shown nodes. The markup is built as one string per layer and parsed once (far faster than thousands
   * of DOM calls); it holds only numbers and fixed class names, never text of the trace, which goes in via textContent.
   */
  TreeView.prototype.redraw = function () {
    var t0 = performance.now();
    this.layout();
    var nodes = this.nodes, kids = this.kids, x = this.x, y = this.y, shown = this.shown, chosen = this.chosen;
    var collapsed = this.collapsed, lo = this.lo, hi = this.hi, ids = this.ids;
    var edges = [], chosenEdges = [], dots = [], labels = [], more = [];
    var withLabels = this.count <= LABEL_LIMIT;
    for (var i = 0; i < nodes.length; i++) {
      if (!shown[i]) continue;
      var n = nodes[i];
      var xi = x[i], yi = y[i];
      if (!collapsed[i]) {
        for (var k = 0; k < kids[i].length; k++) {
          var c = kids[i][k];
          var my = (yi + y[c]) / 2;
          var on = chosen[c] && chosen[i];
          (on ? chosenEdges : edges).push('<path class="edge' + (on ? ' chosen' : '') + '" data-from="' + ids[i] + '" data-to="' + ids[c]
              + '" d="M' + xi + ',' + yi + 'C' + xi + ',' + my + ' ' + x[c] + ',' + my + ' ' + x[c] + ',' + y[c] + '"/>');
        }
      }
      var s = num(n.score);
      var fill = isFinite(s) ? scoreColour(hi > lo ? (s - lo) / (hi - lo) : 1) : "#9a9a9a";
      var visits = num(n.visits);
      if (!(visits > 0)) visits = 0;
      var folded = collapsed[i] && kids[i].length;
      dots.push('<circle class="node' + (chosen[i] ? " chosen" : "") + (n.terminal === true ? " terminal" : "")
          + (folded ? " collapsed" : "") + (kids[i].length ? "" : " leaf") + '" data-id="' + ids[i] + '" data-i="' + i + '" cx="' + xi + '" cy="' + yi
          + '" r="' + (5 + 2.2 * Math.log2(1 + visits)).toFixed(1) + '" fill="' + fill + '"/>');
      if (withLabels && isFinite(s)) labels.push('<text class="lbl" x="' + xi + '" y="' + (yi - 11) + '">' + fmt(s) + '</text>');
      if (folded) more.push('<text class="lbl more" x="' + xi + '" y="' + (yi + 20) + '">+' + this.descendants(i) + '</text>');
    }
    this.edges.innerHTML = edges.join("") + chosenEdges.join(""); // the chosen path last, on top
    this.dots.innerHTML = dots.join("");
    this.labels.innerHTML = labels.join("") + more.join("");
    this.status.textContent = this.count + " of " + nodes.length + " nodes shown; layout and drawing "
        + (performance.now() - t0).toFixed(0) + " ms";
  };

  TreeView.prototype.descendants = function (i) {
    var n = 0, stack = this.kids[i].slice();
    while (stack.length) {
      var c = stack.pop();
      n++;
      for (var k = 0; k < this.kids[c].length; k++) stack.push(this.kids[c][k]);
    }
    return n;
  };

  TreeView.prototype.toggle = function (i) {
    if (!this.kids[i].length) return;
    this.collapsed[i] = this.collapsed[i] ? 0 : 1;
    this.redraw();
  };

  TreeView.prototype.onlyChosen = function () {
    for (var i = 0; i < this.nodes.length; i++) this.collapsed[i] = this.chosen[i] ? 0 : 1;
    if (!this.chosen.some(function (v) { return v; })) this.collapsed.fill(0);
    this.redraw();
    this.fit();
  };

  TreeView.prototype.setView = function (vx, vy, vw, vh) {
    this.vb = [vx, vy, vw, vh];
    this.svg.setAttribute("viewBox", vx + " " + vy + " " + vw + " " + vh);
  };
  TreeView.prototype.fit = function () {
    var pad = 30;
    this.setView(-pad, -pad - 12, this.width + 2 * pad, Math.max(this.height + 2 * pad + 24, 120));
  };
  TreeView.prototype.zoom = function (factor, cx, cy) {
    var v = this.vb;
    if (cx === undefined) { cx = v[0] + v[2] / 2; cy = v[1] + v[3] / 2; }
    var w = v[2] * factor, h = v[3] * factor;
    if (w < 20 || w > 1e7) return;
    this.setView(cx - (cx - v[0]) * factor, cy - (cy - v[1]) * factor, w, h);
  };
  /** The user-space point under a client-space point (with the aspect ratio the SVG keeps). */
  TreeView.prototype.toUser = function (clientX, clientY) {
    var r = this.svg.getBoundingClientRect();
    var v = this.vb;
    var s = Math.max(v[2] / r.width, v[3] / r.height);
    var ox = v[0] + v[2] / 2 - (r.width / 2) * s, oy = v[1] + v[3] / 2 - (r.height / 2) * s;
    return [ox + (clientX - r.left) * s, oy + (clientY - r.top) * s, s];
  };

  TreeView.prototype.bindEvents = function () {
    var self = this, svg = this.svg, drag = null;
    svg.addEventListener("wheel", function (ev) {
      ev.preventDefault();
      var p = self.toUser(ev.clientX, ev.clientY);
      self.zoom(ev.deltaY > 0 ? 1.15 : 1 / 1.15, p[0], p[1]);
    }, {passive: false});
    svg.addEventListener("pointerdown", function (ev) {
      if (ev.button !== 0) return;
      drag = {x: ev.clientX, y: ev.clientY, vb: self.vb.slice(), s: self.toUser(ev.clientX, ev.clientY)[2], moved: false};
    });
    window.addEventListener("pointermove", function (ev) {
      if (!drag) return;
      var dx = ev.clientX - drag.x, dy = ev.clientY - drag.y;
      if (Math.abs(dx) + Math.abs(dy) > 3) drag.moved = true;
      if (drag.moved) self.setView(drag.vb[0] - dx * drag.s, drag.vb[1] - dy * drag.s, drag.vb[2], drag.vb[3]);
    });
    window.addEventListener("pointerup", function () { setTimeout(function () { drag = null; }, 0); });
    svg.addEventListener("click", function (ev) {
      if (drag && drag.moved) return;
      var t = ev.target;
      if (t.classList && t.classList.contains("node")) self.select(Number(t.dataset.i));
    });
    svg.addEventListener("dblclick", function (ev) {
      var t = ev.target;
      if (t.classList && t.classList.contains("node")) self.toggle(Number(t.dataset.i));
    });
    svg.addEventListener("mouseover", function (ev) {
      var t = ev.target;
      if (!t.classList || !t.classList.contains("node")) return;
      var n = self.nodes[Number(t.dataset.i)];
      var box = el("div");
      box.appendChild(el("div", "mt-tip-title", "node " + n.id + (self.chosen[Number(t.dataset.i)] ? " (chosen path)" : "")));
      box.appendChild(kvTable([["score", n.score], ["visits", n.visits], ["value", n.value], ["prior", n.prior],
        ["depth", n.depth], ["tokens", n.tokens], ["terminal", n.terminal]]));
      if (n.step) box.appendChild(el("pre", "mt-tip-step", shorten(n.step, 300)));
      self.tip.show(box, ev);
    });
    svg.addEventListener("mouseout", function () { self.tip.hide(); });
  };

  TreeView.prototype.select = function (i) {
    var n = this.nodes[i], self = this;
    var d = this.detail;
    d.replaceChildren();
    d.appendChild(el("h3", null, "Node " + n.id + (this.chosen[i] ? " — on the chosen path" : "")));
    var pairs = [];
    Object.keys(n).forEach(function (k) { if (k !== "step") pairs.push([k, n[k]]); });
    pairs.push(["children", this.kids[i].length]);
    d.appendChild(kvTable(pairs));
    d.appendChild(el("pre", "mt-step", n.step === undefined ? "" : n.step));
    if (this.kids[i].length) {
      var b = el("button", "mt-btn", this.collapsed[i] ? "Expand subtree" : "Collapse subtree");
      b.type = "button";
      b.addEventListener("click", function () { self.toggle(i); self.select(i); });
      d.appendChild(b);
    }
  };

  function findAll(obj, test, path, out, depth) {
    if (!obj || typeof obj !== "object" || depth > 8) return out;
    if (!Array.isArray(obj) && test(obj)) out.push({owner: obj, path: path});
    var keys = Array.isArray(obj) ? obj.map(function (_, i) { return i; }) : Object.keys(obj);
    if (Array.isArray(obj) && obj.length > 64) return out; // long lists of rows hold no nested strategies
    keys.forEach(function (k) {
      if (k === "nodes" || k === "top_logprobs") return;
      var v = obj[k];
      if (v && typeof v === "object") findAll(v, test, path ? path + "." + k : String(k), out, depth + 1);
    });
    return out;
  }

  function renderTrees(root, d, tip) {
    var found = findAll(d.trace, function (o) { return o.tree && Array.isArray(o.tree.nodes); }, "", [], 0);
    var views = [];
    found.forEach(function (f) {
      var s = section(root, "Search tree" + (f.path ? " (" + f.path + ")" : ""), null);
      s.classList.add("mt-tree-section");
      var facts = [];
      ["iterations", "expansions", "beams", "mode", "subtrees", "chosen_node", "chosen_score", "chosen_value"].forEach(function (k) {
        if (f.owner[k] !== undefined && typeof f.owner[k] !== "object") facts.push([k.replace(/_/g, " "), f.owner[k]]);
      });
      facts.push(["nodes", f.owner.tree.nodes.length]);
      s.appendChild(kvTable(facts));
      views.push(new TreeView(s, f.owner.tree, f.owner, tip));
    });
    return views;
  }

  // ---------------------------------------------------------------- everything else of the trace
  function renderOther(root, d) {
    var t = d.trace;
    var scalars = [], tables = [];
    Object.keys(t).forEach(function (k) {
      var v = t[k];
      if (["tree", "candidates", "votes", "top_logprobs"].indexOf(k) >= 0) return;
      if (Array.isArray(v) && v.length && v.every(function (r) { return r && typeof r === "object" && !Array.isArray(r); })) tables.push([k, v]);
      else if (v === null || typeof v !== "object") scalars.push([k.replace(/_/g, " "), v]);
      else if (Array.isArray(v)) scalars.push([k.replace(/_/g, " "), v.length > 20 ? v.length + " values" : v]);
      else if (Array.isArray(v.candidates) || (v.tree && Array.isArray(v.tree.nodes))) scalars.push([k.replace(/_/g, " "), "(" + (v.strategy || "a strategy") + ": shown above)"]);
      else scalars.push([k.replace(/_/g, " "), v]);
    });
    if (!scalars.length && !tables.length) return;
    var s = section(root, "Trace", "mt-other");
    if (scalars.length) s.appendChild(kvTable(scalars));
    tables.forEach(function (tb) {
      s.appendChild(el("h3", null, tb[0]));
      var cols = [];
      tb[1].forEach(function (r) { Object.keys(r).forEach(function (k) { if (cols.indexOf(k) < 0) cols.push(k); }); });
      var table = el("table", "mt-table");
      var hr = el("tr");
      cols.forEach(function (c) { hr.appendChild(el("th", null, c)); });
      table.appendChild(hr);
      tb[1].forEach(function (r) {
        var tr = el("tr");
        cols.forEach(function (c) {
          var v = r[c];
          var td = el("td", null, typeof v === "string" ? shorten(v, 200) : fmt(v));
          if (typeof v === "string" && v.length > 200) td.title = v;
          tr.appendChild(td);
        });
        table.appendChild(tr);
      });
      s.appendChild(table);
    });
  }

  function renderRaw(root, doc) {
    var det = el("details", "mt-raw");
    det.appendChild(el("summary", null, "Raw JSON"));
    var pre = el("pre");
    det.appendChild(pre);
    det.addEventListener("toggle", function () {
      if (det.open && !pre.textContent) pre.textContent = JSON.stringify(doc, null, 2); // built on demand: can be large
    });
    root.appendChild(det);
  }

  function Tip() {
    this.box = el("div", "mt-tip");
    this.box.hidden = true;
    document.body.appendChild(this.box);
  }
  Tip.prototype.show = function (content, ev) {
    this.box.replaceChildren(content);
    this.box.hidden = false;
    var x = ev.clientX + 14, y = ev.clientY + 14;
    var w = this.box.offsetWidth, h = this.box.offsetHeight;
    if (x + w > window.innerWidth - 8) x = Math.max(8, ev.clientX - w - 14);
    if (y + h > window.innerHeight - 8) y = Math.max(8, ev.clientY - h - 14);
    this.box.style.left = x + "px";
    this.box.style.top = y + "px";
  };
  Tip.prototype.hide = function () { this.box.hidden = true; };

  var sharedTip = null;

  /** Renders {@code doc} into {@code container} (replacing what it held); returns the tree views. */
  function render(container, doc) {
    performance.mark("metagen-trace-start");
    if (!sharedTip) sharedTip = new Tip();
    var d = normalize(doc);
    container.replaceChildren();
    container.classList.add("mt-root");
    renderSummary(container, d);
    renderCost(container, d);
    var views = renderTrees(container, d, sharedTip);
    renderCandidates(container, findAll(d.trace, function (o) { return Array.isArray(o.candidates); }, "", [], 0));
    renderTokens(container, d, sharedTip);
    renderOther(container, d);
    renderRaw(container, doc);
    performance.measure("metagen-trace-render", "metagen-trace-start");
    container.dataset.rendered = "true";
    // the frame that shows it: the next animation frame, then a task once it was drawn
    requestAnimationFrame(function () {
      setTimeout(function () {
        performance.mark("metagen-trace-painted");
        container.dataset.painted = "true";
      }, 0);
    });
    return views;
  }

  window.MetagenTrace = {render: render, probColour: probColour};

  var data = document.getElementById("trace-data");
  var target = document.getElementById("trace-view");
  if (data && target) {
    window.metagenViews = render(target, JSON.parse(data.textContent));
  }
})();
