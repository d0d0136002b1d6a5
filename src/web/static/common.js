// Shared helpers of the dashboard pages. Every value from the API goes into the page as text (textContent
// or a text node), never as HTML: payloads, SNI, tags and anything else an attacker may have sent included.
'use strict';

(function () {
  const THEMES = ['auto', 'dark', 'light'];

  function applyTheme(t) {
    if (t === 'dark' || t === 'light') document.documentElement.dataset.theme = t;
    else delete document.documentElement.dataset.theme;
  }

  function storedTheme() {
    try {
      return localStorage.getItem('tw-theme') || 'auto';
    } catch {
      return 'auto';
    }
  }
  applyTheme(storedTheme());

  /** el('td', {class: 'num'}, 'text', child) — children are strings (made text nodes) or elements. */
  function el(tag, attrs, ...children) {
    const e = document.createElement(tag);
    if (attrs)
      for (const [k, v] of Object.entries(attrs)) {
        if (v === undefined || v === null || v === false) continue;
        if (k === 'class') e.className = v;
        else if (k === 'text') e.textContent = String(v);
        else if (k === 'onclick') e.addEventListener('click', v);
        else if (k === 'href') e.setAttribute('href', safeHref(v));
        else e.setAttribute(k, String(v));
      }
    for (const c of children) {
      if (c === undefined || c === null) continue;
      e.append(c instanceof window.Node ? c : document.createTextNode(String(c)));
    }
    return e;
  }

  /** Only same-origin relative links are built by the pages; anything else becomes '#'. */
  function safeHref(v) {
    const s = String(v);
    return s.startsWith('/') && !s.startsWith('//') ? s : '#';
  }

  function link(path, params, text) {
    const q = new URLSearchParams(params).toString();
    return el('a', { href: q ? `${path}?${q}` : path }, text);
  }

  /** A session's destination port, linked to its port page (protocols other than UDP count as TCP). */
  function sessionPortLink(s, text = `${s.proto}/${s.dport}`) {
    return link('/port', { port: s.dport, proto: s.proto === 'udp' ? 'udp' : 'tcp' }, text);
  }

  class ApiError extends Error {}

  /** The sensor picked in the top bar ('' = all), kept across pages. */
  function pickedSensor() {
    try {
      return localStorage.getItem('tw-sensor') || '';
    } catch {
      return '';
    }
  }

  /** Routes that are not about one sensor's data. */
  const FLEET_WIDE = new Set(['sensors', 'live']);

  async function api(path, params) {
    const clean = {};
    const sensor = pickedSensor();
    if (sensor && !FLEET_WIDE.has(path)) clean.sensor = sensor;
    for (const [k, v] of Object.entries(params || {})) if (v !== undefined && v !== '') clean[k] = v;
    const q = new URLSearchParams(clean).toString();
    const res = await fetch(q ? `/api/${path}?${q}` : `/api/${path}`, {
      headers: { Accept: 'application/json' },
      credentials: 'same-origin',
    });
    if (res.status === 404) {
      // Read the answer anyway: an unread body keeps the request open in the browser.
      await res.text().catch(() => '');
      return undefined;
    }
    let body;
    try {
      body = await res.json();
    } catch {
      body = {};
    }
    if (!res.ok) throw new ApiError(body.error || `HTTP ${res.status}`);
    return body;
  }

  const nf = new Intl.NumberFormat('en');
  function num(n) {
    return n === undefined || n === null ? '–' : nf.format(n);
  }

  function pad(n) {
    return String(n).padStart(2, '0');
  }

  /** UTC times everywhere: the sensor, the CSV and the logs are in UTC. */
  function time(v) {
    if (v === undefined || v === null || v === '') return '–';
    const d = typeof v === 'number' ? new Date(v < 1e11 ? v * 1000 : v) : new Date(v);
    if (Number.isNaN(d.getTime())) return String(v);
    return `${d.getUTCFullYear()}-${pad(d.getUTCMonth() + 1)}-${pad(d.getUTCDate())} ${pad(d.getUTCHours())}:${pad(
      d.getUTCMinutes(),
    )}:${pad(d.getUTCSeconds())}`;
  }

  function geoText(g) {
    if (!g) return '–';
    const parts = [];
    if (g.cc) parts.push(g.cc);
    if (g.asn) parts.push(`AS${g.asn}`);
    if (g.org) parts.push(g.org);
    return parts.join(' · ') || '–';
  }

  function tags(list) {
    const span = el('span');
    for (const t of list || [])
      span.append(el('span', { class: 'tag', title: `confidence ${t.confidence}` }, t.name));
    return span;
  }

  // Times, addresses and ports never wrap in the middle of a value.
  const NOWRAP = new Set(['time', 'source', 'port', 'address', 'first seen', 'last seen', 'added', 'until']);

  /** A table from rows and column specs {label, num, get(row) → string | Node}. */
  function table(columns, rows, opts) {
    const o = opts || {};
    if (!rows || rows.length === 0) return el('div', { class: 'empty' }, o.empty || 'nothing yet');
    const head = el('tr', null, ...columns.map((c) => el('th', { class: c.num ? 'num' : '' }, c.label)));
    const body = el('tbody');
    for (const r of rows) {
      const tr = el('tr', { class: o.onRow ? 'clickable' : '' });
      for (const c of columns) {
        const v = c.get(r);
        const cls = [c.num ? 'num' : '', c.num || NOWRAP.has(c.label) ? 'nowrap' : ''].join(' ').trim();
        tr.append(el('td', { class: cls }, v instanceof window.Node ? v : v === undefined ? '–' : v));
      }
      if (o.onRow) tr.addEventListener('click', (ev) => o.onRow(r, tr, ev));
      body.append(tr);
    }
    return el('table', null, el('thead', null, head), body);
  }

  function fill(id, ...nodes) {
    const target = document.getElementById(id);
    if (!target) return;
    target.replaceChildren(...nodes);
  }

  function showError(id, err) {
    fill(id, el('div', { class: 'error' }, err instanceof Error ? err.message : String(err)));
  }

  /** Runs a loader into a panel: errors show in the panel instead of breaking the page. */
  async function load(id, fn) {
    try {
      await fn();
    } catch (err) {
      showError(id, err);
    }
  }

  function param(name) {
    return new URLSearchParams(location.search).get(name) || '';
  }

  /** Printable ASCII of bytes, others as '.'. */
  function ascii(bytes) {
    let s = '';
    for (const b of bytes) s += b >= 0x20 && b < 0x7f ? String.fromCharCode(b) : '.';
    return s;
  }

  function b64bytes(b64) {
    try {
      const bin = window.atob(b64 || '');
      const out = new Uint8Array(bin.length);
      for (let i = 0; i < bin.length; i++) out[i] = bin.charCodeAt(i);
      return out;
    } catch {
      return new Uint8Array(0);
    }
  }

  /** Classic hex dump: offset, 16 bytes in hex, the same bytes as ASCII. */
  function hexdump(bytes, max) {
    const n = Math.min(bytes.length, max || 65536);
    const lines = [];
    for (let off = 0; off < n; off += 16) {
      const chunk = bytes.subarray(off, Math.min(off + 16, n));
      let hex = '';
      for (let i = 0; i < 16; i++) {
        hex += i < chunk.length ? chunk[i].toString(16).padStart(2, '0') + ' ' : '   ';
        if (i === 7) hex += ' ';
      }
      lines.push(`${off.toString(16).padStart(8, '0')}  ${hex} |${ascii(chunk)}|`);
    }
    if (bytes.length > n) lines.push(`… ${bytes.length - n} more bytes`);
    return lines.join('\n');
  }

  function setupHeader() {
    const btn = document.getElementById('theme');
    if (btn) {
      const label = () => (btn.textContent = `theme: ${storedTheme()}`);
      label();
      btn.addEventListener('click', () => {
        const next = THEMES[(THEMES.indexOf(storedTheme()) + 1) % THEMES.length];
        try {
          localStorage.setItem('tw-theme', next);
        } catch {
          /* private mode: the toggle lasts for this page */
        }
        applyTheme(next);
        label();
        window.dispatchEvent(new window.Event('tw-theme'));
      });
    }
    for (const a of document.querySelectorAll('header.top nav a'))
      if (a.getAttribute('href') === location.pathname) a.classList.add('active');
    const csv = document.getElementById('csv');
    if (csv) csv.setAttribute('href', `/api/daily.csv?day=${new Date().toISOString().slice(0, 10)}`);
    void setupSensorPicker();
  }

  /** The sensor picker: shown when the store holds more than one sensor; a change reloads the page. */
  async function setupSensorPicker() {
    const pick = document.getElementById('sensor-picker');
    if (!pick) return;
    let sensors;
    try {
      sensors = (await api('sensors')) || [];
    } catch {
      return;
    }
    const picked = pickedSensor();
    const store = (v) => {
      try {
        if (v) localStorage.setItem('tw-sensor', v);
        else localStorage.removeItem('tw-sensor');
      } catch {
        /* private mode */
      }
    };
    if (picked && !sensors.some((s) => s.sensor === picked)) {
      store('');
      location.reload();
      return;
    }
    if (sensors.length < 2) return;
    for (const s of sensors) pick.append(el('option', { value: s.sensor }, `${s.sensor} (${s.state})`));
    pick.value = picked;
    pick.classList.remove('hidden');
    pick.addEventListener('change', () => {
      store(pick.value);
      location.reload();
    });
  }

  /** Subscribes to /api/live; handlers by event type. Returns the EventSource. */
  function live(handlers, onState) {
    if (typeof EventSource === 'undefined') return undefined;
    const es = new EventSource('/api/live');
    es.addEventListener('open', () => onState && onState(true));
    es.addEventListener('error', () => onState && onState(false));
    for (const [type, fn] of Object.entries(handlers))
      es.addEventListener(type, (ev) => {
        try {
          fn(JSON.parse(ev.data));
        } catch {
          /* a malformed message is skipped */
        }
      });
    return es;
  }

  window.tw = {
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
    showError,
    param,
    ascii,
    b64bytes,
    hexdump,
    live,
    setupHeader,
    pickedSensor,
  };
  document.addEventListener('DOMContentLoaded', setupHeader);
})();
