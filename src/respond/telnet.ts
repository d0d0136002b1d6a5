// Telnet persona: a pure option parser (IAC sequences stripped from the data, line ends normalised, split
// anywhere) and a handler with BusyBox telnetd's option negotiation, `login:` and `Password:` prompts, then
// the recording shell (shell.ts). Every login is taken: the commands after it are what is worth recording.
import { LineReader } from './lines.js';
import { shellReply } from './shell.js';
import { text } from './text.js';
import type { PersonaConn, PersonaHandler } from './types.js';

const IAC = 0xff;
const SB = 0xfa;
const SE = 0xf0;
/** What BusyBox telnetd sends first: DO ECHO, DO NAWS, WILL ECHO, WILL SGA. */
export const NEGOTIATION = Buffer.from([IAC, 0xfd, 0x01, IAC, 0xfd, 0x1f, IAC, 0xfb, 0x01, IAC, 0xfb, 0x03]);
/** Subnegotiation bytes skipped at most before the parser gives up on the SE (then it is data again). */
const MAX_SB_BYTES = 512;

type State = 'data' | 'iac' | 'option' | 'sb' | 'sb-iac' | 'cr';

/** Strips Telnet commands from a byte stream: the data bytes, with CR LF / CR NUL / lone CR as LF. */
export class TelnetReader {
  private state: State = 'data';
  private sb = 0;

  push(d: Buffer): Buffer {
    const out = Buffer.allocUnsafe(d.length + 1);
    let n = 0;
    for (const b of d) {
      switch (this.state) {
        case 'cr':
          this.state = 'data';
          out[n++] = 0x0a;
          if (b !== 0x0a && b !== 0) n = this.data(b, out, n); // a lone CR: this byte is data
          break;
        case 'data':
          n = this.data(b, out, n);
          break;
        case 'iac':
          if (b === IAC) {
            out[n++] = IAC;
            this.state = 'data';
          } else if (b >= 0xfb && b <= 0xfe) this.state = 'option';
          else if (b === SB) {
            this.state = 'sb';
            this.sb = 0;
          } else this.state = 'data';
          break;
        case 'option':
          this.state = 'data';
          break;
        case 'sb':
          if (b === IAC) this.state = 'sb-iac';
          else if (++this.sb > MAX_SB_BYTES) this.state = 'data';
          break;
        case 'sb-iac':
          this.state = b === SE ? 'data' : 'sb';
          break;
      }
    }
    return out.subarray(0, n);
  }

  private data(b: number, out: Buffer, n: number): number {
    if (b === IAC) this.state = 'iac';
    else if (b === 0x0d) this.state = 'cr';
    else out[n++] = b;
    return n;
  }
}

export function telnetPersona(conn: PersonaConn): PersonaHandler {
  const reader = new TelnetReader();
  const lines = new LineReader();
  let state: 'login' | 'password' | 'shell' = 'login';
  let user = '';
  let prompt = '# ';
  conn.send(Buffer.concat([NEGOTIATION, Buffer.from(conn.text.banner)]));
  const onLine = (line: Buffer) => {
    switch (state) {
      case 'login':
        user = text(line).trim();
        if (!user) return conn.send(`${conn.text.hostname} login: `);
        state = 'password';
        return conn.send('Password: ');
      case 'password': {
        if (!conn.record.addCredential({ username: user, password: text(line) })) return conn.end();
        state = 'shell';
        prompt = user === 'root' ? `root@${conn.text.hostname}:~# ` : `${user}@${conn.text.hostname}:~$ `;
        return conn.send(`\r\n\r\nBusyBox v1.30.1 () built-in shell (ash)\r\n\r\n${prompt}`);
      }
      case 'shell': {
        const cmd = text(line, 1024).trim();
        if (!cmd) return conn.send(prompt);
        if (!conn.record.addCommand(cmd)) return conn.end();
        const r = shellReply(cmd);
        if (r.exit) return conn.end();
        return conn.send(r.output + prompt);
      }
    }
  };
  return {
    onData(d) {
      for (const line of lines.push(reader.push(d))) {
        if (conn.ended) return;
        onLine(line);
      }
    },
  };
}
