// Overview: totals, attempts over time for the top ports (per sensor in a fleet) with spikes marked, top ports/sources/countries/
// ASNs, active scans, spikes, and live sessions from server-sent events.
'use strict';

(function () {
  const { el, link, sessionPortLink, api, num, time, geoText, tags, table, fill, load } = window.tw;
  const RANGES = {
    '24h': { ms: 86400000, step: 'hour' },
    '7d': { ms: 7 * 86400000, step: 'hour' },
    '30d': { ms: 30 * 86400000, step: 'day' },
  };
  const MAX_LIVE_ROWS = 50;
  /** Lines the fleet's attempts chart draws at most (the first sensors by name). */
  const MAX_SENSOR_LINES = 12;

  function portLink(p) {
    return link('/port', { port: p.port, proto: p.proto }, `${p.proto}/${p.port}`);
  }

  function sourceLink(ip) {
    return link('/source', { ip }, ip);
  }

  function spikeRows(spikes) {
    return table(
      [
        { label: 'time', get: (s) => time(s.ts) },
        { label: 'port', get: (s) => portLink({ port: s.dport, proto: s.proto }) },
        { label: 'count', num: true, get: (s) => num(s.count) },
        {
          label: 'baseline',
          num: true,
          get: (s) => `${s.baseline.mean.toFixed(1)} ± ${s.baseline.sd.toFixed(1)}`,
        },
        { label: 'score', num: true, get: (s) => s.score.toFixed(1) },
      ],
      spikes,
      { empty: 'no spikes' },
    );
  }

  async function render(rangeKey) {
    const r = RANGES[rangeKey] || RANGES['24h'];
    const to = Date.now();
    const from = to - r.ms;
    const s = await api('summary', { from, to });
    const t = s.totals;
    fill(
      'totals',
      ...[
        ['sessions', t.sessions],
        ['attempts', t.attempts],
        ['sources', t.sources],
        ['scans', t.scans],
        ['spikes', t.spikes],
        ['blocks', t.blocks],
      ].map(([label, v]) =>
        el(
          'div',
          { class: 'card' },
          el('div', { class: 'label' }, label),
          el('div', { class: 'value' }, num(v)),
        ),
      ),
    );
    fill(
      'rates',
      `now: ${num(Math.round(s.rates.sessions_per_min))} sessions/min, ${num(Math.round(s.rates.attempts_per_min))} attempts/min`,
    );
    fill(
      'ports',
      table(
        [
          { label: 'port', get: portLink },
          { label: 'attempts', num: true, get: (p) => num(p.new) },
          { label: 'packets', num: true, get: (p) => num(p.all) },
          { label: 'sources', num: true, get: (p) => num(p.sources) },
        ],
        s.top_ports,
        { empty: 'no traffic recorded yet' },
      ),
    );
    fill(
      'sources',
      table(
        [
          { label: 'address', get: (x) => sourceLink(x.ip) },
          { label: 'where', get: (x) => geoText(x.geo) },
          { label: 'sessions', num: true, get: (x) => num(x.sessions) },
          { label: 'attempts', num: true, get: (x) => num(x.attempts) },
          { label: 'tags', get: (x) => tags(x.tags) },
        ],
        s.top_sources,
        { empty: 'no sources yet' },
      ),
    );
    fill(
      'countries',
      table(
        [
          { label: 'country', get: (c) => c.cc || '??' },
          { label: 'count', num: true, get: (c) => num(c.count) },
        ],
        s.top_countries.slice(0, 8),
        { empty: 'no GeoIP data' },
      ),
    );
    fill(
      'asns',
      table(
        [
          { label: 'ASN', get: (a) => `AS${a.asn}` },
          { label: 'organisation', get: (a) => a.org || '–' },
          { label: 'count', num: true, get: (a) => num(a.count) },
        ],
        s.top_asns.slice(0, 8),
        { empty: 'no ASN data' },
      ),
    );
    fill(
      'scans',
      table(
        [
          { label: 'source', get: (x) => sourceLink(x.src) },
          { label: 'kind', get: (x) => `${x.kind} ${x.probe}` },
          { label: 'tool', get: (x) => x.tool || '–' },
          { label: 'ports', num: true, get: (x) => num(x.ports) },
          { label: 'hosts', num: true, get: (x) => num(x.hosts) },
          { label: 'last seen', get: (x) => time(x.last_seen) },
          { label: 'action', get: (x) => x.action },
        ],
        s.active_scans,
        { empty: 'no active scans' },
      ),
    );
    fill('spikes', spikeRows(s.spikes));

    // Attempts over time, spikes as markers: one line per top port (up to 6), or in the fleet view (several
    // sensors, none picked) one line per sensor with its attempts on every port.
    const fleet = window.tw.pickedSensor() ? [] : ((await api('sensors')) || []).map((x) => x.sensor);
    const asks =
      fleet.length > 1
        ? fleet.slice(0, MAX_SENSOR_LINES).map((sensor) => ({ label: sensor, q: { proto: 'all', sensor } }))
        : s.top_ports
            .slice(0, 6)
            .map((p) => ({ label: `${p.proto}/${p.port}`, q: { port: p.port, proto: p.proto } }));
    const series = await Promise.all(asks.map((a) => api('series', { ...a.q, step: r.step, from, to })));
    const times = [...new Set(series.flatMap((x) => (x ? x.points.map((pt) => pt.t) : [])))].sort(
      (a, b) => a - b,
    );
    const lines = series.map((x, i) => {
      const byT = new Map((x ? x.points : []).map((pt) => [pt.t, pt.new]));
      return { label: asks[i].label, values: times.map((tt) => byT.get(tt) ?? 0) };
    });
    document.getElementById('attempts-what').textContent =
      fleet.length > 1 ? 'by sensor, every port' : 'top ports';
    const markers = s.spikes.map((sp) => Date.parse(sp.ts)).filter((x) => !Number.isNaN(x));
    window.twCharts.lineChart(document.getElementById('attempts'), { times, series: lines, markers });
  }

  function startLive(refresh) {
    document.getElementById('live-state').classList.remove('hidden');
    const rows = [];
    const box = document.getElementById('live');
    const draw = () =>
      box.replaceChildren(
        table(
          [
            { label: 'time', get: (x) => time(x.ts) },
            { label: 'source', get: (x) => sourceLink(x.src) },
            {
              label: 'port',
              get: (x) => sessionPortLink(x),
            },
            { label: 'bytes', num: true, get: (x) => num(x.bytes) },
            { label: 'app', get: (x) => x.persona || x.app || '' },
            { label: 'tags', get: (x) => window.twIntel.plain(x.tags) },
            { label: 'SNI', get: (x) => x.sni || '' },
            { label: 'first bytes', get: (x) => el('div', { class: 'preview' }, x.preview) },
          ],
          rows,
          { empty: 'waiting for sessions…' },
        ),
      );
    draw();
    let pending = false;
    window.tw.live(
      {
        scan: refresh,
        spike: refresh,
        block: refresh,
        campaign: window.twIntel.liveCampaign,
        session: (x) => {
          rows.unshift(x);
          rows.length = Math.min(rows.length, MAX_LIVE_ROWS);
          // Redraw at most once per animation frame, however fast sessions come.
          if (!pending) {
            pending = true;
            window.requestAnimationFrame(() => {
              pending = false;
              draw();
            });
          }
        },
      },
      (on) => document.querySelector('#live-state .live-dot').classList.toggle('on', on),
    );
  }

  document.addEventListener('DOMContentLoaded', () => {
    const sel = document.getElementById('range');
    const initial = window.tw.param('range') || '24h';
    sel.value = RANGES[initial] ? initial : '24h';
    const run = () => load('totals', () => render(sel.value));
    sel.addEventListener('change', () => {
      history.replaceState(null, '', `/?range=${sel.value}`);
      run();
    });
    run();
    // Totals and tables follow new scans, spikes and blocks (at most every 10 s) and the clock (every minute).
    let last = Date.now();
    let timer;
    const refresh = () => {
      if (timer) return;
      timer = setTimeout(
        () => {
          timer = undefined;
          last = Date.now();
          run();
        },
        Math.max(0, last + 10000 - Date.now()),
      );
    };
    setInterval(refresh, 60000);
    startLive(refresh);
  });
})();
