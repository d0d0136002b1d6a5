// Contracts between the responder (index.ts), the personas (one module each) and the listener's sessions.
import type { Credential, HttpRequestInfo, SshInfo } from '../core/events.js';

export const PERSONAS = [
  'ssh',
  'telnet',
  'ftp',
  'smtp',
  'pop3',
  'imap',
  'http',
  'mysql',
  'redis',
  'vnc',
  'mqtt',
] as const;
export type PersonaName = (typeof PERSONAS)[number];

export type { Credential, HttpRequestInfo, SshInfo };

/** What a persona records (record.ts); each add* returns false at its cap (then the persona ends). */
export interface PersonaRecorder {
  addCredential(c: Credential): boolean;
  addCommand(line: Buffer | string): boolean;
  addHttp(r: HttpRequestInfo): boolean;
  ssh: SshInfo | undefined;
}

/** What a persona's handler may do with its connection; the responder records and caps both directions. */
export interface PersonaConn {
  readonly record: PersonaRecorder;
  readonly src: string;
  readonly dst: string;
  readonly dport: number;
  /** The banner/response texts for this port (built-in set picked by --sensor, or --personas FILE). */
  readonly text: PersonaText;
  /** Sends bytes (recorded in `sent`); past the per-session byte cap the session ends instead. */
  send(data: Buffer | string): void;
  /** Ends the session gracefully once what was sent is flushed. */
  end(): void;
  /** True once end() was called or the session ended: handlers stop answering. */
  readonly ended: boolean;
}

/** A persona's handler for one connection: gets every client byte (split anywhere) after start(). */
export interface PersonaHandler {
  onData(d: Buffer): void;
  /** The connection is gone (any reason): free what the handler holds. */
  close?(): void;
}

export type PersonaFactory = (conn: PersonaConn) => PersonaHandler;

/** Texts a persona answers with; every field has a built-in default picked by a hash of --sensor. */
export interface PersonaText {
  /** First line(s) sent by server-first personas (SSH: the version after "SSH-2.0-"). */
  banner: string;
  /** Host name shown in banners and prompts. */
  hostname: string;
  /** HTTP: the Server header and the 200 page. */
  server: string;
  body: string;
}
