// Port page: attempts by hour and by day with their baseline, the sources on the port, its spikes and
// payload samples (shown as text only).
'use strict';

(function () {
  const { el, link, api, num, time, geoText, tags, table, fill, load, param, b64bytes, ascii } = window.tw;
  const DAY = 86400000;

  async function chart(id, port, proto, step, spanMs, markers) {
    const to = Date.now();
    const s = await api('series', { port, proto, step, from: to - spanMs, to });
    const pts = s ? s.points : [];
    window.twCharts.lineChart(document.getElementById(id), {
      times: pts.map((p) => p.t),
      series: [
        { label: 'packets', values: pts.map((p) => p.all), color: '--c3' },
        { label: 'baseline', values: pts.map((p) => p.baseline), color: '--muted', dash: true },
        { label: 'attempts', values: pts.map((p) => p.new), color: '--c1' },
      ],
      markers,
    });
  }

  document.addEventListener('DOMContentLoaded', async () => {
    const port = param('port');
    const proto = param('proto') === 'udp' ? 'udp' : 'tcp';
    fill('title', `Port ${proto}/${port}`);
    document.title = `tidewatch · ${proto}/${port}`;
    let markers = [];
    await load('spikes', async () => {
      const sp = await api('spikes', { port, from: Date.now() - 90 * DAY, limit: 200 });
      const rows = sp.rows.filter((x) => x.proto === proto);
      markers = rows.map((x) => Date.parse(x.ts));
      fill(
        'spikes',
        table(
          [
            { label: 'time', get: (x) => time(x.ts) },
            { label: 'count', num: true, get: (x) => num(x.count) },
            {
              label: 'baseline',
              num: true,
              get: (x) => `${x.baseline.mean.toFixed(1)} ± ${x.baseline.sd.toFixed(1)}`,
            },
            { label: 'score', num: true, get: (x) => x.score.toFixed(1) },
          ],
          rows,
          { empty: 'no spikes on this port' },
        ),
      );
    });
    load('hourly', () => chart('hourly', port, proto, 'hour', 7 * DAY, markers));
    load('daily', () => chart('daily', port, proto, 'day', 30 * DAY, markers));
    load('sources', async () => {
      const src = await api('sources', { port, from: Date.now() - 30 * DAY, limit: 25 });
      fill(
        'sources',
        table(
          [
            { label: 'address', get: (x) => link('/source', { ip: x.ip }, x.ip) },
            { label: 'where', get: (x) => geoText(x.geo) },
            { label: 'first seen', get: (x) => time(x.first_seen) },
            { label: 'last seen', get: (x) => time(x.last_seen) },
            { label: 'attempts', num: true, get: (x) => num(x.attempts) },
            { label: 'tags', get: (x) => tags(x.tags) },
          ],
          src.rows,
          { empty: 'no sources on this port' },
        ),
        el('div', { class: 'muted' }, `${num(src.total)} sources in all`),
      );
    });
    load('samples', async () => {
      const ss = await api('sessions', { port, limit: 20 });
      const rows = ss.rows.filter((x) => (proto === 'udp' ? x.proto === 'udp' : x.proto !== 'udp'));
      fill(
        'samples',
        table(
          [
            { label: 'time', get: (x) => link('/sessions', { id: x.id }, time(x.ts)) },
            { label: 'source', get: (x) => link('/source', { ip: x.src }, x.src) },
            { label: 'bytes', num: true, get: (x) => num(x.bytes) },
            { label: 'SNI', get: (x) => (x.tls && x.tls.sni) || '' },
            {
              label: 'first bytes (ASCII)',
              get: (x) => el('div', { class: 'preview' }, ascii(b64bytes(x.payload).subarray(0, 120))),
            },
          ],
          rows,
          { empty: 'no sessions with payload on this port' },
        ),
      );
    });
  });
})();
