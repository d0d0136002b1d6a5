// Writes session events as JSON lines under the data dir (--sessions-file, strftime pattern in UTC).
// Each line is readable as a tcppc-go record ({timestamp, flow, payloads}) with our fields beside it.
// Subscribers that enrich events (geo, tags) run before this one; what is on the event is written.
import type { SensorContext } from '../core/context.js';
import type { SessionEvent } from '../core/events.js';
import { component, type Component } from '../core/lifecycle.js';
import { FilePart, patternRoot, retainMs } from './file-part.js';
import { JsonlWriter } from './jsonl.js';

/** A file sink: its files are a part of the data dir's quota. */
export interface FileSinkComponent extends Component {
  readonly disk: FilePart;
}

/** The line written for one session (docs/outputs.md documents every field). */
export function sessionRecord(ev: SessionEvent): Record<string, unknown> {
  // Built by assignment in the documented key order (no object spreads: this runs once per session).
  const o: Record<string, unknown> = {
    // tcppc-go's fields
    timestamp: ev.started,
    flow: { proto: ev.proto, src: ev.src, sport: ev.sport, dst: ev.dst, dport: ev.dport },
    payloads: ev.payloads ?? [],
    // ours
    ts: ev.ts,
    sensor: ev.sensor,
    type: ev.type,
    close: ev.close,
    bytes: ev.bytes,
    truncated: ev.truncated,
    started: ev.started,
    ended: ev.ended,
  };
  if (ev.tls) o.tls = ev.tls;
  if (ev.persona || ev.sent) Object.assign(o, respondFields(ev));
  if (ev.tags?.length) o.tags = ev.tags;
  if (ev.geo) o.geo = ev.geo;
  if (ev.http?.length) o.http = ev.http;
  if (ev.commands?.length) o.commands = ev.commands;
  if (ev.app) o.app = ev.app;
  if (ev.cves?.length) o.cves = ev.cves;
  if (ev.rules?.length) o.rules = ev.rules;
  if (ev.iocs) o.iocs = ev.iocs;
  if (ev.signature) o.signature = ev.signature;
  return o;
}

/** What a responder added (docs/events.md): persona and sent always together, the rest when recorded. */
function respondFields(ev: SessionEvent): Partial<SessionEvent> {
  if (!ev.persona) return ev.sent ? { sent: ev.sent } : {}; // a UDP reply (--respond-udp)
  const f: Partial<SessionEvent> = { persona: ev.persona, sent: ev.sent ?? [] };
  if (ev.credentials) f.credentials = ev.credentials;
  if (ev.commands) f.commands = ev.commands;
  if (ev.http) f.http = ev.http;
  if (ev.ssh) f.ssh = ev.ssh;
  return f;
}

export async function startSessionsSink(ctx: SensorContext): Promise<FileSinkComponent> {
  const { cfg } = ctx;
  const disk: FilePart = new FilePart({
    ...{ name: 'sessions', tier: 'data', retainMs: retainMs(cfg, 'data') },
    root: patternRoot(cfg.dataDir, cfg.sessionsFile),
    onRemoved: () => w.reopen(),
  });
  const w = new JsonlWriter(ctx, {
    ...{ pattern: cfg.sessionsFile, name: 'sessions' },
    onWrite: (path, bytes) => disk.added(path, bytes),
  });
  const off = ctx.bus.on('session', (ev) => w.write(sessionRecord(ev)));
  const c = component(
    'sessions-sink',
    async () => {
      off();
      await w.close();
      ctx.log.info(
        {
          written: ctx.stats.get('sessions_written_total'),
          not_written: ctx.stats.get('sessions_not_written_total'),
        },
        'sessions file closed',
      );
    },
    () => {
      off();
      void w.close();
    },
  );
  return { ...c, reopen: () => w.reopen(), disk };
}
