// --tarpit: listener sessions are held open and fed a byte every --tarpit-interval, bounded by --tarpit-max.
// TODO(owner): filled in by the firewall work stream.
import type { SensorContext } from '../core/context.js';
import type { Tarpit } from '../listen/types.js';

export function createTarpit(_ctx: SensorContext): Tarpit {
  return { hold: () => false, close: async () => {}, destroy: () => {} };
}
