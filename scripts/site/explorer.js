// The site's explorer: switches between states k8slab precomputed (explorer-states.js).
// No computing here: a state's key is the controls' values joined by "|", in bundle.order.
// Pod counts other than the demo's live in their own file (bundle.chunks), loaded when picked;
// with them, the controls in bundle.fixed_with_pods stay at their starting values.
(function () {
  "use strict";
  var bundle = window.K8SLAB_EXPLORER;
  var LABELS = {kind: "Who calls", type: "Service type", policy: "externalTrafficPolicy",
                dial: "The client dials", via: "Node IP it targets", mode: "kube-proxy mode",
                affinity: "sessionAffinity", pods: "Pods of the Service"};
  // Axes with many values are drop-downs; a new axis (a control added to k8slab's explorer
  // state) gets radio buttons and the label the bundle carries.
  var SELECTS = {dial: true, via: true, pods: true};
  var loading = {};
  var currentSvg = "";
  var fullUrl = null;

  // "Open the picture at full size": a blob: URL (a new tab may not open a data: URL), made
  // when the link is followed, so switching states costs nothing for it.
  function openFull() {
    if (fullUrl) { URL.revokeObjectURL(fullUrl); }
    fullUrl = URL.createObjectURL(new Blob([currentSvg], {type: "image/svg+xml"}));
    this.href = fullUrl;
  }
  var form = document.getElementById("controls");
  var $ = function (id) { return document.getElementById(id); };

  function esc(s) {
    return String(s).replace(/[&<>"']/g, function (c) {
      return {"&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;"}[c];
    });
  }

  function build() {
    bundle.order.forEach(function (axis) {
      var box = document.createElement("fieldset");
      box.dataset.axis = axis;
      var legend = document.createElement("legend");
      legend.textContent = (bundle.labels || {})[axis] || LABELS[axis] || axis;
      box.appendChild(legend);
      if (SELECTS[axis]) {
        var select = document.createElement("select");
        select.name = axis;
        select.id = "ctl-" + axis;
        select.setAttribute("aria-label", (bundle.labels || {})[axis] || LABELS[axis] || axis);
        bundle.axes[axis].forEach(function (opt) {
          var o = document.createElement("option");
          o.value = opt[1];
          o.textContent = opt[0];
          select.appendChild(o);
        });
        select.value = bundle.start[axis];
        box.appendChild(select);
      } else {
        bundle.axes[axis].forEach(function (opt, i) {
          var id = "ctl-" + axis + "-" + i;
          var input = document.createElement("input");
          input.type = "radio";
          input.name = axis;
          input.id = id;
          input.value = opt[1];
          input.checked = opt[1] === bundle.start[axis];
          var label = document.createElement("label");
          label.htmlFor = id;
          label.textContent = opt[0];
          var span = document.createElement("span");
          span.className = "choice";
          span.appendChild(input);
          span.appendChild(label);
          box.appendChild(span);
        });
      }
      form.appendChild(box);
    });
    form.addEventListener("change", show);
    form.addEventListener("submit", function (e) { e.preventDefault(); });
  }

  function value(axis) {
    var el = form.elements[axis];
    return el.value;
  }

  function key() {
    return bundle.order.map(value).join("|");
  }

  function pct(p) { return (p * 100).toFixed(1) + "%"; }

  function podsTable(info) {
    if (!info.pods.length && !info.excluded.length) {
      return "<p class='note'>No pod can answer this client.</p>";
    }
    var rows = info.pods.map(function (p) {
      var chance = p[3] === null ? "the client picks" : pct(p[3]);
      var bar = p[3] === null ? "" :
        "<span class='bar' style='width:" + Math.round(p[3] * 80) + "px'></span>";
      var sim = info.simulated ? "<td>" + (p[4] === null ? "-" : p[4].toLocaleString("en")) + "</td>" : "";
      return "<tr><td>" + esc(p[0]) + "</td><td>" + esc(p[1]) + "</td><td><code>" + esc(p[2]) +
        "</code></td><td>" + chance + "</td><td class='bar-cell' aria-hidden='true'>" + bar + "</td>" + sim + "</tr>";
    });
    info.excluded.forEach(function (x) {
      rows.push("<tr class='excluded'><td>" + esc(x[0]) + "</td><td>" + esc(x[1]) +
        "</td><td><code>" + esc(x[2]) + "</code></td><td colspan='" + (info.simulated ? 3 : 2) +
        "'>cannot answer: " + esc(x[3]) + "</td></tr>");
    });
    var head = "<tr><th scope='col'>pod</th><th scope='col'>node</th><th scope='col'>address</th>" +
      "<th scope='col'>chance</th><th scope='col' class='bar-cell'><span class='visually-hidden'>bar</span></th>" +
      (info.simulated ? "<th scope='col'>of 1,000*</th>" : "") + "</tr>";
    var note = info.pods.length ? "" :
      "<p class='note'>No pod answers this client: the request never reaches one.</p>";
    if (info.simulated) {
      note += "<p class='note'>* 1,000 new connections from 10 client addresses, simulated (seed 0).</p>";
    }
    return "<div class='table-scroll'><table class='pods'>" + head + rows.join("") + "</table></div>" + note;
  }

  function setValue(axis, v) {
    var el = form.elements[axis];
    if (el.tagName === "SELECT") { el.value = v; return; }
    Array.prototype.forEach.call(el, function (r) { r.checked = r.value === v; });
  }

  // The states for the pods picked: the main bundle, or its chunk (null while it loads).
  function part(pods) {
    if (pods === bundle.start.pods) { return bundle; }
    var parts = window.K8SLAB_EXPLORER_PODS || {};
    if (parts[pods]) { return parts[pods]; }
    if (!loading[pods]) {
      loading[pods] = true;
      var s = document.createElement("script");
      s.src = bundle.chunks[pods];
      s.onload = show;
      s.onerror = function () { $("headline").textContent = "Could not load " + s.src + "."; };
      document.body.appendChild(s);
    }
    return null;
  }

  function show() {
    var t0 = performance.now();
    var pods = value("pods");
    var other = pods !== bundle.start.pods;
    if (other) {
      bundle.fixed_with_pods.forEach(function (axis) { setValue(axis, bundle.start[axis]); });
    }
    var states = part(pods);
    if (!states) {
      $("headline").textContent = "Loading the states for " + pods.replace(":", " pods, ") + " ready\u2026";
      return;
    }
    var entry = states.states[key()];
    if (!entry) {
      $("headline").textContent = "No precomputed state for this combination.";
      return;
    }
    var info = states.infos[entry[1]];
    bundle.order.forEach(function (axis) {
      var box = form.querySelector("fieldset[data-axis='" + axis + "']");
      box.disabled = info.disabled.indexOf(axis) >= 0 ||
        (other && bundle.fixed_with_pods.indexOf(axis) >= 0);
    });
    $("service").textContent = info.service + " (" + info.type + ")";
    if (info.error) {
      $("headline").innerHTML = "<strong class='bad'>Cannot route:</strong> " + esc(info.error);
      $("reason").textContent = "";
      $("diagram").removeAttribute("src");
      $("diagram").alt = "";
      $("diagram-full").hidden = true;
      ["hops", "choice", "route-text"].forEach(function (id) { $(id).textContent = ""; });
      $("pods").innerHTML = "";
    } else {
      var head = info.reachable ?
        "<strong class='good'>\u2714 Reachable</strong> via " + esc(info.entry) :
        "<strong class='bad'>\u2718 Not reachable</strong>: <code>" + esc(info.code) + "</code>" +
          (info.entry ? " (entered by " + esc(info.entry) + ")" : "");
      $("headline").innerHTML = head + " <span class='note'>" + esc(info.client) + " \u2192 Service " +
        esc(info.service) + " (" + esc(info.type) + ")</span>";
      $("reason").innerHTML = "<strong>Why:</strong> " + esc(info.reason);
      var svg = entry[0] >= 0 ? states.svgs[entry[0]] : "";
      var img = $("diagram");
      var full = $("diagram-full");
      currentSvg = svg;
      if (svg) {
        img.src = "data:image/svg+xml;charset=utf-8," + encodeURIComponent(svg);
        img.alt = "Route diagram: " + info.reason;
        full.hidden = false;
      } else {
        img.removeAttribute("src");
        img.alt = "";
        full.hidden = true;
      }
      $("hops").textContent = info.hops;
      $("pods").innerHTML = podsTable(info);
      $("choice").textContent = info.choice;
      $("route-text").textContent = info.route_text;
    }
    $("yaml").textContent = info.yaml;
    var ms = performance.now() - t0;
    document.body.dataset.switchMs = ms.toFixed(2);
    document.body.dataset.state = key();
  }

  build();
  $("diagram-full").addEventListener("click", openFull);
  show();
})();
