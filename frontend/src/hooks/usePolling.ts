// Polls fn every intervalMs while the tab is visible; a hidden tab stops polling and a tab
// that becomes visible again polls at once. Overlapping calls are never made.

import { useEffect, useRef, useState } from 'react';

export interface PollState<T> {
  data: T | null;
  error: string | null;
  /** When the last successful poll started (ms). */
  updatedAt: number | null;
  paused: boolean;
}

export function usePolling<T>(
  fn: (signal: AbortSignal) => Promise<T>,
  intervalMs: number,
  enabled = true,
): PollState<T> {
  const [state, setState] = useState<PollState<T>>({ data: null, error: null, updatedAt: null, paused: false });
  const fnRef = useRef(fn);
  useEffect(() => {
    fnRef.current = fn;
  }, [fn]);

  useEffect(() => {
    if (!enabled) return;
    let timer: number | undefined;
    let ctrl: AbortController | null = null;
    let alive = true;

    const tick = async () => {
      timer = undefined;
      if (!alive) return;
      if (document.hidden) {
        setState((s) => (s.paused ? s : { ...s, paused: true }));
        return; // resumed by visibilitychange
      }
      ctrl = new AbortController();
      const started = Date.now();
      try {
        const data = await fnRef.current(ctrl.signal);
        if (alive) setState({ data, error: null, updatedAt: started, paused: false });
      } catch (e) {
        if (alive && !(e instanceof DOMException && e.name === 'AbortError')) {
          setState((s) => ({ ...s, error: e instanceof Error ? e.message : String(e), paused: false }));
        }
      } finally {
        ctrl = null;
      }
      if (alive && !document.hidden) timer = window.setTimeout(() => void tick(), intervalMs);
      else if (alive) setState((s) => (s.paused ? s : { ...s, paused: true }));
    };

    const onVisibility = () => {
      if (!document.hidden && timer === undefined && ctrl === null) void tick();
    };
    document.addEventListener('visibilitychange', onVisibility);
    void tick();
    return () => {
      alive = false;
      if (timer !== undefined) window.clearTimeout(timer);
      ctrl?.abort();
      document.removeEventListener('visibilitychange', onVisibility);
    };
  }, [intervalMs, enabled]);

  return state;
}
