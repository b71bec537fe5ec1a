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
})();
