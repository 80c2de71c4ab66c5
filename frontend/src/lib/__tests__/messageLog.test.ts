import { describe, expect, it } from 'vitest';
import {
  ackPending,
  addPending,
  appendMessages,
  emptyLog,
  failPending,
  MAX_LOG,
  oldestMessageId,
  pendingSends,
  prependMessages,
  retryPending,
  toRows,
} from '../messageLog';
import type { ChatMessage } from '../protocol';

const m = (id: string, seq?: number, userId = 'u1'): ChatMessage => ({
  messageId: id,
  roomId: 'global',
  type: 'chat',
  userId,
  username: userId,
  content: `c-${id}`,
  timestamp: '2026-11-30T03:00:00.000Z',
  ...(seq !== undefined ? { seq } : {}),
});

describe('de-duplication by messageId', () => {
  it('appends new messages in order and tracks the highest seq', () => {
    const s = appendMessages(emptyLog(), [m('a', 1), m('b', 2)]);
    expect(s.messages.map((x) => x.messageId)).toEqual(['a', 'b']);
    expect(s.lastSeq).toBe(2);
  });

  it('skips messages already shown (a replay after reconnect)', () => {
    const s1 = appendMessages(emptyLog(), [m('a', 1), m('b', 2), m('c', 3)]);
    const s2 = appendMessages(s1, [m('b', 2), m('c', 3), m('d', 4)]);
    expect(s2.messages.map((x) => x.messageId)).toEqual(['a', 'b', 'c', 'd']);
    expect(s2.lastSeq).toBe(4);
  });

  it('skips duplicates inside one batch', () => {
    const s = appendMessages(emptyLog(), [m('a', 1), m('a', 1)]);
    expect(s.messages).toHaveLength(1);
  });

  it('returns the same state object when nothing is new', () => {
    const s1 = appendMessages(emptyLog(), [m('a', 1)]);
    expect(appendMessages(s1, [m('a', 1)])).toBe(s1);
  });

  it('prepends older pages without duplicates and reports how many went in', () => {
    const s1 = appendMessages(emptyLog(), [m('c', 3), m('d', 4)]);
    const r = prependMessages(s1, [m('a', 1), m('b', 2), m('c', 3)]);
    expect(r.added).toBe(2);
    expect(r.state.messages.map((x) => x.messageId)).toEqual(['a', 'b', 'c', 'd']);
    expect(prependMessages(r.state, [m('a', 1)]).added).toBe(0);
    expect(oldestMessageId(r.state)).toBe('a');
  });

  it('keeps at most MAX_LOG messages and forgets the dropped ids', () => {
    const many = Array.from({ length: MAX_LOG + 10 }, (_, i) => m(`id${i}`, i + 1));
    const s = appendMessages(emptyLog(), many);
    expect(s.messages).toHaveLength(MAX_LOG);
    expect(s.messages[0]?.messageId).toBe('id10');
    expect(s.ids.has('id0')).toBe(false);
    expect(s.ids.size).toBe(MAX_LOG);
  });
});

describe('outbox: pending, ack, error, retry', () => {
  const pend = (nonce: string, localId = `l-${nonce}`) => ({
    localId,
    nonce,
    content: `text ${nonce}`,
    createdAt: '2026-11-30T03:00:01.000Z',
  });

  it('shows a send as pending until acked, then once the broadcast copy arrives, once', () => {
    let s = addPending(emptyLog(), pend('n1'));
    expect(toRows(s).map((r) => r.kind)).toEqual(['outbox']);
    expect(pendingSends(s)).toHaveLength(1);
    s = ackPending(s, 'n1', 'srv-1');
    expect(s.outbox[0]?.status).toBe('sent');
    expect(pendingSends(s)).toHaveLength(0);
    expect(toRows(s)).toHaveLength(1); // still visible while the copy is on its way
    s = appendMessages(s, [m('srv-1', 5)]);
    expect(s.outbox).toHaveLength(0);
    expect(toRows(s).map((r) => r.key)).toEqual(['srv-1']);
  });

  it('drops the outbox entry at once when the broadcast copy came before the ack', () => {
    let s = addPending(emptyLog(), pend('n1'));
    s = appendMessages(s, [m('srv-1', 5)]);
    expect(toRows(s)).toHaveLength(2); // copy + pending (no id yet to match)
    s = ackPending(s, 'n1', 'srv-1');
    expect(s.outbox).toHaveLength(0);
    expect(toRows(s).map((r) => r.key)).toEqual(['srv-1']);
  });

  it('marks a refused send failed with its reason, and retry makes it pending under a new nonce', () => {
    let s = addPending(emptyLog(), pend('n1'));
    s = failPending(s, 'n1', { code: 'rate_limited', message: 'slow down', retryAfterMs: 500 });
    expect(s.outbox[0]).toMatchObject({ status: 'failed', error: { code: 'rate_limited', retryAfterMs: 500 } });
    expect(pendingSends(s)).toHaveLength(0);
    s = retryPending(s, 'l-n1', 'n2');
    expect(s.outbox[0]).toMatchObject({ status: 'pending', nonce: 'n2' });
    expect(s.outbox[0]?.error).toBeUndefined();
  });

  it('ignores acks and errors for unknown nonces', () => {
    const s = addPending(emptyLog(), pend('n1'));
    expect(ackPending(s, 'zz', 'x')).toBe(s);
    expect(failPending(s, 'zz', { code: 'x', message: 'y' })).toBe(s);
  });

  it('does not fail a send that was already acknowledged', () => {
    let s = addPending(emptyLog(), pend('n1'));
    s = ackPending(s, 'n1', 'srv-1');
    expect(failPending(s, 'n1', { code: 'x', message: 'y' })).toBe(s);
  });
});

describe('toRows', () => {
  it('keeps the same row object for a message across updates (cheap re-renders)', () => {
    const s1 = appendMessages(emptyLog(), [m('a', 1)]);
    const s2 = appendMessages(s1, [m('b', 2)]);
    expect(toRows(s2)[0]).toBe(toRows(s1)[0]);
  });
});
