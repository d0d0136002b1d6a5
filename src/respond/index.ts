// The responder: which persona a TCP session gets (by port for server-first protocols, by the first client
// bytes otherwise), the texts it answers with, and the caps over all persona sessions. The listener asks
// it (listen/sessions.ts, listen/tcp-session.ts); personas are the modules beside this one.
import type { SensorContext } from '../core/context.js';
import { RateLimitedLog } from '../core/log.js';
import { builtinText } from './banners.js';
import { HANDOFF_PREFIXES, identify } from './identify.js';
import { loadPersonasFile, type PortPersona } from './personas-file.js';
import { PersonaRecord, type RecordCaps } from './record.js';
import { PersonaSession, type PersonaIo } from './session.js';
import type { PersonaFactory, PersonaName, PersonaText } from './types.js';

/** Ports where the client waits for the server: the persona speaks at accept. */
export const SERVER_FIRST_PORTS: Readonly<Record<number, PersonaName>> = {
  21: 'ftp',
  22: 'ssh',
  23: 'telnet',
  25: 'smtp',
  110: 'pop3',
  143: 'imap',
  587: 'smtp',
  2222: 'ssh',
  2323: 'telnet',
  3306: 'mysql',
  5900: 'vnc',
};
const SERVER_FIRST = new Set<PersonaName>(['ssh', 'telnet', 'ftp', 'smtp', 'pop3', 'imap', 'mysql', 'vnc']);

export interface ResponderOptions {
  personas: ReadonlyMap<PersonaName, PersonaFactory>;
  /** From --personas FILE. */
  ports?: ReadonlyMap<number, PortPersona>;
  caps: RecordCaps;
  /** Persona sessions open at once (respondMaxSessions); beyond it sessions are recorded without one. */
  maxSessions: number;
}

/** A connection as the responder sees it. */
export interface PersonaTarget {
  src: string;
  dst: string;
  dport: number;
}

export class Responder {
  readonly handoffPrefixes = HANDOFF_PREFIXES;
  /** Ports whose connections the engine hands over at accept. */
  readonly bannerPorts: number[];
  private readonly byPort = new Map<number, PortPersona>();
  private readonly texts = new Map<string, PersonaText>();
  private open = 0;
  private readonly errLog: RateLimitedLog;

  constructor(
    private readonly ctx: SensorContext,
    private readonly opts: ResponderOptions,
  ) {
    this.errLog = new RateLimitedLog(ctx.log);
    for (const [port, persona] of Object.entries(SERVER_FIRST_PORTS))
      if (opts.personas.has(persona)) this.byPort.set(Number(port), { persona, text: {} });
    for (const [port, p] of opts.ports ?? []) if (opts.personas.has(p.persona)) this.byPort.set(port, p);
    this.bannerPorts = [...this.byPort].filter(([, p]) => SERVER_FIRST.has(p.persona)).map(([port]) => port);
  }

  /** The persona that speaks first on this port, if any. */
  serverFirst(dport: number): PersonaName | undefined {
    const p = this.byPort.get(dport)?.persona;
    return p && SERVER_FIRST.has(p) ? p : undefined;
  }

  /** The persona the first client bytes ask for ('more': wait for more bytes). */
  identify(head: Buffer): PersonaName | 'more' | undefined {
    const p = identify(head);
    return p === 'more' || (p && this.opts.personas.has(p)) ? p : undefined;
  }

  /**
   * A persona session for a connection, to begin() once held; undefined at the open-sessions cap (counted)
   * or for a persona this sensor does not speak.
   */
  start(name: PersonaName, t: PersonaTarget, io: PersonaIo): PersonaSession | undefined {
    const factory = this.opts.personas.get(name);
    if (!factory) return undefined;
    const { stats } = this.ctx;
    if (this.open >= this.opts.maxSessions) {
      stats.inc('respond_sessions_shed_total');
      return undefined;
    }
    this.open++;
    stats.inc('respond_sessions_total');
    stats.set('respond_open_sessions', this.open);
    const s = new PersonaSession(
      new PersonaRecord(name, this.opts.caps, stats),
      t.src,
      t.dst,
      t.dport,
      this.text(name, t),
      factory,
      io,
      (err) => this.error(name, err),
      () => {
        this.open--;
        stats.set('respond_open_sessions', this.open);
      },
    );
    return s;
  }

  private text(name: PersonaName, t: PersonaTarget): PersonaText {
    const own = this.byPort.get(t.dport);
    const override = own?.persona === name ? own.text : undefined;
    const key = override ? `${name}:${t.dport}` : name;
    let text = this.texts.get(key);
    if (!text) {
      text = { ...builtinText(name, this.ctx.cfg.sensor), ...override };
      this.texts.set(key, text);
    }
    return text;
  }

  private error(persona: PersonaName, err: unknown): void {
    this.ctx.stats.inc('respond_errors_total');
    if (this.errLog.allow(persona))
      this.ctx.log.error({ err, persona }, 'a persona failed; its session ended');
  }
}

/** The responder for the configured options (--respond on). */
export function createResponder(
  ctx: SensorContext,
  personas: ReadonlyMap<PersonaName, PersonaFactory>,
): Responder {
  const { cfg } = ctx;
  return new Responder(ctx, {
    personas,
    ports: cfg.personas ? loadPersonasFile(cfg.personas) : undefined,
    caps: {
      maxSentBytes: cfg.respondMaxSent,
      maxCommands: cfg.respondMaxCommands,
      maxAuth: cfg.respondMaxAuth,
    },
    maxSessions: cfg.respondMaxSessions,
  });
}
