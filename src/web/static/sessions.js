// Session browser: search (port, source, proto, text in payload, tag, signature, time range) with paging, and
// one session with its TLS details, what a responder and intel recorded, and its payload in hex and ASCII
// views, all as text.
'use strict';

(function () {
  const {
    el,
    link,
    sessionPortLink,
    api,
    num,
    time,
    geoText,
    tags,
    table,
    fill,
    load,
    param,
    b64bytes,
    ascii,
    hexdump,
  } = window.tw;
  const LIMIT = 50;
  const FIELDS = ['port', 'src', 'proto', 'text', 'tag', 'signature', 'from', 'to'];

  function kv(pairs) {
    const dl = el('dl', { class: 'kv' });
    for (const [k, v] of pairs) if (v !== undefined) dl.append(el('dt', null, k), el('dd', null, v));
    return dl;
  }

  async function showSession(id) {
    const s = await api(`sessions/${encodeURIComponent(id)}`);
    if (!s) return fill('detail', el('div', { class: 'empty' }, `no session ${id}`));
    const bytes = b64bytes(s.payload);
    const parts = [
      kv([
        ['id', String(s.id)],
        ['started', time(s.ts)],
        ['ended', s.ended ? time(s.ended) : undefined],
        ['protocol', s.proto],
        ['source', link('/source', { ip: s.src }, `${s.src} port ${s.sport}`)],
        ['destination', sessionPortLink(s, `${s.dst} port ${s.dport}`)],
        ['where', geoText(s.geo)],
        [
          'bytes received',
          `${num(s.bytes)}${s.truncated ? ' (truncated: only the first bytes are kept)' : ''}`,
        ],
        ['bytes kept', num(bytes.length)],
        ['close', s.close],
        ['tags', window.twIntel.tagLinks(s.tags)],
      ]),
    ];
    if (s.tls) {
      parts.push(
        el('h2', null, 'TLS'),
        kv([
          ['version', s.tls.version],
          ['SNI', s.tls.sni || '–'],
          ['ALPN', (s.tls.alpn || []).join(', ') || '–'],
          ['JA3', el('code', null, s.tls.ja3)],
          ['JA3 hash', s.tls.ja3_hash ? el('code', null, s.tls.ja3_hash) : undefined],
          ['JA4', el('code', null, s.tls.ja4)],
        ]),
      );
    }
    if (s.persona) parts.push(...responder(s));
    parts.push(...window.twIntel.sessionIntel(s));
    parts.push(
      el('h2', null, 'Payload, ASCII'),
      el('pre', { class: 'wrap', id: 'payload-ascii' }, bytes.length ? ascii(bytes) : '(no bytes)'),
      el('h2', null, 'Payload, hex'),
      el('pre', { id: 'payload-hex' }, bytes.length ? hexdump(bytes) : '(no bytes)'),
    );
    fill('detail', ...parts);
  }

  /** What the responder answered and recorded; every attacker string goes in as text, never as HTML. */
  function responder(s) {
    const creds = (s.credentials || []).map((c) =>
      [
        c.username,
        c.password !== undefined ? `password ${c.password}` : '',
        c.key_type ? `${c.key_type} ${c.key_fingerprint || ''}` : '',
        c.auth_data ? `auth data ${c.auth_data}` : '',
      ]
        .filter(Boolean)
        .join('  '),
    );
    const http = (s.http || []).map(
      (h) =>
        `${h.method} ${h.path}${h.host ? `  host ${h.host}` : ''}${h.user_agent ? `  UA ${h.user_agent}` : ''}`,
    );
    const sent = b64bytes(s.sent || '');
    return [
      el('h2', null, `Responder: ${s.persona}`),
      kv([
        ['SSH client', s.ssh ? el('code', null, s.ssh.client) : undefined],
        ['HASSH', s.ssh && s.ssh.hassh ? el('code', null, s.ssh.hassh) : undefined],
      ]),
      el('h3', null, 'Credentials'),
      el('pre', { class: 'wrap', id: 'credentials' }, creds.length ? creds.join('\n') : '(none)'),
      el('h3', null, 'Commands'),
      el('pre', { class: 'wrap', id: 'commands' }, (s.commands || []).join('\n') || '(none)'),
      ...(http.length
        ? [el('h3', null, 'HTTP requests'), el('pre', { class: 'wrap', id: 'http' }, http.join('\n'))]
        : []),
      el('h3', null, 'Sent, ASCII'),
      el('pre', { class: 'wrap', id: 'sent-ascii' }, sent.length ? ascii(sent) : '(nothing)'),
    ];
  }

  function query() {
    const q = {};
    for (const f of FIELDS) {
      const v = param(f);
      if (v) q[f] = v;
    }
    return q;
  }

  // Keyset paging: a page starts at the `next` of the page before it (cursor "TS-ID"); the pages already
  // seen (cursor, rows before it) are kept so "newer" goes back without the server skipping rows.
  const seen = [];

  async function search(cursor, before = 0) {
    const q = query();
    const at = cursor ? { cursor } : {};
    const res = await api('sessions', { ...q, limit: LIMIT, ...at });
    fill(
      'results',
      table(
        [
          { label: 'time', get: (x) => time(x.ts) },
          { label: 'source', get: (x) => x.src },
          { label: 'port', get: (x) => `${x.proto}/${x.dport}` },
          { label: 'bytes', num: true, get: (x) => num(x.bytes) },
          { label: 'app', get: (x) => x.persona || x.app || '' },
          { label: 'tags', get: (x) => tags(x.tags) },
          {
            label: 'first bytes (TLS: SNI)',
            get: (x) =>
              el(
                'div',
                { class: 'preview' },
                x.tls ? `SNI ${x.tls.sni || '–'}` : ascii(b64bytes(x.payload).subarray(0, 80)),
              ),
          },
        ],
        res.rows,
        {
          empty: 'no sessions match',
          onRow: (r, tr) => {
            for (const s of document.querySelectorAll('tr.selected')) s.classList.remove('selected');
            tr.classList.add('selected');
            history.replaceState(null, '', `/sessions?${new URLSearchParams({ ...q, id: r.id, ...at })}`);
            load('detail', () => showSession(r.id));
          },
        },
      ),
    );
    const chosen = param('id');
    if (chosen)
      res.rows.forEach((r, i) => {
        if (String(r.id) === chosen)
          document.querySelectorAll('#results tbody tr')[i].classList.add('selected');
      });
    fill('pageinfo', pageInfo(res, before));
    const prev = document.getElementById('prev');
    const next = document.getElementById('next');
    prev.disabled = seen.length === 0;
    next.disabled = !res.next;
    prev.onclick = () => {
      const back = seen.pop();
      load('results', () => search(back.cursor, back.before));
    };
    next.onclick = () => {
      seen.push({ cursor, before });
      load('results', () => search(res.next, before + res.rows.length));
    };
  }

  /**
   * "51–100 of 1,234". A text search examines a bounded number of sessions per page (docs/web.md): it says
   * how many matched among those it searched, and when it stopped short, "searched the last N sessions".
   */
  function pageInfo(res, before) {
    const range = res.rows.length ? `${num(before + 1)}–${num(before + res.rows.length)}` : 'none';
    const total = `${num(res.total)}${res.capped ? '+' : ''}`;
    if (res.scanned === undefined) return res.total ? `${range} of ${total}` : '';
    const how =
      res.scanned >= res.scan_limit
        ? `searched the last ${num(res.scanned)} sessions; older → searches further back`
        : `searched ${num(res.scanned)} sessions`;
    return `${range} · ${total} matches from here · ${how}`;
  }

  document.addEventListener('DOMContentLoaded', () => {
    const form = document.getElementById('search');
    const q = query();
    for (const f of FIELDS) if (q[f] && form.elements[f]) form.elements[f].value = q[f];
    // Empty fields are left out of the URL so the API does not see empty parameters.
    form.addEventListener('submit', (ev) => {
      ev.preventDefault();
      const params = {};
      for (const f of FIELDS) if (form.elements[f].value.trim()) params[f] = form.elements[f].value.trim();
      location.assign(`/sessions?${new URLSearchParams(params)}`);
    });
    load('results', () => search(param('cursor') || undefined));
    const id = param('id');
    if (id) load('detail', () => showSession(id));
  });
})();
