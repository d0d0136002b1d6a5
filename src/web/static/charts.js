// Time-series charts with uPlot (served from this origin). Colours come from the theme's CSS variables, so a
// theme switch redraws them; spikes are drawn as vertical markers by a draw hook.
'use strict';

(function () {
  const charts = new Set();

  const pad = (n) => String(n).padStart(2, '0');

  /** UTC, 24-hour tick labels: "14:00", with the date under midnight ticks; dates alone for day steps. */
  function tick(sec, incr) {
    const d = new Date(sec * 1000);
    const day = `${pad(d.getUTCMonth() + 1)}-${pad(d.getUTCDate())}`;
    if (incr >= 86400) return day;
    const hm = `${pad(d.getUTCHours())}:${pad(d.getUTCMinutes())}`;
    return d.getUTCHours() === 0 && d.getUTCMinutes() === 0 ? `${hm}\n${day}` : hm;
  }

  function fullTime(sec) {
    const d = new Date(sec * 1000);
    return `${d.getUTCFullYear()}-${pad(d.getUTCMonth() + 1)}-${pad(d.getUTCDate())} ${pad(d.getUTCHours())}:${pad(d.getUTCMinutes())}`;
  }

  function cssVar(name) {
    return window.getComputedStyle(document.documentElement).getPropertyValue(name).trim() || '#888';
  }

  /**
   * spec: {title, times: [ms], series: [{label, values, color?: '--c1', dash?: true}], markers?: [ms],
   *        height?}
   */
  function lineChart(container, spec) {
    // Drawing again into a container replaces its chart (refreshes, theme switches).
    for (const c of charts)
      if (c.container === container) {
        charts.delete(c);
        c.u.destroy();
      }
    container.replaceChildren();
    const times = spec.times.map((t) => t / 1000);
    const axis = () => ({
      stroke: cssVar('--muted'),
      grid: { stroke: cssVar('--grid'), width: 1 },
      ticks: { stroke: cssVar('--grid'), width: 1 },
    });
    const markers = (spec.markers || []).map((t) => t / 1000);
    const opts = {
      title: spec.title,
      width: Math.max(container.clientWidth, 300),
      height: spec.height || 260,
      tzDate: (ts) => window.uPlot.tzDate(new Date(ts * 1000), 'Etc/UTC'),
      scales: { x: { time: true }, y: { range: (u, min, max) => [0, Math.max(1, max * 1.1)] } },
      axes: [{ ...axis(), values: (u, splits, ax, space, incr) => splits.map((v) => tick(v, incr)) }, axis()],
      legend: { live: true },
      series: [
        { label: 'time (UTC)', value: (u, v) => (v === null || v === undefined ? '–' : fullTime(v)) },
        ...spec.series.map((s, i) => ({
          label: s.label,
          stroke: cssVar(s.color || `--c${(i % 6) + 1}`),
          width: s.dash ? 1.5 : 2,
          dash: s.dash ? [6, 4] : undefined,
          points: { show: times.length < 60 },
        })),
      ],
      hooks: {
        draw: [
          (u) => {
            if (!markers.length) return;
            const ctx = u.ctx;
            ctx.save();
            ctx.strokeStyle = cssVar('--warn');
            ctx.fillStyle = cssVar('--warn');
            ctx.lineWidth = 2 * window.devicePixelRatio;
            for (const t of markers) {
              if (t < u.scales.x.min || t > u.scales.x.max) continue;
              const x = u.valToPos(t, 'x', true);
              ctx.beginPath();
              ctx.setLineDash([4, 4]);
              ctx.moveTo(x, u.bbox.top);
              ctx.lineTo(x, u.bbox.top + u.bbox.height);
              ctx.stroke();
              ctx.beginPath();
              ctx.arc(x, u.bbox.top + 6 * window.devicePixelRatio, 4 * window.devicePixelRatio, 0, 7);
              ctx.fill();
            }
            ctx.restore();
          },
        ],
      },
    };
    const data = [times, ...spec.series.map((s) => s.values)];
    const u = new window.uPlot(opts, data, container);
    const entry = { u, container, spec };
    charts.add(entry);
    if (times.length === 0)
      container.append(window.tw.el('div', { class: 'empty' }, 'no data in this range yet'));
    return u;
  }

  let resizeTimer;
  window.addEventListener('resize', () => {
    clearTimeout(resizeTimer);
    resizeTimer = setTimeout(() => {
      for (const c of charts)
        c.u.setSize({ width: Math.max(c.container.clientWidth, 300), height: c.u.height });
    }, 150);
  });
  window.addEventListener('tw-theme', () => {
    for (const c of [...charts]) lineChart(c.container, c.spec);
  });

  window.twCharts = { lineChart };
})();
