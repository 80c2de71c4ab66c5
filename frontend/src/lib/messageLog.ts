// The chat log of one room: confirmed messages (de-duplicated by messageId, in arrival order,
// older pages prepended) plus the outbox of our own sends waiting for their ack.
// Pure functions over immutable state, so React can diff them and tests can drive them.

import type { ChatMessage } from './protocol';

export type OutboxStatus = 'pending' | 'sent' | 'failed';

export interface OutboxItem {
  localId: string;
  nonce: string;
  content: string;
  createdAt: string;
  status: OutboxStatus;
  messageId?: string; // from the ack
  error?: { code: string; message: string; retryAfterMs?: number };
}

export interface LogState {
  messages: readonly ChatMessage[];
  ids: ReadonlySet<string>;
  outbox: readonly OutboxItem[];
  /** Highest seq seen for this room (0: none). */
  lastSeq: number;
}

/** A displayable row: a confirmed message, or one of our sends not yet confirmed. */
export type Row =
  | { kind: 'message'; key: string; message: ChatMessage }
  | { kind: 'outbox'; key: string; item: OutboxItem };

/** The log keeps at most this many messages; the oldest are dropped (scroll-back reloads them). */
export const MAX_LOG = 5000;

export function emptyLog(): LogState {
  return { messages: [], ids: new Set(), outbox: [], lastSeq: 0 };
}

function maxSeq(start: number, msgs: readonly ChatMessage[]): number {
  let s = start;
  for (const m of msgs) if (m.seq !== undefined && m.seq > s) s = m.seq;
  return s;
}

/** Drops outbox entries whose message has arrived. */
function settleOutbox(outbox: readonly OutboxItem[], ids: ReadonlySet<string>): readonly OutboxItem[] {
  if (!outbox.some((o) => o.messageId !== undefined && ids.has(o.messageId))) return outbox;
  return outbox.filter((o) => o.messageId === undefined || !ids.has(o.messageId));
}

/** Appends live (or replayed) messages, skipping any already shown. Returns the same state
 *  object when nothing was new. */
export function appendMessages(state: LogState, incoming: readonly ChatMessage[]): LogState {
  const fresh: ChatMessage[] = [];
  const ids = new Set(state.ids);
  for (const m of incoming) {
    if (ids.has(m.messageId)) continue;
    ids.add(m.messageId);
    fresh.push(m);
  }
  if (fresh.length === 0) return state;
  let messages = state.messages.concat(fresh);
  if (messages.length > MAX_LOG) {
    const drop = messages.slice(0, messages.length - MAX_LOG);
    for (const m of drop) ids.delete(m.messageId);
    messages = messages.slice(messages.length - MAX_LOG);
  }
  return {
    messages,
    ids,
    outbox: settleOutbox(state.outbox, ids),
    lastSeq: maxSeq(state.lastSeq, fresh),
  };
}

/** Prepends an older page (oldest first), skipping duplicates. `added` says how many rows
 *  went in front, so the list can keep the reader's place. */
export function prependMessages(
  state: LogState,
  older: readonly ChatMessage[],
): { state: LogState; added: number } {
  const ids = new Set(state.ids);
  const fresh: ChatMessage[] = [];
  for (const m of older) {
    if (ids.has(m.messageId)) continue;
    ids.add(m.messageId);
    fresh.push(m);
  }
  if (fresh.length === 0) return { state, added: 0 };
  return {
    state: {
      messages: fresh.concat(state.messages),
      ids,
      outbox: settleOutbox(state.outbox, ids),
      lastSeq: maxSeq(state.lastSeq, fresh),
    },
    added: fresh.length,
  };
}

export function addPending(state: LogState, item: Omit<OutboxItem, 'status'>): LogState {
  return { ...state, outbox: state.outbox.concat({ ...item, status: 'pending' }) };
}

/** The relay accepted the send with this nonce. If the broadcast copy is already shown, the
 *  outbox entry goes away; otherwise it stays (as sent) until the copy arrives. */
export function ackPending(state: LogState, nonce: string, messageId: string): LogState {
  const idx = state.outbox.findIndex((o) => o.nonce === nonce);
  if (idx < 0) return state;
  let outbox: OutboxItem[];
  if (state.ids.has(messageId)) {
    outbox = state.outbox.filter((_, i) => i !== idx);
  } else {
    outbox = state.outbox.map((o, i) =>
      i === idx ? { ...o, status: 'sent' as const, messageId, error: undefined } : o,
    );
  }
  return { ...state, outbox };
}

/** The relay refused the send with this nonce. */
export function failPending(
  state: LogState,
  nonce: string,
  error: { code: string; message: string; retryAfterMs?: number },
): LogState {
  const idx = state.outbox.findIndex((o) => o.nonce === nonce);
  if (idx < 0) return state;
  const item = state.outbox[idx];
  if (item === undefined || item.status === 'sent') return state;
  return {
    ...state,
    outbox: state.outbox.map((o, i) => (i === idx ? { ...o, status: 'failed' as const, error } : o)),
  };
}

/** Marks a failed send pending again under a new nonce (a retry is a new attempt). */
export function retryPending(state: LogState, localId: string, nonce: string): LogState {
  return {
    ...state,
    outbox: state.outbox.map((o) =>
      o.localId === localId && o.status === 'failed' ? { ...o, status: 'pending' as const, nonce, error: undefined } : o,
    ),
  };
}

export function discardPending(state: LogState, localId: string): LogState {
  return { ...state, outbox: state.outbox.filter((o) => o.localId !== localId) };
}

/** Sends that still need to go out (after a reconnect, in order). */
export function pendingSends(state: LogState): OutboxItem[] {
  return state.outbox.filter((o) => o.status === 'pending');
}

// One Row object per message for its whole life, so memoized rows skip re-rendering when
// the list around them changes.
const messageRows = new WeakMap<ChatMessage, Row>();
function messageRow(m: ChatMessage): Row {
  let r = messageRows.get(m);
  if (!r) {
    r = { kind: 'message', key: m.messageId, message: m };
    messageRows.set(m, r);
  }
  return r;
}

/** Rows in display order: confirmed messages, then our unconfirmed sends. */
export function toRows(state: LogState): Row[] {
  const rows: Row[] = state.messages.map(messageRow);
  for (const o of state.outbox) {
    if (o.messageId !== undefined && state.ids.has(o.messageId)) continue;
    rows.push({ kind: 'outbox', key: `out:${o.localId}`, item: o });
  }
  return rows;
}

/** The oldest message with a server id, for ?before= paging. */
export function oldestMessageId(state: LogState): string | undefined {
  for (const m of state.messages) if (!m.messageId.startsWith('local-')) return m.messageId;
  return undefined;
}
