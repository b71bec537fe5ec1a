// mlflow-client UI: one uPlot chart per <figure class="chart">, its metric's history by step from
// /ajax/metric-history (JSON). No inline script anywhere: the pages' Content-Security-Policy forbids it.
"use strict";
(function () {
  function draw(figure) {
    var query = new URLSearchParams({ run_id: figure.dataset.runId, metric_key: figure.dataset.metric });
    fetch("/ajax/metric-history?" + query.toString())
      .then(function (r) {
        if (!r.ok) { throw new Error("HTTP " + r.status); }
        return r.json();
      })
      .then(function (h) {
        var opts = {
          width: Math.max(320, Math.min(900, figure.clientWidth || 900)),
          height: 260,
          scales: { x: { time: false } },
          series: [{ label: "step" }, { label: figure.dataset.metric, stroke: "#1f77b4", width: 1 }],
        };
        new uPlot(opts, [h.steps, h.values], figure);
        figure.dataset.points = String(h.steps.length);
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
