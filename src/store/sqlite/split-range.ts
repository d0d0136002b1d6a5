// A time range in the counter tables' units, shared by the counter queries and the multi-day top ports.
import type { TimeRange } from '../query.js';

const MIN = 60_000;

/** Minute, hour, minute parts of [from, to): whole hours come from the hourly table. */
export function split(r: TimeRange): number[] {
  const mA = Math.floor(r.from / MIN);
  const mB = Math.max(mA, Math.ceil(r.to / MIN));
  const hA = Math.ceil(mA / 60);
  const hB = Math.floor(mB / 60);
  if (hA >= hB) return [mA, mB, 0, 0, 0, 0];
  return [mA, hA * 60, hA, hB, hB * 60, mB];
}
