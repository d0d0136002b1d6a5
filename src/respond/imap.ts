// IMAP persona: banner with capabilities, LOGIN and AUTHENTICATE PLAIN recorded and refused.
import { linePersona } from './line-persona.js';
import { fromBase64, saslPlain, text } from './text.js';
import type { PersonaConn, PersonaHandler } from './types.js';

const CAPS = 'IMAP4rev1 SASL-IR LOGIN-REFERRALS ID ENABLE IDLE LITERAL+ AUTH=PLAIN';

/** IMAP words: atoms or "quoted strings" (backslash escapes), left to right. */
export function imapWords(s: string): string[] {
  const out: string[] = [];
  let i = 0;
  while (i < s.length && out.length < 8) {
    if (s[i] === ' ') {
      i++;
      continue;
    }
    let w = '';
    if (s[i] === '"') {
      for (i++; i < s.length && s[i] !== '"'; i++) w += s[i] === '\\' && i + 1 < s.length ? s[++i] : s[i];
      i++;
    } else for (; i < s.length && s[i] !== ' '; i++) w += s[i];
    out.push(w);
  }
  return out;
}

export function imapPersona(conn: PersonaConn): PersonaHandler {
  let plainTag: string | undefined;
  const fail = (tag: string, username: string, password: string) => {
    if (!conn.record.addCredential({ username, password })) return conn.end();
    conn.send(`${tag} NO [AUTHENTICATIONFAILED] Authentication failed.\r\n`);
  };
  return linePersona(conn, conn.text.banner, (line) => {
    const s = line.toString('latin1');
    if (plainTag !== undefined) {
      const tag = plainTag;
      plainTag = undefined;
      const c = saslPlain(fromBase64(s) ?? Buffer.alloc(0));
      return fail(tag, c?.username ?? '', c?.password ?? text(line));
    }
    if (!conn.record.addCommand(line)) return conn.end();
    const [tag = '*', cmd = '', a1, a2] = imapWords(s);
    const t = text(tag, 64);
    switch (cmd.toUpperCase()) {
      case 'CAPABILITY':
        return conn.send(
          `* CAPABILITY ${CAPS}\r\n${t} OK Pre-login capabilities listed, post-login capabilities have more.\r\n`,
        );
      case 'LOGIN':
        return fail(t, text(a1 ?? ''), text(a2 ?? ''));
      case 'AUTHENTICATE':
        if ((a1 ?? '').toUpperCase() !== 'PLAIN')
          return conn.send(`${t} NO Unsupported authentication mechanism.\r\n`);
        if (a2) {
          const c = saslPlain(fromBase64(a2) ?? Buffer.alloc(0));
          return fail(t, c?.username ?? '', c?.password ?? text(a2));
        }
        plainTag = t;
        return conn.send('+ \r\n');
      case 'NOOP':
        return conn.send(`${t} OK NOOP completed.\r\n`);
      case 'ID':
        return conn.send(`* ID NIL\r\n${t} OK ID completed.\r\n`);
      case 'LOGOUT':
        conn.send(`* BYE Logging out\r\n${t} OK Logout completed.\r\n`);
        return conn.end();
      case 'STARTTLS':
        return conn.send(`${t} BAD TLS support isn't enabled.\r\n`);
      default:
        return conn.send(`${t} BAD Error in IMAP command received by server.\r\n`);
    }
  });
}
