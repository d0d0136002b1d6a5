// Threshold Random Walk (Jung, Paxson, Berger, Balakrishnan, IEEE S&P 2004): a sequential probability ratio
// test over the outcomes (success / failure) of a source's first-contact connection attempts.
// docs/detection.md derives the thresholds; the walk is kept as a log-likelihood ratio per source.

export interface TrwParams {
  /** Wanted detection probability P_D. */
  detection: number;
  /** Wanted false-positive probability P_F. */
  falsePositive: number;
  /** P(success | benign). */
  theta0: number;
  /** P(success | scanner). */
  theta1: number;
}

export interface TrwModel {
  /** log η1: at or above, the source is a scanner (H1). */
  upper: number;
  /** log η0: at or below, the source is benign (H0). */
  lower: number;
  /** Log-ratio step of a success (negative). */
  success: number;
  /** Log-ratio step of a failure (positive). */
  failure: number;
}

export function trwModel(p: TrwParams): TrwModel {
  return {
    upper: Math.log(p.detection / p.falsePositive),
    lower: Math.log((1 - p.detection) / (1 - p.falsePositive)),
    success: Math.log(p.theta1 / p.theta0),
    failure: Math.log((1 - p.theta1) / (1 - p.theta0)),
  };
}

/** Failures in a row that decide "scanner" from a fresh walk. */
export const failuresToDetect = (m: TrwModel): number => Math.ceil(m.upper / m.failure - 1e-12);

export type TrwDecision = 'scanner' | 'benign' | undefined;

/** One step: returns the new log ratio and a decision when a threshold is crossed (the walk then restarts). */
export function trwStep(m: TrwModel, llr: number, success: boolean): { llr: number; decision: TrwDecision } {
  const next = llr + (success ? m.success : m.failure);
  // A tiny tolerance: 4 failures give exactly log(256) > log(99); float error must not cost a step.
  if (next >= m.upper - 1e-9) return { llr: 0, decision: 'scanner' };
  if (next <= m.lower + 1e-9) return { llr: 0, decision: 'benign' };
  return { llr: next, decision: undefined };
}
