// SMTP persona: banner, EHLO capabilities, AUTH PLAIN/LOGIN credentials recorded and refused, MAIL and
// RCPT recorded and accepted, the first bytes of DATA recorded, then the message refused.
import { linePersona, verb } from './line-persona.js';
import { fromBase64, saslPlain, text } from './text.js';
import type { PersonaConn, PersonaHandler } from './types.js';

/** Bytes of a message body recorded (as one `commands` entry "DATA ..."). */
export const MAX_DATA_BYTES = 1024;

export function smtpPersona(conn: PersonaConn): PersonaHandler {
  const host = `${conn.text.hostname}.localdomain`;
  let state: State = 'cmd';
  let user = '';
  let data = '';
  const credential = (username: string, password: string) => {
    state = 'cmd';
    if (!conn.record.addCredential({ username, password })) return conn.end();
    conn.send('535 5.7.8 Error: authentication failed: authentication failure\r\n');
  };
  return linePersona(conn, conn.text.banner, (line) => {
    switch (state) {
      case 'data': {
        if (line.length === 1 && line[0] === 0x2e) {
          state = 'cmd';
          if (!conn.record.addCommand(`DATA ${data}`)) return conn.end();
          return conn.send('554 5.7.1 Message rejected: policy violation\r\n');
        }
        if (data.length < MAX_DATA_BYTES)
          data = (data + text(line, MAX_DATA_BYTES) + '\n').slice(0, MAX_DATA_BYTES);
        return;
      }
      case 'auth-user':
        user = text(fromBase64(line.toString('latin1')) ?? line);
        state = 'auth-pass';
        return conn.send('334 UGFzc3dvcmQ6\r\n');
      case 'auth-pass':
        return credential(user, text(fromBase64(line.toString('latin1')) ?? line));
      case 'auth-plain': {
        const c = saslPlain(fromBase64(line.toString('latin1')) ?? Buffer.alloc(0));
        return c ? credential(c.username, c.password) : credential('', text(line));
      }
      case 'cmd':
        break;
    }
    if (!conn.record.addCommand(line)) return conn.end();
    const next = smtpCommand(conn, verb(line), host, credential);
    if (next === 'data') data = '';
    if (next) state = next;
  });
}

type State = 'cmd' | 'data' | 'auth-user' | 'auth-pass' | 'auth-plain';

/** Answers one command; returns the state it leads to (undefined: stay). */
function smtpCommand(
  conn: PersonaConn,
  { cmd, arg }: { cmd: string; arg: string },
  host: string,
  credential: (username: string, password: string) => void,
): State | undefined {
  const say = (reply: string): undefined => void conn.send(reply);
  switch (cmd) {
    case 'EHLO':
      return say(
        `250-${host}\r\n250-PIPELINING\r\n250-SIZE 10240000\r\n250-VRFY\r\n250-ETRN\r\n250-STARTTLS\r\n` +
          '250-AUTH PLAIN LOGIN\r\n250-ENHANCEDSTATUSCODES\r\n250-8BITMIME\r\n250 DSN\r\n',
      );
    case 'HELO':
      return say(`250 ${host}\r\n`);
    case 'AUTH': {
      const [mech, initial] = arg.split(' ');
      const m = (mech ?? '').toUpperCase();
      if (m === 'PLAIN' && initial) {
        const c = saslPlain(fromBase64(initial) ?? Buffer.alloc(0));
        credential(c?.username ?? '', c?.password ?? text(initial));
        return undefined;
      }
      if (m === 'PLAIN') {
        conn.send('334 \r\n');
        return 'auth-plain';
      }
      if (m === 'LOGIN') {
        conn.send('334 VXNlcm5hbWU6\r\n');
        return 'auth-user';
      }
      return say('535 5.7.8 Error: authentication failed: Invalid authentication mechanism\r\n');
    }
    case 'MAIL':
      return say('250 2.1.0 Ok\r\n');
    case 'RCPT':
      return say('250 2.1.5 Ok\r\n');
    case 'DATA':
      conn.send('354 End data with <CR><LF>.<CR><LF>\r\n');
      return 'data';
    case 'RSET':
    case 'NOOP':
      return say('250 2.0.0 Ok\r\n');
    case 'STARTTLS':
      return say('454 4.7.0 TLS not available due to local problem\r\n');
    case 'VRFY':
      return say('252 2.0.0 Send some mail, I will try my best\r\n');
    case 'QUIT':
      say('221 2.0.0 Bye\r\n');
      return void conn.end();
    default:
      return say('502 5.5.2 Error: command not recognized\r\n');
  }
}
