// FTP persona: banner, USER/PASS recorded and refused, the few commands scanners send before logging in.
import { linePersona, verb } from './line-persona.js';
import { text } from './text.js';
import type { PersonaConn, PersonaHandler } from './types.js';

export function ftpPersona(conn: PersonaConn): PersonaHandler {
  let user = '';
  return linePersona(conn, conn.text.banner, (line) => {
    const { cmd, arg } = verb(line);
    if (!conn.record.addCommand(line)) return conn.end();
    switch (cmd) {
      case 'USER':
        user = text(arg);
        return conn.send('331 Please specify the password.\r\n');
      case 'PASS':
        if (!conn.record.addCredential({ username: user, password: text(Buffer.from(arg, 'latin1')) }))
          return conn.end();
        return conn.send('530 Login incorrect.\r\n');
      case 'SYST':
        return conn.send('215 UNIX Type: L8\r\n');
      case 'FEAT':
        return conn.send(
          '211-Features:\r\n EPRT\r\n EPSV\r\n MDTM\r\n PASV\r\n REST STREAM\r\n SIZE\r\n TVFS\r\n UTF8\r\n211 End\r\n',
        );
      case 'AUTH':
        return conn.send('530 Please login with USER and PASS.\r\n');
      case 'QUIT':
        conn.send('221 Goodbye.\r\n');
        return conn.end();
      case 'NOOP':
        return conn.send('200 NOOP ok.\r\n');
      case 'HELP':
        return conn.send('214 Help OK.\r\n');
      default:
        return conn.send('530 Please login with USER and PASS.\r\n');
    }
  });
}
