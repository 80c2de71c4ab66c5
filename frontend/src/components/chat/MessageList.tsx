// The virtualized message list. It sticks to the bottom only while the reader is at the
// bottom; otherwise new messages raise an "N new messages" pill. Reaching the top asks for
// older messages, and the reader's place is kept when they are prepended.

import { ArrowDown, Loader2 } from 'lucide-react';
import { useCallback, useEffect, useLayoutEffect, useMemo, useRef, useState } from 'react';
import { List, useDynamicRowHeight, useListCallbackRef, type RowComponentProps } from 'react-window';
import type { Row } from '../../lib/messageLog';
import type { HistoryStatus } from '../../hooks/useChat';
import { startsGroup } from '../../lib/grouping';
import { MessageRow, type RowContext } from './MessageRow';

/** Within this many pixels of the bottom counts as "at the bottom". */
const BOTTOM_SLACK = 48;
/** Within this many pixels of the top asks for older messages. */
const TOP_TRIGGER = 160;

interface RowProps {
  rows: Row[];
  ctx: RowContext;
}

function scrollToEnd(el: HTMLElement | null | undefined): void {
  if (el) el.scrollTop = el.scrollHeight;
}

function RowView({ index, style, ariaAttributes, rows, ctx }: RowComponentProps<RowProps>) {
  const row = rows[index];
  if (!row) return null;
  return (
    <div style={style} {...ariaAttributes} data-row-key={row.key}>
      <MessageRow row={row} first={startsGroup(rows[index - 1], row, ctx.selfId)} ctx={ctx} />
    </div>
  );
}

