import type { Config } from '../config/schema.js';
import type { EventBus } from './bus.js';
import type { Logger } from './log.js';
import type { Stats } from './stats.js';

/** What every component is given: the frozen config, the event stream, its logger and the shared counters. */
export interface SensorContext {
  readonly cfg: Config;
  readonly bus: EventBus;
  readonly log: Logger;
  readonly stats: Stats;
}
