// mlflow-client UI: one uPlot chart per <figure class="chart">, its metric's history from
// /ajax/metric-history (JSON). The x axis comes from the page (#charts data-x: step, wall or relative, as
// the URL's ?x= chose). No inline script anywhere: the pages' Content-Security-Policy forbids it.
"use strict";
(function () {
  var holder = document.getElementById("charts");
  var mode = (holder && holder.dataset.x) || "step";
  var xLabel = (holder && holder.dataset.xLabel) || "Step";
  var start = Number((holder && holder.dataset.start) || 0);

  function xs(h) {
    if (mode === "wall") { return h.timestamps.map(function (t) { return t / 1000; }); }
    if (mode === "relative") {
      var origin = start || (h.timestamps.length ? h.timestamps[0] : 0);
      return h.timestamps.map(function (t) { return (t - origin) / 1000; });
    }
    return h.steps;
  }

  function draw(figure) {
    var query = new URLSearchParams({ run_id: figure.dataset.runId, metric_key: figure.dataset.metric });
    fetch("/ajax/metric-history?" + query.toString())
      .then(function (r) {
        if (!r.ok) { throw new Error("HTTP " + r.status); }
        return r.json();
      })
      .then(function (h) {
        var x = xs(h);
        var values = h.values;
        if (mode !== "step") { // time need not follow step order: uPlot wants x ascending
          var order = x.map(function (_, i) { return i; }).sort(function (a, b) { return x[a] - x[b]; });
          x = order.map(function (i) { return x[i]; });
          values = order.map(function (i) { return h.values[i]; });
        }
        var opts = {
          width: Math.max(320, Math.min(900, figure.clientWidth || 900)),
          height: 260,
          scales: { x: { time: mode === "wall" } },
          axes: [{ label: xLabel }, {}],
          series: [{ label: xLabel }, { label: figure.dataset.metric, stroke: "#1f77b4", width: 1 }],
        };
        new uPlot(opts, [x, values], figure);
        figure.dataset.points = String(h.steps.length);
        if (x.length) {
          figure.dataset.xMin = String(x[0]);
          figure.dataset.xMax = String(x[x.length - 1]);
        }
        figure.classList.add("drawn");
      })
      .catch(function (err) {
        var p = document.createElement("p");
        p.className = "error";
        p.textContent = "Could not load " + figure.dataset.metric + ": " + err.message;
        figure.appendChild(p);
      });
  }
  document.querySelectorAll("figure.chart").forEach(draw);

  // Forms marked data-join="name" send their checked "name" boxes as one comma-joined value (?runs=a,b),
  // the URL form links use; without script they send name=a&name=b, which the server reads too.
  document.querySelectorAll("form[data-join]").forEach(function (form) {
    form.addEventListener("submit", function (event) {
      var name = form.dataset.join;
      var pairs = [];
      var joined = [];
      Array.prototype.forEach.call(form.elements, function (el) {
        if (!el.name || el.disabled || el.type === "submit") { return; }
        if (el.type === "checkbox" && !el.checked) { return; }
        if (el.name === name) { joined.push(encodeURIComponent(el.value)); return; }
        pairs.push(encodeURIComponent(el.name) + "=" + encodeURIComponent(el.value));
      });
      if (joined.length) { pairs.push(encodeURIComponent(name) + "=" + joined.join(",")); }
      event.preventDefault();
      window.location.assign(form.getAttribute("action") + (pairs.length ? "?" + pairs.join("&") : ""));
    });
  });

  // The compare page: one chart per metric, one series per run (#compare-runs), on a shared step axis.
  var runs = Array.prototype.map.call(document.querySelectorAll("#compare-runs li"), function (li) {
    return { id: li.dataset.runId, name: li.dataset.name, colour: li.dataset.colour };
  });

  function history(runId, key) {
    var query = new URLSearchParams({ run_id: runId, metric_key: key });
    return fetch("/ajax/metric-history?" + query.toString()).then(function (r) {
      if (r.status === 404) { return { steps: [], values: [], timestamps: [] }; }
      if (!r.ok) { throw new Error("HTTP " + r.status); }
      return r.json();
    });
  }

  function overlay(figure) {
    var key = figure.dataset.metric;
    Promise.all(runs.map(function (run) { return history(run.id, key); }))
      .then(function (all) {
        var steps = {};
        all.forEach(function (h) { h.steps.forEach(function (s) { steps[s] = true; }); });
        var x = Object.keys(steps).map(Number).sort(function (a, b) { return a - b; });
        var index = {};
        x.forEach(function (s, i) { index[s] = i; });
        var data = [x];
        var drawn = 0;
        all.forEach(function (h) {
          var ys = x.map(function () { return null; });
          h.steps.forEach(function (s, i) { ys[index[s]] = h.values[i]; });
          if (h.steps.length) { drawn += 1; }
          data.push(ys);
        });
        var series = [{ label: "Step" }].concat(runs.map(function (run) {
          return { label: run.name, stroke: run.colour, width: 1, spanGaps: true };
        }));
        var opts = {
          width: Math.max(320, Math.min(900, figure.clientWidth || 900)),
          height: 260,
          scales: { x: { time: false } },
          axes: [{ label: "Step" }, {}],
          series: series,
        };
        new uPlot(opts, data, figure);
        figure.dataset.series = String(drawn);
        figure.classList.add("drawn");
      })
      .catch(function (err) {
        var p = document.createElement("p");
        p.className = "error";
        p.textContent = "Could not load " + key + ": " + err.message;
        figure.appendChild(p);
      });
  }
  document.querySelectorAll("figure.compare-chart").forEach(overlay);
})();
