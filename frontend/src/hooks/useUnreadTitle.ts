// While the tab is hidden, the title counts new chat messages from others: "(3) #lobby · ...".

import { useEffect, useRef } from 'react';
import type { Row } from '../lib/messageLog';

export function useUnreadTitle(room: string, rows: readonly Row[], selfId: string): void {
  const unread = useRef(0);
  const lastKey = useRef<string | undefined>(undefined);
  const base = `#${room} · Chat Analytics`;

  useEffect(() => {
    const onVisible = () => {
      if (!document.hidden) {
        unread.current = 0;
        document.title = base;
      }
    };
    document.addEventListener('visibilitychange', onVisible);
    return () => {
      document.removeEventListener('visibilitychange', onVisible);
      document.title = base;
    };
  }, [base]);

  useEffect(() => {
    const prev = lastKey.current;
    lastKey.current = rows[rows.length - 1]?.key;
    if (!document.hidden || prev === undefined) return;
    let i = rows.length - 1;
    let fresh = 0;
    for (; i >= 0; i--) {
      const r = rows[i];
      if (!r || r.key === prev) break;
      if (r.kind === 'message' && r.message.type === 'chat' && r.message.userId !== selfId) fresh++;
    }
    if (fresh === 0) return;
    unread.current += fresh;
    document.title = `(${unread.current}) ${base}`;
  }, [rows, selfId, base]);
}
