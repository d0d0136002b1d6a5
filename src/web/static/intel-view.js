// What intel recorded, as the pages show it: tag and signature links into the session browser, CVEs, rules
// and IOCs as plain text (never links: an IOC is attacker text that nothing may fetch), sparklines of a
// campaign's sources per interval, and the live view's campaign list. Everything goes in as text.
'use strict';

(function () {
  const { el, link, num, time, table } = window.tw;
  const SVG = 'http://www.w3.org/2000/svg';
  const MAX_LIVE_CAMPAIGNS = 20;

  /** The session browser filtered by one parameter (tag= or signature=). */
  function sessionsLink(key, value, text) {
    return link('/sessions', { [key]: value }, text);
  }

  /** Tags (strings or {name}) as chips linking to their sessions. */
  function tagLinks(list) {
    const span = el('span', { class: 'tags' });
    for (const t of list || []) {
      const name = typeof t === 'string' ? t : t.name;
      const a = sessionsLink('tag', name, name);
      a.className = 'tag';
      span.append(a);
    }
    return span;
  }

  /** A comma-separated list as plain text, '–' when empty. */
  function plain(list) {
    return list && list.length ? list.join(', ') : '–';
  }

  /** Distinct sources per interval, oldest first: a polyline scaled to its own maximum. */
  function sparkline(values, width = 120, height = 24) {
    const svg = document.createElementNS(SVG, 'svg');
    svg.setAttribute('class', 'spark');
    svg.setAttribute('width', String(width));
    svg.setAttribute('height', String(height));
    svg.setAttribute('viewBox', `0 0 ${width} ${height}`);
    const v = (values || []).map((x) => Math.max(0, Number(x) || 0));
    const title = document.createElementNS(SVG, 'title');
    title.textContent = `sources per interval: ${v.join(' ')}`;
    svg.append(title);
    if (v.length === 0) return svg;
    if (v.length === 1) v.push(v[0]);
    const max = Math.max(1, ...v);
    const dx = (width - 2) / (v.length - 1);
    const y = (x) => (height - 1 - (x / max) * (height - 2)).toFixed(1);
    const line = document.createElementNS(SVG, 'polyline');
    line.setAttribute('points', v.map((x, i) => `${(1 + i * dx).toFixed(1)},${y(x)}`).join(' '));
    svg.append(line);
    return svg;
  }

  function kv(pairs) {
    const dl = el('dl', { class: 'kv' });
    for (const [k, v] of pairs) if (v !== undefined) dl.append(el('dt', null, k), el('dd', null, v));
    return dl;
  }

  function iocText(iocs) {
    const lines = [
      ...(iocs.urls || []).map((u) => `url  ${u}`),
      ...(iocs.hosts || []).map((h) => `host ${h}`),
    ];
    return lines.length ? lines.join('\n') : '(none)';
  }

  /** The session page's intel section (its tags are with the session's): app, CVEs, rules, signature, IOCs,
   * and HTTP requests when no responder listed them. */
  function sessionIntel(s) {
    const has = s.app || s.cves || s.rules || s.iocs || s.signature;
    if (!has) return [];
    const parts = [
      el('h2', null, 'Intel'),
      kv([
        ['app', s.app || '–'],
        ['CVEs', el('span', { id: 'cves' }, plain(s.cves))],
        ['rules', el('span', { id: 'rules' }, plain(s.rules))],
        [
          'signature',
          s.signature
            ? sessionsLink('signature', s.signature.template, el('code', null, s.signature.template))
            : undefined,
        ],
        ['payload sha256', s.signature ? el('code', null, s.signature.sha256) : undefined],
      ]),
    ];
    if (s.iocs)
      parts.push(
        el('h3', null, 'IOCs (never fetched)'),
        el('pre', { class: 'wrap', id: 'iocs' }, iocText(s.iocs)),
      );
    if (!s.persona && s.http && s.http.length)
      parts.push(
        el('h3', null, 'HTTP requests'),
        el(
          'pre',
          { class: 'wrap', id: 'http' },
          s.http.map((h) => `${h.method} ${h.path}${h.host ? `  host ${h.host}` : ''}`).join('\n'),
        ),
      );
    return parts;
  }

  /** Campaign events as a table; onRow(campaign) when given. */
  function campaignTable(rows, opts) {
    const o = opts || {};
    return table(
      [
        { label: 'time', get: (c) => time(c.ts) },
        {
          label: 'kind',
          get: (c) => el('span', { class: `kind-${c.kind === 'spike' ? 'spike' : 'new'}` }, c.kind),
        },
        {
          label: 'signature',
          get: (c) => el('div', { class: 'preview' }, sessionsLink('signature', c.signature, c.signature)),
        },
        { label: 'app', get: (c) => c.app },
        { label: 'sources', num: true, get: (c) => num(c.sources) },
        { label: 'per interval', get: (c) => sparkline(c.series) },
        { label: 'tags', get: (c) => tagLinks(c.tags) },
        { label: 'CVEs', get: (c) => plain(c.cves) },
      ],
      rows,
      { empty: o.empty || 'no campaigns', onRow: o.onRow },
    );
  }

  /** The live view's campaign box: newest first, bounded. */
  const liveRows = [];
  function liveCampaign(c) {
    liveRows.unshift(c);
    liveRows.length = Math.min(liveRows.length, MAX_LIVE_CAMPAIGNS);
    const box = document.getElementById('live-campaigns');
    if (box) box.replaceChildren(campaignTable(liveRows, { empty: 'waiting for campaigns…' }));
  }

  window.twIntel = {
    sessionsLink,
    tagLinks,
    plain,
    sparkline,
    kv,
    sessionIntel,
    campaignTable,
    liveCampaign,
  };
})();
