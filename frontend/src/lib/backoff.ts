// Reconnect delays: exponential growth with jitter, capped, forever.

export interface BackoffOptions {
  baseMs: number; // first delay before jitter
  maxMs: number; // cap before jitter
  factor: number;
  /** Fraction of the delay that is randomised: 0.5 means the delay lies in [d/2, d]. */
  jitter: number;
}

export const DEFAULT_BACKOFF: BackoffOptions = { baseMs: 500, maxMs: 30_000, factor: 2, jitter: 0.5 };

/** Delay before reconnect attempt number `attempt` (0 = first retry). `random` returns [0, 1).
 *  The result is never below (1 - jitter) * capped delay, so the countdown stays visible, and
 *  never above maxMs. Large attempts do not overflow. */
export function backoffDelay(
  attempt: number,
  random: () => number = Math.random,
  opts: BackoffOptions = DEFAULT_BACKOFF,
): number {
  const a = Math.max(0, Math.floor(attempt));
  // cap the exponent so factor ** a cannot become Infinity
  const exp = Math.min(a, 64);
  const raw = opts.baseMs * Math.pow(opts.factor, exp);
  const capped = Math.min(opts.maxMs, raw);
  const r = Math.min(Math.max(random(), 0), 1);
  return Math.round(capped * (1 - opts.jitter + opts.jitter * r));
}
