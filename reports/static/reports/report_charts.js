// Draws each report chart from the table beside it, so the two always show the same figures.
(function () {
  "use strict";
  var COLOURS = ["#2e1f5e", "#007d7e", "#cd4444", "#e9b04d", "#5b8fd9", "#8a8a8a"];

  function numberIn(cell) {
    var value = parseFloat((cell ? cell.textContent : "").replace(/[^0-9.\-]/g, ""));
    return isNaN(value) ? 0 : value;
  }

  function draw(canvas) {
    var table = document.getElementById(canvas.dataset.table);
    if (!table || !window.Chart) {
      canvas.closest("figure").hidden = true;
      return;
    }
    var headers = Array.prototype.map.call(table.tHead.rows[0].cells, function (cell) {
      return cell.textContent.trim();
    });
    var rows = Array.prototype.slice.call(table.tBodies[0].rows);
    var series = canvas.dataset.series.split(",").map(Number);
    var kind = canvas.dataset.chart;
    var datasets = series.map(function (column, position) {
      var colour = COLOURS[position % COLOURS.length];
      return {
        label: headers[column],
        data: rows.map(function (row) { return numberIn(row.cells[column]); }),
        borderColor: colour,
        backgroundColor: colour,
        pointRadius: 0,
        borderWidth: kind === "line" ? 2 : 0,
      };
    });
    new window.Chart(canvas, {
      type: kind,
      data: { labels: rows.map(function (row) { return row.cells[0].textContent.trim().slice(0, 40); }), datasets: datasets },
      options: {
        animation: false,
        maintainAspectRatio: false,
        indexAxis: kind === "bar" && rows.length > 6 ? "y" : "x",
        interaction: { mode: "index", intersect: false },
        scales: { y: { beginAtZero: true }, x: { beginAtZero: true } },
        plugins: { legend: { display: datasets.length > 1 } },
      },
    });
  }

  function start() {
    document.querySelectorAll("canvas[data-chart]").forEach(draw);
    document.querySelectorAll("[data-report-print]").forEach(function (button) {
      button.addEventListener("click", function () { window.print(); });
    });
  }

  // Charts drawn for the screen are redrawn at the paper's width.
  window.addEventListener("beforeprint", function () {
    if (!window.Chart) return;
    Object.values(window.Chart.instances).forEach(function (chart) { chart.resize(); });
  });

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", start);
  } else {
    start();
  }
})();
