// The OptiSchema console's only script: draws the charts whose Chart.js configuration a page put
// in a canvas's data-chart attribute. The console's Content-Security-Policy allows no inline
// script, so everything starts here. After drawing, a canvas's data-drawn attribute holds the
// number of points drawn (the browser tests read it).
'use strict';

(function () {
  const palette = ['#2458c6', '#d0542c', '#2f9e63', '#8a4fc8', '#b8860b', '#1f8fa8'];

  function drawCharts() {
    const canvases = document.querySelectorAll('canvas[data-chart]');
    if (typeof window.Chart === 'undefined') {
      canvases.forEach(function (canvas) {
        const note = document.createElement('p');
        note.className = 'notice';
        note.textContent = 'Charts are unavailable: the control plane has no Chart.js ' +
          '(install Debian\'s libjs-chart.js or pass serve --chart-js).';
        canvas.replaceWith(note);
      });
      return;
    }
    canvases.forEach(function (canvas) {
      let spec;
      try {
        spec = JSON.parse(canvas.getAttribute('data-chart'));
      } catch (e) {
        return;
      }
      const datasets = spec.datasets.map(function (d, i) {
        const colour = palette[i % palette.length];
        return {
          label: d.label, data: d.data, borderColor: colour, backgroundColor: colour + '55',
          spanGaps: false, pointRadius: spec.labels.length > 60 ? 0 : 2, borderWidth: 1.5
        };
      });
      const chart = new window.Chart(canvas.getContext('2d'), {
        type: spec.type,
        data: { labels: spec.labels, datasets: datasets },
        options: {
          animation: false, responsive: true, maintainAspectRatio: false,
          interaction: { mode: 'index', intersect: false },
          scales: { y: { beginAtZero: true } },
          plugins: { legend: { display: datasets.length > 1 } }
        }
      });
      canvas.dataset.drawn = String(datasets.reduce(function (n, d) {
        return n + d.data.filter(function (v) { return v !== null; }).length;
      }, 0));
      canvas.chart = chart;
    });
  }

  document.addEventListener('DOMContentLoaded', function () {
    drawCharts();
  });
})();
