// One persona session: the PersonaConn a handler talks to. It records what is sent (capped), forwards
// the client's bytes to the handler, and turns a handler's throw into the end of the session (a persona
// bug must never take the listener down).
import type { SessionEvent } from '../core/events.js';
import type { PersonaRecord } from './record.js';
import type { PersonaConn, PersonaFactory, PersonaHandler, PersonaText } from './types.js';

/** The socket side a persona session writes to (the TCP or TLS socket of the listener's session). */
export interface PersonaIo {
  write(d: Buffer): void;
  /** Graceful close after pending writes. */
  end(): void;
}

export class PersonaSession implements PersonaConn {
  private handler: PersonaHandler | undefined;
  private done = false;
  private closed = false;

  constructor(
    readonly record: PersonaRecord,
    readonly src: string,
    readonly dst: string,
    readonly dport: number,
    readonly text: PersonaText,
    private readonly factory: PersonaFactory,
    private readonly io: PersonaIo,
    private readonly onError: (err: unknown) => void,
    private readonly onClose: () => void,
  ) {}

  /**
   * Starts the handler (server-first personas send their banner here). Called by the owner once it holds
   * the session, since a handler may end it at once.
   */
  begin(): void {
    const factory = this.factory;
    this.guard(() => (this.handler = factory(this)));
  }

  get ended(): boolean {
    return this.done;
  }

  send(data: Buffer | string): void {
    if (this.done) return;
    const b = typeof data === 'string' ? Buffer.from(data, 'latin1') : data;
    if (!this.record.addSent(b)) return this.end();
    this.io.write(b);
  }

  end(): void {
    if (this.done) return;
    this.done = true;
    this.io.end();
  }

  onData(d: Buffer): void {
    if (this.done || !this.handler) return;
    this.guard(() => this.handler!.onData(d));
  }

  /** The connection is gone: frees the handler and the responder's slot. Idempotent. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    const h = this.handler;
    this.handler = undefined;
    this.done = true;
    if (h?.close) this.guard(() => h.close!());
    this.onClose();
  }

  fields(): Partial<SessionEvent> {
    return this.record.fields();
  }

  private guard(fn: () => void): void {
    try {
      fn();
    } catch (err) {
      this.onError(err);
      this.end();
    }
  }
}
