// @vitest-environment jsdom
import { act, cleanup, renderHook } from '@testing-library/react';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { usePolling } from '../usePolling';

let hidden = false;
beforeEach(() => {
  hidden = false;
  vi.useFakeTimers();
  Object.defineProperty(document, 'hidden', { configurable: true, get: () => hidden });
});
afterEach(() => {
  cleanup();
  vi.useRealTimers();
});

const setHidden = (h: boolean) => {
  hidden = h;
  document.dispatchEvent(new Event('visibilitychange'));
};

describe('usePolling', () => {
  it('polls at the interval, stops while hidden, and polls at once when visible again', async () => {
    let n = 0;
    const fn = vi.fn(async () => ++n);
    const { result } = renderHook(() => usePolling(fn, 1000));
    await act(async () => {
      await vi.advanceTimersByTimeAsync(0);
    });
    expect(fn).toHaveBeenCalledTimes(1);
    expect(result.current.data).toBe(1);
    await act(async () => {
      await vi.advanceTimersByTimeAsync(2000);
    });
    expect(fn).toHaveBeenCalledTimes(3);

    act(() => setHidden(true));
    await act(async () => {
      await vi.advanceTimersByTimeAsync(1000); // the pending tick sees the hidden tab
    });
    const calls = fn.mock.calls.length;
    expect(result.current.paused).toBe(true);
    await act(async () => {
      await vi.advanceTimersByTimeAsync(10_000);
    });
    expect(fn).toHaveBeenCalledTimes(calls);

    await act(async () => {
      setHidden(false);
      await vi.advanceTimersByTimeAsync(0);
    });
    expect(fn).toHaveBeenCalledTimes(calls + 1);
    expect(result.current.paused).toBe(false);
  });

  it('keeps the last data and reports the error when a poll fails', async () => {
    let fail = false;
    const fn = vi.fn(async () => {
      if (fail) throw new Error('HTTP 503');
      return 'ok';
    });
    const { result } = renderHook(() => usePolling(fn, 500));
    await act(async () => {
      await vi.advanceTimersByTimeAsync(0);
    });
    fail = true;
    await act(async () => {
      await vi.advanceTimersByTimeAsync(500);
    });
    expect(result.current.data).toBe('ok');
    expect(result.current.error).toBe('HTTP 503');
  });

  it('restarts on a new interval', async () => {
    const fn = vi.fn(async () => 1);
    const { rerender } = renderHook(({ ms }) => usePolling(fn, ms), { initialProps: { ms: 10_000 } });
    await act(async () => {
      await vi.advanceTimersByTimeAsync(0);
    });
    rerender({ ms: 1000 });
    await act(async () => {
      await vi.advanceTimersByTimeAsync(3000);
    });
    expect(fn.mock.calls.length).toBeGreaterThanOrEqual(4);
  });
});
