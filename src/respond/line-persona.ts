// The frame of the line-based personas (FTP, SMTP, POP3, IMAP): a banner, then one answer per line.
import { LineReader } from './lines.js';
import type { PersonaConn, PersonaHandler } from './types.js';

/** Answers one line; the persona sends, records and ends through conn. */
export type LineHandler = (line: Buffer) => void;

export function linePersona(conn: PersonaConn, banner: string, onLine: LineHandler): PersonaHandler {
  const lines = new LineReader();
  conn.send(banner + '\r\n');
  return {
    onData(d) {
      for (const line of lines.push(d)) {
        if (conn.ended) return;
        onLine(line);
      }
    },
  };
}

/** The command word (upper case) and the rest of a line. */
export function verb(line: Buffer): { cmd: string; arg: string } {
  const s = line.toString('latin1');
  const sp = s.indexOf(' ');
  return sp < 0
    ? { cmd: s.toUpperCase(), arg: '' }
    : { cmd: s.slice(0, sp).toUpperCase(), arg: s.slice(sp + 1) };
}
