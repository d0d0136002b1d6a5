// POP3 persona: banner, CAPA, USER/PASS and AUTH PLAIN recorded and refused.
import { linePersona, verb } from './line-persona.js';
import { fromBase64, saslPlain, text } from './text.js';
import type { PersonaConn, PersonaHandler } from './types.js';

export function pop3Persona(conn: PersonaConn): PersonaHandler {
  let user = '';
  let plain = false;
  const fail = (username: string, password: string) => {
    if (!conn.record.addCredential({ username, password })) return conn.end();
    conn.send('-ERR [AUTH] Authentication failed.\r\n');
  };
  return linePersona(conn, conn.text.banner, (line) => {
    if (plain) {
      plain = false;
      const c = saslPlain(fromBase64(line.toString('latin1')) ?? Buffer.alloc(0));
      return fail(c?.username ?? '', c?.password ?? text(line));
    }
    const { cmd, arg } = verb(line);
    if (!conn.record.addCommand(line)) return conn.end();
    switch (cmd) {
      case 'CAPA':
        return conn.send(
          '+OK\r\nCAPA\r\nTOP\r\nUIDL\r\nRESP-CODES\r\nPIPELINING\r\nAUTH-RESP-CODE\r\nUSER\r\nSASL PLAIN\r\n.\r\n',
        );
      case 'USER':
        user = text(arg);
        return conn.send('+OK\r\n');
      case 'PASS':
        return fail(user, text(Buffer.from(arg, 'latin1')));
      case 'AUTH': {
        const [mech, initial] = arg.split(' ');
        if ((mech ?? '').toUpperCase() !== 'PLAIN')
          return conn.send('-ERR Unsupported authentication mechanism.\r\n');
        if (!initial) {
          plain = true;
          return conn.send('+ \r\n');
        }
        const c = saslPlain(fromBase64(initial) ?? Buffer.alloc(0));
        return fail(c?.username ?? '', c?.password ?? text(initial));
      }
      case 'QUIT':
        conn.send('+OK Logging out\r\n');
        return conn.end();
      case 'STLS':
        return conn.send("-ERR TLS support isn't enabled.\r\n");
      default:
        return conn.send('-ERR Unknown command.\r\n');
    }
  });
}