export function MessageList({
  room,
  rows,
  ctx,
  prependSerial,
  prependCount,
  onReachTop,
  history,
  scrollToBottomSignal,
  connecting,
}: {
  room: string;
  rows: Row[];
  ctx: RowContext;
  prependSerial: number;
  prependCount: number;
  onReachTop(): void;
  history: HistoryStatus;
  /** Changes when the list must jump to the bottom (e.g. we just sent). */
  scrollToBottomSignal: number;
  /** No connection has opened yet (so "no messages" would be premature). */
  connecting: boolean;
}) {
  // state, not a ref: effects below must re-run once the list (and its element) exists
  const [api, setApi] = useListCallbackRef(null);
  // measured heights are per index: prepending shifts indices, so start a fresh cache then
  const rowHeight = useDynamicRowHeight({ defaultRowHeight: 44, key: `${room}:${prependSerial}` });
  const stick = useRef(true);
  const [unseen, setUnseen] = useState(0);
  // what a screen reader hears: new messages from others, one at a time (the list itself is
  // not a live region: virtualization adds and removes rows while scrolling)
  const [announce, setAnnounce] = useState('');
  const lastCount = useRef(rows.length);
  const lastKey = useRef<string | undefined>(rows[rows.length - 1]?.key);
  const anchor = useRef<{ key: string; top: number } | null>(null);
  const rowProps = useMemo(() => ({ rows, ctx }), [rows, ctx]);

  const toBottom = useCallback(() => scrollToEnd(api?.element), [api]);

  // Remember which row is at the top of the viewport and where, to restore after a prepend.
  const captureAnchor = useCallback(() => {
    const el = api?.element;
    if (!el) return;
    const top = el.getBoundingClientRect().top;
    const children = el.querySelectorAll<HTMLElement>('[data-row-key]');
    for (const c of Array.from(children)) {
      const r = c.getBoundingClientRect();
      if (r.bottom > top) {
        anchor.current = { key: c.dataset.rowKey ?? '', top: r.top - top };
        return;
      }
    }
  }, [api]);

  const onScroll = useCallback(() => {
    const el = api?.element;
    if (!el) return;
    const atBottom = el.scrollHeight - el.scrollTop - el.clientHeight <= BOTTOM_SLACK;
    stick.current = atBottom;
    if (atBottom) setUnseen(0);
    if (el.scrollTop <= TOP_TRIGGER && el.scrollHeight > el.clientHeight) {
      captureAnchor();
      onReachTop();
    }
  }, [api, onReachTop, captureAnchor]);

  // New rows at the end: follow them when stuck, count them otherwise.
  useLayoutEffect(() => {
    const newLast = rows[rows.length - 1]?.key;
    const appended = newLast !== lastKey.current;
    const added = rows.length - lastCount.current;
    lastCount.current = rows.length;
    lastKey.current = newLast;
    if (!appended) return;
    if (added > 0) {
      const lastOther = rows
        .slice(rows.length - added)
        .reverse()
        .find((r) => r.kind === 'message' && r.message.type === 'chat' && r.message.userId !== ctx.selfId);
      if (lastOther && lastOther.kind === 'message') {
        setAnnounce(`${lastOther.message.username}: ${lastOther.message.content.slice(0, 200)}`);
      }
    }
    if (stick.current) {
      toBottom();
    } else if (added > 0) {
      // the pill counts chat messages; join/leave notices are not worth a jump
      const fresh = rows.slice(rows.length - added).filter((r) => r.kind === 'message' && r.message.type !== 'join' && r.message.type !== 'leave').length;
      if (fresh > 0) setUnseen((n) => n + fresh);
    }
  }, [rows, toBottom, ctx.selfId]);

  // Older rows in front: keep the anchor row where it was on screen.
  useLayoutEffect(() => {
    if (prependCount === 0 || prependSerial === 0) return;
    const a = anchor.current;
    const el = api?.element;
    if (!a || !el) return;
    const idx = rows.findIndex((r) => r.key === a.key);
    if (idx < 0) return;
    api.scrollToRow({ index: idx, align: 'start', behavior: 'instant' });
    // heights are measured over the next frames; correct the position until it settles
    let frames = 0;
    let raf = 0;
    const fix = () => {
      const node = el.querySelector<HTMLElement>(`[data-row-key="${CSS.escape(a.key)}"]`);
      if (node) {
        const delta = node.getBoundingClientRect().top - el.getBoundingClientRect().top - a.top;
        if (Math.abs(delta) > 0.5) el.scrollTop += delta;
      }
      if (++frames < 12) raf = requestAnimationFrame(fix);
    };
    fix();
    return () => cancelAnimationFrame(raf);
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [prependSerial]);

  // Stay at the bottom while rows get measured (their heights change after the first paint).
  useLayoutEffect(() => {
    const el = api?.element;
    if (!el) return;
    if (stick.current) scrollToEnd(el);
    const sizer = el.querySelector('[data-react-window-sizer]');
    if (!sizer || typeof ResizeObserver === 'undefined') return;
    const ro = new ResizeObserver(() => {
      if (stick.current) scrollToEnd(el);
    });
    ro.observe(sizer);
    return () => ro.disconnect();
  }, [api]);

  // we just sent: show it (the scroll event that follows clears the pill)
  useEffect(() => {
    if (scrollToBottomSignal === 0) return;
    stick.current = true;
    toBottom();
  }, [scrollToBottomSignal, toBottom]);

  const jump = () => {
    stick.current = true;
    setUnseen(0);
    if (rows.length > 0) api?.scrollToRow({ index: rows.length - 1, align: 'end', behavior: 'instant' });
    requestAnimationFrame(toBottom);
  };

  return (
    <div className="relative flex min-h-0 flex-1 flex-col" data-history={history}>
      {history === 'loading' && (
        <div className="pointer-events-none absolute inset-x-0 top-2 z-10 flex justify-center">
          <span
            role="status"
            className="inline-flex items-center gap-2 rounded-pill border border-border bg-elevated px-3 py-1 text-xs text-muted shadow-pop"
          >
            <Loader2 size={12} className="animate-spin" aria-hidden="true" /> Loading older messages…
          </span>
        </div>
      )}
      {rows.length === 0 ? (
        <div className="flex flex-1 flex-col items-center justify-center gap-1 px-6 text-center">
          {connecting ? (
            <p className="inline-flex items-center gap-2 text-sm text-muted">
              <Loader2 size={14} className="animate-spin" aria-hidden="true" /> Joining #{room}…
            </p>
          ) : (
            <>
              <p className="text-sm font-medium text-muted">No messages yet</p>
              <p className="text-xs text-subtle">Say hello to #{room}.</p>
            </>
          )}
        </div>
      ) : (
        <List
          listRef={setApi}
          className="flex-1 overscroll-contain py-2"
          rowComponent={RowView}
          rowCount={rows.length}
          rowHeight={rowHeight}
          rowProps={rowProps}
          overscanCount={8}
          onScroll={onScroll}
          aria-label={`Messages in ${room}`}
          tabIndex={0}
          data-testid="message-list"
        >
          {history === 'done' && (
            <span className="sr-only">Beginning of the room history</span>
          )}
        </List>
      )}
      <div className="sr-only" aria-live="polite" aria-atomic="true">
        {announce}
      </div>
      {unseen > 0 && (
        <div className="pointer-events-none absolute inset-x-0 bottom-3 z-10 flex justify-center">
          <button
            type="button"
            onClick={jump}
            className="pointer-events-auto inline-flex items-center gap-1.5 rounded-pill bg-primary px-3.5 py-1.5 text-xs font-semibold text-primary-fg shadow-pop animate-fade-in hover:bg-primary-hover"
          >
            <ArrowDown size={13} aria-hidden="true" />
            {unseen} new {unseen === 1 ? 'message' : 'messages'}
          </button>
        </div>
      )}
    </div>
  );
}
