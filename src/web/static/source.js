// Source page: everything one address did: its row (country, ASN, first/last seen, counts, the union of its
// sessions' tags), the IOCs it sent (as text), scans, blocks and sessions.
'use strict';

(function () {
  const { el, link, sessionPortLink, api, num, time, table, fill, load, param, b64bytes, ascii } = window.tw;
  const DAY = 86400000;

  function kv(pairs) {
    const dl = el('dl', { class: 'kv' });
    for (const [k, v] of pairs) dl.append(el('dt', null, k), el('dd', null, v));
    return dl;
  }

  document.addEventListener('DOMContentLoaded', () => {
    const ip = param('ip');
    fill('title', `Source ${ip}`);
    document.title = `tidewatch · ${ip}`;
    load('info', async () => {
      const s = await api(`sources/${encodeURIComponent(ip)}`);
      if (!s) return fill('info', el('div', { class: 'empty' }, 'this address is not in the store'));
      fill(
        'info',
        kv([
          ['address', s.ip],
          ['country', (s.geo && s.geo.cc) || '–'],
          ['ASN', s.geo && s.geo.asn ? `AS${s.geo.asn}` : '–'],
          ['organisation', (s.geo && s.geo.org) || '–'],
          ['first seen', time(s.first_seen)],
          ['last seen', time(s.last_seen)],
          ['sessions', num(s.sessions)],
          ['attempts', num(s.attempts)],
          ['ports', num(s.ports)],
          ['tags', window.twIntel.tagLinks(s.tags)],
        ]),
        el('a', { href: `/sessions?src=${encodeURIComponent(ip)}` }, 'search its sessions →'),
      );
    });
    load('scans', async () => {
      const sc = await api('scans', { src: ip, from: Date.now() - 90 * DAY, limit: 100 });
      fill(
        'scans',
        table(
          [
            { label: 'first seen', get: (x) => time(x.first_seen) },
            { label: 'last seen', get: (x) => time(x.last_seen) },
            { label: 'kind', get: (x) => `${x.kind} ${x.probe}` },
            { label: 'tool', get: (x) => x.tool || '–' },
            { label: 'ports', num: true, get: (x) => num(x.ports) },
            { label: 'hosts', num: true, get: (x) => num(x.hosts) },
            { label: 'state', get: (x) => x.state },
            { label: 'action', get: (x) => x.action },
          ],
          sc.rows,
          { empty: 'no scans by this address' },
        ),
      );
    });
    load('iocs', async () => {
      const r = await api('iocs', { src: ip, from: Date.now() - 90 * DAY, limit: 100 });
      if (!r) return fill('iocs', el('div', { class: 'empty' }, 'this store keeps no IOCs'));
      fill(
        'iocs',
        table(
          [
            { label: 'kind', get: (x) => x.kind },
            { label: 'value', get: (x) => el('code', null, x.value) },
            { label: 'first seen', get: (x) => time(x.first_seen) },
            { label: 'last seen', get: (x) => time(x.last_seen) },
            { label: 'sessions', num: true, get: (x) => num(x.sessions) },
          ],
          r.rows,
          { empty: 'no IOCs from this address' },
        ),
      );
    });
    load('blocks', async () => {
      const b = await api('blocks', { limit: 1000 });
      fill(
        'blocks',
        table(
          [
            { label: 'added', get: (x) => time(x.added) },
            { label: 'until', get: (x) => time(x.until) },
            { label: 'action', get: (x) => x.action },
            { label: 'reason', get: (x) => x.reason },
          ],
          b.rows.filter((x) => x.src === ip),
          { empty: 'never blocked' },
        ),
      );
    });
    load('sessions', async () => {
      const ss = await api('sessions', { src: ip, limit: 100 });
      fill(
        'sessions',
        table(
          [
            { label: 'time', get: (x) => link('/sessions', { id: x.id }, time(x.ts)) },
            {
              label: 'port',
              get: (x) => sessionPortLink(x),
            },
            { label: 'bytes', num: true, get: (x) => num(x.bytes) },
            { label: 'close', get: (x) => x.close },
            { label: 'SNI', get: (x) => (x.tls && x.tls.sni) || '' },
            {
              label: 'first bytes (ASCII)',
              get: (x) => el('div', { class: 'preview' }, ascii(b64bytes(x.payload).subarray(0, 120))),
            },
          ],
          ss.rows,
          { empty: 'no sessions from this address' },
        ),
        el('div', { class: 'muted' }, `${num(ss.total)} sessions in all`),
      );
    });
  });
})();
