import { describe, expect, it } from 'vitest';
import { backoffDelay, DEFAULT_BACKOFF } from '../backoff';

describe('backoffDelay', () => {
  const opts = { baseMs: 500, maxMs: 30_000, factor: 2, jitter: 0.5 };

  it('doubles per attempt; random=1 gives the full delay', () => {
    expect([0, 1, 2, 3, 4, 5].map((a) => backoffDelay(a, () => 1, opts))).toEqual([500, 1000, 2000, 4000, 8000, 16000]);
  });

  it('random=0 gives half the delay (jitter 0.5), never zero', () => {
    expect([0, 1, 2, 3].map((a) => backoffDelay(a, () => 0, opts))).toEqual([250, 500, 1000, 2000]);
  });

  it('is capped at maxMs, forever, without overflowing', () => {
    expect(backoffDelay(6, () => 1, opts)).toBe(30_000);
    expect(backoffDelay(50, () => 1, opts)).toBe(30_000);
    expect(backoffDelay(10_000, () => 1, opts)).toBe(30_000);
    expect(backoffDelay(10_000, () => 0, opts)).toBe(15_000);
  });

  it('spreads clients: the injected random picks a point inside [d/2, d]', () => {
    expect(backoffDelay(3, () => 0.5, opts)).toBe(3000);
    expect(backoffDelay(3, () => 0.25, opts)).toBe(2500);
  });

  it('clamps bad inputs', () => {
    expect(backoffDelay(-3, () => 1, opts)).toBe(500);
    expect(backoffDelay(2.7, () => 1, opts)).toBe(2000);
    expect(backoffDelay(0, () => 7, opts)).toBe(500); // random above 1 is clamped
  });

  it('uses sane defaults', () => {
    expect(DEFAULT_BACKOFF.maxMs).toBeGreaterThanOrEqual(10_000);
    const d = backoffDelay(0);
    expect(d).toBeGreaterThan(0);
    expect(d).toBeLessThanOrEqual(DEFAULT_BACKOFF.baseMs);
  });
});
