// What one persona session records beside the client's payloads: what tidewatch sent, credentials,
// command lines, HTTP requests, the SSH identification. Each list has a named cap; hitting it is counted
// once per session (respond_*_cap_total) and ends the session (the caller decides: add* returns false).
import type { Credential, HttpRequestInfo, SessionEvent, SshInfo } from '../core/events.js';
import type { Stats } from '../core/stats.js';
import { payloadEntries } from '../core/session-event.js';
import { MAX_COMMAND_CHARS, text } from './text.js';
import type { PersonaName, PersonaRecorder } from './types.js';

export interface RecordCaps {
  /** Bytes sent per session (respondMaxSent). */
  maxSentBytes: number;
  /** Command lines (and HTTP requests) per session (respondMaxCommands). */
  maxCommands: number;
  /** Authentication attempts per session (respondMaxAuth). */
  maxAuth: number;
}

/** Entries of `sent` at most (as payloads: later writes join the last entry). */
const MAX_SENT_ENTRIES = 128;

export class PersonaRecord implements PersonaRecorder {
  sentBytes = 0;
  private readonly sent: Buffer[][] = [];
  private readonly sentTimes: number[] = [];
  readonly credentials: Credential[] = [];
  readonly commands: string[] = [];
  readonly http: HttpRequestInfo[] = [];
  ssh: SshInfo | undefined;
  private readonly hit = new Set<string>();

  constructor(
    readonly persona: PersonaName,
    private readonly caps: RecordCaps,
    private readonly stats: Stats,
  ) {}

  /** Records bytes about to be sent; false (nothing recorded) when they would pass the byte cap. */
  addSent(d: Buffer, now = Date.now()): boolean {
    if (this.sentBytes + d.length > this.caps.maxSentBytes) return this.capHit('sent');
    this.sentBytes += d.length;
    if (this.sent.length < MAX_SENT_ENTRIES) {
      this.sent.push([d]);
      this.sentTimes.push(now);
    } else this.sent[this.sent.length - 1]!.push(d);
    return true;
  }

  addCredential(c: Credential): boolean {
    if (this.credentials.length >= this.caps.maxAuth) return this.capHit('auth');
    this.credentials.push(c);
    return true;
  }

  addCommand(line: Buffer | string): boolean {
    if (this.commands.length >= this.caps.maxCommands) return this.capHit('commands');
    this.commands.push(text(line, MAX_COMMAND_CHARS));
    return true;
  }

  addHttp(r: HttpRequestInfo): boolean {
    if (this.http.length >= this.caps.maxCommands) return this.capHit('commands');
    this.http.push(r);
    return true;
  }

  /** Authentication attempts left before the cap. */
  get authLeft(): number {
    return this.caps.maxAuth - this.credentials.length;
  }

  private capHit(name: 'sent' | 'auth' | 'commands'): false {
    if (!this.hit.has(name)) {
      this.hit.add(name);
      this.stats.inc(`respond_${name}_cap_total`);
    }
    return false;
  }

  /** The record's fields of the session event (empty lists left out, persona and sent always there). */
  fields(): Partial<SessionEvent> {
    const f: Partial<SessionEvent> = {
      persona: this.persona,
      sent: payloadEntries(
        this.sent.map((c, i) => ({
          time: this.sentTimes[i]!,
          data: c.length === 1 ? c[0]! : Buffer.concat(c),
        })),
      ),
    };
    if (this.credentials.length) f.credentials = this.credentials;
    if (this.commands.length) f.commands = this.commands;
    if (this.http.length) f.http = this.http;
    if (this.ssh) f.ssh = this.ssh;
    return f;
  }
}
