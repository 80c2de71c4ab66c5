// Client-side time series for the dashboard (the server reports only the current latency
// percentiles; the page keeps their history while it is open).

export interface LatencySample {
  t: number; // Unix seconds
  p50: number | null;
  p95: number | null;
  p99: number | null;
}

/** Appends s, keeping at most max samples (the oldest go). Returns a new array. */
export function appendSample(samples: readonly LatencySample[], s: LatencySample, max: number): LatencySample[] {
  const next = samples.length >= max ? samples.slice(samples.length - max + 1) : samples.slice();
  next.push(s);
  return next;
}
