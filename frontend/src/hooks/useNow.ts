import { useEffect, useState } from 'react';

/** The current time, refreshed every periodMs while `active`. */
export function useNow(periodMs: number, active = true): number {
  const [now, setNow] = useState(() => Date.now());
  useEffect(() => {
    if (!active) return;
    const id = window.setInterval(() => setNow(Date.now()), periodMs);
    return () => window.clearInterval(id);
  }, [periodMs, active]);
  return now;
}
