// The Sensors page: every sensor of the store with its state (ok, quiet: alive without traffic this hour,
// silent: no heartbeat lately), and spikes grouped across sensors.
'use strict';

(function () {
  const { api, el, fill, link, num, showError, table, time } = window.tw;

  async function load() {
    const [sensors, groups] = await Promise.all([api('sensors'), api('fleet-spikes', { from: '-7d' })]);
    fill(
      'sensors',
      table(
        [
          { label: 'sensor', get: (s) => s.sensor },
          { label: 'state', get: (s) => el('span', { class: `state-${s.state}` }, s.state) },
          { label: 'first seen', get: (s) => time(s.first_seen) },
          { label: 'last seen', get: (s) => time(s.last_seen) },
          { label: 'last heartbeat', get: (s) => time(s.last_heartbeat) },
          { label: 'events last hour', num: true, get: (s) => num(s.events_last_hour) },
          { label: 'sessions', num: true, get: (s) => num(s.sessions) },
          { label: 'attempts', num: true, get: (s) => num(s.attempts) },
        ],
        sensors,
        { empty: 'no sensor has shipped anything yet' },
      ),
    );
    fill(
      'fleet-spikes',
      table(
        [
          { label: 'time', get: (g) => time(g.t) },
          {
            label: 'port',
            get: (g) => link('/port', { port: g.dport, proto: g.proto }, `${g.proto}/${g.dport}`),
          },
          { label: 'interval', num: true, get: (g) => `${num(g.interval_s)} s` },
          { label: 'sensors', num: true, get: (g) => num(g.sensors.length) },
          { label: 'which', get: (g) => g.sensors.join(', ') },
          { label: 'sources', num: true, get: (g) => num(g.count) },
          { label: 'score', num: true, get: (g) => num(Math.round(g.score * 10) / 10) },
        ],
        groups,
        { empty: 'no spikes in 7 days' },
      ),
    );
  }

  document.addEventListener('DOMContentLoaded', () => load().catch((err) => showError('sensors', err)));
})();
