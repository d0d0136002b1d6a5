// Every persona module, by name: the one list of what the responder can speak.
import type { SensorContext } from '../core/context.js';
import { httpPersona } from './http.js';
import { sshPersona } from './ssh.js';
import { telnetPersona } from './telnet.js';
import type { PersonaFactory, PersonaName } from './types.js';

/** The persona factories for this sensor (SSH loads or makes its host keys first). */
export async function PERSONA_MODULES(ctx: SensorContext): Promise<Map<PersonaName, PersonaFactory>> {
  return new Map<PersonaName, PersonaFactory>([
    ['ssh', sshPersona(ctx)],
    ['http', httpPersona],
    ['telnet', telnetPersona],
  ]);
}
