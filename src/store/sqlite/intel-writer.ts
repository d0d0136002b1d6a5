// The store's share of intelligence (src/intel), written in the StoreWriter's transaction: each session's
// tags one row each, signatures (first and last seen: the "new" in campaigns), IOCs with a few of their
// sources, and campaign events. Folded in memory between flushes, like the writer's other aggregates.
import type { Database, Statement } from 'better-sqlite3';

import type { CampaignEvent, SessionEvent } from '../../core/events.js';

/** Sources remembered per IOC (the first ones seen): enough to pivot, bounded against a flood. */
export const MAX_IOC_SOURCES = 16;

interface SignatureCell {
  first: number;
  last: number;
  sessions: number;
  app?: string;
  sha256: string;
  example: string;
  tags?: string;
  cves?: string;
}

interface IocCell {
  kind: 'url' | 'host';
  value: string;
  first: number;
  last: number;
  sessions: number;
  sources: Set<string>;
}

/** The payload's first line (HTTP) or a printable prefix: what the dashboard shows of a signature. */
function exampleOf(ev: SessionEvent): string {
  const h = ev.http?.[0];
  return h ? `${h.method} ${h.path}` : (ev.signature?.template ?? '');
}

/**
 * The session's intel beyond app and signature template, as JSON (null when it has none); HTTP requests only
 * when intel parsed them (a responder's are in the respond column).
 */
export function intelColumn(ev: SessionEvent): string | null {
  const { cves, rules, iocs, signature } = ev;
  const http = ev.persona ? undefined : ev.http;
  if (!http && !cves && !rules && !iocs && !signature) return null;
  return JSON.stringify({ http, cves, rules, iocs, sha256: signature?.sha256 });
}

export class IntelWriter {
  private sigs = new Map<string, SignatureCell>();
  private iocs = new Map<string, IocCell>();
  private campaigns: CampaignEvent[] = [];
  private readonly st: Record<string, Statement>;

  constructor(db: Database) {
    this.st = {
      tag: db.prepare('INSERT OR IGNORE INTO session_tags (tag, ts, session_id) VALUES (?, ?, ?)'),
      sig: db.prepare(
        `INSERT INTO signatures (template, first_seen, last_seen, sessions, app, sha256, example, tags, cves)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (template) DO UPDATE SET
           first_seen = min(first_seen, excluded.first_seen), last_seen = max(last_seen, excluded.last_seen),
           sessions = sessions + excluded.sessions, sha256 = excluded.sha256,
           tags = coalesce(excluded.tags, tags), cves = coalesce(excluded.cves, cves)`,
      ),
      iocGet: db.prepare('SELECT sources FROM iocs WHERE kind = ? AND value = ?'),
      ioc: db.prepare(
        `INSERT INTO iocs (kind, value, first_seen, last_seen, sessions, sources) VALUES (?, ?, ?, ?, ?, ?)
         ON CONFLICT (kind, value) DO UPDATE SET first_seen = min(first_seen, excluded.first_seen),
           last_seen = max(last_seen, excluded.last_seen), sessions = sessions + excluded.sessions,
           sources = excluded.sources`,
      ),
      campaign: db.prepare('INSERT INTO campaigns (ts, signature, kind, ev) VALUES (?, ?, ?, ?)'),
      firstSeen: db.prepare('SELECT first_seen FROM signatures WHERE template = ?'),
    };
  }

  /** Rows this session adds to the next flush (for the writer's pending count). */
  addSession(ev: SessionEvent, t: number): number {
    let rows = 0;
    const sig = ev.signature;
    if (sig) {
      const c = this.sigs.get(sig.template);
      const tags = ev.tags?.filter((x) => x.confidence === 1).map((x) => x.name);
      if (c) {
        c.last = Math.max(c.last, t);
        c.first = Math.min(c.first, t);
        c.sessions++;
        c.sha256 = sig.sha256;
      } else {
        this.sigs.set(sig.template, {
          first: t,
          last: t,
          sessions: 1,
          app: ev.app,
          sha256: sig.sha256,
          example: exampleOf(ev),
          ...(tags?.length ? { tags: JSON.stringify(tags) } : {}),
          ...(ev.cves?.length ? { cves: JSON.stringify(ev.cves) } : {}),
        });
        rows++;
      }
    }
    for (const [kind, list] of [
      ['url', ev.iocs?.urls ?? []],
      ['host', ev.iocs?.hosts ?? []],
    ] as const)
      for (const value of list) {
        const key = `${kind} ${value}`;
        let c = this.iocs.get(key);
        if (!c) {
          this.iocs.set(key, (c = { kind, value, first: t, last: t, sessions: 0, sources: new Set() }));
          rows++;
        }
        c.first = Math.min(c.first, t);
        c.last = Math.max(c.last, t);
        c.sessions++;
        if (c.sources.size < MAX_IOC_SOURCES) c.sources.add(ev.src);
      }
    return rows;
  }

  addCampaign(ev: CampaignEvent): void {
    this.campaigns.push(ev);
  }

  /** After the session row is written: its tags, one row each. */
  sessionWritten(ev: SessionEvent, id: number, t: number): void {
    for (const tag of ev.tags ?? []) this.st.tag!.run(tag.name, t, id);
  }

  /** When this store first saw a signature (ms), if it ever did. */
  firstSeen(template: string): number | undefined {
    const row = this.st.firstSeen!.get(template) as { first_seen: number } | undefined;
    return row?.first_seen ?? this.sigs.get(template)?.first;
  }

  /** Writes what was folded since the last flush (inside the writer's transaction). */
  write(): void {
    const { sigs, iocs, campaigns } = this;
    this.sigs = new Map();
    this.iocs = new Map();
    this.campaigns = [];
    for (const [template, c] of sigs)
      this.st.sig!.run(
        template,
        c.first,
        c.last,
        c.sessions,
        c.app ?? null,
        c.sha256,
        c.example,
        c.tags ?? null,
        c.cves ?? null,
      );
    for (const c of iocs.values()) {
      const old = this.st.iocGet!.get(c.kind, c.value) as { sources: string } | undefined;
      const sources = new Set<string>(old ? (JSON.parse(old.sources) as string[]) : []);
      for (const s of c.sources) if (sources.size < MAX_IOC_SOURCES) sources.add(s);
      this.st.ioc!.run(c.kind, c.value, c.first, c.last, c.sessions, JSON.stringify([...sources]));
    }
    for (const ev of campaigns)
      this.st.campaign!.run(Date.parse(ev.ts) || Date.now(), ev.signature, ev.kind, JSON.stringify(ev));
  }
}
