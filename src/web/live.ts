// Live updates by server-sent events (GET /api/live): new sessions (with what responders and intel recorded),
// scans, spikes, blocks and campaigns from the bus.
// Bounded everywhere: a client limit, a per-client queue (a slow reader loses the oldest messages, counted,
// never the sensor's memory), a global budget of session messages per second (a flood of sessions costs one
// JSON.stringify each, at most, whatever the number of clients) and a heartbeat so proxies keep it open.
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { EventBus } from '../core/bus.js';
import type { AnyEvent, SessionEvent } from '../core/events.js';
import type { Stats } from '../core/stats.js';
import { HttpError } from './http-util.js';

export const LIVE_LIMITS = {
  maxClients: 32,
  /** Messages waiting for one slow client before the oldest are dropped. */
  maxQueuedPerClient: 256,
  /** Session messages pushed per second in all; the rest are counted in web_live_dropped_total. */
  maxSessionsPerSecond: 50,
  heartbeatMs: 15_000,
  /** Payload bytes shown in a live row (the session browser shows all kept bytes). */
  previewBytes: 64,
  /** Entries of each recorded list (credentials, commands, requests, tags, IOCs) a live message carries. */
  maxListItems: 8,
  /** Characters of each attacker string in a live message (the session page shows them whole). */
  maxText: 200,
} as const;

interface Client {
  res: ServerResponse;
  queue: string[];
  blocked: boolean;
  dropped: number;
}

/** Printable ASCII of the first bytes, others as '.': a one-line preview (rendered as text by the page). */
export function preview(ev: SessionEvent, max: number = LIVE_LIMITS.previewBytes): string {
  let out = '';
  for (const p of ev.payloads) {
    const b = Buffer.from(p.data, 'base64');
    for (const c of b) {
      if (out.length >= max) return out;
      out += c >= 0x20 && c < 0x7f ? String.fromCharCode(c) : '.';
    }
  }
  return out;
}

/** At most maxListItems entries, each mapped (strings cut to maxText); undefined for an absent list. */
function capped<T, U>(list: readonly T[] | undefined, map: (x: T) => U): U[] | undefined {
  return list?.slice(0, LIVE_LIMITS.maxListItems).map(map);
}

const cut = (s: string | undefined): string | undefined => s?.slice(0, LIVE_LIMITS.maxText);

/** What responders and intel recorded on a session, bounded: a live row names it, the session page has it all. */
function recorded(ev: SessionEvent): Record<string, unknown> {
  return {
    persona: ev.persona,
    app: ev.app,
    tags: capped(ev.tags, (t) => cut(t.name)),
    cves: capped(ev.cves, cut),
    rules: capped(ev.rules, cut),
    signature: cut(ev.signature?.template),
    credentials: capped(ev.credentials, (c) => ({
      username: cut(c.username),
      password: cut(c.password),
      key_type: cut(c.key_type),
    })),
    commands: capped(ev.commands, cut),
    http: capped(ev.http, (h) => ({ method: cut(h.method), path: cut(h.path), host: cut(h.host) })),
    ssh: ev.ssh && { client: cut(ev.ssh.client), hassh: ev.ssh.hassh },
    iocs: ev.iocs && { urls: capped(ev.iocs.urls, cut), hosts: capped(ev.iocs.hosts, cut) },
  };
}

export function liveMessage(ev: AnyEvent): Record<string, unknown> | undefined {
  switch (ev.type) {
    case 'session':
      return {
        ts: ev.ts,
        proto: ev.proto,
        src: ev.src,
        sport: ev.sport,
        dst: ev.dst,
        dport: ev.dport,
        bytes: ev.bytes,
        close: ev.close,
        sni: ev.tls?.sni,
        cc: ev.geo?.cc,
        asn: ev.geo?.asn,
        preview: preview(ev),
        ...recorded(ev),
      };
    case 'scan':
    case 'spike':
    case 'block':
    case 'campaign': {
      // These are small (a campaign's example and lists are bounded by the tracker); only the sensor is left out.
      const { sensor: _sensor, ...rest } = ev;
      return rest;
    }
    default:
      return undefined;
  }
}

export class LiveHub {
  private readonly clients = new Set<Client>();
  private readonly heartbeat: NodeJS.Timeout;
  private budgetSecond = 0;
  private budgetLeft: number = LIVE_LIMITS.maxSessionsPerSecond;
  private readonly unsubscribe: (() => void)[] = [];

  constructor(
    bus: EventBus | undefined,
    private readonly stats: Stats,
  ) {
    if (bus)
      for (const t of ['session', 'scan', 'spike', 'block', 'campaign'] as const)
        this.unsubscribe.push(bus.on(t, (ev) => this.publish(ev)));
    this.heartbeat = setInterval(() => this.broadcast(': ping\n\n'), LIVE_LIMITS.heartbeatMs);
    this.heartbeat.unref();
  }

  get size(): number {
    return this.clients.size;
  }

  subscribe(req: IncomingMessage, res: ServerResponse): void {
    if (this.clients.size >= LIVE_LIMITS.maxClients)
      throw new HttpError(503, `too many live clients (limit ${LIVE_LIMITS.maxClients})`);
    res.writeHead(200, {
      'Content-Type': 'text/event-stream; charset=utf-8',
      'Cache-Control': 'no-store',
      Connection: 'keep-alive',
      'X-Accel-Buffering': 'no',
    });
    req.socket.setTimeout(0);
    req.socket.setNoDelay(true);
    const client: Client = { res, queue: [], blocked: false, dropped: 0 };
    this.clients.add(client);
    this.stats.set('web_live_clients', this.clients.size);
    res.on('drain', () => this.flush(client));
    res.on('close', () => {
      this.clients.delete(client);
      this.stats.set('web_live_clients', this.clients.size);
    });
    this.write(client, `retry: 5000\n: connected\n\n`);
  }

  publish(ev: AnyEvent): void {
    if (this.clients.size === 0) return;
    if (ev.type === 'session') {
      const sec = Math.floor(Date.now() / 1000);
      if (sec !== this.budgetSecond) {
        this.budgetSecond = sec;
        this.budgetLeft = LIVE_LIMITS.maxSessionsPerSecond;
      }
      if (this.budgetLeft <= 0) {
        this.stats.inc('web_live_dropped_total', this.clients.size);
        return;
      }
      this.budgetLeft--;
    }
    const msg = liveMessage(ev);
    if (!msg) return;
    this.broadcast(`event: ${ev.type}\ndata: ${JSON.stringify(msg)}\n\n`);
  }

  close(): void {
    clearInterval(this.heartbeat);
    for (const u of this.unsubscribe) u();
    for (const c of this.clients) c.res.end();
    this.clients.clear();
  }

  private broadcast(text: string): void {
    for (const c of this.clients) this.write(c, text);
  }

  private write(c: Client, text: string): void {
    if (c.blocked) {
      c.queue.push(text);
      if (c.queue.length > LIVE_LIMITS.maxQueuedPerClient) {
        c.queue.shift();
        c.dropped++;
        this.stats.inc('web_live_dropped_total');
      }
      return;
    }
    if (!c.res.write(text)) c.blocked = true;
  }

  private flush(c: Client): void {
    c.blocked = false;
    if (c.dropped > 0) {
      const n = c.dropped;
      c.dropped = 0;
      this.write(c, `event: dropped\ndata: {"count":${n}}\n\n`);
    }
    while (c.queue.length && !c.blocked) this.write(c, c.queue.shift()!);
  }
}
