// Every persona module, by name: the one list of what the responder can speak.
import type { SensorContext } from '../core/context.js';
import { ftpPersona } from './ftp.js';
import { httpPersona } from './http.js';
import { imapPersona } from './imap.js';
import { mqttPersona } from './mqtt.js';
import { mysqlPersona } from './mysql.js';
import { pop3Persona } from './pop3.js';
import { redisPersona } from './redis.js';
import { smtpPersona } from './smtp.js';
import { sshPersona } from './ssh.js';
import { telnetPersona } from './telnet.js';
import { vncPersona } from './vnc.js';
import type { PersonaFactory, PersonaName } from './types.js';

/** The persona factories for this sensor (SSH loads or makes its host keys first). */
export async function PERSONA_MODULES(ctx: SensorContext): Promise<Map<PersonaName, PersonaFactory>> {
  return new Map<PersonaName, PersonaFactory>([
    ['ssh', sshPersona(ctx)],
    ['http', httpPersona],
    ['telnet', telnetPersona],
    ['ftp', ftpPersona],
    ['smtp', smtpPersona],
    ['pop3', pop3Persona],
    ['imap', imapPersona],
    ['mysql', mysqlPersona],
    ['redis', redisPersona],
    ['vnc', vncPersona],
    ['mqtt', mqttPersona],
  ]);
}
