// Charts of the statistics page and the revenue dashboard, drawn with the vendored Chart.js from
// the JSON the page embeds (json_script). Each chart has a table with the same figures under it,
// so nothing is lost without JavaScript or for a screen reader.
(function () {
  "use strict";
  function data(id) {
    var node = document.getElementById(id);
    return node ? JSON.parse(node.textContent) : null;
  }
  function chart(canvasId, config) {
    var canvas = document.getElementById(canvasId);
    if (canvas && window.Chart) { return new window.Chart(canvas, config); }
    return null;
  }
  var options = { responsive: true, maintainAspectRatio: false, animation: false };
  document.addEventListener("DOMContentLoaded", function () {
    var stats = data("stats-data");
    if (stats) {
      chart("chart-monthly", {
        type: "bar",
        data: { labels: stats.months, datasets: [{ label: "Amount (" + stats.currency + ")", data: stats.amounts.map(Number) }] },
        options: options
      });
      chart("chart-status", {
        type: "doughnut",
        data: { labels: stats.statuses, datasets: [{ label: "Count", data: stats.status_counts }] },
        options: options
      });
    }
    var revenue = data("revenue-data");
    if (revenue) {
      Object.keys(revenue.series).forEach(function (currency, index) {
        var s = revenue.series[currency];
        chart("chart-revenue-" + index, {
          type: "line",
          data: {
            labels: s.periods,
            datasets: revenue.figures.map(function (f) { return { label: f[1], data: s[f[0]].map(Number) }; })
          },
          options: options
        });
      });
    }
  });
})();
