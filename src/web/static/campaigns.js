// Campaigns page: new and spiking session signatures (one row per signature, its latest event), a sparkline
// of its sources per interval, tags and CVEs, and one campaign's example request or payload as text with a
// link to the sessions of that signature. New campaign events arrive through the live stream.
'use strict';

(function () {
  const { el, api, num, time, fill, load, param } = window.tw;
  const { sessionsLink, tagLinks, plain, sparkline, kv, campaignTable } = window.twIntel;
  const RANGES = { '24h': 86400000, '7d': 7 * 86400000, '30d': 30 * 86400000 };
  /** Events read per page load (the API's cap). */
  const LIMIT = 1000;
  let events = [];
  let picked = '';

  /** The latest event of each signature of one kind (events come newest first), with its event count. */
  function latestBySignature(kind) {
    const seen = new Map();
    for (const e of events) {
      if (e.kind !== kind) continue;
      const s = seen.get(e.signature);
      if (s) s.events++;
      else seen.set(e.signature, { ...e, events: 1 });
    }
    return [...seen.values()];
  }

  function showDetail(c) {
    picked = c.signature;
    fill(
      'detail',
      kv([
        ['signature', el('code', { id: 'signature' }, c.signature)],
        ['kind', c.kind],
        ['app', c.app],
        ['last event', time(c.ts)],
        ['first seen', time(c.first_seen)],
        ['sources in the interval', `${num(c.sources)} (interval ${num(c.interval_s)} s)`],
        ['baseline', `${c.baseline.mean} ± ${c.baseline.sd}`],
        ['ports', plain((c.ports || []).map(String))],
        ['tags', tagLinks(c.tags)],
        ['CVEs', el('span', { id: 'campaign-cves' }, plain(c.cves))],
        ['events in range', c.events ? num(c.events) : undefined],
      ]),
      el('h3', null, 'Sources per interval'),
      sparkline(c.series, 360, 60),
      el('h3', null, 'Example request or payload'),
      el('pre', { class: 'wrap', id: 'example' }, c.example || '(none)'),
      sessionsLink('signature', c.signature, 'sessions with this signature →'),
    );
  }

  function draw() {
    const fresh = latestBySignature('new');
    const spiking = latestBySignature('spike');
    const onRow = (c) => showDetail(c);
    fill('new', campaignTable(fresh, { empty: 'no new signatures', onRow }));
    fill('spiking', campaignTable(spiking, { empty: 'no spiking signatures', onRow }));
    fill('count', `${num(events.length)} campaign events`);
    const current = [...fresh, ...spiking].find((c) => c.signature === picked) || fresh[0] || spiking[0];
    if (current) showDetail(current);
  }

  async function render(rangeKey) {
    const to = Date.now();
    const res = await api('campaigns', { from: to - (RANGES[rangeKey] || RANGES['24h']), to, limit: LIMIT });
    if (!res) return fill('new', el('div', { class: 'empty' }, 'this store keeps no campaigns'));
    events = res.rows;
    draw();
  }

  document.addEventListener('DOMContentLoaded', () => {
    const sel = document.getElementById('range');
    const initial = param('range') || '24h';
    sel.value = RANGES[initial] ? initial : '24h';
    picked = param('signature');
    const run = () => load('new', () => render(sel.value));
    sel.addEventListener('change', () => {
      history.replaceState(null, '', `/campaigns?range=${sel.value}`);
      run();
    });
    run();
    document.getElementById('live-state').classList.remove('hidden');
    window.tw.live(
      {
        campaign: (c) => {
          events.unshift(c);
          events.length = Math.min(events.length, LIMIT);
          draw();
        },
      },
      (on) => document.querySelector('#live-state .live-dot').classList.toggle('on', on),
    );
  });
})();
