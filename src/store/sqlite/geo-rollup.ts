// Attempts and sessions per UTC day by country and by ASN, folded in memory between flushes: what the
// summary's top countries and ASNs read (a day holds a few hundred countries and some thousands of ASNs, so
// a day's top list reads that many rows, not every source).
import type { Database, Statement } from 'better-sqlite3';

import type { Geo } from '../../core/events.js';

const DAY_MS = 86_400_000;

interface Cell {
  a: number;
  s: number;
  org?: string;
}

export class GeoRollup {
  private cc = new Map<string, Cell>();
  private asn = new Map<string, Cell>();
  private readonly ccSt: Statement;
  private readonly asnSt: Statement;

  constructor(db: Database) {
    this.ccSt = db.prepare(
      `INSERT INTO cc_day (day, cc, attempts, sessions) VALUES (?, ?, ?, ?)
       ON CONFLICT DO UPDATE SET attempts = attempts + excluded.attempts, sessions = sessions + excluded.sessions`,
    );
    this.asnSt = db.prepare(
      `INSERT INTO asn_day (day, asn, org, attempts, sessions) VALUES (?, ?, ?, ?, ?)
       ON CONFLICT DO UPDATE SET attempts = attempts + excluded.attempts, sessions = sessions + excluded.sessions,
         org = coalesce(org, excluded.org)`,
    );
  }

  /** Counts; returns how many new rows this made (for the writer's pending count). */
  add(geo: Geo | undefined, time: number, attempts: number, sessions: number): number {
    if (!geo) return 0;
    const day = Math.floor(time / DAY_MS);
    let added = 0;
    const bump = (m: Map<string, Cell>, key: string, org?: string): void => {
      const c = m.get(key);
      if (c) {
        c.a += attempts;
        c.s += sessions;
      } else {
        m.set(key, org === undefined ? { a: attempts, s: sessions } : { a: attempts, s: sessions, org });
        added++;
      }
    };
    if (geo.cc) bump(this.cc, `${day}|${geo.cc}`);
    if (geo.asn) bump(this.asn, `${day}|${geo.asn}`, geo.org);
    return added;
  }

  /** Writes and clears what was folded (inside the writer's transaction). */
  write(): void {
    const { cc, asn } = this;
    this.cc = new Map();
    this.asn = new Map();
    for (const [k, c] of cc) {
      const i = k.indexOf('|');
      this.ccSt.run(Number(k.slice(0, i)), k.slice(i + 1), c.a, c.s);
    }
    for (const [k, c] of asn) {
      const [day, n] = k.split('|').map(Number) as [number, number];
      this.asnSt.run(day, n, c.org ?? null, c.a, c.s);
    }
  }
}
